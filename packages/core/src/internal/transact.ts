/**
 * One change to one job: load → check the caller → build the event → decide (the job machine) →
 * compare-and-set → carry out the decision's effects (dispatch, cancel, delete results, notify).
 */
import { Cause, Effect, Either } from "effect"
import type { Clock, PubSub } from "effect"
import { Forbidden, InvalidTransition, JobNotFound, type UwsError } from "../Errors.js"
import * as Identity from "../Identity.js"
import type { Caller } from "../Identity.js"
import type { Job } from "../Job.js"
import type { JobEvent, JobEventType } from "../JobEvent.js"
import * as JobMachine from "../JobMachine.js"
import * as ServiceEvents from "../ServiceEvents.js"
import type { JobChange } from "../Uws.js"
import { deadlinesOf, type Schedule } from "./deadlines.js"
import * as JobTerms from "./jobTerms.js"
import type { Runs } from "./runs.js"
import type { Waiters } from "./waiters.js"
import type { Worker } from "../Worker.js"
import type { Services } from "./services.js"

/** How often a lost compare-and-set is retried before the caller gets `Conflict`. */
const CAS_ATTEMPTS = 16
export const RESULTS_PREFIX = "results/"

/**
 * Builds the event from the freshly loaded job and the current time: the event itself when it
 * needs nothing else (most do; it spares a step of the run loop), else an effect.
 */
export type MakeEvent = (job: Job, now: number) => JobEvent | Effect.Effect<JobEvent, UwsError>

/**
 * What an operation adds to the job machine's decision before it is stored: the job's terms
 * (quote, termination) as the operation moves them (RUN accepts the quote; the reaper reaches the
 * termination). A refusal stores nothing.
 */
export type Amend = (before: Job, decided: Job, now: number) => Either.Either<Job, UwsError>

export interface Transact {
  /** The job, if the caller may see it. */
  readonly load: (caller: Caller, jobId: string) => Effect.Effect<Job, UwsError>
  /** The given job, if the caller may see it. */
  readonly access: (caller: Caller, job: Job) => Effect.Effect<Job, UwsError>
  /**
   * `load` answered at once, without an effect, when the store holds the job's current state in
   * memory (`JobStore.peek`); `undefined` when only `load` can tell.
   */
  readonly peek: (caller: Caller, jobId: string) => Either.Either<Job, UwsError> | undefined
  /**
   * A lost race is retried against the fresh job (so concurrent requests serialise), and only
   * reported as `Conflict` when it keeps losing.
   */
  readonly transact: (
    caller: Caller,
    jobId: string,
    eventType: JobEventType,
    makeEvent: MakeEvent,
    known?: Job,
    amend?: Amend
  ) => Effect.Effect<JobMachine.Decision, UwsError>
  /** `transact` as the service itself. */
  readonly system: (jobId: string, eventType: JobEventType, makeEvent: MakeEvent, known?: Job, amend?: Amend) => Effect.Effect<JobMachine.Decision, UwsError>
  /** The event maker of a type that carries only its instant. */
  readonly at: (type: ServiceEvents.TimedEventType) => MakeEvent
  /** Tells waiters and subscribers about a change this service made. */
  readonly notify: (jobId: string, job: Job | undefined, previous: Job | undefined) => void
}

/** A worker's `release` of a forgotten job, its failure (or defect) logged: the job is gone either way. */
const releaseOf = (release: NonNullable<Worker["release"]>, job: Job): Effect.Effect<void> =>
  Effect.suspend(() => {
    const out = release(job)
    return Effect.isEffect(out) ? out : Effect.tryPromise(() => Promise.resolve(out))
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning(`release of job ${job.jobId} failed`, cause))
  )

export const makeTransact = (deps: Pick<Services, "store" | "results" | "dispatcher" | "policy" | "now" | "worker"> & {
  readonly runs: Runs
  readonly waiters: Waiters
  readonly schedule: Schedule
  readonly changes: PubSub.PubSub<JobChange>
  /**
   * The clock `now` reads, when there is one: the checks and the decision then run as plain
   * calls, not effects. Without it, `now` is run.
   */
  readonly clock?: Clock.Clock
}): Transact => {
  const { store, results, dispatcher, policy, now, runs, waiters, schedule, changes, worker, clock } = deps

  /** The job machine's decision with the job's terms moved along: what is stored. */
  const decide = (job: Job, event: JobEvent, t: number, amend: Amend | undefined): Either.Either<JobMachine.Decision, UwsError> =>
    Either.flatMap(JobMachine.decide(job, event), (decision) => {
      const followed = JobTerms.follow(worker, event, decision.job, t)
      const amended = amend === undefined ? followed : Either.flatMap(followed, (decided) => amend(job, decided, t))
      return Either.map(amended, (next) => (next === decision.job ? decision : { job: next, effects: decision.effects }))
    })

  /** The one rule of reading a job: it exists, and the caller may see it (`load` and `peek` both). */
  const authorize = (caller: Caller, jobId: string, job: Job | undefined): Either.Either<Job, UwsError> =>
    job === undefined
      ? Either.left(new JobNotFound({ jobId }))
      : Identity.mayAccess(policy, caller, job)
        ? Either.right(job)
        : Either.left(new Forbidden({ jobId: job.jobId, reason: "the job belongs to someone else." }))

  const access = (caller: Caller, job: Job): Effect.Effect<Job, UwsError> => authorize(caller, job.jobId, job)

  const load = (caller: Caller, jobId: string): Effect.Effect<Job, UwsError> =>
    Effect.flatMap(store.get(jobId), (job): Effect.Effect<Job, UwsError> => authorize(caller, jobId, job))

  const peek = (caller: Caller, jobId: string): Either.Either<Job, UwsError> | undefined => {
    const job = store.peek?.(jobId)
    return job === undefined ? undefined : authorize(caller, jobId, job ?? undefined)
  }

  const notify = (jobId: string, job: Job | undefined, previous: Job | undefined): boolean => {
    const woke = waiters.wake(jobId, job)
    changes.unsafeOffer({ jobId, job, previous })
    return woke
  }

  /** A defect in an effect of a change already stored: logged, and the change stands. */
  const defectAfterCommit = (jobId: string, effect: string, cause: Cause.Cause<unknown>) =>
    Effect.logError(`job ${jobId}: "${effect}" failed after the change was stored; its other effects were carried out`, cause)

  /** The effect, a defect in it logged (see `carryOut`). Made once, not per change (a named closure costs under tsx). */
  const guarded = (jobId: string, name: string, effect: Effect.Effect<void>) =>
    Effect.catchAllCause(effect, (cause) => defectAfterCommit(jobId, name, cause))

  /**
   * A queued job the dispatcher could not take (its `offer` died) would stay QUEUED, never run,
   * until a restart's recovery: it fails instead, with the reason in its error summary.
   */
  const undispatched = (jobId: string, cause: Cause.Cause<unknown>) =>
    Effect.zipRight(
      defectAfterCommit(jobId, "dispatch", cause),
      Effect.suspend(() => {
        runs.queued.take(jobId)
        return transact(Identity.system, jobId, "FAIL", (_job, at) => ({
          type: "FAIL",
          at,
          error: { type: "transient", message: "The job could not be queued for execution (the service's dispatcher failed; see its log). Run it again.", hasDetail: false }
        }))
      }).pipe(Effect.catchAllCause((failed) => defectAfterCommit(jobId, "FAIL after a failed dispatch", failed)))
    )

  /**
   * Carries out a stored decision's effects; the common ones synchronously. Each is on its own: a
   * defect in one (a host's dispatcher, a worker's cancel) is logged and does not stop the others
   * or undo the change, which is stored and answered.
   */
  const carryOut = (before: Job, event: JobEvent, decision: JobMachine.Decision): Effect.Effect<void> | undefined => {
    const forgotten = decision.effects.includes("forget")
    const jobId = before.jobId
    let pending: Effect.Effect<void> | undefined
    const then = (effect: Effect.Effect<void>) => {
      pending = pending === undefined ? effect : Effect.zipRight(pending, effect)
    }
    for (const effect of decision.effects) {
      switch (effect) {
        case "dispatch":
          then(
            Effect.catchAllCause(
              Effect.suspend(() => {
                runs.queued.put(decision.job)
                return dispatcher.offer(jobId)
              }),
              (cause) => undispatched(jobId, cause)
            )
          )
          break
        case "cancel":
          then(guarded(jobId, "cancel", runs.cancel(jobId)))
          break
        case "deleteResults":
          // The machine drops the results from an archived job only when asked to (see
          // `Policy.archivedResults`); their contents go with them, or stay with them.
          if (event.type === "ARCHIVE" && event.keepResults === true) break
          then(
            guarded(
              jobId,
              "deleteResults",
              results.deleteAll(jobId, forgotten ? undefined : RESULTS_PREFIX).pipe(
                Effect.catchAll((e) => Effect.logWarning(`results of job ${jobId} not deleted: ${e.message}`))
              )
            )
          )
          break
        case "notify":
          // A WAIT woken here answers before this change's own caller goes on (its answer,
          // its logs): the waiter is already queued first, a yield lets it run.
          try {
            if (notify(jobId, forgotten ? undefined : decision.job, before)) then(Effect.yieldNow())
          } catch (defect) {
            then(defectAfterCommit(jobId, "notify", Cause.die(defect)))
          }
          break
        case "forget":
          if (worker.release !== undefined) then(releaseOf(worker.release, before))
          break
      }
    }
    if (!forgotten) {
      try {
        schedule.wakeIfEarlier(decision.job)
      } catch (defect) {
        then(defectAfterCommit(jobId, "deadlines", Cause.die(defect)))
      }
    }
    return pending
  }

  const transact: Transact["transact"] = (caller, jobId, eventType, makeEvent, known, amend) => {
    /** The write and its effects, once the decision is made. */
    const commit = (job: Job, event: JobEvent, t: number): Effect.Effect<JobMachine.Decision, UwsError> => {
      const decided = decide(job, event, t, amend)
      if (Either.isLeft(decided)) return Effect.fail(decided.left)
      const decision = decided.right
      const write = decision.effects.includes("forget") ? store.remove(jobId, job.version) : store.update(decision.job, job.version, deadlinesOf(decision.job))
      // Once the write is committed its effects must follow: a client hanging up must not leave
      // a job QUEUED that was never dispatched.
      return Effect.uninterruptible(
        Effect.flatMap(write, () => {
          const pending = carryOut(job, event, decision)
          return pending === undefined ? Effect.succeed(decision) : Effect.as(pending, decision)
        })
      )
    }
    /** One attempt on a job the caller may see; the time is read when the attempt runs. */
    const attempt = (job: Job): Effect.Effect<JobMachine.Decision, UwsError> => {
      if (JobMachine.targetOf(job.phase, eventType) === undefined) {
        return Effect.fail(new InvalidTransition({ jobId, event: eventType, phase: job.phase }))
      }
      if (clock === undefined) return Effect.flatMap(now, (t) => decideAt(job, t))
      return decideAt(job, clock.unsafeCurrentTimeMillis())
    }
    const decideAt = (job: Job, t: number): Effect.Effect<JobMachine.Decision, UwsError> => {
      const made = makeEvent(job, t)
      return Effect.isEffect(made) ? Effect.flatMap(made, (event) => commit(job, event, t)) : commit(job, made, t)
    }
    const attemptOn = (loaded: Either.Either<Job, UwsError>) => (Either.isLeft(loaded) ? Effect.fail(loaded.left) : attempt(loaded.right))
    // A store that holds its jobs in memory answers at once (`peek`); the others are read.
    const fresh: Effect.Effect<JobMachine.Decision, UwsError> = Effect.suspend(() => {
      const peeked = store.peek?.(jobId)
      return peeked === undefined
        ? Effect.flatMap(store.get(jobId), (job) => attemptOn(authorize(caller, jobId, job)))
        : attemptOn(authorize(caller, jobId, peeked ?? undefined))
    })
    const loop = (left: number): Effect.Effect<JobMachine.Decision, UwsError> =>
      fresh.pipe(
        Effect.catchTag("Conflict", (e) => (left > 1 ? Effect.yieldNow().pipe(Effect.zipRight(loop(left - 1))) : Effect.fail(e)))
      )
    // A job the caller has just written spares a load (a read of the store). It may be stale: an
    // attempt on it that fails (its compare-and-set lost, its phase refused the event…) is made
    // again on the loaded job, unless the store itself failed.
    return known === undefined
      ? loop(CAS_ATTEMPTS)
      : Effect.suspend(() => attemptOn(authorize(caller, known.jobId, known))).pipe(
          Effect.catchIf((e) => e._tag !== "StorageFailure", () => loop(CAS_ATTEMPTS))
        )
  }

  return {
    load,
    peek,
    access,
    transact,
    system: (jobId, eventType, makeEvent, known, amend) => transact(Identity.system, jobId, eventType, makeEvent, known, amend),
    at: (type) => (_job, at) => ServiceEvents.event(policy, type, at),
    notify
  }
}
