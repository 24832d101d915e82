/**
 * What happens to a service's jobs, told to operators: lifecycle logs through Effect's `Logger`
 * (a host routes them to its own logger with a Logger layer) and Effect `Metric`s (jobs by phase,
 * queue length, blocked waits, dispatch latency and execution time), all derived from the
 * service's change feed, so the service itself is not touched.
 *
 * @since 0.1.0
 */
import { Effect, Metric, MetricBoundaries, MetricKey, MetricLabel, Queue } from "effect"
import type { MetricKeyType } from "effect"
import type { Scope } from "effect"
import type { Job } from "./Job.js"
import type { JobStoreService } from "./JobStore.js"
import * as Phase from "./Phase.js"
import type { JobChange, UwsService } from "./Uws.js"

/**
 * One thing worth a log line, read from a change.
 *
 * @since 0.1.0
 * @category models
 */
export type LifecycleEvent =
  | { readonly kind: "created"; readonly job: Job }
  | {
      readonly kind: "phase"
      readonly job: Job
      readonly from: Phase.Phase
      readonly to: Phase.Phase
      /** Why, when the change says: the error's message, or a deadline the service enforced. */
      readonly reason?: string
      /** The service enforced a deadline (execution duration or destruction time). */
      readonly deadline?: "executionDuration" | "destruction"
    }
  | { readonly kind: "destroyed"; readonly job: Job; readonly reason: string; readonly deadline?: "destruction" }

/**
 * The events one change stands for (pure: `now` is when it was seen). A TIMEOUT leaves an
 * EXECUTING job ABORTED with an error summary (a client's ABORT leaves none); a job gone or
 * archived at or after its destruction time was reaped (else a client deleted it).
 *
 * @since 0.1.0
 * @category decoding
 */
export const eventsOf = (change: JobChange, now: number): ReadonlyArray<LifecycleEvent> => {
  const { job, previous } = change
  if (job === undefined) {
    if (previous === undefined) return []
    return previous.destruction !== null && previous.destruction <= now
      ? [{ kind: "destroyed", job: previous, reason: "destruction time reached", deadline: "destruction" }]
      : [{ kind: "destroyed", job: previous, reason: "deleted" }]
  }
  if (previous === undefined) {
    const created: LifecycleEvent = { kind: "created", job }
    return job.phase === "PENDING" ? [created] : [created, { kind: "phase", job, from: "PENDING", to: job.phase }]
  }
  if (previous.phase === job.phase) return []
  const from = previous.phase
  const to = job.phase
  if (to === "ABORTED" && Phase.isActive(from) && job.errorSummary !== null && job.errorSummary !== previous.errorSummary) {
    return [{ kind: "phase", job, from, to, reason: "execution duration exceeded", deadline: "executionDuration" }]
  }
  if (to === "ARCHIVED" && job.destruction !== null && job.destruction <= now) {
    return [{ kind: "phase", job, from, to, reason: "destruction time reached", deadline: "destruction" }]
  }
  if (to === "ERROR" && job.errorSummary !== null) return [{ kind: "phase", job, from, to, reason: job.errorSummary.message }]
  return [{ kind: "phase", job, from, to }]
}

/**
 * Logs one event: `job created`, `job phase changed`, `deadline enforced` (a warning) or
 * `job destroyed`, annotated with service, jobId, owner, from, to and reason.
 *
 * @since 0.1.0
 * @category logging
 */
export const log = (service: string, event: LifecycleEvent): Effect.Effect<void> => {
  const job = event.job
  const fields: Record<string, unknown> = { service, jobId: job.jobId, owner: job.ownerId ?? job.quotaKey ?? "anonymous" }
  if (event.kind === "phase") {
    fields["from"] = event.from
    fields["to"] = event.to
  } else fields["phase"] = job.phase
  const deadline = event.kind === "created" ? undefined : event.deadline
  if (event.kind !== "created" && event.reason !== undefined) fields["reason"] = event.reason
  if (deadline !== undefined) fields["deadline"] = deadline
  const message =
    event.kind === "created" ? "job created" : deadline !== undefined ? "deadline enforced" : event.kind === "phase" ? "job phase changed" : "job destroyed"
  const emit = deadline !== undefined ? Effect.logWarning(message) : Effect.logInfo(message)
  return Effect.annotateLogs(emit, fields)
}

// Seconds, from a millisecond to an hour (dispatch) / a day (execution).
const latencyBounds = MetricBoundaries.fromIterable([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 3600])
const executionBounds = MetricBoundaries.fromIterable([0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600, 21600, 86400])

const keys = {
  jobs: MetricKey.gauge("uws_jobs", { description: "Jobs by service and phase." }),
  queueLength: MetricKey.gauge("uws_queue_length", { description: "QUEUED jobs by service." }),
  waiters: MetricKey.gauge("uws_wait_waiters", { description: "Blocking WAITs in progress by service." }),
  dispatchLatency: MetricKey.histogram("uws_dispatch_latency_seconds", latencyBounds, "Time from QUEUED to EXECUTING by application."),
  executionTime: MetricKey.histogram("uws_execution_seconds", executionBounds, "Time from EXECUTING to a final phase by application.")
} as const

const NO_TAGS: ReadonlyArray<MetricLabel.MetricLabel> = []

/**
 * The metrics this module keeps (Effect's default registry; `Metric.snapshot` reads them).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = {
  jobs: Metric.fromMetricKey(keys.jobs),
  queueLength: Metric.fromMetricKey(keys.queueLength),
  waiters: Metric.fromMetricKey(keys.waiters),
  dispatchLatency: Metric.fromMetricKey(keys.dispatchLatency),
  executionTime: Metric.fromMetricKey(keys.executionTime)
} as const

/**
 * One labelled series of a metric, its registry entry found once: a `Metric.tagged` metric makes
 * a new key (and hashes it) on every update: 1.7% of the demo's CPU under creations, in a profile.
 */
const series = <Type extends MetricKeyType.MetricKeyType<any, any>>(key: MetricKey.MetricKey<Type>, labels: Readonly<Record<string, string>>) =>
  Metric.fromMetricKey(MetricKey.taggedWithLabels(key, Object.entries(labels).map(([k, v]) => MetricLabel.make(k, v))))

/**
 * @since 0.1.0
 * @category models
 */
export interface ObserveOptions {
  /** The service's name in logs and metric labels (e.g. its application's name). */
  readonly service: string
  /** Counts the jobs already stored (one `count` a phase) before the feed's changes are added. */
  readonly jobStore?: JobStoreService
  /** Log lifecycle events (default true); metrics are kept either way. */
  readonly log?: boolean
}

/**
 * Follows a service's changes for as long as the scope lives: logs each lifecycle event and
 * keeps the metrics.
 *
 * @since 0.1.0
 * @category constructors
 */
export const observe = (uws: UwsService, options: ObserveOptions): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const service = options.service
    const counts = new Map<Phase.Phase, number>(Phase.all.map((p) => [p, 0]))
    const queuedAt = new Map<string, number>()
    // Each series tagged once, updated in place: a change used to build, tag and hash its gauges'
    // keys again, in an effect each.
    const phaseGauges = new Map(Phase.all.map((p) => [p, series(keys.jobs, { service, phase: p })] as const))
    const queueGauge = series(keys.queueLength, { service })
    const publish = (p: Phase.Phase) => {
      const n = counts.get(p) ?? 0
      phaseGauges.get(p)!.unsafeUpdate(n, NO_TAGS)
      if (p === "QUEUED") queueGauge.unsafeUpdate(n, NO_TAGS)
    }
    const clock = yield* Effect.clock
    const feed = yield* uws.subscribe
    if (options.jobStore !== undefined) {
      const store = options.jobStore
      for (const p of Phase.all) {
        const n = yield* Effect.orElseSucceed(store.count({ phases: [p] }), () => 0)
        counts.set(p, (counts.get(p) ?? 0) + n)
      }
    }
    for (const p of Phase.all) publish(p)
    const dispatch = series(keys.dispatchLatency, { application: service })
    const execution = series(keys.executionTime, { application: service })
    const logging = options.log !== false
    /** Keeps the metrics at once; answers the change's log lines' effect, if any. */
    const handle = (change: JobChange): Effect.Effect<void> => {
      const now = clock.unsafeCurrentTimeMillis()
      const { job, previous } = change
      if (previous?.phase !== job?.phase) {
        if (previous !== undefined) {
          counts.set(previous.phase, Math.max(0, (counts.get(previous.phase) ?? 0) - 1))
          publish(previous.phase)
        }
        if (job !== undefined) {
          counts.set(job.phase, (counts.get(job.phase) ?? 0) + 1)
          publish(job.phase)
        }
        if (job?.phase === "QUEUED") queuedAt.set(change.jobId, now)
        if (job?.phase === "EXECUTING") {
          const since = queuedAt.get(change.jobId)
          if (since !== undefined) dispatch.unsafeUpdate(Math.max(0, (job.startTime ?? now) - since) / 1000, NO_TAGS)
        }
        if (job === undefined || Phase.isFinal(job.phase)) queuedAt.delete(change.jobId)
        if (previous?.phase === "EXECUTING" && job !== undefined && Phase.isFinal(job.phase) && job.startTime !== null) {
          execution.unsafeUpdate(Math.max(0, (job.endTime ?? now) - job.startTime) / 1000, NO_TAGS)
        }
      }
      if (!logging) return Effect.void
      const events = eventsOf(change, now)
      return events.length === 0 ? Effect.void : Effect.forEach(events, (e) => log(service, e), { discard: true })
    }
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(feed), handle)))
  })

/**
 * The service with its blocking waits counted in `uws_wait_waiters{service}` (give the adapters
 * this one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const instrument = (uws: UwsService, service: string): UwsService => {
  const gauge = series(keys.waiters, { service })
  return {
    ...uws,
    waitForChange: (caller, jobId, options) =>
      Effect.acquireUseRelease(
        Metric.increment(gauge),
        () => uws.waitForChange(caller, jobId, options),
        () => Metric.incrementBy(gauge, -1)
      )
  }
}
