/**
 * Parameters: their shape, the application's `validate` (bounded in time, never trusted), and
 * the update of a PENDING job's parameters and runId.
 */
import { Effect, Either } from "effect"
import { InvalidParameter, InvalidTransition, type UwsError } from "../Errors.js"
import type { Caller } from "../Identity.js"
import { canonicalParameters, type Job, type Parameter } from "../Job.js"
import type { JobEvent } from "../JobEvent.js"
import * as JobMachine from "../JobMachine.js"
import * as Policies from "../Policy.js"
import type { Policy } from "../Policy.js"
import { describeFailure, guard } from "../Result.js"
import type { UpdateOptions, Upload } from "../Uws.js"
import type { Worker } from "../Worker.js"
import type { Transact } from "./transact.js"
import { canonicalUploads, uploadParameters, type Uploads } from "./uploads.js"

export const malformedParameters = (parameters: ReadonlyArray<Parameter>): InvalidParameter | undefined => {
  for (const p of parameters) {
    if (typeof p.name !== "string" || p.name.length === 0 || typeof p.value !== "string") {
      return new InvalidParameter({ name: "parameters", reason: "every parameter needs a non-empty name and a value." })
    }
  }
  return undefined
}

/** The application's verdict on parameters: its normalised parameters, or why it refuses them. */
export type Validate = (parameters: ReadonlyArray<Parameter>) => Effect.Effect<Either.Either<ReadonlyArray<Parameter>, string>>

export const makeValidate = (worker: Worker, validationTimeout: number): Validate => (parameters) =>
  worker.validate === undefined
    ? Effect.succeed(Either.right(parameters))
    : guard(() => worker.validate!(parameters), { timeout: validationTimeout }).pipe(
        // An application may rename while it normalises; stored names stay canonical.
        Effect.map((p) => Either.right(Array.isArray(p) ? canonicalParameters(p) : p)),
        Effect.catchAll((failure) =>
          Effect.succeed(Either.left(failure._tag === "Returned" ? String(failure.error) : `parameter validation ${describeFailure(failure)}`))
        )
      )

export const makeUpdateParameters = (deps: {
  readonly policy: Policy
  readonly transact: Transact
  readonly validate: Validate
  readonly uploads: Uploads
}) => {
  const { policy, transact, validate, uploads: stagedUploads } = deps
  return (
    caller: Caller,
    jobId: string,
    given: ReadonlyArray<Parameter>,
    sentUploads: ReadonlyArray<Upload> = [],
    options: UpdateOptions = {}
  ): Effect.Effect<Job, UwsError> => {
    const uploads = canonicalUploads(sentUploads)
    const update = Effect.gen(function* () {
      const malformed = malformedParameters(given)
      if (malformed !== undefined) return yield* Effect.fail(malformed)
      yield* Policies.checkParameters(policy, given, uploads)
      const sent = [...canonicalParameters(given), ...uploadParameters(uploads)]
      const runId = options.runId
      yield* Policies.checkRunId(policy, runId)
      if (sent.length === 0 && runId === undefined) {
        const job = yield* transact.load(caller, jobId)
        if (JobMachine.targetOf(job.phase, "UPDATE_PARAMETERS") === undefined) {
          return yield* Effect.fail(new InvalidTransition({ jobId, event: "UPDATE_PARAMETERS", phase: job.phase }))
        }
        return job
      }
      const decision = yield* transact.transact(caller, jobId, "UPDATE_PARAMETERS", (job) =>
        Effect.gen(function* () {
          if (!policy.newParametersAfterCreation) {
            const known = new Set(job.parameters.map((p) => p.name.toLowerCase()))
            const unknown = sent.filter((p) => !known.has(p.name.toLowerCase())).map((p) => p.name)
            if (unknown.length > 0) {
              return yield* Effect.fail(
                new InvalidParameter({
                  name: unknown.join(", "),
                  reason: "parameters can be updated but not added after a job is created (UWS 1.1 §2.1.11)."
                })
              )
            }
          }
          const event: JobEvent = { type: "UPDATE_PARAMETERS", parameters: sent, ...(runId === undefined ? {} : { runId }) }
          if (sent.length === 0) return event
          const merged = JobMachine.decide(job, event)
          const candidate = Either.isRight(merged) ? merged.right.job.parameters : sent
          yield* Policies.checkParameters(policy, candidate)
          const validated = yield* validate(candidate)
          if (Either.isLeft(validated)) {
            return yield* Effect.fail(new InvalidParameter({ name: "parameters", reason: validated.left }))
          }
          return event
        })
      )
      return decision.job
    })
    return uploads.length === 0 ? update : stagedUploads.staged(jobId, uploads, update)
  }
}
