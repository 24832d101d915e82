/**
 * Where jobs are kept. One store holds one job list. The contract is small so that a SQL, KV or
 * remote store is a thin implementation; `testJobStore` (in `@uws-kit/core/testing`) is the
 * conformance suite every implementation runs.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { Conflict, JobNotFound, StorageFailure } from "./Errors.js"
import type { Job } from "./Job.js"
import type { Phase } from "./Phase.js"
import * as CursorCodec from "./internal/cursor.js"
import { makeMemoryJobStore } from "./internal/memoryJobStore.js"

/**
 * A job-list query with the UWS 1.1 filters, plus cursor paging (an extension).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListQuery {
  /** Union of phases. Absent or empty: every phase but ARCHIVED (UWS 1.1 §2.2.2.1). */
  readonly phases?: ReadonlyArray<Phase>
  /** Only jobs created strictly after this instant. */
  readonly after?: number
  /** Only the `last` most recently created jobs. */
  readonly last?: number
  /** Only jobs of this owner (`null` = anonymous jobs); absent = every owner. */
  readonly ownerId?: string | null
  /** Page size; when set and more jobs match, the page carries a `next` cursor. */
  readonly limit?: number
  /** A `next` cursor from an earlier page of the same query. */
  readonly cursor?: string
}

/**
 * Jobs newest first (by creation time, then job id).
 *
 * @since 0.1.0
 * @category models
 */
export interface JobPage {
  readonly jobs: ReadonlyArray<Job>
  readonly next: string | null
}

/**
 * The two kinds of deadline the service enforces.
 *
 * @since 0.1.0
 * @category models
 */
export type DeadlineKind = "destruction" | "execution"

/**
 * @since 0.1.0
 * @category models
 */
export interface JobStoreService {
  readonly get: (jobId: string) => Effect.Effect<Job | undefined, StorageFailure>
  /** Fails with `Conflict` when the id is taken. */
  readonly insert: (job: Job) => Effect.Effect<void, Conflict | StorageFailure>
  /**
   * Compare-and-set: writes `job` only if the stored version is still `expectedVersion`.
   */
  readonly update: (job: Job, expectedVersion: number) => Effect.Effect<void, Conflict | JobNotFound | StorageFailure>
  /** Compare-and-set delete; deleting a missing job is `JobNotFound`. */
  readonly remove: (jobId: string, expectedVersion: number) => Effect.Effect<void, Conflict | JobNotFound | StorageFailure>
  readonly list: (query: ListQuery) => Effect.Effect<JobPage, StorageFailure>
  /**
   * Active jobs (`Phase.isActive`) counted against a quota key: a job counts against its
   * `quotaKey` when it has one, else against its owner (`Job.quotaKeyOf`).
   */
  readonly countActive: (quotaKey: string | null) => Effect.Effect<number, StorageFailure>
  readonly countInPhase: (phase: Phase) => Effect.Effect<number, StorageFailure>
  /**
   * The earliest pending deadline of a kind (destruction of a non-archived job; end of the
   * allowed execution of an EXECUTING/SUSPENDED job), or `null`.
   */
  readonly nextDeadline: (kind: DeadlineKind) => Effect.Effect<number | null, StorageFailure>
  /** Up to `limit` job ids whose deadline of a kind is at or before `until`, earliest first. */
  readonly due: (kind: DeadlineKind, until: number, limit: number) => Effect.Effect<ReadonlyArray<string>, StorageFailure>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class JobStore extends Context.Tag("@uws-kit/core/JobStore")<JobStore, JobStoreService>() {}

/**
 * A new, empty in-memory store: the embedded default. Listing uses phase, owner and
 * creation-order indexes, so LAST and PHASE queries stay fast at millions of jobs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): JobStoreService => makeMemoryJobStore()

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<JobStore> = Layer.sync(JobStore, makeMemory)

/**
 * The cursor format of job listings, shared by every store so that a cursor stays meaningful
 * whichever store answers: creation time and job id of the last job returned, plus how many jobs
 * earlier pages returned (so LAST bounds the whole listing).
 *
 * @since 0.1.0
 * @category cursors
 */
export const Cursor = {
  encode: CursorCodec.encode,
  decode: CursorCodec.decode,
  isValid: CursorCodec.isValid
} as const
