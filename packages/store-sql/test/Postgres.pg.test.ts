import { SqlDatabase } from "@uws-kit/store-sql"
import { describe, expect, it } from "vitest"
import { testSqlStores } from "./conformance.js"
import { makePgDatabase } from "./databases.js"

describe("PostgreSQL", () => testSqlStores("PostgreSQL (a database of its own)", makePgDatabase))

describe("PostgreSQL migrations", () => {
  // Regression: three demo instances started together against a new database all raced to create
  // the migrations table, and two failed to start ("migrating the database failed").
  it("let several instances start together against a new database", async () => {
    const { url, drop } = await makePgDatabase()
    try {
      const opened = await Promise.allSettled(Array.from({ length: 6 }, () => SqlDatabase.open(url)))
      const failures = opened.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []))
      for (const o of opened) if (o.status === "fulfilled") await o.value.close()
      expect(failures).toEqual([])
    } finally {
      await drop()
    }
  })
})
