/**
 * Deadlines: the watchdog (execution time-outs) and the reaper (destruction), each a loop that
 * sleeps until the store's next deadline of its kind or until this service writes an earlier one.
 */
import { Duration, Effect, Either, Queue } from "effect"
import type { Clock, Scope } from "effect"
import type { UwsError } from "../Errors.js"
import { Conflict } from "../Errors.js"
import { executionDeadline, type Job } from "../Job.js"
import type { DeadlineKind, Deadlines, JobStoreService } from "../JobStore.js"
import * as ServiceEvents from "../ServiceEvents.js"
import * as TerminationMachine from "../TerminationMachine.js"
import type { Transact } from "./transact.js"
import type { Services } from "./services.js"

const DUE_BATCH = 64
const KINDS: ReadonlyArray<DeadlineKind> = ["destruction", "execution"]

const deadlineOf = (kind: DeadlineKind, job: Job) =>
  kind === "execution"
    ? executionDeadline(job)
    : job.phase === "ARCHIVED" || !TerminationMachine.isLive(TerminationMachine.ofJob(job))
      ? null
      : job.destruction

/** The one place deadlines are computed; stores only index these instants. */
export const deadlinesOf = (job: Job): Deadlines => ({ destruction: deadlineOf("destruction", job), execution: deadlineOf("execution", job) })

export interface Schedule {
  /** Wakes a loop whose sleep ends after one of the job's deadlines. */
  readonly wakeIfEarlier: (job: Job) => void
  /** The same for deadlines another instance wrote. */
  readonly wakeIfEarlierThan: (deadlines: Deadlines) => void
  readonly wakeAll: () => void
  /** Handles due jobs of a kind, forever; a failing loop logs and restarts. */
  readonly loop: (kind: DeadlineKind, handle: (jobId: string) => Effect.Effect<unknown, UwsError>) => Effect.Effect<never>
}

export const makeSchedule = (store: JobStoreService, clock: Clock.Clock, rescanInterval: number): Effect.Effect<Schedule> =>
  Effect.gen(function* () {
    // A wakeup carries the deadline this service wrote (the loop sleeps until it without reading
    // the store), or null: read the store again.
    const wakeups = { destruction: yield* Queue.sliding<number | null>(1), execution: yield* Queue.sliding<number | null>(1) }
    const scheduledFor: Record<DeadlineKind, number> = { destruction: Infinity, execution: Infinity }
    // Set by wakeAll: a later wakeup that carries a deadline must not slide its "read again" away.
    const reread: Record<DeadlineKind, boolean> = { destruction: false, execution: false }
    const now = clock.currentTimeMillis

    const loop = (kind: DeadlineKind, handle: (jobId: string) => Effect.Effect<unknown, UwsError>) =>
      Effect.gen(function* () {
        let next = yield* store.nextDeadline(kind)
        for (;;) {
          const t = yield* now
          if (next !== null && next <= t) {
            scheduledFor[kind] = t
            const due = yield* store.due(kind, t, DUE_BATCH)
            yield* Effect.forEach(
              due,
              (jobId) =>
                handle(jobId).pipe(
                  Effect.catchAll((e) =>
                    e._tag === "JobNotFound" || e._tag === "InvalidTransition" || e._tag === "Conflict"
                      ? Effect.void
                      : Effect.logWarning(`${kind} deadline of job ${jobId} not enforced: ${e.message}`)
                  )
                ),
              { discard: true }
            )
            next = yield* store.nextDeadline(kind)
            continue
          }
          // Sleep until the next deadline, or until this service writes an earlier one; a store
          // shared with other instances is re-read every `rescanInterval` as well.
          const wait = Math.min(next === null ? Infinity : next - t, rescanInterval)
          scheduledFor[kind] = t + wait
          const woken = yield* wait === Infinity
            ? Queue.take(wakeups[kind])
            : Effect.raceFirst(Effect.as(clock.sleep(Duration.millis(wait)), null), Queue.take(wakeups[kind]))
          // An earlier deadline written here is known without a read: a job that starts wakes the
          // loop once, not the next one that starts later (nor a read for each).
          if (woken === null || reread[kind]) {
            reread[kind] = false
            next = yield* store.nextDeadline(kind)
          } else next = next === null ? woken : Math.min(next, woken)
        }
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError(`the ${kind} deadline loop failed and restarts`, cause).pipe(Effect.zipRight(clock.sleep(Duration.seconds(1))))
        ),
        Effect.forever
      )

    /** Wakes the loop of a kind for an earlier deadline, which from now on is the one it sleeps for. */
    const earlier = (kind: DeadlineKind, at: number | null) => {
      if (at !== null && at < scheduledFor[kind]) {
        scheduledFor[kind] = at
        wakeups[kind].unsafeOffer(at)
      }
    }
    return {
      wakeIfEarlier: (job) => {
        for (const kind of KINDS) earlier(kind, deadlineOf(kind, job))
      },
      wakeIfEarlierThan: (deadlines) => {
        for (const kind of KINDS) earlier(kind, deadlines[kind])
      },
      wakeAll: () => {
        for (const kind of KINDS) {
          reread[kind] = true
          wakeups[kind].unsafeOffer(null)
        }
      },
      loop
    }
  })

/** Forks the watchdog and the reaper; they enforce what `ServiceEvents` chooses. */
export const enforceDeadlines = (deps: Pick<Services, "store" | "policy" | "now"> & {
  readonly schedule: Schedule
  readonly transact: Transact
}): Effect.Effect<void, never, Scope.Scope> => {
  const { schedule, store, policy, now, transact } = deps
  const timeout = (jobId: string) =>
    transact.system(jobId, "TIMEOUT", (job, at) =>
      ServiceEvents.timedOut(job, at)
        ? Effect.succeed(ServiceEvents.event(policy, "TIMEOUT", at))
        : Effect.fail(new Conflict({ jobId, reason: "the deadline moved." }))
    )
  const destroy = (jobId: string) =>
    Effect.gen(function* () {
      const job = yield* store.get(jobId)
      if (job === undefined) return
      const { events, termination } = ServiceEvents.destruction(policy, job, yield* now)
      // The archived job keeps its termination as the machine left it: reached.
      const reached = (_before: Job, archived: Job) => Either.right<Job>({ ...archived, ...TerminationMachine.toJob(termination) })
      for (const type of events) yield* transact.system(jobId, type, transact.at(type), undefined, type === "ARCHIVE" ? reached : undefined)
    })
  return Effect.zipRight(
    Effect.forkScoped(schedule.loop("execution", timeout)),
    Effect.asVoid(Effect.forkScoped(schedule.loop("destruction", destroy)))
  )
}
