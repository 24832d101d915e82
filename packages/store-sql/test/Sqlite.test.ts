import { SqlClient } from "@effect/sql"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { testSqlStores } from "./conformance.js"
import { makeSqliteFile } from "./databases.js"

describe("SQLite", () => testSqlStores("SQLite (temporary file)", makeSqliteFile))

describe("SQLite durability", () => {
  const synchronous = async (options?: SqlDatabase.OpenOptions) => {
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url, options)
    try {
      return await db.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zip(sql<{ readonly synchronous: number }>`PRAGMA synchronous`, sql<{ readonly journal_mode: string }>`PRAGMA journal_mode`)
        )
      )
    } finally {
      await db.close()
      await file.drop()
    }
  }

  it("flushes every commit by default (synchronous = FULL, in WAL mode)", async () => {
    const [sync, journal] = await synchronous()
    expect(sync[0]?.synchronous).toBe(2)
    expect(journal[0]?.journal_mode).toBe("wal")
  })

  it("flushes at checkpoints only when asked for synchronous = NORMAL", async () => {
    const [sync] = await synchronous({ sqlite: { synchronous: "normal" } })
    expect(sync[0]?.synchronous).toBe(1)
  })
})
