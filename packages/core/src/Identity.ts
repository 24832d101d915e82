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
  /**
   * Whom quotas count this caller as, when not its id: a host gives anonymous callers one each
   * (their client address, a session) so that they do not share one quota. It never makes the
   * caller an owner: access still goes by `id`.
   */
  readonly quotaKey?: string
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
 * An anonymous caller counted for quotas apart from other anonymous callers, by a key the host
 * chooses (e.g. `client:203.0.113.9`); it sees and acts on jobs exactly as `anonymous` does.
 *
 * @since 0.1.0
 * @category constructors
 */
export const anonymousAs = (quotaKey: string): Caller => ({ id: null, quotaKey })

/**
 * The key a caller's jobs count against for quotas: its `quotaKey`, else its id (`null` for
 * every anonymous caller without a key: they share one count).
 *
 * @since 0.1.0
 * @category accessors
 */
export const quotaKeyOf = (caller: Caller): string | null => caller.quotaKey ?? caller.id

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
