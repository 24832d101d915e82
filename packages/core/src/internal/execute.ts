/**
 * One run of the application on a started job: calls it (Promise or Effect), gives it a context
 * (progress, published results, suspend/resume, an abort signal), and ends the job with its
 * results or its failure.
 */
import { Cause, Effect, Either, Exit, Runtime } from "effect"
import { StorageFailure, type UwsError } from "../Errors.js"
import type { ErrorSummary, Job, ResultRef } from "../Job.js"
import type { JobEvent } from "../JobEvent.js"
import { JobFailure, type ResultSpec, type RunContext } from "../Worker.js"
import { RESULTS_PREFIX, type Transact } from "./transact.js"
import type { Services } from "./services.js"

export const resultKey = (id: string) => `${RESULTS_PREFIX}${id}`

const describe = (u: unknown): string =>
  u instanceof Error ? u.message || u.name : typeof u === "string" ? u : String(u)

const failureSummary = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  if (error instanceof JobFailure) {
    return {
      type: error.type ?? "fatal",
      message: error.message,
      hasDetail: error.detail !== undefined,
      ...(error.detail === undefined ? {} : { detail: error.detail })
    } as const
  }
  return { type: "fatal", message: describe(error) || "the application failed.", hasDetail: false } as const
}

const checkResults = (specs: unknown): specs is ReadonlyArray<ResultSpec> => {
  if (!Array.isArray(specs)) return false
  for (const s of specs) if (typeof s !== "object" || s === null || typeof s.id !== "string" || s.id.length === 0) return false
  // Most runs name one result: no set of ids to build.
  return specs.length < 2 || new Set(specs.map((s: ResultSpec) => s.id)).size === specs.length
}

/** The AbortController is made only when an application asks for the signal. */
class Abort {
  private controller: AbortController | undefined
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal
  }
  abort(): void {
    this.controller?.abort()
  }
}

/** Runs the application on a job and ends the job with what it returns; never fails. */
export const makeExecute = (deps: Pick<Services, "worker" | "results"> & {
  readonly transact: Transact
  readonly runtime: Runtime.Runtime<never>
}): ((job: Job) => Effect.Effect<void>) => {
  const { worker, results, transact, runtime } = deps

  const invoke = (job: Job, context: RunContext, controller: Abort) =>
    Effect.suspend((): Effect.Effect<ReadonlyArray<ResultSpec>, unknown> => {
      let out: ReturnType<typeof worker.run>
      try {
        out = worker.run(job, context)
      } catch (e) {
        return Effect.fail(e)
      }
      if (Effect.isEffect(out)) return out
      const promise = out
      return Effect.async<ReadonlyArray<ResultSpec>, unknown>((resume) => {
        promise.then(
          (value) => resume(Effect.succeed(value)),
          (e: unknown) => resume(Effect.fail(e))
        )
        return Effect.sync(() => controller.abort())
      })
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => controller.abort())))

  /** A result kept elsewhere: only its reference is stored. */
  const hrefRef = (spec: Extract<ResultSpec, { readonly href: string }>): ResultRef => ({
    id: spec.id,
    href: spec.href,
    ...(spec.mimeType === undefined ? {} : { mimeType: spec.mimeType }),
    ...(spec.size === undefined ? {} : { size: spec.size })
  })

  const storeResult = (jobId: string, spec: ResultSpec): Effect.Effect<ResultRef, StorageFailure> => {
    if ("href" in spec) return Effect.succeed(hrefRef(spec))
    return results.put(jobId, resultKey(spec.id), spec.content, spec.mimeType).pipe(
      Effect.map(({ size }) => ({ id: spec.id, size, ...(spec.mimeType === undefined ? {} : { mimeType: spec.mimeType }) }))
    )
  }

  /** The results' references; those kept elsewhere (most services') without a step of the run loop. */
  const storeResults = (jobId: string, specs: ReadonlyArray<ResultSpec>): Either.Either<ReadonlyArray<ResultRef>> | Effect.Effect<ReadonlyArray<ResultRef>, StorageFailure> =>
    specs.every((spec) => "href" in spec)
      ? Either.right(specs.map((spec) => hrefRef(spec as Extract<ResultSpec, { readonly href: string }>)))
      : Effect.forEach(specs, (spec) => storeResult(jobId, spec))

  /** A result published while the job runs: stored, then listed (not when the job stopped meanwhile). */
  const publishResult = (jobId: string, spec: ResultSpec): Effect.Effect<void, StorageFailure> =>
    typeof spec !== "object" || spec === null || typeof spec.id !== "string" || spec.id.length === 0
      ? Effect.fail(new StorageFailure({ operation: "put", reason: "a published result needs a non-empty id." }))
      : Effect.flatMap(storeResult(jobId, spec), (result) =>
          // A job no longer running does not take results; their content goes with the job.
          Effect.ignore(transact.system(jobId, "PUBLISH_RESULT", (): JobEvent => ({ type: "PUBLISH_RESULT", result })))
        )

  const failWith = (jobId: string, error: ErrorSummary, started: Job) =>
    transact.system(jobId, "FAIL", (_j, at) => ({ type: "FAIL", at, error } satisfies JobEvent), started)

  /** Ends the run; `started` is the job as START left it (still the stored one, unless the run changed it). */
  const finish = (started: Job, exit: Exit.Exit<ReadonlyArray<ResultSpec>, unknown>): Effect.Effect<void> => {
    const jobId = started.jobId
    let outcome: Effect.Effect<unknown, UwsError>
    if (Exit.isFailure(exit)) {
      if (Cause.isInterruptedOnly(exit.cause)) return Effect.void
      outcome = failWith(jobId, failureSummary(exit.cause), started)
    } else if (!checkResults(exit.value)) {
      outcome = failWith(jobId, {
        type: "fatal",
        message: "the application returned malformed results (each needs a unique, non-empty id).",
        hasDetail: false
      }, started)
    } else {
      const complete = (refs: ReadonlyArray<ResultRef>) =>
        transact.system(jobId, "COMPLETE", (_j, at) => ({ type: "COMPLETE", at, results: refs } satisfies JobEvent), started).pipe(
          // The job was aborted, held or destroyed meanwhile: nothing refers to these contents
          // (nor to those it published while it ran).
          Effect.tapError(() => Effect.ignore(results.deleteAll(jobId, RESULTS_PREFIX)))
        )
      const refs = storeResults(jobId, exit.value)
      outcome = Either.isEither(refs)
        ? complete(Either.getOrThrow(refs))
        : Effect.matchEffect(refs, {
            onFailure: (e) => failWith(jobId, { type: "transient", message: e.message, hasDetail: false }, started),
            onSuccess: complete
          })
    }
    return Effect.catchAll(Effect.asVoid(outcome), (e) => Effect.logWarning(`job ${jobId} could not be finished: ${e.message}`))
  }

  const runContext = (jobId: string, abort: Abort): RunContext => {
    const send = (type: "SUSPEND" | "RESUME") =>
      Runtime.runPromise(runtime)(transact.system(jobId, type, transact.at(type)).pipe(Effect.asVoid, Effect.ignore))
    const reportProgress = (info: Readonly<Record<string, string>>) =>
      transact.system(jobId, "PROGRESS", (): JobEvent => ({ type: "PROGRESS", jobInfo: info })).pipe(
        Effect.asVoid,
        Effect.ignore
      )
    return {
      jobId,
      get signal() {
        return abort.signal
      },
      progress: (info) => Runtime.runPromise(runtime)(reportProgress(info)),
      reportProgress,
      publish: (result) => Runtime.runPromise(runtime)(publishResult(jobId, result)),
      publishResult: (result) => publishResult(jobId, result),
      suspend: () => send("SUSPEND"),
      resume: () => send("RESUME")
    }
  }

  return (job: Job) => {
    const abort = new Abort()
    return Effect.flatMap(Effect.exit(invoke(job, runContext(job.jobId, abort), abort)), (exit) => finish(job, exit))
  }
}
