/**
 * The service's limits and how a client's request is reconciled with them.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { InvalidParameter } from "./Errors.js"

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
  /** Active (PENDING, QUEUED, EXECUTING) jobs one owner may have at once (`null` = no limit). */
  readonly maxActiveJobsPerOwner: number | null
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
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Policy = {
  defaultExecutionDuration: 3600,
  maxExecutionDuration: 86_400,
  defaultDestructionLifetime: 7 * 86_400,
  maxDestructionLifetime: 30 * 86_400,
  overLimit: "clamp",
  maxActiveJobsPerOwner: null,
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
  for (const key of ["defaultDestructionLifetime", "maxDestructionLifetime", "maxActiveJobsPerOwner", "maxQueuedJobs", "maxListedJobs"] as const) {
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
