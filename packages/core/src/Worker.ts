/**
 * The application contract: what a UWS application supplies to the service.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import type { Content } from "./Content.js"
import type { StorageFailure } from "./Errors.js"
import type { ErrorSummary, Job, JobInfo, Parameter } from "./Job.js"
import type { Outcome } from "./Result.js"
import type { ResultView } from "./ResultView.js"

/**
 * A result as the application produces it: either stored by the service (`content`) or living
 * elsewhere (`href`).
 *
 * @since 0.1.0
 * @category models
 */
export type ResultSpec =
  | { readonly id: string; readonly mimeType?: string; readonly content: Content }
  | { readonly id: string; readonly mimeType?: string; readonly href: string; readonly size?: number }

/**
 * What `run` can use while it works.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunContext {
  readonly jobId: string
  /** Aborted when the job is aborted, times out, is held or is destroyed. */
  readonly signal: AbortSignal
  /** Reports progress; the keys land in the job's jobInfo. */
  readonly progress: (info: JobInfo) => Promise<void>
  /** The same as `progress`, for applications written with Effect. */
  readonly reportProgress: (info: JobInfo) => Effect.Effect<void>
  /**
   * Publishes a result while the job runs (UWS 0.3 §3.1): it is listed in `/results` and the job
   * document at once, and kept when the job completes (a final result of the same id replaces
   * it). Rejects when its content cannot be stored; does nothing once the job is no longer
   * running (the content is then dropped).
   */
  readonly publish: (result: ResultSpec) => Promise<void>
  /** The same as `publish`, for applications written with Effect. */
  readonly publishResult: (result: ResultSpec) => Effect.Effect<void, StorageFailure>
  /** Marks the job SUSPENDED (e.g. while staging data); the execution-duration clock keeps running. */
  readonly suspend: () => Promise<void>
  /** Marks a SUSPENDED job EXECUTING again. */
  readonly resume: () => Promise<void>
}

/**
 * A failure the application wants shown as the job's error summary. Anything else thrown or
 * failed with becomes a fatal error whose message is the error's message.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailure extends Data.TaggedError("JobFailure")<{
  readonly message: string
  readonly type?: ErrorSummary["type"]
  readonly detail?: string
}> {}

/**
 * A UWS application.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import { Worker } from "@uws-kit/core"
 * const echo = Worker.make({
 *   name: "echo",
 *   run: async (job) => [{ id: "echo", mimeType: "text/plain", content: JSON.stringify(job.parameters) }]
 * })
 */
export interface Worker {
  readonly name: string
  /**
   * Checks (and may normalise) the parameters of a new job or of an update. A `Left` carries a
   * message a user can act on.
   */
  readonly validate?: (parameters: ReadonlyArray<Parameter>) => Outcome<string, ReadonlyArray<Parameter>>
  /**
   * What invalid parameters at creation lead to: refusing the request (`InvalidParameter`), or a
   * job created straight into ERROR whose error summary holds the message, as users of
   * query services often prefer.
   */
  readonly onInvalidParameters: "reject" | "error-job"
  /**
   * Whether running a job again from the start is safe. Jobs left EXECUTING by a service that
   * stopped are then queued again at the next start (through HELD), instead of ending in ERROR.
   */
  readonly restartable?: boolean
  /** Expected seconds from now to completion, or `null`/`undefined` for "unknown". */
  readonly quote?: (job: Job) => number | null | undefined
  /**
   * Views of results, by result id: `GET …/results/{id}?…` (REST) answers what the view makes of
   * the stored result(s) and the query string, e.g. a page of a table (see `ResultView`).
   */
  readonly views?: Readonly<Record<string, ResultView>>
  /**
   * Frees what a job holds outside the service's stores (files, a storage lease, a container)
   * once the job is forgotten: deleted by its owner, or destroyed at its destruction time by
   * the reaper. Called after the removal is committed, once per forgotten job and by the
   * instance that removed it; a failure is logged, not retried (a process that stops between
   * the removal and this call leaves the job's holdings for the application to sweep).
   */
  readonly release?: (job: Job) => PromiseLike<void> | Effect.Effect<void, unknown>
  /**
   * Does the work. Return the results from an async function (observe `context.signal`) or as
   * an Effect (interruption is the abort).
   */
  readonly run: (
    job: Job,
    context: RunContext
  ) => PromiseLike<ReadonlyArray<ResultSpec>> | Effect.Effect<ReadonlyArray<ResultSpec>, unknown>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  worker: Omit<Worker, "onInvalidParameters"> & { readonly onInvalidParameters?: Worker["onInvalidParameters"] }
): Worker => ({ onInvalidParameters: "reject", ...worker })

/**
 * A worker that finishes at once with no results, for tests and benchmarks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noop: Worker = make({ name: "noop", run: () => Effect.succeed([]) })
