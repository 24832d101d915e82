/**
 * The jobs an SQLite job store read or wrote last, kept decoded, so that the hottest reads (a
 * client polling its job) skip the statement and the JSON decoding, and `peek` can answer them
 * without an effect at all.
 *
 * Only where this process is the only writer: an SQLite file belongs to one instance (see
 * `SqlDatabase.dispatcher`). Every store of one client and list shares one cache, so that two
 * stores over the same list in one process see each other's writes. PostgreSQL gets none: other
 * instances write behind this one's back, and a notification arrives after the write it reports,
 * too late for a client that wrote through one instance and reads through another.
 *
 * Bounded (least recently used out), so that what it holds does not grow with the stored jobs.
 */
import type { JobStore } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import { Effect, Exit } from "effect"

/** How many jobs one list's cache holds by default. */
export const DEFAULT_CAPACITY = 512

interface Cache {
  readonly jobs: Map<string, Job>
  /** Moves on every write that starts or ends: a read that overlapped one does not fill the cache. */
  writes: number
}

const caches = new WeakMap<object, Map<string, Cache>>()

const cacheOf = (client: object, list: string): Cache => {
  let lists = caches.get(client)
  if (lists === undefined) caches.set(client, (lists = new Map()))
  let cache = lists.get(list)
  if (cache === undefined) lists.set(list, (cache = { jobs: new Map(), writes: 0 }))
  return cache
}

/**
 * `store` with reads answered from the cache shared by `client`'s stores of `list`, and `peek`.
 * A write keeps the cache exact: its job replaces the cached one once the write is acknowledged; a
 * write that fails or is interrupted (it may have landed) drops it, and the next read looks.
 */
export const withReadCache = (
  store: JobStore.JobStoreService,
  client: object,
  list: string,
  capacity: number = DEFAULT_CAPACITY
): JobStore.JobStoreService => {
  const cache = cacheOf(client, list)
  const { jobs } = cache

  const remember = (job: Job) => {
    jobs.delete(job.jobId)
    jobs.set(job.jobId, job)
    if (jobs.size > capacity) jobs.delete(jobs.keys().next().value!)
  }

  const hit = (jobId: string): Job | undefined => {
    const job = jobs.get(jobId)
    // Recently used: to the back of the eviction order.
    if (job !== undefined && jobs.size > 1) {
      jobs.delete(jobId)
      jobs.set(jobId, job)
    }
    return job
  }

  /** Runs a write of `jobId`; `after` is what the cache holds once it is acknowledged. */
  const writing = <E>(jobId: string, write: Effect.Effect<void, E>, after: Job | undefined): Effect.Effect<void, E> =>
    Effect.suspend(() => {
      cache.writes++
      return Effect.onExit(write, (exit) =>
        Effect.sync(() => {
          cache.writes++
          if (Exit.isSuccess(exit) && after !== undefined) remember(after)
          else jobs.delete(jobId)
        })
      )
    })

  return {
    ...store,
    get: (jobId) =>
      Effect.suspend(() => {
        const cached = hit(jobId)
        if (cached !== undefined) return Effect.succeed(cached)
        const before = cache.writes
        return Effect.tap(store.get(jobId), (job) => {
          if (job !== undefined && cache.writes === before) remember(job)
        })
      }),
    peek: (jobId) => hit(jobId),
    insert: (job, deadlines) => writing(job.jobId, store.insert(job, deadlines), job),
    update: (job, expectedVersion, deadlines) => writing(job.jobId, store.update(job, expectedVersion, deadlines), job),
    remove: (jobId, expectedVersion) => writing(jobId, store.remove(jobId, expectedVersion), undefined)
  }
}
