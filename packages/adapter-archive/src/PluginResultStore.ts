/**
 * A core `ResultStore` whose contents live in a document storage plugin: UWS job results (and
 * inline uploads) kept by the same storages as the archive's documents.
 *
 * With a permanent storage (e.g. `filesystem`) and the core policy
 * `{ onDestruction: "archive", archivedResults: "keep" }`, a job past its destruction time becomes
 * ARCHIVED and its results are still listed and served: the LibGen lesson (permanent storage
 * served far more users than a cache that deleted content after six hours), for UWS.
 *
 * The storage answers opaque locators, so the store keeps an index (job, key) → locator. The
 * default index lives in memory, as the default job store does; a host with a persistent job
 * store supplies a persistent {@link LocatorIndex} alongside it.
 *
 * @since 0.1.0
 */
import { Content, Errors } from "@uws-kit/core"
import type { ResultStore } from "@uws-kit/core"
import { Effect, Stream } from "effect"
import type { Storage } from "./Storage.js"

/**
 * Where a stored content is (core's `ResultStore.LocatorEntry`).
 *
 * @since 0.1.0
 * @category models
 */
export type IndexEntry = ResultStore.LocatorEntry

/**
 * The (job, key) → locator index (core's `ResultStore.LocatorIndex`).
 *
 * @since 0.1.0
 * @category models
 */
export type LocatorIndex = ResultStore.LocatorIndex



/**
 * An index in memory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memoryIndex = (): LocatorIndex => {
  const jobs = new Map<string, Map<string, IndexEntry>>()
  return {
    get: (jobId, key) => Effect.sync(() => jobs.get(jobId)?.get(key)),
    set: (jobId, key, entry) =>
      Effect.sync(() => {
        let entries = jobs.get(jobId)
        if (entries === undefined) jobs.set(jobId, (entries = new Map()))
        entries.set(key, entry)
      }),
    remove: (jobId, key) =>
      Effect.sync(() => {
        const entries = jobs.get(jobId)
        entries?.delete(key)
        if (entries?.size === 0) jobs.delete(jobId)
      }),
    list: (jobId, prefix) =>
      Effect.sync(() => [...(jobs.get(jobId) ?? new Map<string, IndexEntry>())].filter(([k]) => prefix === undefined || k.startsWith(prefix)))
  }
}

/**
 * A result store over a hosted document storage.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (storage: Storage, options: { readonly index?: LocatorIndex } = {}): ResultStore.ResultStoreService => {
  const index = options.index ?? memoryIndex()
  const fail = (operation: string) => (e: Errors.PluginFailure) => new Errors.StorageFailure({ operation, reason: e.message, cause: e })
  return {
    put: (jobId, key, content, mimeType) =>
      Effect.gen(function* () {
        let size = 0
        const counted = Stream.toAsyncIterable(
          Content.toStream(content).pipe(
            Stream.tap((chunk) => Effect.sync(() => (size += chunk.length))),
            Stream.mapError((e) => (e instanceof Error ? e : new Error(String(e))))
          )
        )
        const locator = yield* storage
          .save({ containerId: jobId, name: key, ...(mimeType === undefined ? {} : { mimeType }), content: counted })
          .pipe(Effect.mapError(fail("put")))
        const previous = yield* index.get(jobId, key)
        yield* index.set(jobId, key, { locator, size, mimeType })
        // The replaced content is unreachable now; a failed delete only leaves an orphan.
        if (previous !== undefined && previous.locator !== locator) yield* storage.delete(previous.locator).pipe(Effect.ignore)
        return { size }
      }),
    get: (jobId, key) =>
      Effect.gen(function* () {
        const entry = yield* index.get(jobId, key)
        if (entry === undefined) return undefined
        const opened = yield* storage.get(entry.locator).pipe(Effect.mapError(fail("get")))
        return { size: entry.size, mimeType: entry.mimeType, stream: opened.stream.pipe(Stream.mapError(fail("get"))) }
      }),
    deleteAll: (jobId, prefix) =>
      Effect.gen(function* () {
        const entries = yield* index.list(jobId, prefix)
        const problems: Array<string> = []
        for (const [key, entry] of entries) {
          const deleted = yield* Effect.either(storage.delete(entry.locator))
          if (deleted._tag === "Left") problems.push(`${key}: ${deleted.left.reason}`)
          else yield* index.remove(jobId, key)
        }
        if (problems.length > 0) {
          return yield* Effect.fail(new Errors.StorageFailure({ operation: "deleteAll", reason: problems.join("; ") }))
        }
      })
  }
}
