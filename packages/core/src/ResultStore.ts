/**
 * Where the content of results (and of inline-uploaded parameters) is kept, per job, by key.
 * Contents go in and out as streams, so a store never needs a whole file in memory.
 *
 * @since 0.1.0
 */
import { Context, Layer } from "effect"
import type { Effect, Stream } from "effect"
import type { StorageFailure } from "./Errors.js"
import type { Content } from "./Content.js"
import { makeMemoryResultStore } from "./internal/memoryResultStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface StoredContent {
  readonly size: number
  readonly mimeType: string | undefined
  readonly stream: Stream.Stream<Uint8Array, StorageFailure>
  /** The whole content, when the store read it into memory anyway: answered without streaming it. */
  readonly bytes?: Uint8Array
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResultStoreService {
  /** Stores content under (job, key), replacing what was there; answers its size in bytes. */
  readonly put: (
    jobId: string,
    key: string,
    content: Content,
    mimeType: string | undefined
  ) => Effect.Effect<{ readonly size: number }, StorageFailure>
  readonly get: (jobId: string, key: string) => Effect.Effect<StoredContent | undefined, StorageFailure>
  /** Deletes the job's contents whose key starts with `prefix` (all of them without one). */
  readonly deleteAll: (jobId: string, prefix?: string) => Effect.Effect<void, StorageFailure>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ResultStore extends Context.Tag("@uws-kit/core/ResultStore")<ResultStore, ResultStoreService>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): ResultStoreService => makeMemoryResultStore()

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<ResultStore> = Layer.sync(ResultStore, makeMemory)

/**
 * Where a content kept outside the store is: for result stores whose bytes live elsewhere (a
 * document storage that answers opaque locators), the entry of their (job, key) → locator index.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocatorEntry {
  readonly locator: string
  readonly size: number
  readonly mimeType: string | undefined
}

/**
 * The (job, key) → locator index such a store keeps (in memory, or durable beside the jobs: see
 * `@uws-kit/store-sql`'s `SqlLocatorIndex`).
 *
 * @since 0.1.0
 * @category models
 */
export interface LocatorIndex {
  readonly get: (jobId: string, key: string) => Effect.Effect<LocatorEntry | undefined, StorageFailure>
  readonly set: (jobId: string, key: string, entry: LocatorEntry) => Effect.Effect<void, StorageFailure>
  readonly remove: (jobId: string, key: string) => Effect.Effect<void, StorageFailure>
  /** The job's entries whose key starts with `prefix` (all without one). */
  readonly list: (jobId: string, prefix?: string) => Effect.Effect<ReadonlyArray<readonly [string, LocatorEntry]>, StorageFailure>
}
