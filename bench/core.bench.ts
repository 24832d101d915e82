/**
 * Runs against the built packages (`npm run bench` builds first), as a host would.
 *
 * The core's figures: pure transitions, in-process lifecycles, memory per finished job and
 * listing time at a million jobs. Each comes with a baseline measured in the same run.
 */
import { Effect, Either, Layer } from "effect"
import { Identity, JobMachine, JobStore, ResultStore, Uws, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import type { JobEvent } from "@uws-kit/core/JobEvent"
import type { Benchmark, Figure } from "./report.js"

const MILLION = Number(process.env["UWS_BENCH_JOBS"] ?? 1_000_000)

const gc = () => (globalThis as { gc?: () => void }).gc?.()

const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000)

const time = (f: () => void): number => {
  const start = performance.now()
  f()
  return performance.now() - start
}

const timeAsync = async (f: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await f()
  return performance.now() - start
}

const pending = (i: number): Job => ({
  jobId: `j${i}`,
  runId: null,
  ownerId: null,
  quote: null,
  creationTime: 1_700_000_000_000 + i,
  startTime: null,
  endTime: null,
  executionDuration: 3600,
  destruction: null,
  parameters: [{ name: "QUERY", value: "SELECT 1" }],
  results: [],
  errorSummary: null,
  jobInfo: null,
  phase: "PENDING",
  version: 0
})

const lifecycle: ReadonlyArray<JobEvent> = [
  { type: "RUN", at: 1 },
  { type: "START", at: 2 },
  { type: "PROGRESS", jobInfo: { progress: "0.5" } },
  { type: "COMPLETE", at: 3, results: [{ id: "result", size: 10 }] }
]

/** Transitions per second through a decide function, cycling one job through a lifecycle. */
const transitionsPerSecond = (decide: typeof JobMachine.decide, count: number) => {
  const ms = time(() => {
    let job = pending(0)
    for (let i = 0; i < count; i++) {
      const step = i % lifecycle.length
      if (step === 0) job = pending(i)
      const d = decide(job, lifecycle[step]!)
      if (Either.isLeft(d)) throw d.left
      job = d.right.job
    }
  })
  return perSecond(count, ms)
}

/** A no-op application that names one result kept elsewhere, as most services' jobs do. */
const worker = Worker.make({
  name: "bench",
  run: () => Effect.succeed([{ id: "result", href: "https://data.example.org/results/r.vot", mimeType: "application/x-votable+xml" }])
})

const run = <A>(effect: Effect.Effect<A, unknown, Uws.Uws>, store: JobStore.JobStoreService = JobStore.makeMemory()) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(
        // Quotas off: the figures are the engine's, at a million stored jobs no public default allows.
        Uws.layer({ worker, policy: { concurrency: 16, defaultDestructionLifetime: null, maxDestructionLifetime: null, maxActiveJobsPerOwner: null, maxStoredJobs: null } }).pipe(
          Layer.provide(Layer.merge(Layer.succeed(JobStore.JobStore, store), ResultStore.layerMemory))
        )
      )
    )
  )

const noDeadlines: JobStore.Deadlines = { destruction: null, execution: null }

/** Create with RUN, let the dispatcher run the no-op application, until all have completed. */
const lifecycles = (count: number, store: JobStore.JobStoreService) =>
  Effect.gen(function* () {
    const uws = yield* Uws.Uws
    const before = yield* store.count({ phases: ["COMPLETED"] })
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => uws.create(Identity.anonymous, { parameters: [{ name: "N", value: String(i) }], run: true }),
      { discard: true }
    )
    // Poll the store's counter rather than subscribe to changes: a subscriber would add its own
    // cost to every transition.
    while ((yield* store.count({ phases: ["COMPLETED"] })) - before < count) yield* Effect.sleep("1 millis")
    return performance.now() - start
  })

/** The baseline for lifecycles: the same four compare-and-set writes straight to a memory store. */
const storeWrites = async (count: number) => {
  const store = JobStore.makeMemory()
  return timeAsync(() =>
    Effect.runPromise(
      Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) =>
          Effect.gen(function* () {
            let job = pending(i)
            yield* store.insert(job, noDeadlines)
            for (const event of lifecycle) {
              const next = Either.getOrThrow(JobMachine.decide(job, event)).job
              yield* store.update(next, job.version, noDeadlines)
              job = next
            }
          }),
        { concurrency: 64, discard: true }
      )
    )
  )
}

const bench: Benchmark = async () => {
  const figures: Array<Figure> = []

  // 1. Pure transitions: the derived table against xstate's own transition().
  transitionsPerSecond(JobMachine.decide, 200_000)
  const fast = transitionsPerSecond(JobMachine.decide, 2_000_000)
  const xstate = transitionsPerSecond(JobMachine.decideWithXState, 40_000)
  figures.push(
    { name: "pure transitions (derived table)", value: fast, unit: "/s", target: "≥ 200,000/s", baseline: "pure transitions (xstate transition(), baseline)" },
    { name: "pure transitions (xstate transition(), baseline)", value: xstate, unit: "/s" }
  )

  // 2. Lifecycles in-process with a no-op application.
  const warm = JobStore.makeMemory()
  await run(lifecycles(5_000, warm), warm)
  const n = 50_000
  const measured = JobStore.makeMemory()
  const lifecycleMs = await run(lifecycles(n, measured), measured)
  const baselineMs = await storeWrites(n)
  figures.push(
    { name: "create→run→complete lifecycles (no-op app)", value: perSecond(n, lifecycleMs), unit: "/s", target: "≥ 20,000/s", baseline: "same writes straight to the store (baseline)" },
    { name: "same writes straight to the store (baseline)", value: perSecond(n, baselineMs), unit: "/s" }
  )

  // 3 and 4. A million finished jobs: heap per job, then listings from the indexes against a
  // full scan and sort of the same jobs.
  const store = JobStore.makeMemory()
  const result = await run(
    Effect.gen(function* () {
      const uws = yield* Uws.Uws
      gc()
      const before = process.memoryUsage().heapUsed
      const done = yield* lifecycles(MILLION, store)
      gc()
      const after = process.memoryUsage().heapUsed
      // A thousand running jobs (0.1 %) for the PHASE=EXECUTING listing.
      for (let i = 0; i < 1_000; i++) {
        Effect.runSync(store.insert({ ...pending(MILLION + i), jobId: `running-${i}`, phase: "EXECUTING", startTime: 1, version: 0 }, noDeadlines))
      }
      const list = (q: Parameters<typeof uws.list>[1]) => Effect.runSync(Effect.orDie(uws.list(Identity.anonymous, q)))
      const repeat = 50
      const lastMs = time(() => {
        for (let i = 0; i < repeat; i++) list({ last: 100 })
      }) / repeat
      const phaseMs = time(() => {
        for (let i = 0; i < repeat; i++) list({ phases: ["EXECUTING"] })
      }) / repeat
      // Straight from the store: the service bounds one listing (Policy.maxListedJobs).
      const all = Effect.runSync(store.list({ phases: ["COMPLETED"] })).jobs
      const scanMs = time(() => {
        const copy = all.filter((j) => j.phase !== "ARCHIVED")
        copy.sort((a, b) => b.creationTime - a.creationTime)
        copy.slice(0, 100)
      })
      return { bytesPerJob: (after - before) / MILLION, lastMs, phaseMs, scanMs, lifecyclesPerSecond: perSecond(MILLION, done) }
    }),
    store
  )
  figures.push(
    { name: `heap per finished job (${MILLION.toLocaleString("en-US")} stored)`, value: Math.round(result.bytesPerJob), unit: "B", target: "≤ 1,024 B" },
    { name: `LAST=100 listing at ${MILLION.toLocaleString("en-US")} jobs`, value: result.lastMs, unit: "ms", target: "≤ 10 ms" },
    { name: `PHASE=EXECUTING listing at ${MILLION.toLocaleString("en-US")} jobs`, value: result.phaseMs, unit: "ms", target: "≤ 10 ms" },
    { name: "full scan + sort of the same jobs (baseline)", value: result.scanMs, unit: "ms" },
    { name: "ratio scan / LAST=100", value: result.scanMs / result.lastMs, unit: "×" },
    { name: `lifecycles/s while filling to ${MILLION.toLocaleString("en-US")}`, value: result.lifecyclesPerSecond, unit: "/s" }
  )
  return { title: "core (packages/core)", figures }
}

export default bench
