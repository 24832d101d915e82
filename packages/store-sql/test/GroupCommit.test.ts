/**
 * Group commit on SQLite (src/internal/groupCommit.ts): concurrent writes share a transaction,
 * each writer is answered only once its write is committed, and one failing write leaves the
 * others committed.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Effect, Option } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeGroupCommit, type Commit } from "../src/internal/groupCommit.js"
import type { Direct } from "../src/internal/sqliteClient.js"
import { makeSqliteFile } from "./databases.js"

const writer = fileURLToPath(new URL("./fixtures/writer.ts", import.meta.url))

describe("group commit (SQLite)", () => {
  let file: Awaited<ReturnType<typeof makeSqliteFile>>
  let db: SqlDatabase.Database
  /** A second connection to the same file: it sees only what is committed. */
  let other: SqlDatabase.Database
  let commit: Commit
  let table = 0

  beforeAll(async () => {
    file = await makeSqliteFile()
    db = await SqlDatabase.open(file.url)
    other = await SqlDatabase.open(file.url)
    commit = await db.run(Effect.flatMap(Effect.zip(SqlClient.SqlClient, Effect.runtime<never>()), ([sql, runtime]) => Effect.succeed(makeGroupCommit(sql, runtime))))
  })
  afterAll(async () => {
    await db?.close()
    await other?.close()
    await file?.drop()
  })

  const newTable = async () => {
    const name = `t${++table}`
    await db.run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE ${sql(name)} (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`))
    return name
  }
  const committedKeys = (name: string) =>
    other.run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly k: number }>`SELECT k FROM ${sql(name)} ORDER BY k`)).then((rows) =>
      rows.map((r) => r.k)
    )

  /** Inserts key k; a failing write inserts its row first, then fails (so a rollback must undo it). */
  const write = (sql: SqlClient.SqlClient, name: string, k: number, fails: boolean) =>
    Effect.zipRight(sql`INSERT INTO ${sql(name)} (k, v) VALUES (${k}, 'x')`, fails ? Effect.fail(`write ${k} failed`) : Effect.succeed(k))

  it("runs concurrent writes in one transaction and answers each only once it is committed", async () => {
    const name = await newTable()
    const seen = await db.run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.forEach(
          Array.from({ length: 20 }, (_, k) => k),
          (k) =>
            commit(Effect.zipRight(write(sql, name, k, false), Effect.serviceOption(SqlClient.TransactionConnection))).pipe(
              // The writer is answered: another connection must already see its row.
              Effect.flatMap((inTransaction) =>
                Effect.map(
                  Effect.promise(() => committedKeys(name)),
                  (keys) => ({ inTransaction: Option.isSome(inTransaction), visible: keys.includes(k) })
                )
              )
            ),
          { concurrency: "unbounded" }
        )
      )
    )
    expect(seen.every((s) => s.visible)).toBe(true)
    expect(seen.filter((s) => s.inTransaction).length).toBeGreaterThan(1)
    expect(await committedKeys(name)).toEqual(Array.from({ length: 20 }, (_, k) => k))
  })

  it("keeps every other write of a batch when some fail, and undoes the failed ones", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }), async (failures) => {
        const name = await newTable()
        const outcomes = await db.run(
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            Effect.forEach(failures, (fails, k) => Effect.either(commit(write(sql, name, k, fails))), { concurrency: "unbounded" })
          )
        )
        outcomes.forEach((o, k) => expect(o._tag).toBe(failures[k] ? "Left" : "Right"))
        expect(await committedKeys(name)).toEqual(failures.flatMap((fails, k) => (fails ? [] : [k])))
      }),
      { numRuns: 40 }
    )
  })

  /** The same write as plain calls on the connection: inserts key k, then throws when it fails. */
  const plainWrite = (name: string, k: number, fails: boolean) => (direct: Direct) => {
    direct.prepare(`INSERT INTO ${name} (k, v) VALUES (?, 'x')`).run(k)
    if (fails) throw new Error(`write ${k} failed`)
    return k
  }

  it("runs plain writes (SQLite's own client) as the effect writes run, alone, mixed with them, some failing", async () => {
    expect(commit.plain).toBeDefined()
    const plain = commit.plain!
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ fails: fc.boolean(), isPlain: fc.boolean(), durable: fc.boolean() }), { minLength: 1, maxLength: 24 }),
        async (writes) => {
          const name = await newTable()
          const outcomes = await db.run(
            Effect.flatMap(SqlClient.SqlClient, (sql) =>
              Effect.forEach(
                writes,
                ({ fails, isPlain, durable }, k) =>
                  Effect.either(
                    isPlain ? plain(plainWrite(name, k, fails), { durable }) : commit(write(sql, name, k, fails), { durable })
                  ),
                { concurrency: "unbounded" }
              )
            )
          )
          outcomes.forEach((o, k) => expect(o._tag).toBe(writes[k]!.fails ? "Left" : "Right"))
          expect(await committedKeys(name)).toEqual(writes.flatMap(({ fails }, k) => (fails ? [] : [k])))
          // A batch below FULL put the connection's level back.
          const level = await db.run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly synchronous: number }>`PRAGMA synchronous`))
          expect(level[0]?.synchronous).toBe(2)
        }
      ),
      { numRuns: 40 }
    )
  })

  it("leaves a plain write made inside the caller's own transaction to that transaction", async () => {
    const name = await newTable()
    const result = await db.run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.either(sql.withTransaction(Effect.zipRight(commit.plain!(plainWrite(name, 1, false)), Effect.fail("the caller gives up"))))
      )
    )
    expect(result._tag).toBe("Left")
    expect(await committedKeys(name)).toEqual([])
  })

  it("leaves a write made inside the caller's own transaction to that transaction", async () => {
    const name = await newTable()
    const result = await db.run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.either(sql.withTransaction(Effect.zipRight(commit(write(sql, name, 1, false)), Effect.fail("the caller gives up"))))
      )
    )
    expect(result._tag).toBe("Left")
    expect(await committedKeys(name)).toEqual([])
  })

  it("commits writes that need no flush of their own, leaving the connection flushing every other commit (synchronous = FULL)", async () => {
    // A batch of writes that need not be durable before their answer commits under NORMAL; a
    // write outside group commit must still get SQLite's own flush.
    const name = await newTable()
    const level = await db.run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.zipRight(
          Effect.forEach(
            Array.from({ length: 10 }, (_, k) => k),
            (k) => commit(write(sql, name, k, false), k % 2 === 0 ? undefined : { durable: false }),
            { concurrency: "unbounded" }
          ),
          sql<{ readonly synchronous: number }>`PRAGMA synchronous`
        )
      )
    )
    expect(level[0]?.synchronous).toBe(2)
    expect(await committedKeys(name)).toEqual(Array.from({ length: 10 }, (_, k) => k))
  })

  it("keeps every acknowledged write through a kill -9 (synchronous = FULL)", async () => {
    const target = await makeSqliteFile()
    try {
      const child = spawn(process.execPath, ["--conditions=@uws-kit/source", "--import", "tsx", writer, target.url], { stdio: ["ignore", "pipe", "pipe"] })
      const acknowledged: Array<string> = []
      let out = ""
      let err = ""
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d))
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
          out += d
          const lines = out.split("\n")
          out = lines.pop()!
          acknowledged.push(...lines)
          if (acknowledged.length >= 2000) {
            child.kill("SIGKILL")
          }
        })
        child.on("exit", (_code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`the writer exited early:\n${err}`))))
      })
      const reopened = await SqlDatabase.open(target.url)
      try {
        const stored = await reopened.run(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly job_id: string }>`SELECT job_id FROM uws_jobs WHERE list = 'kill9'`)
        )
        const ids = new Set(stored.map((r) => r.job_id))
        expect(acknowledged.filter((id) => !ids.has(id))).toEqual([])
      } finally {
        await reopened.close()
      }
    } finally {
      await target.drop()
    }
  })
  it("commits a write made as soon as its writer is answered before the loop's next turn, and a long chain of them still lets the loop turn", async () => {
    const name = await newTable()
    const plain = commit.plain!
    /** Writes keys from..to-1, each once the one before is answered; notes each commit's order against the loop's turns. */
    const chain = (from: number, to: number, order: Array<string>) =>
      db.run(
        Effect.gen(function* () {
          for (let k = from; k < to; k++) {
            yield* plain(plainWrite(name, k, false))
            order.push(`write ${k}`)
            // A turn of the loop asked for now shows whether the next write waits for it.
            if (k === from) setImmediate(() => order.push("turn"))
          }
        })
      )
    // A job's steps: RUN, START, result, COMPLETE, each set going by the answer to the last.
    const steps: Array<string> = []
    await chain(0, 4, steps)
    await new Promise((resolve) => setImmediate(resolve))
    expect(steps).toEqual(["write 0", "write 1", "write 2", "write 3", "turn"])
    // Forty such steps in a row: the loop still has its turn among them (requests are read).
    const many: Array<string> = []
    await chain(100, 140, many)
    expect(many.indexOf("turn")).toBeGreaterThan(0)
    expect(many.indexOf("turn")).toBeLessThan(many.length - 1)
    expect(await committedKeys(name)).toEqual([0, 1, 2, 3, ...Array.from({ length: 40 }, (_, i) => 100 + i)])
  })

  it("commits a write made after a quiet spell before the loop's next turn, and a burst after it still shares transactions", async () => {
    const name = await newTable()
    const plain = commit.plain!
    await new Promise((resolve) => setTimeout(resolve, 20))
    // A lone change (an ABORT a blocked WAIT waits for): answered before a turn asked for first.
    const order: Array<string> = []
    await db.run(
      Effect.gen(function* () {
        setImmediate(() => order.push("turn"))
        yield* plain(plainWrite(name, 0, false))
        order.push("write 0")
      })
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(["write 0", "turn"])
    // Twenty writes at once after another quiet spell: the writes of one batch run in one
    // synchronous call, so each group below is a transaction.
    await new Promise((resolve) => setTimeout(resolve, 20))
    const groups: Array<Array<number>> = []
    let group: Array<number> | undefined
    const noted = (k: number) => (direct: Direct) => {
      if (group === undefined) {
        groups.push((group = []))
        queueMicrotask(() => (group = undefined))
      }
      group.push(k)
      return plainWrite(name, k, false)(direct)
    }
    await db.run(Effect.forEach(Array.from({ length: 20 }, (_, i) => 10 + i), (k) => plain(noted(k)), { concurrency: "unbounded" }))
    expect(groups.length).toBeLessThanOrEqual(2)
    expect(groups.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i))
    expect(await committedKeys(name)).toEqual([0, ...Array.from({ length: 20 }, (_, i) => 10 + i)])
  })

  it("never runs a plain batch inside another's open transaction: it waits for the connection", async () => {
    const name = await newTable()
    const plain = commit.plain!
    await new Promise((resolve) => setTimeout(resolve, 20))
    const events: Array<string> = []
    await db.run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.all(
          [
            // Holds a transaction open across a sleep, then gives up (rolled back).
            Effect.either(
              sql.withTransaction(
                Effect.zipRight(
                  Effect.zipRight(sql`INSERT INTO ${sql(name)} (k, v) VALUES (1, 'x')`, Effect.sleep("30 millis")),
                  Effect.zipRight(Effect.sync(() => events.push("rolled back")), Effect.fail("the holder gives up"))
                )
              )
            ),
            // A quiet write meanwhile: it must not join (nor end) the open transaction.
            Effect.zipRight(Effect.sleep("10 millis"), Effect.tap(plain(plainWrite(name, 2, false)), () => Effect.sync(() => events.push("written"))))
          ],
          { concurrency: "unbounded" }
        )
      )
    )
    expect(events).toEqual(["rolled back", "written"])
    expect(await committedKeys(name)).toEqual([2])
  })
})
