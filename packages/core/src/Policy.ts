/**
 * The service's limits and how a client's request is reconciled with them.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { InvalidParameter, LimitExceeded } from "./Errors.js"
import { type Parameter, uploadParameter } from "./Job.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /** Execution duration in seconds given to a job that asks for none (0 = unlimited). */
  readonly defaultExecutionDuration: number
  /** Largest execution duration a job may have, in seconds (0 = no limit). */
  readonly maxExecutionDuration: number
  /** Lifetime from creation to destruction given to a new job, in seconds (`null` = kept until deleted). */
  readonly defaultDestructionLifetime: number | null
  /** Longest lifetime from creation to destruction a job may have, in seconds (`null` = no limit). */
  readonly maxDestructionLifetime: number | null
  /** Whether a request over a limit is brought down to it (`clamp`, what UWS suggests) or refused. */
  readonly overLimit: "clamp" | "refuse"
  /**
   * Active (PENDING, QUEUED, HELD, EXECUTING, SUSPENDED) jobs one caller may have at once
   * (`null` = no limit). A caller is counted by its quota key (`Identity.quotaKeyOf`): its
   * `quotaKey` when the host gives one, else its id; every anonymous caller without a quota key
   * shares one count.
   */
  readonly maxActiveJobsPerOwner: number | null
  /** Jobs the service keeps at once, in any phase (`null` = no limit); creation past it is refused. */
  readonly maxStoredJobs: number | null
  /** Parameters one job may have, inline uploads included (`null` = no limit). */
  readonly maxParametersPerJob: number | null
  /** UTF-8 bytes of one parameter value given inline (or by URI), and of a RUNID (`null` = no limit). */
  readonly maxParameterValueBytes: number | null
  /** UTF-8 bytes of all of a job's parameter names and values together (`null` = no limit). */
  readonly maxParameterBytesPerJob: number | null
  /** Bytes of one inline upload (a file parameter; `null` = no limit). */
  readonly maxUploadBytes: number | null
  /** Bytes of all of one job's inline uploads together (`null` = no limit). */
  readonly maxUploadBytesPerJob: number | null
  /** Jobs the dispatcher runs at once. */
  readonly concurrency: number
  /** QUEUED jobs beyond which a RUN puts the job in HELD instead (`null` = no limit). */
  readonly maxQueuedJobs: number | null
  /** What happens at a job's destruction time: forget it, or keep its metadata as ARCHIVED. */
  readonly onDestruction: "delete" | "archive"
  /**
   * What archiving does to results: drop them (UWS 1.1: ARCHIVED keeps metadata only), or keep
   * them, for a ResultStore that keeps results permanently (they stay listed and served).
   */
  readonly archivedResults: "drop" | "keep"
  /**
   * Who may see and act on jobs created without an identity: anyone (`shared`, the usual
   * choice for a public service with unguessable job ids) or nobody but anonymous callers.
   */
  readonly anonymousJobs: "shared" | "private"
  /**
   * Most jobs one listing returns (`null` = no limit); past it the page carries a cursor to the
   * rest. Protects the service from a job list of millions asked for in one response.
   */
  readonly maxListedJobs: number | null
  /**
   * Whether a parameter update of a PENDING job may add names not given at creation (default
   * `true`: pyvo's `job.upload(...)` and TAP clients add parameters after creation; the
   * application's `validate` still refuses names it does not know).
   */
  readonly newParametersAfterCreation: boolean
}

/**
 * The defaults, chosen so that one client cannot exhaust a public service: 1,000 parameters of
 * at most 64 KiB each and 256 KiB in all per job, uploads of 16 MiB (64 MiB per job), 100 active
 * jobs per caller and 10,000 jobs kept. With them the largest job document is bounded (see
 * `maxJobDocumentBytes`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Policy = {
  defaultExecutionDuration: 3600,
  maxExecutionDuration: 86_400,
  defaultDestructionLifetime: 7 * 86_400,
  maxDestructionLifetime: 30 * 86_400,
  overLimit: "clamp",
  maxActiveJobsPerOwner: 100,
  maxStoredJobs: 10_000,
  maxParametersPerJob: 1_000,
  maxParameterValueBytes: 64 * 1024,
  maxParameterBytesPerJob: 256 * 1024,
  maxUploadBytes: 16 * 1024 * 1024,
  maxUploadBytesPerJob: 64 * 1024 * 1024,
  concurrency: 4,
  maxQueuedJobs: null,
  onDestruction: "delete",
  archivedResults: "drop",
  anonymousJobs: "shared",
  maxListedJobs: 10_000,
  newParametersAfterCreation: true
}

const isCount = (n: number | null) => n === null || (Number.isSafeInteger(n) && n >= 0)

/**
 * A complete policy from a partial one, checked for consistency.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: Partial<Policy> = {}): Policy => {
  const policy = { ...defaults, ...input }
  const problems: Array<string> = []
  for (const key of ["defaultExecutionDuration", "maxExecutionDuration", "concurrency"] as const) {
    if (!Number.isSafeInteger(policy[key]) || policy[key] < 0) problems.push(`${key} must be a whole number ≥ 0`)
  }
  for (const key of ["defaultDestructionLifetime", "maxDestructionLifetime", "maxActiveJobsPerOwner", "maxQueuedJobs", "maxListedJobs", "maxStoredJobs", "maxParametersPerJob", "maxParameterValueBytes", "maxParameterBytesPerJob", "maxUploadBytes", "maxUploadBytesPerJob"] as const) {
    if (!isCount(policy[key])) problems.push(`${key} must be null or a whole number ≥ 0`)
  }
  if (policy.concurrency < 1) problems.push("concurrency must be at least 1")
  if (policy.maxListedJobs !== null && policy.maxListedJobs < 1) problems.push("maxListedJobs must be at least 1")
  if (policy.maxExecutionDuration > 0 && (policy.defaultExecutionDuration === 0 || policy.defaultExecutionDuration > policy.maxExecutionDuration)) {
    problems.push("defaultExecutionDuration must lie within maxExecutionDuration")
  }
  if (
    policy.maxDestructionLifetime !== null &&
    (policy.defaultDestructionLifetime === null || policy.defaultDestructionLifetime > policy.maxDestructionLifetime)
  ) {
    problems.push("defaultDestructionLifetime must lie within maxDestructionLifetime")
  }
  if (problems.length > 0) throw new Error(`Invalid UWS policy: ${problems.join("; ")}.`)
  return policy
}

/**
 * The execution duration a job gets for a request (`undefined` = the client asked for none).
 *
 * @since 0.1.0
 * @category reconciliation
 */
export const executionDuration = (
  policy: Policy,
  requested: number | undefined
): Either.Either<number, InvalidParameter> => {
  if (requested === undefined) return Either.right(policy.defaultExecutionDuration)
  if (!Number.isSafeInteger(requested) || requested < 0) {
    return Either.left(
      new InvalidParameter({ name: "EXECUTIONDURATION", reason: `"${requested}" is not a whole number of seconds ≥ 0.` })
    )
  }
  const max = policy.maxExecutionDuration
  if (max > 0 && (requested === 0 || requested > max)) {
    return policy.overLimit === "clamp"
      ? Either.right(max)
      : Either.left(
          new InvalidParameter({
            name: "EXECUTIONDURATION",
            reason: `${requested === 0 ? "unlimited" : `${requested} s`} is over this service's limit of ${max} s.`
          })
        )
  }
  return Either.right(requested)
}

/**
 * The destruction instant a job gets when it is created.
 *
 * @since 0.1.0
 * @category reconciliation
 */
export const initialDestruction = (policy: Policy, creationTime: number): number | null =>
  policy.defaultDestructionLifetime === null ? null : creationTime + policy.defaultDestructionLifetime * 1000

/**
 * The destruction instant a job gets for a request: a time in the past is refused, a time past
 * the lifetime limit is clamped (or refused), `null` (never) is clamped to the limit.
 *
 * @since 0.1.0
 * @category reconciliation
 */
export const destruction = (
  policy: Policy,
  creationTime: number,
  now: number,
  requested: number | null
): Either.Either<number | null, InvalidParameter> => {
  if (requested !== null && !Number.isFinite(requested)) {
    return Either.left(new InvalidParameter({ name: "DESTRUCTION", reason: "not a valid instant." }))
  }
  if (requested !== null && requested <= now) {
    return Either.left(
      new InvalidParameter({
        name: "DESTRUCTION",
        reason: `${new Date(requested).toISOString()} is not in the future; delete the job instead.`
      })
    )
  }
  if (policy.maxDestructionLifetime === null) return Either.right(requested)
  const limit = creationTime + policy.maxDestructionLifetime * 1000
  if (requested !== null && requested <= limit) return Either.right(requested)
  return policy.overLimit === "clamp"
    ? Either.right(limit)
    : Either.left(
        new InvalidParameter({
          name: "DESTRUCTION",
          reason: `this service keeps a job at most until ${new Date(limit).toISOString()}.`
        })
      )
}

// ---- size limits -------------------------------------------------------------------------------

/**
 * UTF-8 length of a string without encoding it (a lone surrogate counts as U+FFFD, 3 bytes).
 *
 * @since 0.1.0
 * @category size limits
 */
export const utf8Bytes = (s: string): number => {
  // Fast path: a string of n UTF-16 units is at least n and at most 3n UTF-8 bytes.
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2 // a surrogate pair: 2 units, 4 bytes
      i++
    } else n += 2
  }
  return n
}

/** "64 KiB (65536 bytes)", or "10000 bytes" when not a whole number of KiB. */
const bytes = (n: number) =>
  n >= 1024 && n % 1024 === 0 ? `${n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n / 1024} KiB`} (${n} bytes)` : `${n} bytes`

/**
 * A size limit as a user reads it: "at most 1000 parameters per job".
 *
 * @since 0.1.0
 * @category size limits
 */
export const describeLimit = (
  key: "maxParametersPerJob" | "maxParameterValueBytes" | "maxParameterBytesPerJob" | "maxUploadBytes" | "maxUploadBytesPerJob",
  max: number
): string => {
  switch (key) {
    case "maxParametersPerJob":
      return `at most ${max} parameters per job`
    case "maxParameterValueBytes":
      return `parameter values (and RUNID) of at most ${bytes(max)} each`
    case "maxParameterBytesPerJob":
      return `at most ${bytes(max)} of parameter names and values per job`
    case "maxUploadBytes":
      return `uploads of at most ${bytes(max)} each`
    case "maxUploadBytesPerJob":
      return `at most ${bytes(max)} of uploads per job`
  }
}

const exceeded = (
  key: Parameters<typeof describeLimit>[0],
  max: number,
  actual: string
): Either.Either<never, LimitExceeded> => Either.left(new LimitExceeded({ limit: key, description: describeLimit(key, max), actual }))

/** Bytes of content whose size is known without reading it (text or bytes); `undefined` for a stream. */
const knownSize = (content: unknown): number | undefined =>
  typeof content === "string" ? utf8Bytes(content) : content instanceof Uint8Array ? content.length : undefined

/**
 * Whether a job's parameters are within the size limits: how many, the bytes of each value and
 * of all names and values together, and (for contents whose size is known: text or bytes) the
 * bytes of each upload and of all of them. Uploads count as parameters; their streamed contents
 * are measured as they are stored (see `meterUploads`). Runs in one pass over the parameters and
 * stops at the first limit passed, so a request of millions of parameters is refused cheaply.
 *
 * @since 0.1.0
 * @category size limits
 */
export const checkParameters = (
  policy: Pick<Policy, "maxParametersPerJob" | "maxParameterValueBytes" | "maxParameterBytesPerJob" | "maxUploadBytes" | "maxUploadBytesPerJob">,
  parameters: ReadonlyArray<Parameter>,
  uploads: ReadonlyArray<{ readonly name: string; readonly content: unknown }> = []
): Either.Either<void, LimitExceeded> => {
  const count = parameters.length + uploads.length
  const maxCount = policy.maxParametersPerJob
  if (maxCount !== null && count > maxCount) return exceeded("maxParametersPerJob", maxCount, `${count}`)
  const maxValue = policy.maxParameterValueBytes
  const maxTotal = policy.maxParameterBytesPerJob
  let total = 0
  for (const p of parameters) {
    const value = utf8Bytes(p.value)
    if (maxValue !== null && value > maxValue) return exceeded("maxParameterValueBytes", maxValue, `${value} bytes in "${p.name.slice(0, 64)}"`)
    total += utf8Bytes(p.name) + value
    if (maxTotal !== null && total > maxTotal) return exceeded("maxParameterBytesPerJob", maxTotal, `more than ${maxTotal} bytes`)
  }
  let uploaded = 0
  for (const u of uploads) {
    // An upload becomes a parameter of its own, which counts like any other.
    const parameter = uploadParameter(u.name)
    total += utf8Bytes(parameter.name) + utf8Bytes(parameter.value)
    if (maxTotal !== null && total > maxTotal) return exceeded("maxParameterBytesPerJob", maxTotal, `more than ${maxTotal} bytes`)
    const size = knownSize(u.content)
    if (size === undefined) continue
    if (policy.maxUploadBytes !== null && size > policy.maxUploadBytes) {
      return exceeded("maxUploadBytes", policy.maxUploadBytes, `${size} bytes in "${u.name.slice(0, 64)}"`)
    }
    uploaded += size
    if (policy.maxUploadBytesPerJob !== null && uploaded > policy.maxUploadBytesPerJob) {
      return exceeded("maxUploadBytesPerJob", policy.maxUploadBytesPerJob, `more than ${policy.maxUploadBytesPerJob} bytes`)
    }
  }
  return Either.void
}

/**
 * Whether a RUNID is within the value limit (it is shown in every job document, like a value).
 *
 * @since 0.1.0
 * @category size limits
 */
export const checkRunId = (policy: Pick<Policy, "maxParameterValueBytes">, runId: string | undefined): Either.Either<void, LimitExceeded> => {
  if (runId === undefined || policy.maxParameterValueBytes === null) return Either.void
  const size = utf8Bytes(runId)
  return size > policy.maxParameterValueBytes ? exceeded("maxParameterValueBytes", policy.maxParameterValueBytes, `${size} bytes in RUNID`) : Either.void
}

/**
 * Which upload limit a stream of `bytes` passes, given `before` bytes of the job's uploads kept
 * already: the pure decision behind the meter the service wraps streamed uploads in.
 *
 * @since 0.1.0
 * @category size limits
 */
export const checkUploadBytes = (
  policy: Pick<Policy, "maxUploadBytes" | "maxUploadBytesPerJob">,
  name: string,
  bytes: number,
  before: number
): Either.Either<void, LimitExceeded> => {
  if (policy.maxUploadBytes !== null && bytes > policy.maxUploadBytes) {
    return exceeded("maxUploadBytes", policy.maxUploadBytes, `more than ${policy.maxUploadBytes} bytes in "${name.slice(0, 64)}"`)
  }
  if (policy.maxUploadBytesPerJob !== null && before + bytes > policy.maxUploadBytesPerJob) {
    return exceeded("maxUploadBytesPerJob", policy.maxUploadBytesPerJob, `more than ${policy.maxUploadBytesPerJob} bytes`)
  }
  return Either.void
}

/**
 * An upper bound, in bytes, of the parameter part of a job's UWS XML document under a policy
 * (`null` when unbounded): every character of a name or value escapes to at most 6 bytes
 * (`&quot;`), and each parameter element adds at most 80 bytes of markup. With the defaults:
 * 6 × 256 KiB + 80 × 1000 ≈ 1.6 MB, so rendering any one job is bounded.
 *
 * @since 0.1.0
 * @category size limits
 */
export const maxJobDocumentBytes = (policy: Pick<Policy, "maxParametersPerJob" | "maxParameterBytesPerJob">): number | null =>
  policy.maxParametersPerJob === null || policy.maxParameterBytesPerJob === null
    ? null
    : 6 * policy.maxParameterBytesPerJob + 80 * policy.maxParametersPerJob
