/**
 * The Uws service: one UWS job list with its application. It loads a job, checks the caller,
 * asks the job machine, saves with compare-and-set and carries out the machine's effects
 * (dispatch, cancel, delete results, notify). A dispatcher runs queued jobs with bounded
 * concurrency, a watchdog aborts jobs that overrun their execution duration and a reaper destroys
 * (or archives) jobs at their destruction time.
 *
 * @since 0.1.0
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import type { Duration, Either, Queue, Stream } from "effect"
import type { Content } from "./Content.js"
import type * as Errors from "./Errors.js"
import type { Caller } from "./Identity.js"
import type { ErrorSummary, Job, JobInfo, Parameter, ResultRef } from "./Job.js"
import { Dispatcher, type DispatcherService } from "./Dispatcher.js"
import { JobStore, layerMemory as jobStoreMemory, makeMemory as makeMemoryJobStore, type JobPage, type JobStoreService, type ListQuery } from "./JobStore.js"
import type { Phase } from "./Phase.js"
import type { Policy } from "./Policy.js"
import { ResultStore, layerMemory as resultStoreMemory, makeMemory as makeMemoryResultStore, type ResultStoreService, type StoredContent } from "./ResultStore.js"
import type { Worker } from "./Worker.js"
import { makeUws } from "./internal/uws.js"

/**
 * A file sent with a request (an inline UWS upload, §2.2.3.1.1). It becomes a by-reference
 * parameter `param:{name}` and its content is kept by the ResultStore.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload {
  readonly name: string
  readonly content: Content
  readonly mimeType?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateRequest {
  /**
   * The job's id, when the host must know it before the job exists (e.g. it stores documents
   * under it first). Letters, digits, `-`, `_` and `.`, 1–128 characters; a taken id is a
   * `Conflict`. Absent: the service makes an unguessable one.
   */
  readonly jobId?: string
  readonly parameters?: ReadonlyArray<Parameter>
  readonly uploads?: ReadonlyArray<Upload>
  readonly runId?: string
  /** Seconds; absent = the policy's default. */
  readonly executionDuration?: number
  /** Instant; absent = the policy's default lifetime; `null` = as long as the policy allows. */
  readonly destruction?: number | null
  readonly jobInfo?: JobInfo
  /** Commit the job at once (UWS 1.1 `PHASE=RUN` at creation). */
  readonly run?: boolean
}

/**
 * How long `waitForChange` may block. `"indefinitely"` is still bounded by the service's
 * `maxWait`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  readonly timeout: Duration.DurationInput | "indefinitely"
  /** Block only while the job is in this phase (the UWS 1.1 `PHASE` guard). */
  readonly phase?: Phase
  /**
   * Wait on through every change until the job is in a final phase (COMPLETED, ERROR, ABORTED,
   * ARCHIVED) or gone, still bounded by the timeout and `maxWait` (the sync facade's wait).
   */
  readonly untilFinal?: boolean
  /**
   * Ends a blocked wait early when it completes (e.g. the binding closing): the wait then answers
   * the job as it is. Raced only while the wait blocks, so a wait that answers at once costs no
   * race, and a blocked one one race instead of a race around a race.
   */
  readonly until?: Effect.Effect<void>
}

/**
 * What a parameter update may change besides parameters.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateOptions {
  /** The job's new runId (UWS 1.1 `RUNID`, settable while the job is PENDING). */
  readonly runId?: string
}

/**
 * A change to a job: its new state, or `undefined` when it was destroyed.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobChange {
  readonly jobId: string
  readonly job: Job | undefined
  /** The job before the change (`undefined` for a new job): what a destroyed job was. */
  readonly previous: Job | undefined
}

/**
 * A result's record and, for results the service keeps, its content.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultContent {
  readonly ref: ResultRef
  readonly content: StoredContent | undefined
}

type E = Errors.UwsError

/**
 * @since 0.1.0
 * @category models
 */
export interface UwsService {
  readonly worker: Worker
  readonly policy: Policy
  /** The longest a `waitForChange` blocks, whatever the caller asks (milliseconds). */
  readonly maxWait: number
  readonly create: (caller: Caller, request: CreateRequest) => Effect.Effect<Job, E>
  readonly get: (caller: Caller, jobId: string) => Effect.Effect<Job, E>
  /**
   * `get` answered at once, without an effect, when the store holds the job in memory and vouches
   * for it (`JobStore.peek`): the same rules (the job exists, the caller may see it), for the
   * hottest reads. `undefined` when only `get` can tell.
   */
  readonly peek: (caller: Caller, jobId: string) => Either.Either<Job, E> | undefined
  /** The caller's jobs (an admin's: everyone's) with the UWS 1.1 filters, newest first. */
  readonly list: (caller: Caller, query: Omit<ListQuery, "ownerId">) => Effect.Effect<JobPage, E>
  /**
   * Commits the job (UWS 1.1 PHASE=RUN; v0.3 POST `/quote` and `acceptQuote`): its quote is
   * accepted and frozen, with when. Refused (`InvalidTransition`, with the reason) while the quote
   * is past the destruction time: such a job will not be run (UWS 1.1 §2.1.6).
   */
  readonly run: (caller: Caller, jobId: string) => Effect.Effect<Job, E>
  readonly abort: (caller: Caller, jobId: string) => Effect.Effect<Job, E>
  readonly delete: (caller: Caller, jobId: string) => Effect.Effect<void, E>
  /**
   * Moves the job's termination within the policy's bounds (a quote not yet accepted is judged
   * again against the new time).
   */
  readonly setDestruction: (caller: Caller, jobId: string, destruction: number | null) => Effect.Effect<Job, E>
  readonly setExecutionDuration: (caller: Caller, jobId: string, seconds: number) => Effect.Effect<Job, E>
  /**
   * Adds or replaces parameters and uploads of a PENDING job (names case-insensitive, stored in
   * lower case; all values of a name sent replace that name's values) and, with `runId`, sets
   * its runId. The application's `validate` sees the merged parameters and may refuse them.
   * The quote is re-estimated for the job as it now stands (until it is accepted).
   */
  readonly updateParameters: (
    caller: Caller,
    jobId: string,
    parameters: ReadonlyArray<Parameter>,
    uploads?: ReadonlyArray<Upload>,
    options?: UpdateOptions
  ) => Effect.Effect<Job, E>
  readonly results: (caller: Caller, jobId: string) => Effect.Effect<ReadonlyArray<ResultRef>, E>
  readonly result: (caller: Caller, jobId: string, resultId: string) => Effect.Effect<ResultContent, E>
  /** The content of an inline-uploaded parameter. */
  readonly upload: (caller: Caller, jobId: string, name: string) => Effect.Effect<StoredContent, E>
  readonly error: (caller: Caller, jobId: string) => Effect.Effect<ErrorSummary, E>
  /**
   * Blocks until the job's phase changes, the job is destroyed (`JobNotFound`), the timeout
   * passes or `maxWait` is reached, and answers the job then. Other changes (progress in
   * jobInfo, published results, parameters, destruction) do not end the wait: clients read a
   * return as "the phase changed"; subscribers of `changes`/`subscribe` still see every change.
   * Returns at once when the job is not in an active phase or not in `phase`
   * (UWS 1.1 §2.2.1.2). With `untilFinal`, waits until the job is final instead.
   */
  readonly waitForChange: (caller: Caller, jobId: string, options: WaitOptions) => Effect.Effect<Job, E>
  /** Sends a service event (HOLD, SUSPEND, RESUME, ARCHIVE) as an operator; admin callers only. */
  readonly signal: (
    caller: Caller,
    jobId: string,
    event: "HOLD" | "SUSPEND" | "RESUME" | "ARCHIVE"
  ) => Effect.Effect<Job, E>
  /** Every change from the moment the stream is run. */
  readonly changes: Stream.Stream<JobChange>
  /** A subscription to every change, already active when it is returned (lives as long as the scope). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<JobChange>, never, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UwsOptions {
  readonly worker: Worker
  readonly policy?: Partial<Policy>
  /** Longest blocking wait in milliseconds; keep it under proxy and client read timeouts. */
  readonly maxWait?: number
  /** How job ids are made (default: 16 random base-32 characters, unguessable). */
  readonly makeJobId?: () => string
  /** Longest time `validate` may take before the request fails (milliseconds). */
  readonly validationTimeout?: number
  /**
   * When the job store is shared with other service instances, how often (ms) to re-read it for
   * deadlines they set. Default: never (this instance sees every change it makes).
   */
  readonly rescanInterval?: number
  /**
   * On start, re-dispatch QUEUED jobs and recover jobs left EXECUTING by a stopped process (and
   * not held by a live instance): ERROR, or run again when the application is restartable
   * (default `true`).
   */
  readonly recover?: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Uws extends Context.Tag("@uws-kit/core/Uws")<Uws, UwsService>() {}

/**
 * Builds a service over the stores in context. Its background fibers (dispatcher, watchdog,
 * reaper) live as long as the scope. Time comes from the Clock in context (TestClock in tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: UwsOptions): Effect.Effect<UwsService, never, Scope.Scope | JobStore | ResultStore> =>
  makeUws(options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: UwsOptions): Layer.Layer<Uws, never, JobStore | ResultStore> =>
  Layer.scoped(Uws, make(options))

/**
 * A service with in-memory stores: the embedded default.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options: UwsOptions): Layer.Layer<Uws> =>
  layer(options).pipe(Layer.provide(Layer.merge(jobStoreMemory, resultStoreMemory)))

/**
 * The default maximum of a blocking wait: 55 s, under common proxy (typically 60–100 s)
 * and client (pyvo: 600 s) read timeouts, as CADC and VOLLT do.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxWait = 55_000


/**
 * A running service, for hosts that do not use Effect themselves.
 *
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly service: UwsService
  /** Stops the dispatcher, watchdog and reaper and interrupts running jobs. */
  readonly close: () => Promise<void>
}

/**
 * Starts a service outside Effect: in-memory stores unless others are given.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Uws, Worker, Identity } from "@uws-kit/core"
 * import { Effect } from "effect"
 * const { service, close } = await Uws.start({ worker: Worker.noop })
 * const job = await Effect.runPromise(service.create(Identity.anonymous, { run: true }))
 * await close()
 */
export const start = async (
  options: UwsOptions & {
    readonly jobStore?: JobStoreService
    readonly resultStore?: ResultStoreService
    /** Shared with other instances (e.g. `SqlDispatcher`); default: an in-process queue. */
    readonly dispatcher?: DispatcherService
  }
): Promise<Started> => {
  const scope = Effect.runSync(Scope.make())
  const service = await Effect.runPromise(
    make(options).pipe(
      Scope.extend(scope),
      Effect.provideService(JobStore, options.jobStore ?? makeMemoryJobStore()),
      Effect.provideService(ResultStore, options.resultStore ?? makeMemoryResultStore()),
      options.dispatcher === undefined ? (e) => e : Effect.provideService(Dispatcher, options.dispatcher)
    )
  )
  return { service, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
