/**
 * Where jobs are kept. One store holds one job list. A store is an index, not a rule book: it
 * stores records, compares versions, filters by the phases and instants it is given and orders by
 * creation. Which phases a listing shows by default, which phases count as active and when a
 * deadline falls are UWS rules, decided by the service and passed in. The contract is small so
 * that a SQL, KV or remote store is a few hundred lines of plain queries; `testJobStore`
 * (`@uws-kit/core/JobStoreSuite`) is the conformance suite every implementation runs.
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
  /** Union of phases. Absent: every phase (the service supplies the UWS default). */
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
 * The deadline instants of a job, computed by the service when it writes the job; a store keeps
 * and indexes them (`null` = no deadline of that kind) and never derives them itself.
 *
 * @since 0.1.0
 * @category models
 */
export type Deadlines = { readonly [K in DeadlineKind]: number | null }

/**
 * Which jobs to count: those in any of `phases`, of `ownerId` when given (`null` = anonymous).
 *
 * @since 0.1.0
 * @category models
 */
export interface CountQuery {
  readonly phases: ReadonlyArray<Phase>
  /** Only this owner's jobs (`null`: anonymous jobs). */
  readonly ownerId?: string | null
  /**
   * Only the jobs counted against this quota key: a job's `quotaKey` when it has one, else its
   * owner (`Job.quotaKeyOf`).
   */
  readonly quotaKey?: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobStoreService {
  readonly get: (jobId: string) => Effect.Effect<Job | undefined, StorageFailure>
  /**
   * Optional: `get` answered synchronously from memory, when the store can vouch that what it holds
   * is current (no other process writes behind it): the job, `null` when there is none, or
   * `undefined` when only `get` can tell. Lets the hottest reads skip an effect; a store that
   * cannot vouch leaves it out (or answers `undefined`). A wrapper that changes what `get`
   * answers (`{ ...store, get }`) must change or drop `peek` alike.
   */
  readonly peek?: (jobId: string) => Job | null | undefined
  /** Fails with `Conflict` when the id is taken. */
  readonly insert: (job: Job, deadlines: Deadlines) => Effect.Effect<void, Conflict | StorageFailure>
  /**
   * Compare-and-set: writes `job` (and its deadlines) only if the stored version is still
   * `expectedVersion`.
   */
  readonly update: (job: Job, expectedVersion: number, deadlines: Deadlines) => Effect.Effect<void, Conflict | JobNotFound | StorageFailure>
  /** Compare-and-set delete; deleting a missing job is `JobNotFound`. */
  readonly remove: (jobId: string, expectedVersion: number) => Effect.Effect<void, Conflict | JobNotFound | StorageFailure>
  readonly list: (query: ListQuery) => Effect.Effect<JobPage, StorageFailure>
  /** How many jobs match; answered from indexes (counters or an index range), never a scan of every job. */
  readonly count: (query: CountQuery) => Effect.Effect<number, StorageFailure>
  /** The earliest stored deadline of a kind, or `null`. */
  readonly nextDeadline: (kind: DeadlineKind) => Effect.Effect<number | null, StorageFailure>
  /** Up to `limit` job ids whose stored deadline of a kind is at or before `until`, earliest first. */
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
