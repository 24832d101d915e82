import {
  Cause,
  Deferred,
  FiberId,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Option,
  PubSub,
  Queue,
  Runtime,
  Stream
} from "effect"
import type { Scope } from "effect"
import * as Dispatchers from "../Dispatcher.js"
import {
  Conflict,
  Forbidden,
  InvalidParameter,
  InvalidTransition,
  JobNotFound,
  type LimitExceeded,
  QuotaExceeded,
  ResourceNotFound,
  StorageFailure,
  type UwsError
} from "../Errors.js"
import * as Identity from "../Identity.js"
import type { Caller } from "../Identity.js"
import { canonicalName, canonicalParameters, executionDeadline, type ErrorSummary, type Job, type Parameter, type ResultRef, uploadName, uploadParameter } from "../Job.js"
import type { JobEvent, JobEventType } from "../JobEvent.js"
import * as JobMachine from "../JobMachine.js"
import { Cursor, JobStore, type DeadlineKind, type Deadlines, type ListQuery } from "../JobStore.js"
import * as Phases from "../Phase.js"
import * as Policies from "../Policy.js"
import * as Quote from "../Quote.js"
import { toStream } from "../Content.js"
import { describeFailure, guard } from "../Result.js"
import { ResultStore } from "../ResultStore.js"
import type { CreateRequest, JobChange, UpdateOptions, Upload, UwsOptions, UwsService, WaitOptions } from "../Uws.js"
import { defaultMaxWait } from "../Uws.js"
import { JobFailure, type ResultSpec, type RunContext } from "../Worker.js"

const resultKey = (id: string) => `results/${id}`
const uploadKey = (name: string) => `parameters/${name}`
const RESULTS_PREFIX = "results/"

const base32 = "abcdefghijklmnopqrstuvwxyz234567"
// Random bytes are drawn in blocks: one getRandomValues call per 256 ids, not one per id.
let pool = new Uint8Array(0)
let poolOffset = 0
/** 16 base-32 characters: 80 random bits, unguessable, URL-safe and case-insensitive-safe. */
export const randomJobId = (): string => {
  if (poolOffset + 16 > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(4096))
    poolOffset = 0
  }
  let id = ""
  for (let i = 0; i < 16; i++) id += base32[pool[poolOffset++]! & 31]
  return id
}

/** How often a lost compare-and-set is retried before the caller gets `Conflict`. */
const CAS_ATTEMPTS = 16
const DUE_BATCH = 64
const DEADLINE_KINDS: ReadonlyArray<DeadlineKind> = ["destruction", "execution"]
const ACTIVE_PHASES: ReadonlyArray<Phases.Phase> = [...Phases.active]
const LISTED_BY_DEFAULT: ReadonlyArray<Phases.Phase> = Phases.all.filter((p) => p !== "ARCHIVED")

const describe = (u: unknown): string =>
  u instanceof Error ? u.message || u.name : typeof u === "string" ? u : String(u)

/** A job this instance is starting or running; `cancelled` covers a cancel that lands before the fiber exists. */
interface Running {
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  cancelled: boolean
}

export const makeUws = (
  options: UwsOptions
): Effect.Effect<UwsService, never, Scope.Scope | JobStore | ResultStore> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const results = yield* ResultStore
    const clock = yield* Effect.clock
    const runtime = yield* Effect.runtime<never>()
    const worker = options.worker
    const policy = Policies.make(options.policy)
    const maxWait = options.maxWait ?? defaultMaxWait
    const makeJobId = options.makeJobId ?? randomJobId
    const validationTimeout = options.validationTimeout ?? 30_000
    const rescanInterval = options.rescanInterval ?? Infinity

    const now = clock.currentTimeMillis
    const dispatcher = yield* Effect.flatMap(Effect.serviceOption(Dispatchers.Dispatcher), (given) =>
      Option.isSome(given) ? Effect.succeed(given.value) : Dispatchers.makeInProcess()
    )
    const changes = yield* PubSub.unbounded<JobChange>()
    const waiters = new Map<string, Set<Deferred.Deferred<void>>>()
    const running = new Map<string, Running>()
    const creation = yield* Effect.makeSemaphore(1)

    // ---- deadlines -------------------------------------------------------------------------
    const wakeups = { destruction: yield* Queue.sliding<void>(1), execution: yield* Queue.sliding<void>(1) }
    const scheduledFor: Record<DeadlineKind, number> = { destruction: Infinity, execution: Infinity }
    const deadlineOf = (kind: DeadlineKind, job: Job) =>
      kind === "execution" ? executionDeadline(job) : job.phase === "ARCHIVED" ? null : job.destruction
    // The one place deadlines are computed; stores only index these instants.
    const deadlinesOf = (job: Job): Deadlines => ({ destruction: deadlineOf("destruction", job), execution: deadlineOf("execution", job) })
    const wakeIfEarlier = (job: Job) => {
      for (const kind of DEADLINE_KINDS) {
        const at = deadlineOf(kind, job)
        if (at !== null && at < scheduledFor[kind]) wakeups[kind].unsafeOffer(undefined)
      }
    }

    // ---- authorisation and loading ---------------------------------------------------------
    const load = (caller: Caller, jobId: string): Effect.Effect<Job, UwsError> =>
      Effect.flatMap(store.get(jobId), (job): Effect.Effect<Job, UwsError> =>
        job === undefined
          ? Effect.fail(new JobNotFound({ jobId }))
          : Identity.mayAccess(policy, caller, job)
            ? Effect.succeed(job)
            : Effect.fail(new Forbidden({ jobId, reason: "the job belongs to someone else." }))
      )

    // ---- effects ---------------------------------------------------------------------------
    /** Ends every WAIT blocked on the job (they re-read it). */
    const wake = (jobId: string) => {
      const set = waiters.get(jobId)
      if (set !== undefined) {
        waiters.delete(jobId)
        for (const d of set) Deferred.unsafeDone(d, Exit.void)
      }
    }
    const notify = (jobId: string, job: Job | undefined, previous: Job | undefined) => {
      wake(jobId)
      changes.unsafeOffer({ jobId, job, previous })
    }

    const cancel = (jobId: string) =>
      Effect.suspend(() => {
        const run = running.get(jobId)
        if (run === undefined) return Effect.void
        run.cancelled = true
        if (run.fiber === undefined) return Effect.void
        running.delete(jobId)
        // Interrupt without waiting: the caller's request must not hang on a slow application.
        return Effect.asVoid(Fiber.interruptFork(run.fiber))
      })

    /** Carries out a stored decision's effects; the common ones synchronously. */
    const carryOut = (before: Job, event: JobEvent, decision: JobMachine.Decision): Effect.Effect<void> => {
      const forgotten = decision.effects.includes("forget")
      let pending: Effect.Effect<void> | undefined
      const then = (effect: Effect.Effect<void>) => {
        pending = pending === undefined ? effect : Effect.zipRight(pending, effect)
      }
      for (const effect of decision.effects) {
        switch (effect) {
          case "dispatch":
            then(dispatcher.offer(before.jobId))
            break
          case "cancel":
            then(cancel(before.jobId))
            break
          case "deleteResults":
            // The machine drops the results from an archived job only when asked to (see
            // `Policy.archivedResults`); their contents go with them, or stay with them.
            if (event.type === "ARCHIVE" && event.keepResults === true) break
            then(
              results.deleteAll(before.jobId, forgotten ? undefined : RESULTS_PREFIX).pipe(
                Effect.catchAll((e) => Effect.logWarning(`results of job ${before.jobId} not deleted: ${e.message}`))
              )
            )
            break
          case "notify":
            notify(before.jobId, forgotten ? undefined : decision.job, before)
            break
          case "forget":
            break
        }
      }
      if (!forgotten) wakeIfEarlier(decision.job)
      return pending ?? Effect.void
    }

    /**
     * Load → check caller → build the event → decide → compare-and-set → carry out effects.
     * A lost race is retried against the fresh job (so concurrent requests serialise), and only
     * reported as `Conflict` when it keeps losing.
     */
    const transact = (
      caller: Caller,
      jobId: string,
      eventType: JobEventType,
      makeEvent: (job: Job, now: number) => Effect.Effect<JobEvent, UwsError>
    ): Effect.Effect<JobMachine.Decision, UwsError> => {
      const attempt: Effect.Effect<JobMachine.Decision, UwsError> = Effect.flatMap(load(caller, jobId), (job) =>
        JobMachine.targetOf(job.phase, eventType) === undefined
          ? Effect.fail(new InvalidTransition({ jobId, event: eventType, phase: job.phase }))
          : Effect.flatMap(now, (t) =>
              Effect.flatMap(makeEvent(job, t), (event) =>
                Effect.flatMap(JobMachine.decide(job, event), (decision) =>
                  // Once the write is committed its effects must follow: a client hanging up
                  // must not leave a job QUEUED that was never dispatched.
                  Effect.uninterruptible(
                    (decision.effects.includes("forget") ? store.remove(jobId, job.version) : store.update(decision.job, job.version, deadlinesOf(decision.job))).pipe(
                      Effect.zipRight(Effect.suspend(() => carryOut(job, event, decision))),
                      Effect.as(decision)
                    )
                  )
                )
              )
            )
      )
      const loop = (left: number): Effect.Effect<JobMachine.Decision, UwsError> =>
        attempt.pipe(
          Effect.catchTag("Conflict", (e) => (left > 1 ? Effect.yieldNow().pipe(Effect.zipRight(loop(left - 1))) : Effect.fail(e)))
        )
      return loop(CAS_ATTEMPTS)
    }

    const at = (type: "RUN" | "ABORT" | "DELETE" | "START" | "HOLD" | "SUSPEND" | "RESUME" | "TIMEOUT" | "ARCHIVE" | "DESTROY") =>
      (_job: Job, now: number) => Effect.succeed({ type, at: now } as JobEvent)

    // ---- parameters ------------------------------------------------------------------------
    const validateParameters = (parameters: ReadonlyArray<Parameter>) =>
      worker.validate === undefined
        ? Effect.succeed(Either.right(parameters))
        : guard(() => worker.validate!(parameters), { timeout: validationTimeout }).pipe(
            // An application may rename while it normalises; stored names stay canonical.
            Effect.map((p) => Either.right(Array.isArray(p) ? canonicalParameters(p) : p)),
            Effect.catchAll((failure) =>
              Effect.succeed(Either.left(failure._tag === "Returned" ? String(failure.error) : `parameter validation ${describeFailure(failure)}`))
            )
          )

    const malformedParameters = (parameters: ReadonlyArray<Parameter>): InvalidParameter | undefined => {
      for (const p of parameters) {
        if (typeof p.name !== "string" || p.name.length === 0 || typeof p.value !== "string") {
          return new InvalidParameter({ name: "parameters", reason: "every parameter needs a non-empty name and a value." })
        }
      }
      return undefined
    }

    const checkParameters = (parameters: ReadonlyArray<Parameter>) => {
      const malformed = malformedParameters(parameters)
      return malformed === undefined ? Effect.void : Effect.fail(malformed)
    }

    /**
     * Stores uploads under `keyOf(name)`, measuring their bytes as they stream in: past an upload
     * limit (`before` = bytes of the job's uploads kept already) the put fails with LimitExceeded.
     */
    const putUploads = (jobId: string, uploads: ReadonlyArray<Upload>, keyOf: (name: string) => string, before: number) =>
      Effect.suspend(() => {
        let total = before
        return Effect.forEach(
          uploads,
          (u) => {
            let size = 0
            let over: LimitExceeded | undefined
            const metered = Stream.mapEffect(toStream(u.content), (chunk) => {
              size += chunk.length
              const check = Policies.checkUploadBytes(policy, u.name, size, total)
              return Either.isLeft(check) ? Effect.fail((over = check.left)) : Effect.succeed(chunk)
            })
            return results.put(jobId, keyOf(u.name), metered, u.mimeType).pipe(
              Effect.mapError((e) => over ?? e),
              Effect.map((stored) => void (total += stored.size))
            )
          },
          { discard: true }
        )
      })

    const storeUploads = (jobId: string, uploads: ReadonlyArray<Upload>) =>
      putUploads(jobId, uploads, uploadKey, 0).pipe(Effect.tapError(() => Effect.ignore(results.deleteAll(jobId))))

    /** Bytes of a job's stored uploads that an update sending `replacing` keeps. */
    const keptUploadBytes = (jobId: string, replacing: ReadonlyArray<Upload>) =>
      policy.maxUploadBytesPerJob === null
        ? Effect.succeed(0)
        : Effect.flatMap(store.get(jobId), (job) => {
            const names = new Set(replacing.map((u) => u.name.toLowerCase()))
            const kept = (job?.parameters ?? []).flatMap((p) => {
              const upload = uploadName(p)
              return upload === undefined || names.has(p.name.toLowerCase()) ? [] : [upload]
            })
            return Effect.map(
              Effect.forEach(kept, (upload) => results.get(jobId, uploadKey(upload))),
              (contents) => contents.reduce((n, c) => n + (c?.size ?? 0), 0)
            )
          })

    const uploadParameters = (uploads: ReadonlyArray<Upload>): Array<Parameter> =>
      uploads.map((u) => uploadParameter(u.name))

    /** Parameter names are case-insensitive: one rule, here, for every adapter (see `canonicalName`). */
    const canonicalUploads = (uploads: ReadonlyArray<Upload>): ReadonlyArray<Upload> =>
      uploads.every((u) => typeof u.name !== "string" || u.name === canonicalName(u.name))
        ? uploads
        : uploads.map((u) => (typeof u.name === "string" ? { ...u, name: canonicalName(u.name) } : u))

    // ---- operations ------------------------------------------------------------------------
    const run = (caller: Caller, jobId: string) =>
      transact(caller, jobId, "RUN", (job, at) =>
        policy.maxQueuedJobs === null
          ? Effect.succeed<JobEvent>({ type: "RUN", at })
          : Effect.flatMap(store.count({ phases: ["QUEUED"] }), (queued) =>
              queued < policy.maxQueuedJobs!
                ? Effect.succeed<JobEvent>({ type: "RUN", at })
                : job.phase === "PENDING"
                  ? Effect.succeed<JobEvent>({ type: "HOLD", at })
                  : Effect.fail(new QuotaExceeded({ reason: `the queue is full (${queued} jobs); send RUN again later.` }))
            )
      ).pipe(Effect.map((d) => d.job))

    const storedJobs = store.count({ phases: Phases.all })

    const quotaCheck = (caller: Caller): Effect.Effect<void, UwsError> => {
      const key = Identity.quotaKeyOf(caller)
      const active =
        policy.maxActiveJobsPerOwner === null
          ? Effect.void
          : Effect.flatMap(store.count({ phases: ACTIVE_PHASES, quotaKey: key }), (n) =>
              n < policy.maxActiveJobsPerOwner!
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
              n < policy.maxStoredJobs!
                ? Effect.void
                : Effect.fail(new QuotaExceeded({ reason: `this service keeps at most ${policy.maxStoredJobs} jobs (maxStoredJobs); try again when some have been destroyed.` }))
            ),
            active
          )
    }

    // Written as a chain rather than a generator: it is the hot path of every new job.
    const create = (caller: Caller, request: CreateRequest): Effect.Effect<Job, UwsError> =>
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
          const quote = Quote.forJob(worker, draft, created)
          const job: Job = quote === null ? draft : { ...draft, quote }
          const insert = Effect.zipRight(quotaCheck(caller), store.insert(job, deadlinesOf(job)))
          const stored = (policy.maxActiveJobsPerOwner === null && policy.maxStoredJobs === null ? insert : creation.withPermits(1)(insert)).pipe(
            Effect.tapError(() => (uploads.length === 0 ? Effect.void : Effect.ignore(results.deleteAll(job.jobId))))
          )
          const inserted = Effect.uninterruptible(
            Effect.tap(stored, () => {
              notify(job.jobId, job, undefined)
              wakeIfEarlier(job)
            })
          )
          return (uploads.length === 0 ? inserted : Effect.zipRight(storeUploads(job.jobId, uploads), inserted)).pipe(
            Effect.flatMap(() => {
              if (Either.isLeft(validated)) {
                return Effect.map(
                  transact(Identity.system, job.jobId, "FAIL", (_j, at) =>
                    Effect.succeed<JobEvent>({ type: "FAIL", at, error: { type: "fatal", message: validated.left, hasDetail: false } })
                  ),
                  (d) => d.job
                )
              }
              return request.run === true ? run(caller, job.jobId) : Effect.succeed(job)
            })
          )
        }
        return worker.validate === undefined ? build(Either.right(sent)) : Effect.flatMap(validateParameters(sent), build)
      })

    const list = (caller: Caller, query: Omit<ListQuery, "ownerId">) =>
      Effect.gen(function* () {
        if (query.last !== undefined && (!Number.isSafeInteger(query.last) || query.last < 1)) {
          return yield* Effect.fail(new InvalidParameter({ name: "LAST", reason: "must be a whole number greater than 0." }))
        }
        if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 1)) {
          return yield* Effect.fail(new InvalidParameter({ name: "limit", reason: "must be a whole number greater than 0." }))
        }
        if (query.after !== undefined && !Number.isFinite(query.after)) {
          return yield* Effect.fail(new InvalidParameter({ name: "AFTER", reason: "must be an instant." }))
        }
        if (query.cursor !== undefined && !Cursor.isValid(query.cursor)) {
          return yield* Effect.fail(new InvalidParameter({ name: "cursor", reason: "is not a cursor this service gave out." }))
        }
        // No listing returns more than the policy allows; the rest is reachable by its cursor.
        const limit = Math.min(query.limit ?? Infinity, policy.maxListedJobs ?? Infinity)
        // UWS 1.1 §2.2.2.1: without PHASE, every phase but ARCHIVED.
        const phases = query.phases === undefined || query.phases.length === 0 ? LISTED_BY_DEFAULT : query.phases
        const bounded = limit === Infinity ? { ...query, phases } : { ...query, phases, limit }
        return yield* store.list(caller.admin === true ? bounded : { ...bounded, ownerId: caller.id })
      })

    /** Blocks until the job's version moves past `version`, or `ms` pass; true when it moved. */
    const awaitChange = (jobId: string, version: number, ms: number): Effect.Effect<boolean, UwsError> =>
      Effect.suspend(() => {
        const changed = Deferred.unsafeMake<void>(FiberId.none)
        let set = waiters.get(jobId)
        if (set === undefined) waiters.set(jobId, (set = new Set()))
        set.add(changed)
        const unregister = Effect.sync(() => {
          const current = waiters.get(jobId)
          current?.delete(changed)
          if (current?.size === 0) waiters.delete(jobId)
        })
        // A change between the caller's read and registering must not be slept through.
        return Effect.flatMap(store.get(jobId), (fresh) =>
          fresh === undefined || fresh.version !== version
            ? Effect.succeed(true)
            : // Interruptible even when the caller is not (HTTP apps run uninterruptibly): the
              // losing side of the race must be stopped at once.
              Effect.interruptible(
                Effect.raceFirst(Effect.as(Deferred.await(changed), true), Effect.as(clock.sleep(Duration.millis(ms)), false))
              )
        ).pipe(Effect.ensuring(unregister))
      })

    const waitForChange = (caller: Caller, jobId: string, wait: WaitOptions) =>
      Effect.gen(function* () {
        let job = yield* load(caller, jobId)
        const blocks = (j: Job) =>
          wait.untilFinal === true
            ? !Phases.isFinal(j.phase)
            : Phases.isActive(j.phase) && (wait.phase === undefined || j.phase === wait.phase)
        if (!blocks(job)) return job
        const limit =
          wait.timeout === "indefinitely" ? maxWait : Math.min(maxWait, Duration.toMillis(Duration.decode(wait.timeout)))
        if (!(limit > 0)) return job
        const deadline = (yield* now) + limit
        const phase = job.phase
        for (;;) {
          const left = deadline - (yield* now)
          if (left <= 0) return job
          yield* awaitChange(jobId, job.version, left)
          job = yield* load(caller, jobId)
          // Clients read a return as "the phase changed" (UWS 1.1 §2.2.1.2): progress reports,
          // published results and parameter updates do not end a WAIT; `untilFinal` waits on
          // through the active phases.
          if (wait.untilFinal === true ? !blocks(job) : job.phase !== phase) return job
        }
      })

    // ---- running jobs ----------------------------------------------------------------------
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

    const checkResults = (specs: unknown): specs is ReadonlyArray<ResultSpec> =>
      Array.isArray(specs) &&
      specs.every((s) => typeof s === "object" && s !== null && typeof s.id === "string" && s.id.length > 0) &&
      new Set(specs.map((s: ResultSpec) => s.id)).size === specs.length

    const storeResult = (jobId: string, spec: ResultSpec): Effect.Effect<ResultRef, StorageFailure> => {
      if ("href" in spec) {
        return Effect.succeed({
          id: spec.id,
          href: spec.href,
          ...(spec.mimeType === undefined ? {} : { mimeType: spec.mimeType }),
          ...(spec.size === undefined ? {} : { size: spec.size })
        })
      }
      return results.put(jobId, resultKey(spec.id), spec.content, spec.mimeType).pipe(
        Effect.map(({ size }) => ({ id: spec.id, size, ...(spec.mimeType === undefined ? {} : { mimeType: spec.mimeType }) }))
      )
    }

    const storeResults = (jobId: string, specs: ReadonlyArray<ResultSpec>) => Effect.forEach(specs, (spec) => storeResult(jobId, spec))

    /** A result published while the job runs: stored, then listed (not when the job stopped meanwhile). */
    const publishResult = (jobId: string, spec: ResultSpec): Effect.Effect<void, StorageFailure> =>
      typeof spec !== "object" || spec === null || typeof spec.id !== "string" || spec.id.length === 0
        ? Effect.fail(new StorageFailure({ operation: "put", reason: "a published result needs a non-empty id." }))
        : Effect.flatMap(storeResult(jobId, spec), (result) =>
            // A job no longer running does not take results; their content goes with the job.
            Effect.ignore(transact(system, jobId, "PUBLISH_RESULT", () => Effect.succeed<JobEvent>({ type: "PUBLISH_RESULT", result })))

          )

    const system = Identity.system
    const failWith = (jobId: string, error: ErrorSummary) =>
      transact(system, jobId, "FAIL", (_j, at) => Effect.succeed<JobEvent>({ type: "FAIL", at, error }))

    const finish = (jobId: string, exit: Exit.Exit<ReadonlyArray<ResultSpec>, unknown>): Effect.Effect<void> => {
      let outcome: Effect.Effect<unknown, UwsError>
      if (Exit.isFailure(exit)) {
        if (Cause.isInterruptedOnly(exit.cause)) return Effect.void
        outcome = failWith(jobId, failureSummary(exit.cause))
      } else if (!checkResults(exit.value)) {
        outcome = failWith(jobId, {
          type: "fatal",
          message: "the application returned malformed results (each needs a unique, non-empty id).",
          hasDetail: false
        })
      } else {
        outcome = Effect.matchEffect(storeResults(jobId, exit.value), {
          onFailure: (e) => failWith(jobId, { type: "transient", message: e.message, hasDetail: false }),
          onSuccess: (refs) =>
            transact(system, jobId, "COMPLETE", (_j, at) => Effect.succeed<JobEvent>({ type: "COMPLETE", at, results: refs })).pipe(
              // The job was aborted, held or destroyed meanwhile: nothing refers to these contents.
              Effect.tapError(() => Effect.ignore(results.deleteAll(jobId, RESULTS_PREFIX)))
            )
        })
      }
      return Effect.catchAll(Effect.asVoid(outcome), (e) => Effect.logWarning(`job ${jobId} could not be finished: ${e.message}`))
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

    const runContext = (jobId: string, abort: Abort): RunContext => {
      const send = (type: "SUSPEND" | "RESUME") =>
        Runtime.runPromise(runtime)(
          transact(system, jobId, type, (_j, at) => Effect.succeed<JobEvent>({ type, at })).pipe(Effect.asVoid, Effect.ignore)
        )
      const reportProgress = (info: Readonly<Record<string, string>>) =>
        transact(system, jobId, "PROGRESS", () => Effect.succeed<JobEvent>({ type: "PROGRESS", jobInfo: info })).pipe(
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

    const execute = (job: Job) => {
      const abort = new Abort()
      return Effect.flatMap(Effect.exit(invoke(job, runContext(job.jobId, abort), abort)), (exit) => finish(job.jobId, exit))
    }

    /** Runs a claimed job; a lost claim (another instance may be recovering it) stops the run. */
    const startJob = (jobId: string, lost: Effect.Effect<void> = Effect.never): Effect.Effect<void> => {
      if (running.has(jobId)) {
        // Another slot is starting or running this job (it was queued twice, e.g. RUN after
        // HOLD): only a job still QUEUED needs another go once that slot has let go of it.
        return Effect.flatMap(Effect.orElseSucceed(store.get(jobId), () => undefined), (job) =>
          job?.phase === "QUEUED" ? Effect.zipRight(Effect.yieldNow(), dispatcher.offer(jobId)) : Effect.void
        )
      }
      // Registered before START, so that a cancel landing between START and the fork is seen.
      const entry: Running = { fiber: undefined, cancelled: false }
      running.set(jobId, entry)
      const release = Effect.sync(() => {
        if (running.get(jobId) === entry) running.delete(jobId)
      })
      return Effect.matchEffect(transact(system, jobId, "START", at("START")), {
        onFailure: () => release, // aborted, held or destroyed while queued
        onSuccess: (started) =>
          Effect.flatMap(Effect.fork(execute(started.job)), (fiber) => {
            entry.fiber = fiber
            return (entry.cancelled ? Effect.asVoid(Fiber.interruptFork(fiber)) : Effect.void).pipe(
              Effect.zipRight(Effect.raceFirst(Fiber.await(fiber), Effect.zipRight(lost, Fiber.interrupt(fiber)))),
              Effect.zipRight(release)
            )
          })
      })
    }

    const slot = Effect.forever(
      Effect.flatMap(dispatcher.claim(policy.concurrency), (claim) => Effect.ensuring(startJob(claim.jobId, claim.lost), claim.release))
    )
    yield* Effect.forkScoped(Effect.all(Array.from({ length: policy.concurrency }, () => slot), { concurrency: "unbounded" }))
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...running.values()], (r) => (r.fiber === undefined ? Effect.void : Fiber.interrupt(r.fiber)), { discard: true })
    )

    // ---- watchdog and reaper ---------------------------------------------------------------
    const timeout = (jobId: string) =>
      transact(system, jobId, "TIMEOUT", (job, now) => {
        const deadline = executionDeadline(job)
        return deadline !== null && deadline <= now
          ? Effect.succeed<JobEvent>({ type: "TIMEOUT", at: now })
          : Effect.fail(new Conflict({ jobId, reason: "the deadline moved." }))
      })

    const destroy = (jobId: string) =>
      Effect.gen(function* () {
        const job = yield* store.get(jobId)
        const t = yield* now
        if (job === undefined || job.destruction === null || job.destruction > t || job.phase === "ARCHIVED") return
        if (policy.onDestruction === "delete") {
          yield* transact(system, jobId, "DESTROY", at("DESTROY"))
          return
        }
        if (JobMachine.targetOf(job.phase, "ARCHIVE") === undefined) yield* transact(system, jobId, "ABORT", at("ABORT"))
        yield* transact(system, jobId, "ARCHIVE", (_j, now) =>
          Effect.succeed<JobEvent>({ type: "ARCHIVE", at: now, keepResults: policy.archivedResults === "keep" })
        )
      })

    const deadlineLoop = (kind: DeadlineKind, handle: (jobId: string) => Effect.Effect<unknown, UwsError>) =>
      Effect.gen(function* () {
        for (;;) {
          const next = yield* store.nextDeadline(kind)
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
            continue
          }
          // Sleep until the next deadline, or until this service writes an earlier one; a store
          // shared with other instances is re-read every `rescanInterval` as well.
          const wait = Math.min(next === null ? Infinity : next - t, rescanInterval)
          scheduledFor[kind] = t + wait
          yield* wait === Infinity
            ? Queue.take(wakeups[kind])
            : Effect.raceFirst(clock.sleep(Duration.millis(wait)), Queue.take(wakeups[kind]))
        }
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError(`the ${kind} deadline loop failed and restarts`, cause).pipe(Effect.zipRight(clock.sleep(Duration.seconds(1))))
        ),
        Effect.forever
      )

    yield* Effect.forkScoped(deadlineLoop("execution", timeout))
    yield* Effect.forkScoped(deadlineLoop("destruction", destroy))

    // ---- recovery --------------------------------------------------------------------------
    /** Recovers a job whose run was lost, unless someone else holds it (see `Dispatcher.recovery`). */
    const recoverJob = (jobId: string, message: string) =>
      Effect.flatMap(dispatcher.adopt(jobId), (adopted) =>
        Option.isNone(adopted)
          ? Effect.void
          : Effect.flatMap(store.get(jobId), (job) =>
              job === undefined
                ? Effect.void
                : Effect.forEach(
                    Dispatchers.recovery(job.phase, worker.restartable === true),
                    (type) =>
                      transact(system, jobId, type, (_job, at) =>
                        Effect.succeed<JobEvent>(
                          type === "FAIL" ? { type, at, error: { type: "transient", message, hasDetail: false } } : ({ type, at } as JobEvent)
                        )
                      ),
                    { discard: true }
                  )
            ).pipe(Effect.ignore, Effect.ensuring(adopted.value.release))
      )

    // What other instances change: their WAITs' jobs, runs they stopped, deadlines they set.
    const onSignal = (signal: Dispatchers.Signal): Effect.Effect<void> => {
      if (signal._tag === "Resync") {
        for (const jobId of [...waiters.keys()]) wake(jobId)
        for (const kind of DEADLINE_KINDS) wakeups[kind].unsafeOffer(undefined)
        return Effect.forEach([...running.keys()], stopIfTaken, { discard: true })
      }
      wake(signal.jobId)
      for (const kind of DEADLINE_KINDS) {
        const at = signal.deadlines[kind]
        if (at !== null && at < scheduledFor[kind]) wakeups[kind].unsafeOffer(undefined)
      }
      return running.has(signal.jobId) ? stopIfTaken(signal.jobId) : Effect.void
    }
    /** A job running here that another instance aborted, timed out or recovered stops here. */
    const stopIfTaken = (jobId: string) =>
      Effect.flatMap(Effect.orElseSucceed(store.get(jobId), () => null), (job) =>
        job === null || (job !== undefined && (job.phase === "QUEUED" || job.phase === "EXECUTING" || job.phase === "SUSPENDED"))
          ? Effect.void
          : cancel(jobId)
      )
    yield* Effect.forkScoped(Stream.runForEach(dispatcher.signals, onSignal))
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(dispatcher.expired, (jobIds) =>
          Effect.forEach(jobIds, (jobId) => recoverJob(jobId, Dispatchers.recoveryMessages.instanceStopped), { discard: true })
        )
      )
    )

    if (options.recover !== false) {
      const queued = yield* store.list({ phases: ["QUEUED"] }).pipe(Effect.orElseSucceed(() => ({ jobs: [] })))
      yield* Effect.forEach([...queued.jobs].reverse(), (j) => dispatcher.offer(j.jobId), { discard: true })
      const interrupted = yield* store
        .list({ phases: ["EXECUTING", "SUSPENDED"] })
        .pipe(Effect.orElseSucceed(() => ({ jobs: [] })))
      yield* Effect.forEach(interrupted.jobs, (j) => recoverJob(j.jobId, Dispatchers.recoveryMessages.restarted), { discard: true })
    }

    // ---- the service -----------------------------------------------------------------------
    const service: UwsService = {
      worker,
      policy,
      maxWait,
      create,
      get: load,
      list,
      run,
      abort: (caller, jobId) => transact(caller, jobId, "ABORT", at("ABORT")).pipe(Effect.map((d) => d.job)),
      delete: (caller, jobId) => Effect.asVoid(transact(caller, jobId, "DELETE", at("DELETE"))),
      setDestruction: (caller, jobId, destruction) =>
        transact(caller, jobId, "SET_DESTRUCTION", (job, now) =>
          Effect.map(Policies.destruction(policy, job.creationTime, now, destruction), (d): JobEvent => ({
            type: "SET_DESTRUCTION",
            destruction: d
          }))
        ).pipe(Effect.map((d) => d.job)),
      setExecutionDuration: (caller, jobId, seconds) =>
        transact(caller, jobId, "SET_EXECUTION_DURATION", () =>
          Effect.map(Policies.executionDuration(policy, seconds), (s): JobEvent => ({ type: "SET_EXECUTION_DURATION", seconds: s }))
        ).pipe(Effect.map((d) => d.job)),
      updateParameters: (caller, jobId, given, sentUploads = [], options: UpdateOptions = {}) => {
        const uploads = canonicalUploads(sentUploads)
        return Effect.gen(function* () {
          yield* checkParameters(given)
          yield* Policies.checkParameters(policy, given, uploads)
          const sent = [...canonicalParameters(given), ...uploadParameters(uploads)]
          const runId = options.runId
          yield* Policies.checkRunId(policy, runId)
          if (sent.length === 0 && runId === undefined) {
            const job = yield* load(caller, jobId)
            if (JobMachine.targetOf(job.phase, "UPDATE_PARAMETERS") === undefined) {
              return yield* Effect.fail(new InvalidTransition({ jobId, event: "UPDATE_PARAMETERS", phase: job.phase }))
            }
            return job
          }
          const decision = yield* transact(caller, jobId, "UPDATE_PARAMETERS", (job) =>
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
              const validated = yield* validateParameters(candidate)
              if (Either.isLeft(validated)) {
                return yield* Effect.fail(new InvalidParameter({ name: "parameters", reason: validated.left }))
              }
              return event
            })
          )
          return decision.job
        }).pipe((update) =>
          uploads.length === 0
            ? update
            : // Uploads are read once, into a staging area, and become the parameters' content
              // only when the update is stored: a retried or refused update changes nothing.
              Effect.gen(function* () {
                const staging = `staging/${randomJobId()}/`
                const kept = yield* keptUploadBytes(jobId, uploads)
                yield* putUploads(jobId, uploads, (name) => staging + name, kept).pipe(Effect.tapError(() => Effect.ignore(results.deleteAll(jobId, staging))))
                const job = yield* Effect.onExit(update, (exit) =>
                  Exit.isSuccess(exit)
                    ? Effect.forEach(
                        uploads,
                        (u) =>
                          Effect.flatMap(results.get(jobId, staging + u.name), (staged) =>
                            staged === undefined ? Effect.void : Effect.asVoid(results.put(jobId, uploadKey(u.name), staged.stream, staged.mimeType))
                          ),
                        { discard: true }
                      ).pipe(
                        Effect.zipRight(results.deleteAll(jobId, staging)),
                        Effect.catchAll((e) => Effect.logWarning(`uploads of job ${jobId} not moved into place: ${e.message}`))
                      )
                    : Effect.ignore(results.deleteAll(jobId, staging))
                )
                return job
              })
        )
      },
      results: (caller, jobId) => Effect.map(load(caller, jobId), (job) => job.results),
      result: (caller, jobId, resultId) =>
        Effect.gen(function* () {
          const job = yield* load(caller, jobId)
          const ref = job.results.find((r) => r.id === resultId)
          if (ref === undefined) return yield* Effect.fail(new ResourceNotFound({ jobId, resource: `result "${resultId}"` }))
          if (ref.href !== undefined) return { ref, content: undefined }
          const content = yield* results.get(jobId, resultKey(resultId))
          if (content === undefined) {
            return yield* Effect.fail(new ResourceNotFound({ jobId, resource: `stored content for result "${resultId}"` }))
          }
          return { ref, content }
        }),
      upload: (caller, jobId, name) =>
        Effect.gen(function* () {
          const job = yield* load(caller, jobId)
          const key = name.toLowerCase()
          const parameter = job.parameters.find((p) => p.name.toLowerCase() === key && uploadName(p) !== undefined)
          const content = parameter === undefined ? undefined : yield* results.get(jobId, uploadKey(uploadName(parameter)!))
          if (content === undefined) return yield* Effect.fail(new ResourceNotFound({ jobId, resource: `uploaded parameter "${name}"` }))
          return content
        }),
      error: (caller, jobId) =>
        Effect.flatMap(load(caller, jobId), (job) =>
          job.errorSummary === null
            ? Effect.fail(new ResourceNotFound({ jobId, resource: "error" }))
            : Effect.succeed(job.errorSummary)
        ),
      waitForChange,
      signal: (caller, jobId, event) =>
        caller.admin === true
          ? transact(caller, jobId, event, (_j, now) =>
              Effect.succeed<JobEvent>(
                event === "ARCHIVE" ? { type: "ARCHIVE", at: now, keepResults: policy.archivedResults === "keep" } : { type: event, at: now }
              )
            ).pipe(Effect.map((d) => d.job))
          : Effect.fail(new Forbidden({ jobId, reason: `only an operator may send ${event}.` })),
      changes: Stream.fromPubSub(changes),
      subscribe: PubSub.subscribe(changes)
    }
    return service
  })
