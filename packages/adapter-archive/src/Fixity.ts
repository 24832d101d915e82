/**
 * Scheduled fixity: a run re-reads every copy of every stored content at a set pace, records each
 * result on the copy (date, outcome, what was found), repairs bad and missing copies from a good
 * one, and deletes content no part refers to any more. A run is a UWS job of its own application
 * (`fixity`) on the core, so it is listed, watched, waited on and aborted like any job; its
 * progress counts are its jobInfo and its findings (every copy checked) its `report` result.
 *
 * A run never passes silently (DSpace's checker recorded mismatches as successes for years): a
 * run that leaves any copy bad ends in ERROR saying how many and why; one that found and repaired
 * problems completes with them counted.
 *
 * @since 0.1.0
 */
import { Content, Identity, JobStore, Phase, ResultStore, Uws, Worker } from "@uws-kit/core"
import type { Errors, Job } from "@uws-kit/core"
import { Clock, Duration, Effect, Stream } from "effect"
import type { Scope } from "effect"
import type * as CopyCatalogue from "./CopyCatalogue.js"
import type { ContentCheck, Replicas } from "./Replicas.js"
import { paceBytes } from "./Replicas.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface FixityOptions {
  readonly replicas: Replicas
  /** Most bytes read per second (default: no limit). */
  readonly bytesPerSecond?: number
  /** At most `items` contents checked per `interval` (default: no limit). */
  readonly itemsPerInterval?: { readonly items: number; readonly interval: Duration.DurationInput }
  /** Start a run this often (default: only when asked). */
  readonly every?: Duration.DurationInput
  /** Where runs are kept (default: in memory). */
  readonly jobStore?: JobStore.JobStoreService
  readonly resultStore?: ResultStore.ResultStoreService
  /** Told each content's check as a run completes it, e.g. to count outcomes (default: none). */
  readonly onCheck?: (check: ContentCheck) => Effect.Effect<void>
}

/**
 * The jobInfo keys of a run.
 *
 * @since 0.1.0
 * @category constants
 */
export const Info = {
  contents: "contents",
  copies: "copies",
  good: "good",
  corrupt: "corrupt",
  missing: "missing",
  unreachable: "unreachable",
  repaired: "repaired",
  unrepaired: "unrepaired",
  collected: "collected",
  bytes: "bytes"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export interface FixityService {
  /** The runs as UWS jobs (a UWS binding may be mounted on it). */
  readonly uws: Uws.UwsService
  /** Starts a run now, or answers the one running (one at a time). */
  readonly start: (caller: Identity.Caller) => Effect.Effect<Job.Job, Errors.UwsError>
  /** Runs, newest first. */
  readonly list: (caller: Identity.Caller) => Effect.Effect<ReadonlyArray<Job.Job>, Errors.UwsError>
  readonly get: (caller: Identity.Caller, id: string) => Effect.Effect<Job.Job, Errors.UwsError>
  /** What a run found, copy by copy (`null` until it has ended). */
  readonly report: (caller: Identity.Caller, id: string) => Effect.Effect<ReadonlyArray<ContentCheck> | null, Errors.UwsError>
}

const ACTIVE: ReadonlyArray<Phase.Phase> = ["PENDING", "QUEUED", "HELD", "EXECUTING", "SUSPENDED"]

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: FixityOptions): Effect.Effect<FixityService, never, Scope.Scope> =>
  Effect.gen(function* () {
    const replicas = options.replicas
    const worker = Worker.make({
      name: "fixity",
      // A run checks from the start again: safe to run again after a crash.
      restartable: true,
      run: (_job, context) =>
        Effect.gen(function* () {
          const pace = options.bytesPerSecond === undefined ? () => Effect.void : paceBytes(options.bytesPerSecond)
          const counts: Record<string, number> = Object.fromEntries(Object.values(Info).map((k) => [k, 0]))
          const checks: Array<ContentCheck> = []
          const batch = options.itemsPerInterval
          const interval = batch === undefined ? 0 : Duration.toMillis(Duration.decode(batch.interval))
          let batchStart = yield* Clock.currentTimeMillis
          let inBatch = 0
          let after: string | null = null
          for (;;) {
            const page: ReadonlyArray<CopyCatalogue.Content> = yield* replicas.catalogue.list(after, 100)
            if (page.length === 0) break
            for (const content of page) {
              if (batch !== undefined && inBatch >= batch.items) {
                const t = yield* Clock.currentTimeMillis
                if (batchStart + interval > t) yield* Effect.sleep(Duration.millis(batchStart + interval - t))
                batchStart = yield* Clock.currentTimeMillis
                inBatch = 0
              }
              inBatch++
              const checked = yield* replicas.check(content.sha256, pace)
              checks.push(checked)
              if (options.onCheck !== undefined) yield* options.onCheck(checked)
              counts[Info.contents]!++
              counts[Info.bytes]! += checked.bytes
              if (checked.collected) counts[Info.collected]!++
              counts[Info.unrepaired]! += checked.unrepaired
              for (const c of checked.copies) {
                counts[Info.copies]!++
                counts[c.outcome]!++
                if (c.repaired) counts[Info.repaired]!++
              }
              yield* context.reportProgress(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, String(v)])))
            }
            after = page[page.length - 1]!.sha256
          }
          const report = { type: "fixity-report", checks }
          if (counts[Info.unrepaired]! > 0) {
            yield* context.publishResult({ id: "report", mimeType: "application/json", content: JSON.stringify(report) })
            const bad = checks.flatMap((c) => c.copies.filter((x) => x.outcome !== "good" && x.outcome !== "unreachable" && !x.repaired))
            return yield* Effect.fail(
              new Worker.JobFailure({
                message: `fixity found ${counts[Info.unrepaired]} cop${counts[Info.unrepaired] === 1 ? "y" : "ies"} bad that could not be repaired: ${bad
                  .slice(0, 5)
                  .map((x) => `${x.sha256.slice(0, 12)}… in ${x.storage}: ${x.detail}`)
                  .join("; ")}${bad.length > 5 ? "; …" : ""}`
              })
            )
          }
          return [{ id: "report", mimeType: "application/json", content: JSON.stringify(report) }]
        })
    })
    const uws = yield* Uws.make({ worker, policy: { maxStoredJobs: null, defaultDestructionLifetime: 30 * 86_400, maxDestructionLifetime: null } }).pipe(
      Effect.provideService(JobStore.JobStore, options.jobStore ?? JobStore.makeMemory()),
      Effect.provideService(ResultStore.ResultStore, options.resultStore ?? ResultStore.makeMemory())
    )
    // One run at a time: starting while one is active answers that one.
    const startLock = yield* Effect.makeSemaphore(1)
    const start: FixityService["start"] = (caller) =>
      startLock.withPermits(1)(
        Effect.gen(function* () {
          const active = yield* uws.list(Identity.system, { phases: ACTIVE, limit: 1 })
          if (active.jobs[0] !== undefined) return active.jobs[0]
          return yield* uws.create(caller.admin === true ? Identity.system : caller, { run: true })
        })
      )
    if (options.every !== undefined) {
      const every = Duration.decode(options.every)
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.zipRight(
            Effect.sleep(every),
            start(Identity.system).pipe(Effect.catchAll((e) => Effect.logWarning(`the scheduled fixity run could not start: ${e.message}`)))
          )
        )
      )
    }
    return {
      uws,
      start,
      list: (caller) => Effect.map(uws.list(caller, { phases: Phase.all, limit: 1000 }), (page) => page.jobs),
      get: (caller, id) => uws.get(caller, id),
      report: (caller, id) =>
        Effect.gen(function* () {
          const job = yield* uws.get(caller, id)
          if (!job.results.some((r) => r.id === "report")) return null
          const got = yield* uws.result(caller, id, "report")
          if (got.content === undefined) return null
          const chunks = yield* Stream.runCollect(got.content.stream)
          const text = Buffer.from(Content.concat([...chunks])).toString("utf8")
          return (JSON.parse(text) as { checks: ReadonlyArray<ContentCheck> }).checks
        })
    }
  })
