/**
 * The index of containers' searchable fields the archive keeps beside its job store, so that a
 * search reads a page of ids and a count instead of every container.
 *
 * An entry holds what the filters of `Search` use, as of the job's last change: owner, name,
 * storage, save type, creation time, archive date and the **status apart from time** (what the
 * status would be before the archive date). The one part of a status that changes without a
 * change of the job, a temporary container reaching its archive date, is computed at search
 * time from the stored archive date and the `now` given (`effectiveStatus`).
 *
 * `makeMemory` is the default and the reference: it answers with `Search`'s own filter, order and
 * paging. `@uws-kit/store-sql`'s `SqlContainerIndex` answers the same from a table.
 *
 * @since 0.1.0
 */
import type { Errors, Job } from "@uws-kit/core"
import { Effect } from "effect"
import * as Containers from "./Container.js"
import type { SaveType } from "./Container.js"
import * as Search from "./Search.js"

/**
 * A container's searchable fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly id: string
  readonly ownerId: string | null
  readonly name: string
  readonly storageId: number
  readonly saveType: SaveType
  readonly createdAt: number
  /** The archive date of a temporary container, the end of a cache's (epoch ms); `null` for a permanent one. */
  readonly archiveUntil: number | null
  /** The status before the archive date (`Container.StatusCode`). */
  readonly baseStatus: number
}

/**
 * The entry of a job; `undefined` when the job is not a container.
 *
 * @since 0.1.0
 * @category constructors
 */
export const entryOf = (job: Job.Job): Entry | undefined => {
  // At the dawn of time no archive date has passed: the status apart from time.
  const c = Containers.fromJob(job, Number.NEGATIVE_INFINITY)
  return c === undefined
    ? undefined
    : {
        id: c.id,
        ownerId: c.ownerId,
        name: c.name,
        storageId: c.storageId,
        saveType: c.saveType,
        createdAt: c.createdAt,
        archiveUntil: c.archiveUntil,
        baseStatus: c.status
      }
}

/**
 * The status of an entry at `now`: storage ended once the archive date has come.
 *
 * @since 0.1.0
 * @category filtering
 */
export const effectiveStatus = (e: Pick<Entry, "archiveUntil" | "baseStatus">, now: number): number =>
  e.archiveUntil !== null && e.archiveUntil <= now ? Containers.StatusCode.StorageEnded : e.baseStatus

/**
 * What a search sees besides its query.
 *
 * @since 0.1.0
 * @category models
 */
export interface SearchContext {
  /** The instant time-dependent statuses are computed at. */
  readonly now: number
  /** The storages the caller may see; absent = all. */
  readonly storages?: ReadonlyArray<number>
}

/**
 * A page of container ids, newest first, and the count of every match.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdPage {
  readonly ids: ReadonlyArray<string>
  readonly totalRecords: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContainerIndex {
  /** Adds or replaces the entry of a container. */
  readonly upsert: (entry: Entry) => Effect.Effect<void, Errors.StorageFailure>
  /** Adds or replaces many entries at once (the re-indexing at start). */
  readonly upsertAll: (entries: ReadonlyArray<Entry>) => Effect.Effect<void, Errors.StorageFailure>
  /** Forgets a container (forgetting an unknown one is no error). */
  readonly remove: (id: string) => Effect.Effect<void, Errors.StorageFailure>
  /** `Search.run`'s answer, as ids. */
  readonly search: (query: Search.Query, context: SearchContext) => Effect.Effect<IdPage, Errors.StorageFailure>
  /** How many containers are indexed. */
  readonly count: Effect.Effect<number, Errors.StorageFailure>
  /** Ids of entries whose base status is one of these (to re-read them at start). */
  readonly withStatus: (statuses: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<string>, Errors.StorageFailure>
  /** Every indexed id (for a rebuild at start). */
  readonly ids: Effect.Effect<ReadonlyArray<string>, Errors.StorageFailure>
  /** The storage ids of indexed containers. */
  readonly storageIds: Effect.Effect<ReadonlyArray<number>, Errors.StorageFailure>
}

/**
 * Whether an entry passes the filters at `now`: `Search.matches` on the stored fields.
 *
 * @since 0.1.0
 * @category filtering
 */
export const matches = (e: Entry, f: Search.Filters, now: number): boolean => {
  const status = effectiveStatus(e, now)
  return (
    (f.storageIds === undefined || f.storageIds.length === 0 || f.storageIds.includes(e.storageId)) &&
    (f.name === undefined || e.name.toLowerCase().includes(f.name.toLowerCase())) &&
    (f.sourceSystemId === undefined || e.ownerId === f.sourceSystemId) &&
    (f.status === undefined || status === f.status) &&
    // Storage ended only ever happens to temporary containers.
    (f.isArchived === undefined ||
      (f.isArchived ? status === Containers.StatusCode.Archived : e.saveType === "Temporary" && status === Containers.StatusCode.StorageEnded)) &&
    (f.saveType === undefined || e.saveType === f.saveType)
  )
}

/**
 * The index in memory: a map, filtered and sorted per search (what `Search.run` does).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): ContainerIndex => {
  const entries = new Map<string, Entry>()
  // The entries newest first, kept in order as they change, so a search filters without sorting.
  let ordered: Array<Entry> = []
  /** Where `e` belongs in `ordered` (binary search; the order is total: creation time, then id). */
  const position = (e: Entry) => {
    let lo = 0
    let hi = ordered.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (Search.newestFirst(ordered[mid]!, e) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const forget = (id: string) => {
    const old = entries.get(id)
    if (old === undefined) return
    entries.delete(id)
    ordered.splice(position(old), 1)
  }
  return {
    upsert: (entry) =>
      Effect.sync(() => {
        forget(entry.id)
        ordered.splice(position(entry), 0, entry)
        entries.set(entry.id, entry)
      }),
    upsertAll: (all) =>
      Effect.sync(() => {
        for (const entry of all) entries.set(entry.id, entry)
        ordered = [...entries.values()].sort(Search.newestFirst)
      }),
    remove: (id) => Effect.sync(() => forget(id)),
    search: (query, context) =>
      Effect.sync(() => {
        const allowed = context.storages === undefined ? undefined : new Set(context.storages)
        const start = (query.page - 1) * query.pageSize
        const ids: Array<string> = []
        let totalRecords = 0
        for (const e of ordered) {
          if ((allowed === undefined || allowed.has(e.storageId)) && matches(e, query.filters, context.now)) {
            if (totalRecords >= start && ids.length < query.pageSize) ids.push(e.id)
            totalRecords++
          }
        }
        return { ids, totalRecords }
      }),
    count: Effect.sync(() => entries.size),
    withStatus: (statuses) => Effect.sync(() => [...entries.values()].filter((e) => statuses.includes(e.baseStatus)).map((e) => e.id)),
    ids: Effect.sync(() => [...entries.keys()]),
    storageIds: Effect.sync(() => [...new Set([...entries.values()].map((e) => e.storageId))])
  }
}
