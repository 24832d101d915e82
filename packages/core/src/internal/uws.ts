import {
  Cause,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  PubSub,
  Queue,
  Runtime,
  Stream
} from "effect"
import type { Scope } from "effect"
import {
  Conflict,
  Forbidden,
  InvalidParameter,
  InvalidTransition,
  JobNotFound,
  QuotaExceeded,
  ResourceNotFound,
  StorageFailure,
  type UwsError
} from "../Errors.js"
import * as Identity from "../Identity.js"
import type { Caller } from "../Identity.js"
import { executionDeadline, type Job, type JobData, type Parameter, type ResultRef } from "../Job.js"
import type { JobEvent, JobEventType } from "../JobEvent.js"
import * as JobMachine from "../JobMachine.js"
import { Cursor, JobStore, type DeadlineKind, type ListQuery } from "../JobStore.js"
import * as Phases from "../Phase.js"
import * as Policies from "../Policy.js"
import * as Quote from "../Quote.js"
import { describeFailure, guard } from "../Result.js"
import { ResultStore } from "../ResultStore.js"
import type { CreateRequest, JobChange, Upload, UwsOptions, UwsService, WaitOptions } from "../Uws.js"
import { defaultMaxWait } from "../Uws.js"
import { JobFailure, type ResultSpec, type RunContext } from "../Worker.js"

const resultKey = (id: string) => `results/${id}`
const uploadKey = (name: string) => `parameters/${name}`
const RESULTS_PREFIX = "results/"

const base32 = "abcdefghijklmnopqrstuvwxyz234567"
/** 16 base-32 characters: 80 random bits, unguessable, URL-safe and case-insensitive-safe. */
export const randomJobId = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let id = ""
  for (const b of bytes) id += base32[b & 31]
  return id
}

/** How often a lost compare-and-set is retried before the caller gets `Conflict`. */
const CAS_ATTEMPTS = 16
const DUE_BATCH = 64

const describe = (u: unknown): string =>
  u instanceof Error ? u.message || u.name : typeof u === "string" ? u : String(u)

interface Running {
  readonly fiber: Fiber.RuntimeFiber<void, never>
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
    const dispatchQueue = yield* Queue.unbounded<string>()
    const changes = yield* PubSub.unbounded<JobChange>()
    const waiters = new Map<string, Set<Deferred.Deferred<void>>>()
    const running = new Map<string, Running>()
    const creation = yield* Effect.makeSemaphore(1)

    // ---- deadlines -------------------------------------------------------------------------
    const wakeups = { destruction: yield* Queue.sliding<void>(1), execution: yield* Queue.sliding<void>(1) }
    const scheduledFor: Record<DeadlineKind, number> = { destruction: Infinity, execution: Infinity }
    const deadlineOf = (kind: DeadlineKind, job: Job) =>
      kind === "execution" ? executionDeadline(job) : job.phase === "ARCHIVED" ? null : job.destruction
    const wakeIfEarlier = (job: Job) =>
      Effect.forEach(
        ["destruction", "execution"] as const,
        (kind) => {
          const at = deadlineOf(kind, job)
          return at !== null && at < scheduledFor[kind] ? Queue.offer(wakeups[kind], undefined) : Effect.void
        },
        { discard: true }
      )

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
    const notify = (jobId: string, job: Job | undefined) =>
      Effect.gen(function* () {
        const set = waiters.get(jobId)
        if (set !== undefined) {
          waiters.delete(jobId)
          for (const d of set) yield* Deferred.succeed(d, undefined)
        }
        yield* PubSub.publish(changes, { jobId, job })
      })

    const cancel = (jobId: string) =>
      Effect.suspend(() => {
        const run = running.get(jobId)
        if (run === undefined) return Effect.void
        running.delete(jobId)
        // Interrupt without waiting: the caller's request must not hang on a slow application.
        return Effect.asVoid(Fiber.interruptFork(run.fiber))
      })

    const carryOut = (before: Job, event: JobEvent, decision: JobMachine.Decision) =>
      Effect.gen(function* () {
        const forgotten = decision.effects.includes("forget")
        for (const effect of decision.effects) {
          switch (effect) {
            case "dispatch":
              yield* Queue.offer(dispatchQueue, before.jobId)
              break
            case "cancel":
              yield* cancel(before.jobId)
              break
            case "deleteResults":
              // The machine drops the results from an archived job only when asked to (see
              // `Policy.archivedResults`); their contents go with them, or stay with them.
              if (event.type === "ARCHIVE" && event.keepResults === true) break
              yield* results.deleteAll(before.jobId, forgotten ? undefined : RESULTS_PREFIX).pipe(
                Effect.catchAll((e) => Effect.logWarning(`results of job ${before.jobId} not deleted: ${e.message}`))
              )
              break
            case "notify":
              yield* notify(before.jobId, forgotten ? undefined : decision.job)
              break
            case "forget":
              break
          }
        }
        if (!forgotten) yield* wakeIfEarlier(decision.job)
      })

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
      const attempt: Effect.Effect<JobMachine.Decision, UwsError> = Effect.gen(function* () {
        const job = yield* load(caller, jobId)
        if (JobMachine.targetOf(job.phase, eventType) === undefined) {
          return yield* Effect.fail(new InvalidTransition({ jobId, event: eventType, phase: job.phase }))
        }
        const event = yield* makeEvent(job, yield* now)
        const decision = yield* JobMachine.decide(job, event)
        if (decision.effects.includes("forget")) yield* store.remove(jobId, job.version)
        else yield* store.update(decision.job, job.version)
        yield* carryOut(job, event, decision)
        return decision
      })
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
            Effect.map((p) => Either.right(p)),
            Effect.catchAll((failure) =>
              Effect.succeed(Either.left(failure._tag === "Returned" ? String(failure.error) : `parameter validation ${describeFailure(failure)}`))
            )
          )

    const checkParameters = (parameters: ReadonlyArray<Parameter>) =>
      Effect.forEach(parameters, (p) =>
        typeof p.name !== "string" || p.name.length === 0 || typeof p.value !== "string"
          ? Effect.fail(new InvalidParameter({ name: "parameters", reason: "every parameter needs a non-empty name and a value." }))
          : Effect.void
      )

    const storeUploads = (jobId: string, uploads: ReadonlyArray<Upload>) =>
      Effect.forEach(uploads, (u) => results.put(jobId, uploadKey(u.name), u.content, u.mimeType), { discard: true })

    const uploadParameters = (uploads: ReadonlyArray<Upload>): Array<Parameter> =>
      uploads.map((u) => ({ name: u.name, value: `param:${u.name}`, byReference: true }))

    // ---- operations ------------------------------------------------------------------------
    const run = (caller: Caller, jobId: string) =>
      transact(caller, jobId, "RUN", (job, at) =>
        policy.maxQueuedJobs === null
          ? Effect.succeed<JobEvent>({ type: "RUN", at })
          : Effect.flatMap(store.countInPhase("QUEUED"), (queued) =>
              queued < policy.maxQueuedJobs!
                ? Effect.succeed<JobEvent>({ type: "RUN", at })
                : job.phase === "PENDING"
                  ? Effect.succeed<JobEvent>({ type: "HOLD", at })
                  : Effect.fail(new QuotaExceeded({ reason: `the queue is full (${queued} jobs); send RUN again later.` }))
            )
      ).pipe(Effect.map((d) => d.job))

    const create = (caller: Caller, request: CreateRequest) =>
      Effect.gen(function* () {
        const created = yield* now
        const uploads = request.uploads ?? []
        const sent = [...(request.parameters ?? []), ...uploadParameters(uploads)]
        yield* checkParameters(sent)
        const executionDuration = yield* Policies.executionDuration(policy, request.executionDuration)
        const destruction =
          request.destruction === undefined
            ? Policies.initialDestruction(policy, created)
            : yield* Policies.destruction(policy, created, created, request.destruction)
        const validated = yield* validateParameters(sent)
        if (Either.isLeft(validated) && worker.onInvalidParameters === "reject") {
          return yield* Effect.fail(new InvalidParameter({ name: "parameters", reason: validated.left }))
        }
        const data: JobData = {
          jobId: makeJobId(),
          runId: request.runId ?? null,
          ownerId: caller.id,
          quote: null,
          creationTime: created,
          startTime: null,
          endTime: null,
          executionDuration,
          destruction,
          parameters: Either.isRight(validated) ? validated.right : sent,
          results: [],
          errorSummary: null,
          jobInfo: request.jobInfo ?? null
        }
        const draft: Job = { ...data, phase: "PENDING", version: 0 }
        const job: Job = { ...draft, quote: Quote.forJob(worker, draft, created) }
        yield* storeUploads(job.jobId, uploads)
        const insert = Effect.gen(function* () {
          if (policy.maxActiveJobsPerOwner !== null) {
            const active = yield* store.countActive(caller.id)
            if (active >= policy.maxActiveJobsPerOwner) {
              return yield* Effect.fail(
                new QuotaExceeded({
                  reason: `${caller.id === null ? "anonymous users" : `"${caller.id}"`} may have at most ${policy.maxActiveJobsPerOwner} active jobs; wait for some to finish or delete them.`
                })
              )
            }
          }
          yield* store.insert(job)
        })
        yield* (policy.maxActiveJobsPerOwner === null ? insert : creation.withPermits(1)(insert)).pipe(
          Effect.tapError(() => results.deleteAll(job.jobId).pipe(Effect.ignore))
        )
        yield* notify(job.jobId, job)
        yield* wakeIfEarlier(job)
        if (Either.isLeft(validated)) {
          const failed = yield* transact(Identity.system, job.jobId, "FAIL", (_j, at) =>
            Effect.succeed<JobEvent>({ type: "FAIL", at, error: { type: "fatal", message: validated.left, hasDetail: false } })
          )
          return failed.job
        }
        return request.run === true ? yield* run(caller, job.jobId) : job
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
        return yield* store.list(caller.admin === true ? query : { ...query, ownerId: caller.id })
      })

    const waitForChange = (caller: Caller, jobId: string, wait: WaitOptions) =>
      Effect.gen(function* () {
        const job = yield* load(caller, jobId)
        if (!Phases.isActive(job.phase) || (wait.phase !== undefined && job.phase !== wait.phase)) return job
        const limit =
          wait.timeout === "indefinitely" ? maxWait : Math.min(maxWait, Duration.toMillis(Duration.decode(wait.timeout)))
        if (!(limit > 0)) return job
        const changed = yield* Deferred.make<void>()
        let set = waiters.get(jobId)
        if (set === undefined) waiters.set(jobId, (set = new Set()))
        set.add(changed)
        const unregister = Effect.sync(() => {
          const current = waiters.get(jobId)
          current?.delete(changed)
          if (current?.size === 0) waiters.delete(jobId)
        })
        return yield* Effect.gen(function* () {
          // A change between the first read and registering must not be slept through.
          const fresh = yield* store.get(jobId)
          if (fresh === undefined || fresh.version === job.version) {
            yield* Effect.raceFirst(Deferred.await(changed), clock.sleep(Duration.millis(limit)))
          }
          return yield* load(caller, jobId)
        }).pipe(Effect.ensuring(unregister))
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

    const invoke = (job: Job, context: RunContext, controller: AbortController) =>
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

    const storeResults = (jobId: string, specs: ReadonlyArray<ResultSpec>) =>
      Effect.forEach(specs, (spec): Effect.Effect<ResultRef, StorageFailure> => {
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
      })

    const system = Identity.system
    const finish = (jobId: string, exit: Exit.Exit<ReadonlyArray<ResultSpec>, unknown>) =>
      Effect.gen(function* () {
        if (Exit.isFailure(exit)) {
          if (Cause.isInterruptedOnly(exit.cause)) return
          const error = failureSummary(exit.cause)
          yield* transact(system, jobId, "FAIL", (_j, at) => Effect.succeed<JobEvent>({ type: "FAIL", at, error }))
          return
        }
        const specs = exit.value
        if (!checkResults(specs)) {
          yield* transact(system, jobId, "FAIL", (_j, at) =>
            Effect.succeed<JobEvent>({
              type: "FAIL",
              at,
              error: { type: "fatal", message: "the application returned malformed results (each needs a unique, non-empty id).", hasDetail: false }
            })
          )
          return
        }
        const stored = yield* Effect.either(storeResults(jobId, specs))
        if (Either.isLeft(stored)) {
          yield* transact(system, jobId, "FAIL", (_j, at) =>
            Effect.succeed<JobEvent>({ type: "FAIL", at, error: { type: "transient", message: stored.left.message, hasDetail: false } })
          )
          return
        }
        yield* transact(system, jobId, "COMPLETE", (_j, at) =>
          Effect.succeed<JobEvent>({ type: "COMPLETE", at, results: stored.right })
        ).pipe(
          // The job was aborted, held or destroyed meanwhile: nothing refers to these contents.
          Effect.tapError(() => results.deleteAll(jobId, RESULTS_PREFIX).pipe(Effect.ignore))
        )
      }).pipe(Effect.catchAll((e) => Effect.logWarning(`job ${jobId} could not be finished: ${e.message}`)))

    const execute = (job: Job) =>
      Effect.gen(function* () {
        const controller = new AbortController()
        const send = (makeEvent: (at: number) => JobEvent, type: JobEventType) =>
          Runtime.runPromise(runtime)(
            transact(system, job.jobId, type, (_j, at) => Effect.succeed(makeEvent(at))).pipe(Effect.asVoid, Effect.ignore)
          )
        const reportProgress = (info: Readonly<Record<string, string>>) =>
          transact(system, job.jobId, "PROGRESS", () => Effect.succeed<JobEvent>({ type: "PROGRESS", jobInfo: info })).pipe(
            Effect.asVoid,
            Effect.ignore
          )
        const context: RunContext = {
          jobId: job.jobId,
          signal: controller.signal,
          progress: (info) => Runtime.runPromise(runtime)(reportProgress(info)),
          reportProgress,
          suspend: () => send((at) => ({ type: "SUSPEND", at }), "SUSPEND"),
          resume: () => send((at) => ({ type: "RESUME", at }), "RESUME")
        }
        const exit = yield* Effect.exit(invoke(job, context, controller))
        yield* finish(job.jobId, exit)
      })

    const startJob = (jobId: string) =>
      Effect.gen(function* () {
        const started = yield* Effect.either(transact(system, jobId, "START", at("START")))
        if (Either.isLeft(started)) return // aborted, held or destroyed while queued
        const fiber = yield* Effect.fork(execute(started.right.job))
        running.set(jobId, { fiber })
        // An ABORT that landed between START and registering found nothing to cancel.
        const current = yield* store.get(jobId).pipe(Effect.orElseSucceed(() => undefined))
        if (current === undefined || !Phases.running.has(current.phase)) yield* cancel(jobId)
        yield* Fiber.await(fiber)
        if (running.get(jobId)?.fiber === fiber) running.delete(jobId)
      })

    const dispatcher = Effect.forever(Effect.flatMap(Queue.take(dispatchQueue), startJob))
    yield* Effect.forkScoped(Effect.all(Array.from({ length: policy.concurrency }, () => dispatcher), { concurrency: "unbounded" }))
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...running.values()], (r) => Fiber.interrupt(r.fiber), { discard: true })
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
    if (options.recover !== false) {
      const queued = yield* store.list({ phases: ["QUEUED"] }).pipe(Effect.orElseSucceed(() => ({ jobs: [] })))
      yield* Effect.forEach([...queued.jobs].reverse(), (j) => Queue.offer(dispatchQueue, j.jobId), { discard: true })
      const interrupted = yield* store
        .list({ phases: ["EXECUTING", "SUSPENDED"] })
        .pipe(Effect.orElseSucceed(() => ({ jobs: [] })))
      yield* Effect.forEach(
        interrupted.jobs,
        (j) =>
          transact(system, j.jobId, "FAIL", (_job, at) =>
            Effect.succeed<JobEvent>({
              type: "FAIL",
              at,
              error: { type: "transient", message: "the service restarted while the job was executing; run a new job.", hasDetail: false }
            })
          ).pipe(Effect.ignore),
        { discard: true }
      )
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
      updateParameters: (caller, jobId, parameters, uploads = []) =>
        Effect.gen(function* () {
          const sent = [...parameters, ...uploadParameters(uploads)]
          yield* checkParameters(sent)
          if (sent.length === 0) {
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
              const merged = JobMachine.decide(job, { type: "UPDATE_PARAMETERS", parameters: sent })
              const candidate = Either.isRight(merged) ? merged.right.job.parameters : sent
              const validated = yield* validateParameters(candidate)
              if (Either.isLeft(validated)) {
                return yield* Effect.fail(new InvalidParameter({ name: "parameters", reason: validated.left }))
              }
              yield* storeUploads(jobId, uploads)
              return { type: "UPDATE_PARAMETERS", parameters: sent } as JobEvent
            })
          )
          return decision.job
        }),
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
          const parameter = job.parameters.find((p) => p.name.toLowerCase() === key && p.byReference === true && p.value.startsWith("param:"))
          const content = parameter === undefined ? undefined : yield* results.get(jobId, uploadKey(parameter.value.slice("param:".length)))
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
      changes: Stream.fromPubSub(changes)
    }
    return service
  })
