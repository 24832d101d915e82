/**
 * The SQL stores (packages/store-sql) against the memory store, in the same run: lifecycles per
 * second through the Uws service on each store, and listing times at a million stored jobs on
 * each driver (filled with bulk inserts, not through the service).
 *
 * PostgreSQL: the server at 127.0.0.1:5432 (or UWS_BENCH_PG_URL); the benchmark creates a
 * database of its own and drops it. `UWS_BENCH_SQL_JOBS` changes the million,
 * `UWS_BENCH_SQL_LIFECYCLES` the lifecycles a round, `UWS_BENCH_SQL_ROUNDS` the rounds (5).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { Identity, JobStore, Phase, ResultStore, Uws, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import { SqlDatabase } from "@uws-kit/store-sql"
import { makePgDatabase } from "./pgDatabase.js"
import type { Benchmark, Figure } from "./report.js"

const JOBS = Number(process.env["UWS_BENCH_SQL_JOBS"] ?? 1_000_000)
const LIFECYCLES = Number(process.env["UWS_BENCH_SQL_LIFECYCLES"] ?? 5_000)
const ROUNDS = Number(process.env["UWS_BENCH_SQL_ROUNDS"] ?? 5)
const WARM_UP = 3_000

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000)

const worker = Worker.make({
  name: "bench",
  run: () => Effect.succeed([{ id: "result", href: "https://data.example.org/results/r.vot", mimeType: "application/x-votable+xml" }])
})

/** Create with RUN, let the service run the no-op application, until all have completed. */
const lifecycles = (count: number, jobStore: JobStore.JobStoreService, resultStore: ResultStore.ResultStoreService) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const uws = yield* Uws.Uws
      const start = performance.now()
      yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) => uws.create(Identity.anonymous, { parameters: [{ name: "N", value: String(i) }], run: true }),
        { concurrency: 32, discard: true }
      )
      // Every 2 ms: at 10 ms the wait for the last poll was a twentieth of the memory store's run.
      while ((yield* jobStore.count({ phases: ["COMPLETED"] })) < count) yield* Effect.sleep("2 millis")
      return performance.now() - start
    }).pipe(
      Effect.provide(
        Uws.layer({ worker, policy: { concurrency: 16, defaultDestructionLifetime: null, maxDestructionLifetime: null, maxActiveJobsPerOwner: null, maxStoredJobs: null } }).pipe(
          Layer.provide(Layer.merge(Layer.succeed(JobStore.JobStore, jobStore), Layer.succeed(ResultStore.ResultStore, resultStore)))
        )
      )
    )
  )

const row = (list: string, i: number) => {
  const phase = i % 1000 === 0 ? "EXECUTING" : "COMPLETED"
  const job: Job = {
    jobId: `j${String(i).padStart(8, "0")}`,
    runId: null,
    ownerId: i % 2 === 0 ? "alice" : null,
    quote: null,
    creationTime: 1_700_000_000_000 + i,
    startTime: 1_700_000_000_000 + i,
    endTime: phase === "COMPLETED" ? 1_700_000_000_001 + i : null,
    executionDuration: 0,
    destruction: null,
    parameters: [{ name: "QUERY", value: "SELECT 1" }],
    results: [],
    errorSummary: null,
    jobInfo: null,
    phase,
    version: 3
  }
  return {
    list,
    job_id: job.jobId,
    owner_id: job.ownerId,
    phase,
    creation_time: job.creationTime,
    version: 3,
    destruction_at: null,
    execution_at: null,
    body: JSON.stringify(job)
  }
}

/** Fills a job list with `count` jobs in multi-row inserts, one transaction per batch. */
const fill = (db: SqlDatabase.Database, list: string, count: number) =>
  db.run(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const batch = 1000
      for (let i = 0; i < count; i += batch) {
        const rows = Array.from({ length: Math.min(batch, count - i) }, (_, k) => row(list, i + k))
        yield* sql.withTransaction(sql`INSERT INTO uws_jobs ${sql.insert(rows)}`)
      }
      yield* sql.onDialectOrElse({ pg: () => sql`ANALYZE uws_jobs`, orElse: () => sql`ANALYZE` })
    })
  )

const timeListing = async (store: JobStore.JobStoreService, query: JobStore.ListQuery, repeat = 30) => {
  await Effect.runPromise(store.list(query))
  const start = performance.now()
  for (let i = 0; i < repeat; i++) await Effect.runPromise(store.list(query))
  return (performance.now() - start) / repeat
}

/** What the service asks for: without PHASE, every phase but ARCHIVED. */
const listed = Phase.all.filter((p) => p !== "ARCHIVED")

const listings = async (store: JobStore.JobStoreService) => {
  const first = await Effect.runPromise(store.list({ phases: listed, limit: 100 }))
  return {
    last: await timeListing(store, { phases: listed, last: 100 }),
    executing: await timeListing(store, { phases: ["EXECUTING"] }),
    page: await timeListing(store, { phases: listed, limit: 100, cursor: first.next! }),
    owner: await timeListing(store, { phases: listed, last: 100, ownerId: "alice" }),
    due: await (async () => {
      const start = performance.now()
      for (let i = 0; i < 30; i++) await Effect.runPromise(store.nextDeadline("destruction"))
      return (performance.now() - start) / 30
    })()
  }
}

const bench: Benchmark = async () => {
  const figures: Array<Figure> = []
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-bench-sql-"))
  const pg = await makePgDatabase()
  const sqlite = await SqlDatabase.open(path.join(dir, "bench.sqlite"))
  const sqliteNormal = await SqlDatabase.open(path.join(dir, "normal.sqlite"), { sqlite: { synchronous: "normal" } })
  const postgres = await SqlDatabase.open(pg.url)
  try {
    // 1. Lifecycles through the service. Every store is warmed up first (the first thousands of
    // lifecycles in a process run before the JIT has compiled the service), then measured in
    // ROUNDS rounds, each store once a round, so that a shared machine's load falls on all of
    // them alike; the median round counts.
    const stores: ReadonlyArray<readonly [string, (list: string) => readonly [JobStore.JobStoreService, ResultStore.ResultStoreService]]> = [
      ["memory", () => [JobStore.makeMemory(), ResultStore.makeMemory()]],
      ["sqliteNormal", (list) => [sqliteNormal.jobStore(list), sqliteNormal.resultStore(list)]],
      ["sqliteFull", (list) => [sqlite.jobStore(list), sqlite.resultStore(list)]],
      ["pg", (list) => [postgres.jobStore(list), postgres.resultStore(list)]]
    ]
    for (const [, make] of stores) await lifecycles(WARM_UP, ...make("warm"))
    const rounds = new Map<string, Array<number>>(stores.map(([name]) => [name, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, make] of stores) rounds.get(name)!.push(await lifecycles(LIFECYCLES, ...make(`lifecycles${round}`)))
    }
    const ms = (name: string) => median(rounds.get(name)!)
    const memoryMs = ms("memory")
    const sqliteMs = ms("sqliteNormal")
    const sqliteFullMs = ms("sqliteFull")
    const pgMs = ms("pg")
    const memoryName = `create→run→complete lifecycles, memory store (baseline, median of ${ROUNDS})`
    figures.push(
      { name: memoryName, value: perSecond(LIFECYCLES, memoryMs), unit: "/s" },
      { name: "… SQLite store (synchronous = FULL, the default: a flush per commit, commits grouped)", value: perSecond(LIFECYCLES, sqliteFullMs), unit: "/s", target: "≥ 3,000/s", baseline: memoryName },
      { name: "… SQLite store (synchronous = NORMAL)", value: perSecond(LIFECYCLES, sqliteMs), unit: "/s", baseline: memoryName },
      { name: "… PostgreSQL store (loopback)", value: perSecond(LIFECYCLES, pgMs), unit: "/s", target: "≥ 1,000/s", baseline: memoryName }
    )

    // 2. Listings at a million jobs (0.1 % EXECUTING), memory store as the baseline.
    const n = JOBS.toLocaleString("en-US")
    const memory = JobStore.makeMemory()
    for (let i = 0; i < JOBS; i++) {
      const r = row("m", i)
      Effect.runSync(memory.insert(JSON.parse(r.body) as Job, { destruction: null, execution: null }))
    }
    for (const [name, db] of [["SQLite", sqlite], ["PostgreSQL", postgres]] as const) {
      const start = performance.now()
      await fill(db, "million", JOBS)
      figures.push({ name: `${name}: bulk insert of ${n} jobs (setup)`, value: Math.round(performance.now() - start), unit: "ms" })
    }
    for (const [name, store] of [
      ["memory", memory],
      ["SQLite", sqlite.jobStore("million")],
      ["PostgreSQL", postgres.jobStore("million")]
    ] as const) {
      const t = await listings(store)
      const target = name === "memory" ? {} : { target: "≤ 10 ms" }
      // Each SQL listing against the same listing of the memory store.
      const of = (figure: string) => (name === "memory" ? {} : { baseline: `memory: ${figure}` })
      figures.push(
        { name: `${name}: LAST=100 at ${n} jobs`, value: t.last, unit: "ms", ...target, ...of(`LAST=100 at ${n} jobs`) },
        { name: `${name}: PHASE=EXECUTING (1,000 jobs) at ${n}`, value: t.executing, unit: "ms", ...target, ...of(`PHASE=EXECUTING (1,000 jobs) at ${n}`) },
        { name: `${name}: second page by cursor (100) at ${n}`, value: t.page, unit: "ms", ...target, ...of(`second page by cursor (100) at ${n}`) },
        { name: `${name}: one owner's LAST=100 at ${n}`, value: t.owner, unit: "ms", ...target, ...of(`one owner's LAST=100 at ${n}`) },
        { name: `${name}: next destruction deadline at ${n}`, value: t.due, unit: "ms", ...of(`next destruction deadline at ${n}`) }
      )
    }
  } finally {
    await sqlite.close()
    await sqliteNormal.close()
    await postgres.close()
    await pg.drop()
    await fs.rm(dir, { recursive: true, force: true })
  }
  return { title: "SQL stores (packages/store-sql)", figures }
}

export default bench
