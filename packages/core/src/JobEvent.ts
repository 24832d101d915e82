/**
 * The events that move a job. Client events come from the protocol adapters (through the Uws
 * service), service events from the dispatcher, the worker, the watchdog and the reaper.
 * Time arrives inside events, so every decision is a pure function of (job, event).
 *
 * @since 0.1.0
 */
import type { ErrorSummary, JobInfo, Parameter, ResultRef } from "./Job.js"

/** @since 0.1.0 @category client events */
export interface Run { readonly type: "RUN"; readonly at: number }
/** @since 0.1.0 @category client events */
export interface Abort { readonly type: "ABORT"; readonly at: number }
/**
 * Replaces the values of the named parameters and adds new names; with `runId`, sets the runId.
 * @since 0.1.0 @category client events
 */
export interface UpdateParameters {
  readonly type: "UPDATE_PARAMETERS"
  readonly parameters: ReadonlyArray<Parameter>
  readonly runId?: string
}
/** @since 0.1.0 @category client events */
export interface SetDestruction { readonly type: "SET_DESTRUCTION"; readonly destruction: number | null }
/** @since 0.1.0 @category client events */
export interface SetExecutionDuration { readonly type: "SET_EXECUTION_DURATION"; readonly seconds: number }
/** @since 0.1.0 @category client events */
export interface Delete { readonly type: "DELETE"; readonly at: number }

/** @since 0.1.0 @category service events */
export interface Start { readonly type: "START"; readonly at: number }
/** @since 0.1.0 @category service events */
export interface Hold { readonly type: "HOLD"; readonly at: number }
/** @since 0.1.0 @category service events */
export interface Suspend { readonly type: "SUSPEND"; readonly at: number }
/** @since 0.1.0 @category service events */
export interface Resume { readonly type: "RESUME"; readonly at: number }
/** @since 0.1.0 @category service events */
export interface Progress { readonly type: "PROGRESS"; readonly jobInfo: JobInfo }
/**
 * The application published a result while the job runs (UWS 0.3 §3.1); a result of the same
 * id is replaced.
 * @since 0.1.0 @category service events
 */
export interface PublishResult { readonly type: "PUBLISH_RESULT"; readonly result: ResultRef }
/** @since 0.1.0 @category service events */
export interface Complete { readonly type: "COMPLETE"; readonly at: number; readonly results: ReadonlyArray<ResultRef> }
/** @since 0.1.0 @category service events */
export interface Fail { readonly type: "FAIL"; readonly at: number; readonly error: ErrorSummary }
/** @since 0.1.0 @category service events */
export interface Timeout { readonly type: "TIMEOUT"; readonly at: number }
/** @since 0.1.0 @category service events */
export interface Archive {
  readonly type: "ARCHIVE"
  readonly at: number
  /** Keep the results (served from permanent storage) instead of dropping them. */
  readonly keepResults?: boolean
}
/** @since 0.1.0 @category service events */
export interface Destroy { readonly type: "DESTROY"; readonly at: number }

/**
 * @since 0.1.0
 * @category models
 */
export type ClientEvent = Run | Abort | UpdateParameters | SetDestruction | SetExecutionDuration | Delete

/**
 * @since 0.1.0
 * @category models
 */
export type ServiceEvent = Start | Hold | Suspend | Resume | Progress | PublishResult | Complete | Fail | Timeout | Archive | Destroy

/**
 * @since 0.1.0
 * @category models
 */
export type JobEvent = ClientEvent | ServiceEvent

/**
 * @since 0.1.0
 * @category models
 */
export type JobEventType = JobEvent["type"]

/**
 * Every event type, client events first.
 *
 * @since 0.1.0
 * @category constants
 */
export const types: ReadonlyArray<JobEventType> = [
  "RUN",
  "ABORT",
  "UPDATE_PARAMETERS",
  "SET_DESTRUCTION",
  "SET_EXECUTION_DURATION",
  "DELETE",
  "START",
  "HOLD",
  "SUSPEND",
  "RESUME",
  "PROGRESS",
  "PUBLISH_RESULT",
  "COMPLETE",
  "FAIL",
  "TIMEOUT",
  "ARCHIVE",
  "DESTROY"
]
