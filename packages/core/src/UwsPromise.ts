/**
 * The Uws service as Promises, for hosts that do not use Effect: every operation answers a
 * Promise, and a refusal rejects with the core's tagged error itself (`JobNotFound`,
 * `Forbidden`, `InvalidTransition`…, each an `Error` with a `_tag`), never a wrapper.
 *
 * @since 0.1.0
 */
import { Effect, Either, Runtime, Stream } from "effect"
import type { UwsError } from "./Errors.js"
import type { Caller } from "./Identity.js"
import type { ErrorSummary, Job, Parameter, ResultRef } from "./Job.js"
import type { JobPage, ListQuery } from "./JobStore.js"
import * as Uws from "./Uws.js"
import type { CreateRequest, UpdateOptions, Upload, UwsService, WaitOptions } from "./Uws.js"

/**
 * A stored result: its record and, for a result the service keeps, its bytes as a web stream.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultContent {
  readonly ref: ResultRef
  /** `undefined` for a result kept elsewhere (`ref.href`). */
  readonly content: { readonly size: number; readonly mimeType: string | undefined; readonly stream: ReadableStream<Uint8Array> } | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UwsPromise {
  /** The service underneath, for what the facade does not cover (changes, uploads). */
  readonly service: UwsService
  readonly create: (caller: Caller, request?: CreateRequest) => Promise<Job>
  readonly get: (caller: Caller, jobId: string) => Promise<Job>
  /** The caller's jobs (an admin's: everyone's), newest first; without phases, all but ARCHIVED. */
  readonly list: (caller: Caller, query?: Omit<ListQuery, "ownerId">) => Promise<JobPage>
  readonly run: (caller: Caller, jobId: string) => Promise<Job>
  readonly abort: (caller: Caller, jobId: string) => Promise<Job>
  readonly delete: (caller: Caller, jobId: string) => Promise<void>
  /** Adds or replaces parameters (and uploads, and the runId) of a PENDING job. */
  readonly setParameters: (
    caller: Caller,
    jobId: string,
    parameters: ReadonlyArray<Parameter>,
    uploads?: ReadonlyArray<Upload>,
    options?: UpdateOptions
  ) => Promise<Job>
  /** An instant (a `Date` or milliseconds), or `null` for as long as the policy allows. */
  readonly setDestruction: (caller: Caller, jobId: string, destruction: Date | number | null) => Promise<Job>
  readonly setExecutionDuration: (caller: Caller, jobId: string, seconds: number) => Promise<Job>
  /** The UWS WAIT (default: as long as the service's `maxWait`); see `UwsService.waitForChange`. */
  readonly wait: (caller: Caller, jobId: string, options?: WaitOptions) => Promise<Job>
  readonly results: (caller: Caller, jobId: string) => Promise<ReadonlyArray<ResultRef>>
  readonly result: (caller: Caller, jobId: string, resultId: string) => Promise<ResultContent>
  readonly error: (caller: Caller, jobId: string) => Promise<ErrorSummary>
}

/**
 * The facade over a running service. Operations run on `runtime` (default: Effect's default
 * runtime), so a host may bring its own logger or tracer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromService = (service: UwsService, runtime: Runtime.Runtime<never> = Runtime.defaultRuntime): UwsPromise => {
  const run = Runtime.runPromise(runtime)
  // A refusal rejects with the tagged error, not a FiberFailure around it.
  const promise = <A>(effect: Effect.Effect<A, UwsError>): Promise<A> =>
    run(Effect.either(effect)).then((e) => (Either.isRight(e) ? e.right : Promise.reject(e.left)))
  return {
    service,
    create: (caller, request = {}) => promise(service.create(caller, request)),
    get: (caller, jobId) => promise(service.get(caller, jobId)),
    list: (caller, query = {}) => promise(service.list(caller, query)),
    run: (caller, jobId) => promise(service.run(caller, jobId)),
    abort: (caller, jobId) => promise(service.abort(caller, jobId)),
    delete: (caller, jobId) => promise(service.delete(caller, jobId)),
    setParameters: (caller, jobId, parameters, uploads, options) => promise(service.updateParameters(caller, jobId, parameters, uploads, options)),
    setDestruction: (caller, jobId, destruction) =>
      promise(service.setDestruction(caller, jobId, destruction instanceof Date ? destruction.getTime() : destruction)),
    setExecutionDuration: (caller, jobId, seconds) => promise(service.setExecutionDuration(caller, jobId, seconds)),
    wait: (caller, jobId, options = { timeout: "indefinitely" }) => promise(service.waitForChange(caller, jobId, options)),
    results: (caller, jobId) => promise(service.results(caller, jobId)),
    result: (caller, jobId, resultId) =>
      promise(
        Effect.map(service.result(caller, jobId, resultId), ({ ref, content }) => ({
          ref,
          content:
            content === undefined
              ? undefined
              : { size: content.size, mimeType: content.mimeType, stream: Stream.toReadableStreamRuntime(content.stream, runtime) }
        }))
      ),
    error: (caller, jobId) => promise(service.error(caller, jobId))
  }
}

/**
 * A running service as Promises, and how to stop it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly uws: UwsPromise
  /** Stops the dispatcher, watchdog and reaper and interrupts running jobs. */
  readonly close: () => Promise<void>
}

/**
 * Starts a service (in-memory stores unless others are given, as `Uws.start`) behind the facade.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { Identity, UwsPromise, Worker } from "@uws-kit/core"
 * const { uws, close } = await UwsPromise.start({ worker: Worker.noop })
 * const job = await uws.create(Identity.anonymous, { run: true })
 * const done = await uws.wait(Identity.anonymous, job.jobId, { timeout: "10 seconds", untilFinal: true })
 * await close()
 */
export const start = async (options: Parameters<typeof Uws.start>[0]): Promise<Started> => {
  const { service, close } = await Uws.start(options)
  return { uws: fromService(service), close }
}
