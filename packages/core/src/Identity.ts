/**
 * Who is calling. The host decides (from a session, a token, a certificate); the core only
 * compares: a job belongs to the caller who created it.
 *
 * @since 0.1.0
 */
import type { Job } from "./Job.js"
import type { Policy } from "./Policy.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Caller {
  /** The authenticated identity, or `null` for an anonymous caller. */
  readonly id: string | null
  /** An operator who may see and act on every job (maintenance tools, the reaper). */
  readonly admin?: boolean
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const anonymous: Caller = { id: null }

/**
 * The service itself (dispatcher, watchdog, reaper).
 *
 * @since 0.1.0
 * @category constructors
 */
export const system: Caller = { id: null, admin: true }

/**
 * @since 0.1.0
 * @category constructors
 */
export const user = (id: string): Caller => ({ id })

/**
 * Whether a caller may see and act on a job.
 *
 * @since 0.1.0
 * @category predicates
 */
export const mayAccess = (policy: Pick<Policy, "anonymousJobs">, caller: Caller, job: Pick<Job, "ownerId">): boolean =>
  caller.admin === true ||
  job.ownerId === caller.id ||
  (job.ownerId === null && policy.anonymousJobs === "shared")
