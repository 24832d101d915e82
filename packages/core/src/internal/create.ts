/**
 * Creating a job: the request checked (shape, limits, durations) before anything is stored,
 * the application's validation, quotas checked under one permit and the job inserted, uploads
 * stored, and the job run at once when asked.
 */
import { Effect, Either } from "effect"
import { InvalidParameter, QuotaExceeded, type UwsError } from "../Errors.js"
import * as Identity from "../Identity.js"
import type { Caller } from "../Identity.js"
import { canonicalParameters, type Job, type Parameter } from "../Job.js"
import type { JobEvent } from "../JobEvent.js"
import * as Phases from "../Phase.js"
import * as Policies from "../Policy.js"
import type { CreateRequest } from "../Uws.js"
import { deadlinesOf, type Schedule } from "./deadlines.js"
import * as JobTerms from "./jobTerms.js"
import { malformedParameters, type Validate } from "./parameters.js"
import type { Transact } from "./transact.js"
import { canonicalUploads, uploadParameters, type Uploads } from "./uploads.js"
import type { Services } from "./services.js"

const ACTIVE_PHASES: ReadonlyArray<Phases.Phase> = [...Phases.active]

export const makeCreate = (deps: Pick<Services, "store" | "results" | "policy" | "worker" | "now"> & {
  readonly makeJobId: () => string
  readonly validate: Validate
  readonly uploads: Uploads
  readonly transact: Transact
  readonly schedule: Schedule
  /** `known`: the job as just stored, which spares RUN a load. */
  readonly run: (caller: Caller, jobId: string, known?: Job) => Effect.Effect<Job, UwsError>
}): Effect.Effect<(caller: Caller, request: CreateRequest) => Effect.Effect<Job, UwsError>> =>
  Effect.map(Effect.makeSemaphore(1), (creation) => {
    const { store, results, policy, worker, now, makeJobId, validate, uploads: uploadStore, transact, schedule, run } = deps
    const storedJobs = store.count({ phases: Phases.all })

    /**
     * Creations checked against the quotas and not yet stored, by quota key: the check and the
     * reservation are made under one permit, the insert (and its flush to disk) outside it, so
     * that concurrent creations share one commit instead of queueing for the permit one flush
     * after another. A job already stored but still reserved is counted twice for that moment,
     * which errs on the side of the quota.
     */
    const reserved = new Map<string | null, number>()
    let reservedInAll = 0
    const reserve = (key: string | null, by: number) => {
      reservedInAll += by
      const n = (reserved.get(key) ?? 0) + by
      if (n === 0) reserved.delete(key)
      else reserved.set(key, n)
    }

    const quotaCheck = (caller: Caller, key: string | null): Effect.Effect<void, UwsError> => {
      const active =
        policy.maxActiveJobsPerOwner === null
          ? Effect.void
          : Effect.flatMap(store.count({ phases: ACTIVE_PHASES, quotaKey: key }), (n) =>
              n + (reserved.get(key) ?? 0) < policy.maxActiveJobsPerOwner!
                ? Effect.void
                : Effect.fail(
                    new QuotaExceeded({
                      reason: `${key === null ? "anonymous users" : caller.id === null ? "this client" : `"${caller.id}"`} may have at most ${policy.maxActiveJobsPerOwner} active jobs (maxActiveJobsPerOwner); wait for some to finish or delete them.`
                    })
                  )
            )
      return policy.maxStoredJobs === null
        ? active
        : Effect.zipRight(
            Effect.flatMap(storedJobs, (n) =>
              n + reservedInAll < policy.maxStoredJobs!
                ? Effect.void
                : Effect.fail(new QuotaExceeded({ reason: `this service keeps at most ${policy.maxStoredJobs} jobs (maxStoredJobs); try again when some have been destroyed.` }))
            ),
            active
          )
    }

    /** The insert, within the quotas. */
    const insertWithin = (caller: Caller, job: Job): Effect.Effect<void, UwsError> => {
      const insert = store.insert(job, deadlinesOf(job))
      if (policy.maxActiveJobsPerOwner === null && policy.maxStoredJobs === null) return insert
      const key = Identity.quotaKeyOf(caller)
      return Effect.acquireUseRelease(
        creation.withPermits(1)(Effect.zipRight(quotaCheck(caller, key), Effect.sync(() => reserve(key, 1)))),
        () => insert,
        () => Effect.sync(() => reserve(key, -1))
      )
    }

    // Written as a chain rather than a generator: it is the hot path of every new job.
    return (caller: Caller, request: CreateRequest): Effect.Effect<Job, UwsError> =>
      Effect.flatMap(now, (created) => {
        const uploads = canonicalUploads(request.uploads ?? [])
        const given = request.parameters ?? []
        const malformed = malformedParameters(given)
        if (malformed !== undefined) return Effect.fail(malformed)
        const named = canonicalParameters(given)
        const sent = uploads.length === 0 ? named : [...named, ...uploadParameters(uploads)]
        if (request.jobId !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(request.jobId)) {
          return Effect.fail(new InvalidParameter({ name: "jobId", reason: "use 1–128 letters, digits, '-', '_' or '.'." }))
        }
        const executionDuration = Policies.executionDuration(policy, request.executionDuration)
        if (Either.isLeft(executionDuration)) return Effect.fail(executionDuration.left)
        const destruction =
          request.destruction === undefined
            ? Either.right(Policies.initialDestruction(policy, created))
            : Policies.destruction(policy, created, created, request.destruction)
        if (Either.isLeft(destruction)) return Effect.fail(destruction.left)
        // After the malformed-input checks (400 before 413), before anything is validated or stored.
        const tooLarge = Either.flatMap(Policies.checkParameters(policy, request.parameters ?? [], uploads), () => Policies.checkRunId(policy, request.runId))
        if (Either.isLeft(tooLarge)) return Effect.fail(tooLarge.left)

        const build = (validated: Either.Either<ReadonlyArray<Parameter>, string>): Effect.Effect<Job, UwsError> => {
          if (Either.isLeft(validated) && worker.onInvalidParameters === "reject") {
            return Effect.fail(new InvalidParameter({ name: "parameters", reason: validated.left }))
          }
          const draft: Job = {
            jobId: request.jobId ?? makeJobId(),
            runId: request.runId ?? null,
            ownerId: caller.id,
            quote: null,
            creationTime: created,
            startTime: null,
            endTime: null,
            executionDuration: executionDuration.right,
            destruction: destruction.right,
            parameters: Either.isRight(validated) ? validated.right : sent,
            results: [],
            errorSummary: null,
            jobInfo: request.jobInfo ?? null,
            ...(caller.quotaKey === undefined ? {} : { quotaKey: caller.quotaKey }),
            phase: "PENDING",
            version: 0
          }
          const job = JobTerms.initial(worker, draft, created)
          const stored = insertWithin(caller, job).pipe(
            Effect.tapError(() => (uploads.length === 0 ? Effect.void : Effect.ignore(results.deleteAll(job.jobId))))
          )
          const inserted = Effect.uninterruptible(
            Effect.tap(stored, () => {
              transact.notify(job.jobId, job, undefined)
              schedule.wakeIfEarlier(job)
            })
          )
          return (uploads.length === 0 ? inserted : Effect.zipRight(uploadStore.store(job.jobId, uploads), inserted)).pipe(
            Effect.flatMap(() => {
              if (Either.isLeft(validated)) {
                return Effect.map(
                  transact.system(job.jobId, "FAIL", (_j, at) =>
                    Effect.succeed<JobEvent>({ type: "FAIL", at, error: { type: "fatal", message: validated.left, hasDetail: false } })
                  ),
                  (d) => d.job
                )
              }
              return request.run === true ? run(caller, job.jobId, job) : Effect.succeed(job)
            })
          )
        }
        return worker.validate === undefined ? build(Either.right(sent)) : Effect.flatMap(validate(sent), build)
      })
  })
