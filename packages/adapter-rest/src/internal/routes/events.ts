/**
 * `GET …/jobs/{id}/events`: a job's changes as server-sent events, for the live job page. The
 * caller must be allowed to read the job (the same check as `GET …/jobs/{id}`). Built on the
 * core's change feed: one shared subscription per job however many pages watch it, released
 * with its last watcher. The stream opens with the job as it is, sends an event for every
 * change (phase, progress, times), a heartbeat comment while nothing changes (so proxies keep
 * the connection), and ends after the job reaches a final phase or is destroyed, or when the
 * binding closes.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Job } from "@uws-kit/core/Job"
import * as Phase from "@uws-kit/core/Phase"
import type { JobChange, UwsService } from "@uws-kit/core/Uws"
import { Duration, Effect, Exit, PubSub, Queue, Scope, Stream } from "effect"
import * as Html from "../../Html.js"
import type { Deps, Handler } from "../request.js"

/** How often a quiet stream sends a comment line. */
export const HEARTBEAT = Duration.seconds(15)

interface Hub {
  readonly pubsub: PubSub.PubSub<JobChange>
  readonly close: Effect.Effect<void>
  watchers: number
}

/** One subscription to the service's changes per watched job, shared by its watchers. */
export const makeFeeds = (service: UwsService) => {
  const hubs = new Map<string, Hub>()
  const lock = Effect.unsafeMakeSemaphore(1)

  const acquire = (jobId: string): Effect.Effect<Hub> =>
    lock.withPermits(1)(
      Effect.gen(function* () {
        let hub = hubs.get(jobId)
        if (hub === undefined) {
          const scope = yield* Scope.make()
          // Active once returned: no change after this point is missed.
          const source = yield* Scope.extend(service.subscribe, scope)
          // A slow page loses old progress, never the newest state.
          const pubsub = yield* PubSub.sliding<JobChange>(64)
          // Forked from an uninterruptible acquire: made interruptible, or closing the hub would hang.
          yield* Effect.forkIn(
            Effect.interruptible(Effect.forever(Effect.flatMap(Queue.take(source), (c) => (c.jobId === jobId ? PubSub.publish(pubsub, c) : Effect.void)))),
            scope
          )
          hub = { pubsub, close: Scope.close(scope, Exit.void), watchers: 0 }
          hubs.set(jobId, hub)
        }
        hub.watchers++
        return hub
      })
    )

  const release = (jobId: string, hub: Hub): Effect.Effect<void> =>
    lock.withPermits(1)(
      Effect.suspend(() => {
        hub.watchers--
        if (hub.watchers > 0 || hubs.get(jobId) !== hub) return Effect.void
        hubs.delete(jobId)
        return hub.close
      })
    )

  /** The job's changes from now on, for as long as the scope lives. */
  const watch = (jobId: string): Effect.Effect<Queue.Dequeue<JobChange>, never, Scope.Scope> =>
    Effect.flatMap(
      Effect.acquireRelease(acquire(jobId), (hub) => release(jobId, hub)),
      (hub) => PubSub.subscribe(hub.pubsub)
    )

  return { watch, watched: () => hubs.size }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** What the page shows of a job, as one event's data. */
export const snapshot = (job: Job, now: number) => ({
  jobId: job.jobId,
  phase: job.phase,
  progress: Html.progressOf(job),
  jobInfo: job.jobInfo ?? {},
  creationTime: iso(job.creationTime),
  startTime: iso(job.startTime),
  endTime: iso(job.endTime),
  executionDuration: job.executionDuration,
  destruction: iso(job.destruction),
  now: iso(now)
})

const frame = (job: Job | undefined): string =>
  job === undefined ? "event: gone\ndata: {}\n\n" : `event: job\ndata: ${JSON.stringify(snapshot(job, Date.now()))}\n\n`

const isOver = (job: Job | undefined) => job === undefined || Phase.isFinal(job.phase)

export const make = (deps: Deps, feeds: ReturnType<typeof makeFeeds>, heartbeat: Duration.DurationInput = HEARTBEAT) => {
  const { service } = deps

  const events =
    (jobId: string): Handler =>
    (ctx) =>
      // Refused or unknown jobs answer as the job itself would (403/404), before any stream.
      Effect.map(service.get(ctx.caller, jobId), () => {
        const jobs = Stream.unwrapScoped(
          Effect.gen(function* () {
            const changes = yield* feeds.watch(jobId)
            // Read after subscribing, so that nothing falls between the two.
            const first = yield* Effect.either(service.get(ctx.caller, jobId))
            const start = first._tag === "Right" ? first.right : undefined
            return Stream.concat(Stream.make(start), Stream.map(Stream.fromQueue(changes), (c) => c.job)).pipe(Stream.takeUntil(isOver))
          })
        )
        const beats = Stream.map(Stream.drop(Stream.tick(heartbeat), 1), () => ": heartbeat\n\n")
        const body = Stream.concat(Stream.make("retry: 3000\n\n"), Stream.merge(Stream.map(jobs, frame), beats, { haltStrategy: "left" })).pipe(
          Stream.interruptWhen(deps.closing),
          Stream.encodeText
        )
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream; charset=utf-8",
          headers: { "cache-control": "no-store", "x-accel-buffering": "no", "x-content-type-options": "nosniff" }
        })
      })

  return { events }
}
