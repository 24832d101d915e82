import { describe } from "vitest"
import { testSqlStores } from "./conformance.js"
import { makePgDatabase } from "./databases.js"

describe("PostgreSQL", () => testSqlStores("PostgreSQL (a database of its own)", makePgDatabase))
