/**
 * `@uws-kit/core/testing`: what adapters and users need to test a UWS implementation.
 *
 * - {@link Model}: a small reference model of UWS semantics, written independently of the job
 *   machine (a hand-written table), that predicts the outcome of every operation.
 * - {@link Operation} arbitraries: random client and service operations and clock moves, each
 *   printable for readable counterexamples.
 * - {@link controlledWorker}: an application whose jobs run until the test completes or fails
 *   them, so a test decides when work ends.
 * - {@link propertyRuns}: run counts sized for `npm test`, raised by `UWS_PROPERTY_RUNS`.
 *
 * Requires `fast-check` (an optional peer dependency of the core).
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Either, Layer, TestClock, TestContext } from "effect"
import type { Scope } from "effect"
import fc from "fast-check"
import type { UwsErrorTag } from "./Errors.js"
import { JobFailure } from "./Worker.js"
import * as Worker from "./Worker.js"
import type { Caller } from "./Identity.js"
import type { Job, Parameter } from "./Job.js"
import * as Phases from "./Phase.js"
import type { Phase } from "./Phase.js"
import * as Policies from "./Policy.js"
import type { Policy } from "./Policy.js"
import { layerMemory as jobStoreMemory, type JobStore } from "./JobStore.js"
import { layerMemory as resultStoreMemory, type ResultStore } from "./ResultStore.js"
import * as Uws from "./Uws.js"
import type { UwsService } from "./Uws.js"

/**
 * How many runs a property gets: `defaultRuns`, or more when the environment variable
 * `UWS_PROPERTY_RUNS` asks for more (for long local runs).
 *
 * @since 0.1.0
 * @category runs
 */
export const propertyRuns = (defaultRuns: number): number => {
  const raised = Number(globalThis.process?.env?.["UWS_PROPERTY_RUNS"])
  return Number.isSafeInteger(raised) && raised > defaultRuns ? raised : defaultRuns
}

// ---------------------------------------------------------------------------------------------
// Callers

/**
 * A stored job for tests that build records by hand (stores, machines, decisions): PENDING,
 * version 0, nothing set; `fields` override any of it.
 *
 * @since 0.1.0
 * @category fixtures
 */
export const testJob = (fields: Partial<Job> = {}): Job => ({
  jobId: "j1",
  runId: null,
  ownerId: null,
  quote: null,
  creationTime: 0,
  startTime: null,
  endTime: null,
  executionDuration: 0,
  destruction: null,
  parameters: [],
  results: [],
  errorSummary: null,
  jobInfo: null,
  phase: "PENDING",
  version: 0,
  ...fields
})

/**
 * The callers operations are drawn from: one anonymous caller and two users.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const callers: ReadonlyArray<Caller> = [{ id: null }, { id: "alice" }, { id: "bob" }]

const callerName = (caller: Caller) => (caller.id === null ? "anon" : caller.id)

// ---------------------------------------------------------------------------------------------
// Operations

/**
 * A job an operation targets: an index into the jobs created so far (taken modulo their number),
 * or a job id that never existed.
 *
 * @since 0.1.0
 * @category models
 */
export type Target = { readonly _tag: "Known"; readonly index: number } | { readonly _tag: "Unknown"; readonly jobId: string }

/**
 * A random operation on a UWS service. Times are relative to the model's clock (ms).
 *
 * @since 0.1.0
 * @category models
 */
export type Operation =
  | {
      readonly _tag: "Create"
      readonly caller: Caller
      readonly parameters: ReadonlyArray<Parameter>
      readonly run: boolean
      readonly executionDuration?: number
      /** Milliseconds from now (may be negative: a past destruction must be refused). */
      readonly destructionIn?: number
    }
  | { readonly _tag: "Get"; readonly caller: Caller; readonly target: Target }
  | { readonly _tag: "Run"; readonly caller: Caller; readonly target: Target }
  | { readonly _tag: "Abort"; readonly caller: Caller; readonly target: Target }
  | { readonly _tag: "Delete"; readonly caller: Caller; readonly target: Target }
  | { readonly _tag: "SetDestruction"; readonly caller: Caller; readonly target: Target; readonly destructionIn: number }
  | { readonly _tag: "SetExecutionDuration"; readonly caller: Caller; readonly target: Target; readonly seconds: number }
  | { readonly _tag: "UpdateParameters"; readonly caller: Caller; readonly target: Target; readonly parameters: ReadonlyArray<Parameter> }
  | {
      readonly _tag: "List"
      readonly caller: Caller
      readonly phases: ReadonlyArray<Phase>
      readonly afterIn?: number
      readonly last?: number
    }
  /** The application finishes a running job (with one result) or fails it. */
  | { readonly _tag: "Complete"; readonly target: Target }
  /** The application publishes a result while the job runs (UWS 0.3 §3.1). */
  | { readonly _tag: "Publish"; readonly target: Target }
  | { readonly _tag: "Fail"; readonly target: Target; readonly message: string }
  /** Time passes (deadlines fire). */
  | { readonly _tag: "Advance"; readonly ms: number }

const describeTarget = (t: Target) => (t._tag === "Known" ? `#${t.index}` : `?${t.jobId}`)
const describeParameters = (ps: ReadonlyArray<Parameter>) => ps.map((p) => `${p.name}=${JSON.stringify(p.value)}`).join("&")

/**
 * A short, readable form of an operation (what counterexamples print).
 *
 * @since 0.1.0
 * @category models
 */
export const describeOperation = (op: Operation): string => {
  switch (op._tag) {
    case "Create":
      return `Create(${callerName(op.caller)}${op.run ? ",RUN" : ""}${op.executionDuration === undefined ? "" : `,dur=${op.executionDuration}`}${op.destructionIn === undefined ? "" : `,destr=+${op.destructionIn}`}${op.parameters.length > 0 ? `,${describeParameters(op.parameters)}` : ""})`
    case "Get":
    case "Run":
    case "Abort":
    case "Delete":
      return `${op._tag}(${callerName(op.caller)},${describeTarget(op.target)})`
    case "SetDestruction":
      return `SetDestruction(${callerName(op.caller)},${describeTarget(op.target)},+${op.destructionIn})`
    case "SetExecutionDuration":
      return `SetExecutionDuration(${callerName(op.caller)},${describeTarget(op.target)},${op.seconds})`
    case "UpdateParameters":
      return `UpdateParameters(${callerName(op.caller)},${describeTarget(op.target)},${describeParameters(op.parameters)})`
    case "List":
      return `List(${callerName(op.caller)}${op.phases.length > 0 ? `,PHASE=${op.phases.join("|")}` : ""}${op.afterIn === undefined ? "" : `,AFTER=${op.afterIn}`}${op.last === undefined ? "" : `,LAST=${op.last}`})`
    case "Complete":
      return `Complete(${describeTarget(op.target)})`
    case "Publish":
      return `Publish(${describeTarget(op.target)})`
    case "Fail":
      return `Fail(${describeTarget(op.target)},${JSON.stringify(op.message)})`
    case "Advance":
      return `Advance(${op.ms}ms)`
  }
}

/**
 * @since 0.1.0
 * @category arbitraries
 */
export const caller: fc.Arbitrary<Caller> = fc.constantFrom(...callers)

/**
 * Parameter names as UWS applications use them: letters, digits, `_`, `.`, `-`, any case.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const parameterName: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,11}$/)

/**
 * Parameter values: any Unicode text without control characters (kept exactly as sent).
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const parameterValue: fc.Arbitrary<string> = fc
  .string({ unit: "grapheme", maxLength: 24 })
  .filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.trim() === s)

/**
 * A parameter list; names may repeat (UWS parameters are multi-valued). `ERROR` is left out: the
 * demo application reads it as an instruction.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const parameters: fc.Arbitrary<ReadonlyArray<Parameter>> = fc.array(
  fc.record({ name: parameterName.filter((n) => n.toUpperCase() !== "ERROR"), value: parameterValue }),
  { maxLength: 4 }
)

const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 9, arbitrary: fc.nat({ max: 31 }).map((index): Target => ({ _tag: "Known", index })) },
  { weight: 1, arbitrary: fc.constant<Target>({ _tag: "Unknown", jobId: "no-such-job" }) }
)

const seconds = fc.oneof(fc.integer({ min: -5, max: 7_200 }), fc.constantFrom(0, 60, 3_600, 86_400, 1_000_000))
const destructionIn = fc.oneof(
  fc.integer({ min: -60_000, max: 3 * 86_400_000 }),
  fc.constantFrom(1_000, 3_600_000, 40 * 86_400_000)
)

/**
 * A clock move: mostly small steps, sometimes a jump of hours or days (deadlines fire).
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const clockMove: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 5_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(60_000, 3_600_000, 86_400_000, 8 * 86_400_000, 31 * 86_400_000) }
)

/**
 * Which operations to draw. Client operations are always on; `service` adds Complete/Fail and
 * `clock` adds Advance (leave it off when the system under test runs on a real clock).
 *
 * @since 0.1.0
 * @category arbitraries
 */
export interface OperationOptions {
  readonly service?: boolean
  readonly clock?: boolean
}

/**
 * A random operation.
 *
 * @since 0.1.0
 * @category arbitraries
 */
export const operation = (options: OperationOptions = {}): fc.Arbitrary<Operation> => {
  const client: Array<fc.WeightedArbitrary<Operation>> = [
    {
      weight: 4,
      arbitrary: fc
        .record(
          {
            caller,
            parameters,
            run: fc.boolean(),
            executionDuration: seconds,
            destructionIn
          },
          { requiredKeys: ["caller", "parameters", "run"] }
        )
        .map((r): Operation => ({ _tag: "Create", ...r }))
    },
    { weight: 2, arbitrary: fc.record({ caller, target }).map((r): Operation => ({ _tag: "Get", ...r })) },
    { weight: 3, arbitrary: fc.record({ caller, target }).map((r): Operation => ({ _tag: "Run", ...r })) },
    { weight: 2, arbitrary: fc.record({ caller, target }).map((r): Operation => ({ _tag: "Abort", ...r })) },
    { weight: 1, arbitrary: fc.record({ caller, target }).map((r): Operation => ({ _tag: "Delete", ...r })) },
    {
      weight: 1,
      arbitrary: fc.record({ caller, target, destructionIn }).map((r): Operation => ({ _tag: "SetDestruction", ...r }))
    },
    {
      weight: 1,
      arbitrary: fc.record({ caller, target, seconds }).map((r): Operation => ({ _tag: "SetExecutionDuration", ...r }))
    },
    {
      weight: 1,
      arbitrary: fc.record({ caller, target, parameters }).map((r): Operation => ({ _tag: "UpdateParameters", ...r }))
    },
    {
      weight: 2,
      arbitrary: fc
        .record(
          {
            caller,
            phases: fc.uniqueArray(fc.constantFrom(...Phases.all), { maxLength: 3 }),
            afterIn: fc.integer({ min: -10_000, max: 0 }),
            last: fc.integer({ min: 1, max: 5 })
          },
          { requiredKeys: ["caller", "phases"] }
        )
        .map((r): Operation => ({ _tag: "List", ...r }))
    }
  ]
  const service: Array<fc.WeightedArbitrary<Operation>> = options.service
    ? [
        { weight: 3, arbitrary: target.map((t): Operation => ({ _tag: "Complete", target: t })) },
        { weight: 1, arbitrary: target.map((t): Operation => ({ _tag: "Publish", target: t })) },
        {
          weight: 1,
          arbitrary: fc.record({ target, message: fc.constantFrom("out of memory", "bad input file") }).map(
            (r): Operation => ({ _tag: "Fail", ...r })
          )
        }
      ]
    : []
  const clock: Array<fc.WeightedArbitrary<Operation>> = options.clock
    ? [{ weight: 2, arbitrary: clockMove.map((ms): Operation => ({ _tag: "Advance", ms })) }]
    : []
  return fc.oneof(...client, ...service, ...clock).map(printable)
}

/** Counterexamples print operations in their short form. */
const printable = (op: Operation): Operation =>
  Object.defineProperty(op, fc.toStringMethod, { value: () => describeOperation(op), enumerable: false })

// ---------------------------------------------------------------------------------------------
// The reference model

/**
 * What the model knows of a job.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelJob {
  readonly jobId: string
  readonly ownerId: string | null
  phase: Phase
  readonly creationTime: number
  startTime: number | null
  endTime: number | null
  executionDuration: number
  destruction: number | null
  parameters: Array<Parameter>
  /** Results listed: those published while running, and the final one. */
  resultCount: number
  /** Whether the final result `out` (what {@link controlledWorker} completes with) is listed. */
  finalResult: boolean
  errorMessage: string | null
  /** Commit order, for FIFO dispatch. */
  queuedAt: number
}

/**
 * The predicted outcome of an operation: success, or the tag of the error the core must give.
 *
 * @since 0.1.0
 * @category models
 */
export type Expected = { readonly ok: true } | { readonly ok: false; readonly error: UwsErrorTag }

const ok: Expected = { ok: true }
const fail = (error: UwsErrorTag): Expected => ({ ok: false, error })

/** Parameter names are case-insensitive: the service keeps them in lower case. */
const lowerCaseNames = (parameters: ReadonlyArray<Parameter>): Array<Parameter> =>
  parameters.map((p) => ({ ...p, name: p.name.toLowerCase() }))

/** The UWS phase rules, written out by hand (independently of `jobMachine`). */
const RUNNABLE = new Set<Phase>(["PENDING", "HELD"])
const ABORTABLE = new Set<Phase>(["PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED", "UNKNOWN"])
const DURATION_SETTABLE = new Set<Phase>(["PENDING", "QUEUED", "HELD"])
const ARCHIVABLE = new Set<Phase>(["COMPLETED", "ERROR", "ABORTED", "UNKNOWN"])

/**
 * A reference model of a UWS service with one job list, driven by the same operations as the
 * system under test. Jobs run on a dispatcher of `policy.concurrency` slots, first committed,
 * first started; `settle()` starts what can start (call it when the real service has had time
 * to dispatch). It assumes an application that never finishes on its own (see
 * {@link controlledWorker}) and validates nothing.
 *
 * @since 0.1.0
 * @category models
 */
export class Model {
  readonly policy: Policy
  now: number
  private readonly jobs_ = new Map<string, ModelJob>()
  private commits = 0

  constructor(policy: Partial<Policy> = {}, now = 0) {
    this.policy = Policies.make(policy)
    this.now = now
  }

  /** An independent copy, for trying out serial orders of concurrent requests. */
  clone(): Model {
    const copy = new Model(this.policy, this.now)
    for (const [id, job] of this.jobs_) copy.jobs_.set(id, { ...job, parameters: [...job.parameters] })
    copy.commits = this.commits
    return copy
  }

  /**
   * The first difference between the jobs a service holds and the model's, or `undefined` when
   * they agree on every job and every field the model knows.
   */
  differences(jobs: ReadonlyArray<Job>): string | undefined {
    const real = new Map(jobs.map((j) => [j.jobId, j]))
    if (real.size !== this.jobs_.size) return `${real.size} jobs stored, the model has ${this.jobs_.size}`
    for (const m of this.jobs_.values()) {
      const j = real.get(m.jobId)
      if (j === undefined) return `job ${m.jobId} is missing`
      const fields: ReadonlyArray<readonly [string, unknown, unknown]> = [
        ["phase", j.phase, m.phase],
        ["ownerId", j.ownerId, m.ownerId],
        ["creationTime", j.creationTime, m.creationTime],
        ["startTime", j.startTime, m.startTime],
        ["endTime", j.endTime, m.endTime],
        ["executionDuration", j.executionDuration, m.executionDuration],
        ["destruction", j.destruction, m.destruction],
        ["results", j.results.length, m.resultCount],
        ["parameters", JSON.stringify(j.parameters), JSON.stringify(m.parameters)]
      ]
      for (const [name, a, b] of fields) if (a !== b) return `${m.jobId}.${name}: service ${String(a)}, model ${String(b)}`
    }
    return undefined
  }

  /** Jobs in creation order (index order for {@link Target}s). */
  get jobs(): ReadonlyArray<ModelJob> {
    return [...this.jobs_.values()]
  }

  job(jobId: string): ModelJob | undefined {
    return this.jobs_.get(jobId)
  }

  private mayAccess(caller: Caller, job: ModelJob) {
    return (
      caller.admin === true ||
      job.ownerId === caller.id ||
      (job.ownerId === null && this.policy.anonymousJobs === "shared")
    )
  }

  private access(caller: Caller, jobId: string): ModelJob | Expected {
    const job = this.jobs_.get(jobId)
    if (job === undefined) return fail("JobNotFound")
    if (!this.mayAccess(caller, job)) return fail("Forbidden")
    return job
  }

  private clampDuration(requested: number): number | Expected {
    if (!Number.isSafeInteger(requested) || requested < 0) return fail("InvalidParameter")
    const max = this.policy.maxExecutionDuration
    if (max > 0 && (requested === 0 || requested > max)) return this.policy.overLimit === "clamp" ? max : fail("InvalidParameter")
    return requested
  }

  private clampDestruction(creationTime: number, requested: number): number | Expected {
    if (requested <= this.now) return fail("InvalidParameter")
    const max = this.policy.maxDestructionLifetime
    if (max === null) return requested
    const limit = creationTime + max * 1000
    if (requested <= limit) return requested
    return this.policy.overLimit === "clamp" ? limit : fail("InvalidParameter")
  }

  private activeCount(ownerId: string | null) {
    let n = 0
    for (const j of this.jobs_.values()) if (j.ownerId === ownerId && Phases.isActive(j.phase)) n++
    return n
  }

  /** The size limits, written out independently of `Policy.checkParameters`. */
  private tooLarge(parameters: ReadonlyArray<Parameter>): boolean {
    const { maxParametersPerJob: count, maxParameterValueBytes: value, maxParameterBytesPerJob: total } = this.policy
    const bytes = (s: string) => new TextEncoder().encode(s).length
    if (count !== null && parameters.length > count) return true
    if (value !== null && parameters.some((p) => bytes(p.value) > value)) return true
    return total !== null && parameters.reduce((n, p) => n + bytes(p.name) + bytes(p.value), 0) > total
  }

  private queuedCount() {
    let n = 0
    for (const j of this.jobs_.values()) if (j.phase === "QUEUED") n++
    return n
  }

  private commit(job: ModelJob): Expected {
    if (this.policy.maxQueuedJobs !== null && this.queuedCount() >= this.policy.maxQueuedJobs) {
      if (job.phase === "PENDING") {
        job.phase = "HELD"
        return ok
      }
      return fail("QuotaExceeded")
    }
    job.phase = "QUEUED"
    job.queuedAt = ++this.commits
    return ok
  }

  /**
   * Creation. Call with the id the real service gave (when it succeeded) so the model can track
   * the job; the answer says whether the model agrees that creation should succeed.
   */
  create(caller: Caller, op: Omit<Extract<Operation, { _tag: "Create" }>, "_tag" | "caller">, jobId?: string): Expected {
    const duration = op.executionDuration === undefined ? this.policy.defaultExecutionDuration : this.clampDuration(op.executionDuration)
    if (typeof duration !== "number") return duration
    let destruction: number | null
    if (op.destructionIn === undefined) {
      destruction = this.policy.defaultDestructionLifetime === null ? null : this.now + this.policy.defaultDestructionLifetime * 1000
    } else {
      const clamped = this.clampDestruction(this.now, this.now + op.destructionIn)
      if (typeof clamped !== "number") return clamped
      destruction = clamped
    }
    if (this.tooLarge(op.parameters)) return fail("LimitExceeded")
    if (this.policy.maxStoredJobs !== null && this.jobs_.size >= this.policy.maxStoredJobs) return fail("QuotaExceeded")
    if (this.policy.maxActiveJobsPerOwner !== null && this.activeCount(caller.id) >= this.policy.maxActiveJobsPerOwner) {
      return fail("QuotaExceeded")
    }
    if (jobId === undefined) return ok
    const job: ModelJob = {
      jobId,
      ownerId: caller.id,
      phase: "PENDING",
      creationTime: this.now,
      startTime: null,
      endTime: null,
      executionDuration: duration,
      destruction,
      parameters: lowerCaseNames(op.parameters),
      resultCount: 0,
      finalResult: false,
      errorMessage: null,
      queuedAt: 0
    }
    this.jobs_.set(jobId, job)
    if (op.run) this.commit(job)
    return ok
  }

  get(caller: Caller, jobId: string): Expected {
    const job = this.access(caller, jobId)
    return "ok" in job ? job : ok
  }

  run(caller: Caller, jobId: string): Expected {
    const job = this.access(caller, jobId)
    if ("ok" in job) return job
    if (!RUNNABLE.has(job.phase)) return fail("InvalidTransition")
    return this.commit(job)
  }

  abort(caller: Caller, jobId: string): Expected {
    const job = this.access(caller, jobId)
    if ("ok" in job) return job
    if (!ABORTABLE.has(job.phase)) return fail("InvalidTransition")
    job.phase = "ABORTED"
    job.endTime = this.now
    return ok
  }

  delete(caller: Caller, jobId: string): Expected {
    const job = this.access(caller, jobId)
    if ("ok" in job) return job
    this.jobs_.delete(jobId)
    return ok
  }

  setDestruction(caller: Caller, jobId: string, destruction: number): Expected {
    const job = this.access(caller, jobId)
    if ("ok" in job) return job
    if (job.phase === "ARCHIVED") return fail("InvalidTransition")
    const clamped = this.clampDestruction(job.creationTime, destruction)
    if (typeof clamped !== "number") return clamped
    job.destruction = clamped
    return ok
  }

  setExecutionDuration(caller: Caller, jobId: string, seconds: number): Expected {
    const job = this.access(caller, jobId)
    if ("ok" in job) return job
    if (!DURATION_SETTABLE.has(job.phase)) return fail("InvalidTransition")
    const clamped = this.clampDuration(seconds)
    if (typeof clamped !== "number") return clamped
    job.executionDuration = clamped
    return ok
  }

  updateParameters(caller: Caller, jobId: string, parameters: ReadonlyArray<Parameter>): Expected {
    if (this.tooLarge(parameters)) return fail("LimitExceeded")
    const job = this.access(caller, jobId)
    if ("ok" in job) return job
    if (job.phase !== "PENDING") return fail("InvalidTransition")
    if (parameters.length === 0) return ok
    parameters = lowerCaseNames(parameters)
    const known = new Set(job.parameters.map((p) => p.name.toLowerCase()))
    if (!this.policy.newParametersAfterCreation && parameters.some((p) => !known.has(p.name.toLowerCase()))) {
      return fail("InvalidParameter")
    }
    const replaced = new Map<string, Array<Parameter>>()
    for (const p of parameters) replaced.set(p.name.toLowerCase(), [...(replaced.get(p.name.toLowerCase()) ?? []), p])
    const next: Array<Parameter> = []
    const placed = new Set<string>()
    for (const p of job.parameters) {
      const key = p.name.toLowerCase()
      const values = replaced.get(key)
      if (values === undefined) next.push(p)
      else if (!placed.has(key)) {
        placed.add(key)
        next.push(...values)
      }
    }
    for (const [key, values] of replaced) if (!placed.has(key)) next.push(...values)
    if (this.tooLarge(next)) return fail("LimitExceeded")
    job.parameters = next
    return ok
  }

  /** The job ids a listing must answer, newest first. */
  list(caller: Caller, query: { readonly phases: ReadonlyArray<Phase>; readonly after?: number; readonly last?: number }): ReadonlyArray<string> {
    const phases = query.phases.length > 0 ? new Set(query.phases) : undefined
    const visible = [...this.jobs_.values()].filter(
      (j) =>
        (caller.admin === true || j.ownerId === caller.id) &&
        (phases === undefined ? j.phase !== "ARCHIVED" : phases.has(j.phase)) &&
        (query.after === undefined || j.creationTime > query.after)
    )
    visible.sort((a, b) => b.creationTime - a.creationTime || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0))
    return (query.last === undefined ? visible : visible.slice(0, query.last)).map((j) => j.jobId)
  }

  /** The application finished a job: only an EXECUTING job can complete; what it published stays. */
  complete(jobId: string): Expected {
    const job = this.jobs_.get(jobId)
    if (job === undefined) return fail("JobNotFound")
    if (job.phase !== "EXECUTING") return fail("InvalidTransition")
    job.phase = "COMPLETED"
    job.endTime = this.now
    job.resultCount += 1
    job.finalResult = true
    return ok
  }

  /** The application published a result (a new id each time) while its job runs. */
  publish(jobId: string): Expected {
    const job = this.jobs_.get(jobId)
    if (job === undefined) return fail("JobNotFound")
    if (job.phase !== "EXECUTING") return fail("InvalidTransition")
    job.resultCount += 1
    return ok
  }

  /** The application failed a job. */
  fail(jobId: string, message: string): Expected {
    const job = this.jobs_.get(jobId)
    if (job === undefined) return fail("JobNotFound")
    if (job.phase !== "EXECUTING") return fail("InvalidTransition")
    job.phase = "ERROR"
    job.endTime = this.now
    job.errorMessage = message
    return ok
  }

  /** Starts committed jobs, first committed first, while dispatcher slots are free. */
  settle(): void {
    let executing = 0
    for (const j of this.jobs_.values()) if (j.phase === "EXECUTING" || j.phase === "SUSPENDED") executing++
    const queued = [...this.jobs_.values()].filter((j) => j.phase === "QUEUED").sort((a, b) => a.queuedAt - b.queuedAt)
    for (const job of queued) {
      if (executing >= this.policy.concurrency) break
      job.phase = "EXECUTING"
      job.startTime = this.now
      job.endTime = null
      job.resultCount = 0
      executing++
    }
  }

  /**
   * Time passes. Deadlines fire at their own instants, earliest first: overrunning jobs are
   * aborted, expired jobs destroyed or archived, and freed dispatcher slots start queued jobs
   * at that instant.
   */
  advance(ms: number): void {
    const end = this.now + ms
    for (;;) {
      let next = Infinity
      for (const job of this.jobs_.values()) next = Math.min(next, this.executionDeadline(job), this.destructionDeadline(job))
      if (next > end) break
      this.now = next
      for (const job of [...this.jobs_.values()]) {
        if (this.executionDeadline(job) <= this.now) {
          job.phase = "ABORTED"
          job.endTime = this.now
          job.errorMessage = "execution duration exceeded"
        }
        if (this.destructionDeadline(job) <= this.now) {
          if (this.policy.onDestruction === "delete") {
            this.jobs_.delete(job.jobId)
            continue
          }
          if (!ARCHIVABLE.has(job.phase)) {
            job.phase = "ABORTED"
            job.endTime = this.now
          }
          job.phase = "ARCHIVED"
          if (this.policy.archivedResults === "drop") {
            job.resultCount = 0
            job.finalResult = false
          }
        }
      }
      this.settle()
    }
    this.now = end
  }

  private executionDeadline(job: ModelJob): number {
    return (job.phase === "EXECUTING" || job.phase === "SUSPENDED") && job.executionDuration > 0 && job.startTime !== null
      ? job.startTime + job.executionDuration * 1000
      : Infinity
  }

  private destructionDeadline(job: ModelJob): number {
    return job.destruction !== null && job.phase !== "ARCHIVED" ? job.destruction : Infinity
  }

  /** The job id a target means now (undefined: a Known target with no jobs yet). */
  resolve(target: Target): string | undefined {
    if (target._tag === "Unknown") return target.jobId
    const jobs = this.jobs
    return jobs.length === 0 ? undefined : jobs[target.index % jobs.length]!.jobId
  }
}

// ---------------------------------------------------------------------------------------------
// Driving a service alongside the model

const everyone: Caller = { id: null, admin: true }

/**
 * Every job a service holds (listed as an operator), newest first.
 *
 * @since 0.1.0
 * @category comparison
 */
export const allJobs = (service: UwsService): Effect.Effect<ReadonlyArray<Job>> =>
  Effect.map(Effect.orDie(service.list(everyone, { phases: Phases.all })), (page) => page.jobs)

/** Resumes on the real event loop's next turn (setImmediate), whatever clock is in context. */
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Lets the model start what it can start, then the service's fibers (dispatcher, watchdog,
 * reaper, running jobs) catch up, without moving the clock, until the service holds what the
 * model holds; dies with the first difference when it does not.
 *
 * @since 0.1.0
 * @category comparison
 */
export const converge = (service: UwsService, model: Model, rounds = 400): Effect.Effect<void> =>
  Effect.gen(function* () {
    model.settle()
    for (let i = 0; i < rounds; i++) {
      yield* Effect.yieldNow()
      // Stores may start their work on the event loop's next turn (SQLite's group commit does):
      // let it turn, for real, while the TestClock stays where it is.
      if (i % 4 === 3) yield* nextTurn
      if (i % 8 === 7 && model.differences(yield* allJobs(service)) === undefined) return
    }
    const diff = model.differences(yield* allJobs(service))
    if (diff !== undefined) yield* Effect.die(new Error(`the service did not reach the model's state: ${diff}`))
  })

const outcome = <A>(effect: Effect.Effect<A, { readonly _tag: string }>) =>
  Effect.map(Effect.either(effect), (e): Expected => (Either.isRight(e) ? { ok: true } : { ok: false, error: e.left._tag as UwsErrorTag }))

/**
 * A client's request to a job or the job list, except a listing (which answers ids, not an outcome).
 *
 * @since 0.1.0
 * @category comparison
 */
export type ClientOperation = Exclude<Extract<Operation, { readonly caller: Caller }>, { readonly _tag: "List" }>

/**
 * What a listing asks, with instants made absolute.
 *
 * @since 0.1.0
 * @category comparison
 */
export interface ListRequest {
  readonly phases: ReadonlyArray<Phase>
  readonly after?: number
  readonly last?: number
}

/**
 * Where an operation is aimed: the model's id of its target job (when it has one), the model's
 * clock, and the model (to read what the answer should report).
 *
 * @since 0.1.0
 * @category comparison
 */
export interface Aim {
  readonly target: string | undefined
  readonly now: number
  readonly model: Model
}

/**
 * What a binding answered to a client operation, in the binding's own terms.
 *
 * @since 0.1.0
 * @category comparison
 */
export interface Answer {
  /** What the binding answered (a status, a fault tag, an outcome), compared as JSON with `expected`. */
  readonly got: unknown
  /** What it should have answered given the model's outcome; default: the outcome itself. */
  readonly expected?: (want: Expected) => unknown
  /** The id of the job a Create made, as the binding reported it. */
  readonly jobId?: string | undefined
  /** Whether the binding refused the request (then no job may change); default: the model refused it. */
  readonly refused?: boolean
  /** Checks of what the answer reports, run once it agreed and the model has taken the operation. */
  readonly check?: (want: Expected) => Effect.Effect<void>
}

/**
 * How a model test reaches the system under test: the service itself, or a binding (REST, SOAP…)
 * over it. The interpreter does the rest: aiming, the model's predictions, the application's
 * moves, the clock, convergence and the checks.
 *
 * @since 0.1.0
 * @category comparison
 */
export interface ModelDriver<Extra = never> {
  /** Sends a client operation; `undefined` when the binding has no such operation (the step is skipped). */
  readonly send: (op: ClientOperation, aim: Aim) => Effect.Effect<Answer | undefined>
  /** The ids a listing answers, newest first. */
  readonly list: (caller: Caller, request: ListRequest) => Effect.Effect<ReadonlyArray<string>>
  /** Operations of the test's own (say, malformed requests), run as they come. */
  readonly extra?: (op: Extra, model: Model) => Effect.Effect<void>
  /** Checks after every step, once the service has caught up with the model. */
  readonly afterStep?: (model: Model) => Effect.Effect<void>
}

/**
 * The driver that calls the service directly.
 *
 * @since 0.1.0
 * @category comparison
 */
export const serviceDriver = (uws: UwsService): ModelDriver => ({
  send: (op, { target, now }) => {
    switch (op._tag) {
      case "Create":
        return Effect.map(
          Effect.either(
            uws.create(op.caller, {
              parameters: op.parameters,
              run: op.run,
              ...(op.executionDuration === undefined ? {} : { executionDuration: op.executionDuration }),
              ...(op.destructionIn === undefined ? {} : { destruction: now + op.destructionIn })
            })
          ),
          (created): Answer =>
            Either.isRight(created) ? { got: { ok: true }, jobId: created.right.jobId } : { got: { ok: false, error: created.left._tag } }
        )
      case "Get":
        return Effect.map(outcome(uws.get(op.caller, target!)), (got) => ({ got }))
      case "Run":
        return Effect.map(outcome(uws.run(op.caller, target!)), (got) => ({ got }))
      case "Abort":
        return Effect.map(outcome(uws.abort(op.caller, target!)), (got) => ({ got }))
      case "Delete":
        return Effect.map(outcome(uws.delete(op.caller, target!)), (got) => ({ got }))
      case "SetDestruction":
        return Effect.map(outcome(uws.setDestruction(op.caller, target!, now + op.destructionIn)), (got) => ({ got }))
      case "SetExecutionDuration":
        return Effect.map(outcome(uws.setExecutionDuration(op.caller, target!, op.seconds)), (got) => ({ got }))
      case "UpdateParameters":
        return Effect.map(outcome(uws.updateParameters(op.caller, target!, op.parameters)), (got) => ({ got }))
    }
  },
  list: (caller, request) => Effect.map(Effect.orDie(uws.list(caller, request)), (page) => page.jobs.map((j) => j.jobId))
})

/**
 * What the model predicts for a client operation, taking it (a Create is recorded under `jobId`,
 * the id the system under test gave it).
 *
 * @since 0.1.0
 * @category comparison
 */
export const modelOutcome = (model: Model, op: ClientOperation, target: string | undefined, jobId: string | undefined): Expected => {
  switch (op._tag) {
    case "Create":
      return model.create(op.caller, op, jobId)
    case "Get":
      return model.get(op.caller, target!)
    case "Run":
      return model.run(op.caller, target!)
    case "Abort":
      return model.abort(op.caller, target!)
    case "Delete":
      return model.delete(op.caller, target!)
    case "SetDestruction":
      return model.setDestruction(op.caller, target!, model.now + op.destructionIn)
    case "SetExecutionDuration":
      return model.setExecutionDuration(op.caller, target!, op.seconds)
    case "UpdateParameters":
      return model.updateParameters(op.caller, target!, op.parameters)
  }
}

const disagreement = (op: Operation, got: unknown, want: unknown): string | undefined => {
  const g = JSON.stringify(got)
  const w = JSON.stringify(want)
  return g === w ? undefined : `${describeOperation(op)}: the system answered ${g}, the model expected ${w}`
}

const memoryStores = Layer.merge(jobStoreMemory, resultStoreMemory)

const OPERATION_TAGS: ReadonlySet<string> = new Set<Operation["_tag"]>([
  "Create", "Get", "Run", "Abort", "Delete", "SetDestruction", "SetExecutionDuration", "UpdateParameters", "List", "Complete", "Publish", "Fail", "Advance"
])

/**
 * Whether a step of a scenario is one of the shared {@link Operation}s (not a test's own).
 *
 * @since 0.1.0
 * @category comparison
 */
export const isOperation = (op: { readonly _tag: string }): op is Operation => OPERATION_TAGS.has(op._tag)

/**
 * Applies one operation through a driver and to the model side by side (clock moves through
 * `TestClock`, so run it under a TestContext) and answers where they disagree, or `undefined`:
 * the one interpreter of {@link Operation}. A request the binding or the model refused must
 * leave every job as it was (versions included).
 *
 * @since 0.1.0
 * @category comparison
 */
export const stepWithDriver = <Extra>(
  uws: UwsService,
  driver: ModelDriver<Extra>,
  model: Model,
  control: ControlledWorker,
  op: Operation
): Effect.Effect<string | undefined> =>
  Effect.gen(function* () {
    const target = "target" in op ? model.resolve(op.target) : undefined
    if ("target" in op && target === undefined) return undefined // no job to aim at yet
    const now = model.now
    switch (op._tag) {
      case "List": {
        const request: ListRequest = {
          phases: op.phases,
          ...(op.afterIn === undefined ? {} : { after: now + op.afterIn }),
          ...(op.last === undefined ? {} : { last: op.last })
        }
        return disagreement(op, yield* driver.list(op.caller, request), model.list(op.caller, request))
      }
      // The application can only end a job it is running: compare whether it was.
      case "Complete":
        return disagreement(op, yield* control.complete(target!), model.complete(target!).ok)
      case "Fail":
        return disagreement(op, yield* control.fail(target!, op.message), model.fail(target!, op.message).ok)
      case "Publish":
        return disagreement(op, yield* control.publish(target!), model.publish(target!).ok)
      case "Advance":
        yield* TestClock.adjust(op.ms)
        model.advance(op.ms)
        return undefined
      default: {
        const before = JSON.stringify(yield* allJobs(uws))
        const answer = yield* driver.send(op, { target, now, model })
        if (answer === undefined) return undefined
        const want = modelOutcome(model, op, target, answer.jobId)
        const differs = disagreement(op, answer.got, answer.expected === undefined ? want : answer.expected(want))
        if (differs !== undefined) return differs
        if ((answer.refused ?? !want.ok) && JSON.stringify(yield* allJobs(uws)) !== before) {
          return `${describeOperation(op)} was refused but changed a job`
        }
        if (answer.check !== undefined) yield* answer.check(want)
        return undefined
      }
    }
  })

/**
 * {@link stepWithDriver} calling the service directly.
 *
 * @since 0.1.0
 * @category comparison
 */
export const stepAgainstModel = (uws: UwsService, model: Model, control: ControlledWorker, op: Operation): Effect.Effect<string | undefined> =>
  stepWithDriver(uws, serviceDriver(uws), model, control, op)

/**
 * Runs a scenario against the model: a service over the stores in context, with a
 * {@link controlledWorker} and ids `j001`, `j002`…, reached through the driver `makeDriver`
 * builds over it; after every step the service must answer as the model predicts and catch up
 * with it ({@link converge}). Dies with the first difference. Runs under a TestContext, on
 * `stores` (default: in memory).
 *
 * @since 0.1.0
 * @category comparison
 * @example
 * import { Effect } from "effect"
 * import { runAgainstModel, serviceDriver } from "@uws-kit/core/testing"
 * const ops = [{ _tag: "Create", caller: { id: "alice" }, parameters: [], run: true }] as const
 * await Effect.runPromise(runAgainstModel((uws) => Effect.succeed(serviceDriver(uws)), ops, {}))
 */
export const runAgainstModel = <Extra extends { readonly _tag: string } = never, R extends Scope.Scope | JobStore | ResultStore = never>(
  makeDriver: (uws: UwsService, control: ControlledWorker) => Effect.Effect<ModelDriver<Extra>, never, R>,
  ops: ReadonlyArray<Operation | Extra>,
  policy: Partial<Policy>,
  stores: Layer.Layer<JobStore | ResultStore> = memoryStores
): Effect.Effect<void> => {
  const scenario: Effect.Effect<void, never, Scope.Scope | JobStore | ResultStore> = Effect.gen(function* () {
    const control = controlledWorker()
    let n = 0
    const uws = yield* Uws.make({ worker: control.worker, policy, makeJobId: () => `j${String(++n).padStart(3, "0")}` })
    const driver = yield* makeDriver(uws, control)
    const model = new Model(policy)
    for (const op of ops) {
      if (isOperation(op)) {
        const difference = yield* stepWithDriver(uws, driver, model, control, op)
        if (difference !== undefined) return yield* Effect.die(new Error(difference))
      } else if (driver.extra !== undefined) yield* driver.extra(op, model)
      yield* converge(uws, model)
      if (driver.afterStep !== undefined) yield* driver.afterStep(model)
    }
  })
  return scenario.pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))
}

/**
 * Random scenarios of shared operations (clients, the application, the clock), 1 to `maxLength` long.
 *
 * @since 0.1.0
 * @category comparison
 */
export const scenarios = (maxLength: number): fc.Arbitrary<ReadonlyArray<Operation>> =>
  fc.array(operation({ service: true, clock: true }), { minLength: 1, maxLength })

/**
 * Checks that `run` succeeds on `numRuns` random scenarios (shrunk to the shortest failing one).
 *
 * @since 0.1.0
 * @category comparison
 */
export const checkScenarios = <Op>(
  arbitrary: fc.Arbitrary<ReadonlyArray<Op>>,
  run: (ops: ReadonlyArray<Op>) => Effect.Effect<void>,
  numRuns: number
): Promise<void> => fc.assert(fc.asyncProperty(arbitrary, (ops) => Effect.runPromise(run(ops))), { numRuns })

/**
 * Policies worth running a model-based test under: the defaults, tight limits (refusals,
 * quotas, a full queue, archiving, private anonymous jobs) and no limits at all.
 *
 * @since 0.1.0
 * @category comparison
 */
export const policies: ReadonlyArray<readonly [string, Partial<Policy>]> = [
  ["defaults with two slots", { concurrency: 2 }],
  [
    "tight limits: clamping refused, quotas, size limits, archive on destruction, private anonymous jobs",
    {
      concurrency: 1,
      overLimit: "refuse",
      maxExecutionDuration: 600,
      defaultExecutionDuration: 60,
      maxDestructionLifetime: 86_400,
      defaultDestructionLifetime: 3_600,
      maxActiveJobsPerOwner: 3,
      maxQueuedJobs: 2,
      maxStoredJobs: 4,
      maxParametersPerJob: 3,
      maxParameterValueBytes: 16,
      maxParameterBytesPerJob: 40,
      onDestruction: "archive",
      anonymousJobs: "private",
      newParametersAfterCreation: false
    }
  ],
  [
    "unlimited durations, results kept when archived, new parameters allowed, no size limits or quotas",
    {
      maxActiveJobsPerOwner: null,
      maxStoredJobs: null,
      maxParametersPerJob: null,
      maxParameterValueBytes: null,
      maxParameterBytesPerJob: null,
      maxUploadBytes: null,
      maxUploadBytesPerJob: null,
      concurrency: 3,
      maxExecutionDuration: 0,
      defaultExecutionDuration: 0,
      maxDestructionLifetime: null,
      defaultDestructionLifetime: null,
      onDestruction: "archive",
      archivedResults: "keep",
      newParametersAfterCreation: true
    }
  ]
]

// ---------------------------------------------------------------------------------------------
// A worker the test drives

/**
 * @since 0.1.0
 * @category workers
 */
export interface ControlledWorker {
  readonly worker: Worker.Worker
  /** Jobs whose `run` has been entered and not yet ended. */
  readonly running: ReadonlySet<string>
  /** Ends a running job with one text result `out`; false when it is not running. */
  readonly complete: (jobId: string) => Effect.Effect<boolean>
  /** Ends a running job with a failure; false when it is not running. */
  readonly fail: (jobId: string, message: string) => Effect.Effect<boolean>
  /** Publishes a text result `part-{n}` of a running job; false when it is not running. */
  readonly publish: (jobId: string) => Effect.Effect<boolean>
}

/**
 * An application whose jobs run until the test ends them; aborting interrupts them.
 *
 * @since 0.1.0
 * @category workers
 */
export const controlledWorker = (name = "controlled"): ControlledWorker => {
  const gates = new Map<string, Deferred.Deferred<ReadonlyArray<Worker.ResultSpec>, JobFailure>>()
  const contexts = new Map<string, Worker.RunContext>()
  const running = new Set<string>()
  let parts = 0
  const end = (jobId: string, outcome: Effect.Effect<ReadonlyArray<Worker.ResultSpec>, JobFailure>) =>
    Effect.suspend(() => {
      const gate = gates.get(jobId)
      return gate === undefined ? Effect.succeed(false) : Deferred.complete(gate, outcome)
    })
  return {
    worker: Worker.make({
      name,
      run: (job, context) =>
        Effect.gen(function* () {
          const gate = yield* Deferred.make<ReadonlyArray<Worker.ResultSpec>, JobFailure>()
          gates.set(job.jobId, gate)
          contexts.set(job.jobId, context)
          running.add(job.jobId)
          return yield* Deferred.await(gate)
        }).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              gates.delete(job.jobId)
              contexts.delete(job.jobId)
              running.delete(job.jobId)
            })
          )
        )
    }),
    running,
    complete: (jobId) => end(jobId, Effect.succeed([{ id: "out", mimeType: "text/plain", content: `result of ${jobId}` }])),
    fail: (jobId, message) => end(jobId, Effect.fail(new JobFailure({ message }))),
    publish: (jobId) =>
      Effect.suspend(() => {
        const context = contexts.get(jobId)
        if (context === undefined) return Effect.succeed(false)
        const id = `part-${++parts}`
        return Effect.as(Effect.orDie(context.publishResult({ id, mimeType: "text/plain", content: `${id} of ${jobId}` })), true)
      })
  }
}
