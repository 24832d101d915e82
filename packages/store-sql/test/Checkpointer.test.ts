/**
 * WAL checkpoints on a thread of their own (src/internal/checkpointer.ts): a quiet database's
 * commits reach its file without a write stalling for them, closing leaves no log behind, and a
 * checkpointer that cannot run hands the work back to the connection.
 */
import { copyFile, readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { SqlClient } from "@effect/sql"
import { SqlDatabase } from "@uws-kit/store-sql"
import Sqlite from "better-sqlite3"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { BACKSTOP, startCheckpointer } from "../src/internal/checkpointer.js"
import { makeGroupCommit, type Commit } from "../src/internal/groupCommit.js"
import { makeSqliteFile } from "./databases.js"

const files: Array<Awaited<ReturnType<typeof makeSqliteFile>>> = []
afterEach(async () => {
  for (const f of files.splice(0)) await f.drop()
})

/** Rows of `table` in a copy of the database file alone, as a copy that leaves out the log sees them. */
const rowsInFileAlone = async (file: string, table: string) => {
  const copy = `${file}.copy`
  await copyFile(file, copy)
  const db = new Sqlite(copy, { readonly: true })
  try {
    const exists = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = ?").get(table) as { n: number }
    return exists.n === 0 ? 0 : (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  } finally {
    db.close()
  }
}

const eventually = async (check: () => Promise<boolean>, seconds = 10) => {
  for (const until = Date.now() + seconds * 1000; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) if (await check()) return true
  return check()
}

/** A fresh database file, open at `normal`, for `use`; closed after. */
const withDatabase = async (use: (db: SqlDatabase.Database, url: string) => Promise<void>) => {
  const file = await makeSqliteFile()
  files.push(file)
  const db = await SqlDatabase.open(file.url, { sqlite: { synchronous: "normal" } })
  try {
    await use(db, file.url)
  } finally {
    await db.close()
  }
}

/** Runs `f` with the client and a group commit on it. */
const withCommit = <A, E>(f: (sql: SqlClient.SqlClient, commit: Commit) => Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.zip(SqlClient.SqlClient, Effect.runtime<never>()), ([sql, runtime]) => f(sql, makeGroupCommit(sql, runtime)))

describe("background checkpoints (SQLite)", () => {
  it("a quiet database's commits, plain and as effects, reach its file, though far fewer than a checkpoint's worth", () =>
    withDatabase(async (db, url) => {
      await db.run(
        withCommit((sql, commit) =>
          Effect.zipRight(
            sql`CREATE TABLE t (k INTEGER PRIMARY KEY)`,
            Effect.forEach(
              Array.from({ length: 60 }, (_, k) => k),
              // Every other write as plain calls (one synchronous batch), the others as effects.
              (k) =>
                k % 2 === 0 && commit.plain !== undefined
                  ? Effect.asVoid(commit.plain(({ prepare }) => prepare("INSERT INTO t (k) VALUES (?)").run(k)))
                  : Effect.asVoid(commit(sql`INSERT INTO t (k) VALUES (${k})`)),
              { discard: true }
            )
          )
        )
      )
      // 60 one-row transactions are about 120 log pages: SQLite alone would leave them all in the log.
      expect(await eventually(async () => (await rowsInFileAlone(url, "t")) === 60)).toBe(true)
    }))

  it("under writes without a pause the log starts over (it does not grow with the writes)", () =>
    withDatabase(async (db, url) => {
      await db.run(
        withCommit((sql, commit) =>
          Effect.zipRight(
            sql`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`,
            // One after another, each its own transaction: about two log pages each.
            Effect.forEach(Array.from({ length: 4_000 }, (_, k) => k), (k) => commit(sql`INSERT INTO t (k, v) VALUES (${k}, ${"x".repeat(100)})`), { discard: true })
          )
        )
      )
      // About 8,000 log pages, twice the connection's backstop: the log must have started over
      // from its beginning, which SQLite counts in the log's header (its checkpoint sequence
      // number, bytes 12-15). A background checkpoint alone, racing the writes, never lets it.
      const header = await readFile(`${url}-wal`).then((b) => b.subarray(0, 32))
      expect(header.readUInt32BE(12)).toBeGreaterThanOrEqual(1)
    }))

  it("closing the database leaves its file whole and no log beside it", async () => {
    const file = await makeSqliteFile()
    files.push(file)
    const db = await SqlDatabase.open(file.url)
    await db.run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.zipRight(sql`CREATE TABLE t (k INTEGER PRIMARY KEY)`, Effect.forEach(Array.from({ length: 20 }, (_, k) => k), (k) => sql`INSERT INTO t (k) VALUES (${k})`, { discard: true }))
      )
    )
    await db.close()
    expect((await readdir(file.dir)).sort()).toEqual([path.basename(file.url)])
    expect(await rowsInFileAlone(file.url, "t")).toBe(20)
  })

  it("a checkpointer whose thread cannot start hands checkpoints back to the connection, and says why", async () => {
    const file = await makeSqliteFile()
    files.push(file)
    const db = new Sqlite(file.url)
    db.pragma("journal_mode = WAL")
    const reasons: Array<string> = []
    const checkpointer = startCheckpointer(db, (reason) => reasons.push(reason), { driver: path.join(file.dir, "no-such-driver.js") })
    try {
      expect(checkpointer).toBeDefined()
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(BACKSTOP)
      expect(await eventually(async () => reasons.length > 0)).toBe(true)
      expect(reasons[0]).toMatch(/no-such-driver/)
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000)
      checkpointer!.committed(1_000) // told after it stopped: nothing happens, nothing throws
    } finally {
      await checkpointer?.close()
      db.close()
    }
  })

  it("starts for no in-memory database", () => {
    const db = new Sqlite(":memory:")
    try {
      expect(startCheckpointer(db, () => {})).toBeUndefined()
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000)
    } finally {
      db.close()
    }
  })
})
