/**
 * The service's choices of which event to send: pure functions of the policy and the facts the
 * service has read (a job, its phase, the queue's length, the time). The job machine decides what
 * an event does; these decide which events the service sends, so both are testable as tables.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { QuotaExceeded } from "./Errors.js"
import { executionDeadline, type Job } from "./Job.js"
import type { JobEvent, JobEventType } from "./JobEvent.js"
import * as JobMachine from "./JobMachine.js"
import type { Phase } from "./Phase.js"
import type { Policy } from "./Policy.js"
import * as TerminationMachine from "./TerminationMachine.js"

/**
 * Whether `run` must count the QUEUED jobs before choosing (only when the queue is bounded).
 *
 * @since 0.1.0
 * @category run
 */
export const countsQueue = (policy: Pick<Policy, "maxQueuedJobs">): boolean => policy.maxQueuedJobs !== null

/**
 * What a client's RUN becomes: RUN while the queue has room; when it is full, HOLD for a PENDING
 * job (it keeps its place as HELD, UWS 1.1 §2.1.3) and a refusal for any other.
 * `queued` is the number of QUEUED jobs (ignored when the queue is unbounded).
 *
 * @since 0.1.0
 * @category run
 */
export const runEvent = (
  policy: Pick<Policy, "maxQueuedJobs">,
  phase: Phase,
  queued: number
): Either.Either<"RUN" | "HOLD", QuotaExceeded> =>
  policy.maxQueuedJobs === null || queued < policy.maxQueuedJobs
    ? Either.right("RUN")
    : phase === "PENDING"
      ? Either.right("HOLD")
      : Either.left(new QuotaExceeded({ reason: `the queue is full (${queued} jobs); send RUN again later.` }))

/**
 * The reaper's decision at `now`, through the termination machine: nothing before the time (or
 * for an archived job, or one whose termination has ended); else the events that carry out what
 * the machine decided — DESTROY when the policy deletes; else ARCHIVE, preceded by ABORT when the
 * job's phase cannot be archived directly (an active job is stopped first) — and the termination
 * the archived job keeps.
 *
 * @since 0.1.0
 * @category destruction
 */
export const destruction = (
  policy: Pick<Policy, "onDestruction">,
  job: Pick<Job, "phase" | "destruction" | "terminationStatus">,
  now: number
): { readonly events: ReadonlyArray<"DESTROY" | "ABORT" | "ARCHIVE">; readonly termination: TerminationMachine.TerminationState } => {
  const termination = TerminationMachine.ofJob(job)
  if (job.phase === "ARCHIVED" || !TerminationMachine.isDue(termination, now)) return { events: [], termination }
  const decision = TerminationMachine.decide(termination, TerminationMachine.reach(policy, now))
  if (Either.isLeft(decision)) return { events: [], termination }
  const reached = decision.right.termination
  return decision.right.effects.includes("destroy")
    ? { events: ["DESTROY"], termination: reached }
    : { events: JobMachine.targetOf(job.phase, "ARCHIVE") === undefined ? ["ABORT", "ARCHIVE"] : ["ARCHIVE"], termination: reached }
}

/**
 * The events that carry out a job's destruction at `now`, in order (see {@link destruction}).
 *
 * @since 0.1.0
 * @category destruction
 */
export const destructionEvents = (
  policy: Pick<Policy, "onDestruction">,
  job: Pick<Job, "phase" | "destruction" | "terminationStatus">,
  now: number
): ReadonlyArray<"DESTROY" | "ABORT" | "ARCHIVE"> => destruction(policy, job, now).events

/**
 * The events that recover a job whose run was lost (its process stopped): a restartable
 * application's job is queued again (a SUSPENDED one resumed first, then held and re-run); any
 * other fails. Jobs not running need nothing.
 *
 * @since 0.1.0
 * @category recovery
 */
export const recoveryEvents = (phase: Phase, restartable: boolean): ReadonlyArray<JobEventType> =>
  phase !== "EXECUTING" && phase !== "SUSPENDED"
    ? []
    : restartable
      ? phase === "SUSPENDED"
        ? ["RESUME", "HOLD", "RUN"]
        : ["HOLD", "RUN"]
      : ["FAIL"]

/**
 * Whether a job found past its execution deadline is still overdue when the watchdog acts on it
 * at `now` (a client may have lengthened its duration meanwhile: then it is left running).
 *
 * @since 0.1.0
 * @category execution
 */
export const timedOut = (job: Job, now: number): boolean => {
  const deadline = executionDeadline(job)
  return deadline !== null && deadline <= now
}

/**
 * The event types that carry nothing but their instant.
 *
 * @since 0.1.0
 * @category models
 */
export type TimedEventType = "RUN" | "ABORT" | "DELETE" | "START" | "HOLD" | "SUSPEND" | "RESUME" | "TIMEOUT" | "ARCHIVE" | "DESTROY"

/**
 * The event of a type that carries only its instant, as the policy shapes it: ARCHIVE keeps the
 * results when `archivedResults` is `"keep"`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const event = (policy: Pick<Policy, "archivedResults">, type: TimedEventType, at: number): JobEvent =>
  type === "ARCHIVE" ? { type, at, keepResults: policy.archivedResults === "keep" } : { type, at }
