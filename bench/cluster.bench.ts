/**
 * Several instances on one PostgreSQL database: how soon a WAIT blocked on instance A returns
 * when instance B changes the job (B's commit → PostgreSQL NOTIFY → A's LISTEN → A's waiters),
 * against the same WAIT woken by a change made on A itself, in the same run. Two services in one
 * process, each with its own connections and instance id. Times run from the start of the
 * changing call, so they include its write (an upper bound of commit → wake).
 *
 * PostgreSQL: the server at 127.0.0.1:5432 (or UWS_BENCH_PG_URL); the benchmark creates a
 * database of its own and drops it.
 */
import { randomBytes } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { Identity, Uws, Worker } from "@uws-kit/core"
import { SqlDatabase } from "@uws-kit/store-sql"
import type { Benchmark } from "./report.js"

const PG = process.env["UWS_BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432"
const ROUNDS = Number(process.env["UWS_BENCH_WAKE_ROUNDS"] ?? 200)
const caller = Identity.anonymous

const admin = (f: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, f).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(`${PG}/postgres`), maxConnections: 1 })),
      Effect.scoped
    ) as Effect.Effect<unknown>
  )

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Blocks a WAIT on `waiter`, lets it settle, changes the job through `changer`; ms to wake. */
const wakeTimes = async (waiter: Uws.UwsService, changer: Uws.UwsService) => {
  const job = await Effect.runPromise(waiter.create(caller, {}))
  const times: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) {
    const woken = Effect.runPromise(waiter.waitForChange(caller, job.jobId, { timeout: "10 seconds" }).pipe(Effect.map(() => performance.now())))
    await new Promise((r) => setTimeout(r, 5))
    const start = performance.now()
    await Effect.runPromise(changer.setDestruction(caller, job.jobId, job.creationTime + 86_400_000 + i * 1000))
    times.push((await woken) - start)
  }
  return times
}

const bench: Benchmark = async () => {
  const name = `uws_bench_${randomBytes(5).toString("hex")}`
  await admin((sql) => sql`CREATE DATABASE ${sql(name)}`)
  const url = `${PG}/${name}`
  const dbs = [await SqlDatabase.open(url), await SqlDatabase.open(url)] as const
  const started = await Promise.all(
    dbs.map((db) => Uws.start({ worker: Worker.noop, jobStore: db.jobStore("wake"), resultStore: db.resultStore("wake"), dispatcher: db.dispatcher("wake")! }))
  )
  try {
    const [a, b] = started.map((s) => s.service) as [Uws.UwsService, Uws.UwsService]
    await wakeTimes(a, b) // warm-up
    const same = await wakeTimes(a, a)
    const cross = await wakeTimes(a, b)
    return {
      title: `Several instances on one PostgreSQL: WAIT wake-up (${ROUNDS} rounds each)`,
      figures: [
        { name: "same-instance wake p50 (baseline)", value: percentile(same, 50), unit: "ms" },
        { name: "cross-instance wake p50 (LISTEN/NOTIFY)", value: percentile(cross, 50), unit: "ms", target: "≤ 20 ms" },
        { name: "cross/same p50 ratio", value: percentile(cross, 50) / percentile(same, 50), unit: "×" },
        { name: "same-instance wake p95", value: percentile(same, 95), unit: "ms" },
        { name: "cross-instance wake p95", value: percentile(cross, 95), unit: "ms" }
      ]
    }
  } finally {
    for (const s of started) await s.close()
    for (const db of dbs) await db.close()
    await admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`)
  }
}

export default bench
