/**
 * The Uws service, composed: the modules beside this one each hold one concern (transact,
 * dispatch, execute, deadlines, waiters, recovery, uploads, parameters, create); this file wires
 * them over the stores and answers the service's operations.
 */
import { Effect, Option, PubSub, Stream } from "effect"
import type { Scope } from "effect"
import * as Dispatchers from "../Dispatcher.js"
import { Cursor, JobStore, type ListQuery } from "../JobStore.js"
import { Forbidden, InvalidParameter, ResourceNotFound } from "../Errors.js"
import type { Caller } from "../Identity.js"
import type { Job } from "../Job.js"
import type { JobEvent } from "../JobEvent.js"
import * as Phases from "../Phase.js"
import * as Policies from "../Policy.js"
import { ResultStore } from "../ResultStore.js"
import * as ServiceEvents from "../ServiceEvents.js"
import type { JobChange, UwsOptions, UwsService } from "../Uws.js"
import { defaultMaxWait } from "../Uws.js"
import { makeCreate } from "./create.js"
import { enforceDeadlines, makeSchedule } from "./deadlines.js"
import { startSlots } from "./dispatch.js"
import { makeExecute, resultKey } from "./execute.js"
import { randomJobId } from "./jobId.js"
import { makeUpdateParameters, makeValidate } from "./parameters.js"
import { startRecovery } from "./recovery.js"
import { makeRuns } from "./runs.js"
import * as JobTerms from "./jobTerms.js"
import { makeTransact } from "./transact.js"
import { makeUploads, uploadedName, uploadKey } from "./uploads.js"
import { makeWaitForChange, makeWaiters } from "./waiters.js"

export { randomJobId } from "./jobId.js"

const LISTED_BY_DEFAULT: ReadonlyArray<Phases.Phase> = Phases.all.filter((p) => p !== "ARCHIVED")

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
    const now = clock.currentTimeMillis
    const dispatcher = yield* Effect.flatMap(Effect.serviceOption(Dispatchers.Dispatcher), (given) =>
      Option.isSome(given) ? Effect.succeed(given.value) : Dispatchers.makeInProcess()
    )
    const changes = yield* PubSub.unbounded<JobChange>()

    const waiters = makeWaiters(clock)
    const runs = makeRuns()
    const schedule = yield* makeSchedule(store, clock, options.rescanInterval ?? Infinity)
    const transact = makeTransact({ store, results, dispatcher, policy, now, runs, waiters, schedule, changes, worker, clock })
    const { load } = transact
    const validate = makeValidate(worker, options.validationTimeout ?? 30_000)
    const uploads = makeUploads({ policy, store, results })

    const run = (caller: Caller, jobId: string, known?: Job) =>
      transact
        .transact(caller, jobId, "RUN", (job, at) =>
          ServiceEvents.countsQueue(policy)
            ? Effect.flatMap(store.count({ phases: ["QUEUED"] }), (queued) =>
                Effect.map(ServiceEvents.runEvent(policy, job.phase, queued), (type) => ServiceEvents.event(policy, type, at))
              )
            : ({ type: "RUN", at } satisfies JobEvent),
          known,
          // RUN is the client's commitment (UWS v0.3's acceptQuote): the quote is accepted and
          // frozen, also when a full queue makes it a HOLD.
          JobTerms.accept
        )
        .pipe(Effect.map((d) => d.job))

    const create = yield* makeCreate({
      store,
      results,
      policy,
      worker,
      now,
      makeJobId: options.makeJobId ?? randomJobId,
      validate,
      uploads,
      transact,
      schedule,
      run
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

    // The background fibers, in this order: slots, watchdog and reaper, signals and recovery.
    const execute = makeExecute({ worker, results, transact, runtime })
    yield* startSlots({ store, dispatcher, policy, runs, transact, execute })
    yield* enforceDeadlines({ schedule, store, policy, now, transact })
    yield* startRecovery({ store, dispatcher, worker, runs, transact, waiters, schedule, onStart: options.recover !== false })

    const service: UwsService = {
      worker,
      policy,
      maxWait,
      create,
      get: load,
      peek: transact.peek,
      list,
      run,
      abort: (caller, jobId) => transact.transact(caller, jobId, "ABORT", transact.at("ABORT")).pipe(Effect.map((d) => d.job)),
      delete: (caller, jobId) => Effect.asVoid(transact.transact(caller, jobId, "DELETE", transact.at("DELETE"))),
      setDestruction: (caller, jobId, destruction) =>
        transact
          .transact(caller, jobId, "SET_DESTRUCTION", (job, at) =>
            Effect.map(Policies.destruction(policy, job.creationTime, at, destruction), (d): JobEvent => ({
              type: "SET_DESTRUCTION",
              destruction: d
            }))
          )
          .pipe(Effect.map((d) => d.job)),
      setExecutionDuration: (caller, jobId, seconds) =>
        transact
          .transact(caller, jobId, "SET_EXECUTION_DURATION", () =>
            Effect.map(Policies.executionDuration(policy, seconds), (s): JobEvent => ({ type: "SET_EXECUTION_DURATION", seconds: s }))
          )
          .pipe(Effect.map((d) => d.job)),
      updateParameters: makeUpdateParameters({ policy, transact, validate, uploads }),
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
          const parameter = job.parameters.find((p) => p.name.toLowerCase() === key && uploadedName(p) !== undefined)
          const content = parameter === undefined ? undefined : yield* results.get(jobId, uploadKey(uploadedName(parameter)!))
          if (content === undefined) return yield* Effect.fail(new ResourceNotFound({ jobId, resource: `uploaded parameter "${name}"` }))
          return content
        }),
      error: (caller, jobId) =>
        Effect.flatMap(load(caller, jobId), (job) =>
          job.errorSummary === null
            ? Effect.fail(new ResourceNotFound({ jobId, resource: "error" }))
            : Effect.succeed(job.errorSummary)
        ),
      waitForChange: makeWaitForChange({ load, access: transact.access, now, maxWait, waiters }),
      signal: (caller, jobId, event) =>
        caller.admin === true
          ? transact.transact(caller, jobId, event, transact.at(event)).pipe(Effect.map((d) => d.job))
          : Effect.fail(new Forbidden({ jobId, reason: `only an operator may send ${event}.` })),
      changes: Stream.fromPubSub(changes),
      subscribe: PubSub.subscribe(changes)
    }
    return service
  })
