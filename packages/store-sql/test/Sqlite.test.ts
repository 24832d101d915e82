import { describe } from "vitest"
import { testSqlStores } from "./conformance.js"
import { makeSqliteFile } from "./databases.js"

describe("SQLite", () => testSqlStores("SQLite (temporary file)", makeSqliteFile))
