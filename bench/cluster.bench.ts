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
import { Effect } from "effect"
import { Identity, Uws, Worker } from "@uws-kit/core"
import { SqlDatabase } from "@uws-kit/store-sql"
import { makePgDatabase } from "./pgDatabase.js"
import type { Benchmark } from "./report.js"

const ROUNDS = Number(process.env["UWS_BENCH_WAKE_ROUNDS"] ?? 200)
const caller = Identity.anonymous

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/**
 * Blocks a WAIT on `waiter` for a new PENDING job, lets it settle, aborts the job through
 * `changer` (WAIT wakes on a phase change, UWS 1.1 §2.2.1.1); ms to wake. A round that times out
 * is a failure of the mechanism, not a figure: it stops the benchmark.
 */
const wakeTimes = async (waiter: Uws.UwsService, changer: Uws.UwsService) => {
  const times: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) {
    const job = await Effect.runPromise(waiter.create(caller, {}))
    const woken = Effect.runPromise(waiter.waitForChange(caller, job.jobId, { timeout: "10 seconds" }).pipe(Effect.map((j) => ({ at: performance.now(), phase: j.phase }))))
    await new Promise((r) => setTimeout(r, 5))
    const start = performance.now()
    await Effect.runPromise(changer.abort(caller, job.jobId))
    const { at, phase } = await woken
    if (phase !== "ABORTED") throw new Error(`WAIT returned the job ${phase}, not ABORTED: it was not woken by the change`)
    times.push(at - start)
    await Effect.runPromise(changer.delete(caller, job.jobId))
  }
  return times
}

const bench: Benchmark = async () => {
  const { url, drop } = await makePgDatabase()
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
        { name: "cross-instance wake p50 (LISTEN/NOTIFY)", value: percentile(cross, 50), unit: "ms", target: "≤ 20 ms", baseline: "same-instance wake p50 (baseline)" },
        { name: "same-instance wake p95", value: percentile(same, 95), unit: "ms" },
        { name: "cross-instance wake p95", value: percentile(cross, 95), unit: "ms" }
      ]
    }
  } finally {
    for (const s of started) await s.close()
    for (const db of dbs) await db.close()
    await drop()
  }
}

export default bench
