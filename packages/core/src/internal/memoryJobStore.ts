import { Effect } from "effect"
import { Conflict, JobNotFound } from "../Errors.js"
import { quotaKeyOf, type Job } from "../Job.js"
import type { CountQuery, DeadlineKind, Deadlines, JobPage, JobStoreService, ListQuery } from "../JobStore.js"
import type { Phase } from "../Phase.js"
import * as Phases from "../Phase.js"
import * as Cursor from "./cursor.js"
import { DeadlineHeap } from "./deadlineHeap.js"

interface Key {
  readonly t: number
  readonly id: string
}

const compareKeys = (a: Key, b: Key): number => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** First index whose key is >= `key` in the ascending array. */
const lowerBound = (order: ReadonlyArray<Key>, key: Key): number => {
  let lo = 0
  let hi = order.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareKeys(order[mid]!, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * The in-memory job store. Indexes: creation order (ascending array, deletions removed lazily),
 * job ids per phase and per owner, counts per owner and phase, and a min-heap per deadline kind
 * over the instants the service passed in (stale entries skipped lazily). A query gathers the smallest matching index when that is
 * cheaper than walking the creation order from the newest end, and walks otherwise.
 */
export const makeMemoryJobStore = (): JobStoreService => {
  const byId = new Map<string, Job>()
  const deadlinesById = new Map<string, Deadlines>()
  let order: Array<Key> = []
  let dead = 0
  const byPhase = new Map<Phase, Set<string>>(Phases.all.map((p) => [p, new Set()]))
  const byOwner = new Map<string | null, Set<string>>()
  // Jobs per (owner, phase) and per (quota key, phase): `count` answers from these.
  const countByOwner = new Map<string | null, Map<Phase, number>>()
  const countByQuotaKey = new Map<string | null, Map<Phase, number>>()
  const tally = (table: Map<string | null, Map<Phase, number>>, key: string | null, phase: Phase, delta: number) => {
    let counts = table.get(key)
    if (counts === undefined) table.set(key, (counts = new Map()))
    counts.set(phase, (counts.get(phase) ?? 0) + delta)
  }
  const addCount = (job: Job, phase: Phase, delta: number) => {
    tally(countByOwner, job.ownerId, phase, delta)
    tally(countByQuotaKey, quotaKeyOf(job), phase, delta)
  }
  const heaps: Record<DeadlineKind, DeadlineHeap> = { destruction: new DeadlineHeap(), execution: new DeadlineHeap() }
  const isCurrent = (kind: DeadlineKind) => (id: string, at: number) => {
    return deadlinesById.get(id)?.[kind] === at
  }
  const currentDeadline = { destruction: isCurrent("destruction"), execution: isCurrent("execution") }

  const index = (job: Job, previous: Job | undefined, deadlines: Deadlines) => {
    if (previous === undefined || previous.phase !== job.phase) {
      if (previous !== undefined) {
        byPhase.get(previous.phase)!.delete(previous.jobId)
        addCount(previous, previous.phase, -1)
      }
      byPhase.get(job.phase)!.add(job.jobId)
      addCount(job, job.phase, 1)
    }
    const before = deadlinesById.get(job.jobId)
    deadlinesById.set(job.jobId, deadlines)
    for (const kind of ["destruction", "execution"] as const) {
      const at = deadlines[kind]
      if (at !== null && before?.[kind] !== at) {
        heaps[kind].push(at, job.jobId)
        heaps[kind].compactIfSparse(byId.size, currentDeadline[kind])
      }
    }
  }

  const unindex = (job: Job) => {
    byPhase.get(job.phase)!.delete(job.jobId)
    byOwner.get(job.ownerId)?.delete(job.jobId)
    addCount(job, job.phase, -1)
    deadlinesById.delete(job.jobId)
    dead++
    if (dead > 1024 && dead * 2 > order.length) {
      order = order.filter((k) => byId.has(k.id))
      dead = 0
    }
  }

  const insert = (job: Job, deadlines: Deadlines) => {
    if (byId.has(job.jobId)) return false
    byId.set(job.jobId, job)
    const key = { t: job.creationTime, id: job.jobId }
    const last = order[order.length - 1]
    if (last === undefined || compareKeys(last, key) < 0) order.push(key)
    else order.splice(lowerBound(order, key), 0, key)
    let owned = byOwner.get(job.ownerId)
    if (owned === undefined) byOwner.set(job.ownerId, (owned = new Set()))
    owned.add(job.jobId)
    index(job, undefined, deadlines)
    return true
  }

  const list = (query: ListQuery): JobPage => {
    const phases = query.phases !== undefined ? new Set(query.phases) : undefined
    const position = query.cursor === undefined ? undefined : Cursor.decode(query.cursor)
    const returned = position?.returned ?? 0
    const remaining = query.last === undefined ? Infinity : Math.max(0, query.last - returned)
    const pageSize = Math.min(query.limit ?? Infinity, remaining)
    const jobs: Array<Job> = []
    if (pageSize === 0) return { jobs, next: null }
    const want = pageSize === Infinity ? Infinity : pageSize + 1
    const matches = (job: Job) =>
      (phases === undefined || phases.has(job.phase)) &&
      (query.ownerId === undefined || job.ownerId === query.ownerId) &&
      (query.after === undefined || job.creationTime > query.after)

    // The part of the creation order the query can reach: after `after`, before the cursor.
    const upper = position === undefined ? order.length : lowerBound(order, position)
    const lower = query.after === undefined ? 0 : lowerBound(order, { t: Math.floor(query.after) + 1, id: "" })
    const range = Math.max(0, upper - lower)
    let smallest: Iterable<string> | undefined
    let smallestSize = Infinity
    if (phases !== undefined) {
      let size = 0
      for (const p of phases) size += byPhase.get(p)!.size
      smallest = (function* () {
        for (const p of phases) yield* byPhase.get(p)!
      })()
      smallestSize = size
    }
    if (query.ownerId !== undefined) {
      const owned = byOwner.get(query.ownerId)
      if ((owned?.size ?? 0) < smallestSize) {
        smallest = owned ?? []
        smallestSize = owned?.size ?? 0
      }
    }
    const total = Math.max(1, byId.size)
    const walkCost = Math.min(range, want === Infinity ? range : (want * total) / Math.max(1, smallestSize))
    const gatherCost = smallestSize * Math.max(1, Math.log2(smallestSize + 1))

    if (smallest !== undefined && gatherCost < walkCost) {
      const found: Array<Job> = []
      for (const id of smallest) {
        const job = byId.get(id)!
        if (!matches(job)) continue
        if (position !== undefined && compareKeys({ t: job.creationTime, id }, position) >= 0) continue
        found.push(job)
      }
      found.sort((a, b) => b.creationTime - a.creationTime || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0))
      jobs.push(...(want === Infinity ? found : found.slice(0, want)))
    } else {
      for (let i = upper - 1; i >= lower && jobs.length < want; i--) {
        const job = byId.get(order[i]!.id)
        if (job !== undefined && matches(job)) jobs.push(job)
      }
    }
    if (jobs.length > pageSize) {
      jobs.length = pageSize
      const lastJob = jobs[jobs.length - 1]!
      const next =
        query.limit !== undefined
          ? Cursor.encode({ t: lastJob.creationTime, id: lastJob.jobId, returned: returned + jobs.length })
          : null
      return { jobs, next }
    }
    return { jobs, next: null }
  }

  return {
    get: (jobId) => Effect.sync(() => byId.get(jobId)),
    peek: (jobId) => byId.get(jobId) ?? null,
    insert: (job, deadlines) =>
      Effect.suspend(() =>
        insert(job, deadlines) ? Effect.void : Effect.fail(new Conflict({ jobId: job.jobId, reason: "a job with this id exists." }))
      ),
    update: (job, expectedVersion, deadlines) =>
      Effect.suspend((): Effect.Effect<void, Conflict | JobNotFound> => {
        const current = byId.get(job.jobId)
        if (current === undefined) return Effect.fail(new JobNotFound({ jobId: job.jobId }))
        if (current.version !== expectedVersion) {
          return Effect.fail(
            new Conflict({ jobId: job.jobId, reason: `expected version ${expectedVersion}, found ${current.version}.` })
          )
        }
        byId.set(job.jobId, job)
        index(job, current, deadlines)
        return Effect.void
      }),
    remove: (jobId, expectedVersion) =>
      Effect.suspend((): Effect.Effect<void, Conflict | JobNotFound> => {
        const current = byId.get(jobId)
        if (current === undefined) return Effect.fail(new JobNotFound({ jobId }))
        if (current.version !== expectedVersion) {
          return Effect.fail(
            new Conflict({ jobId, reason: `expected version ${expectedVersion}, found ${current.version}.` })
          )
        }
        byId.delete(jobId)
        unindex(current)
        return Effect.void
      }),
    list: (query) => Effect.sync(() => list(query)),
    count: (query: CountQuery) =>
      Effect.sync(() => {
        const counts =
          query.quotaKey !== undefined ? countByQuotaKey.get(query.quotaKey) : query.ownerId !== undefined ? countByOwner.get(query.ownerId) : undefined
        if (query.ownerId !== undefined && query.quotaKey !== undefined) {
          // Both filters: rare (no caller in the service); answer from the phase sets.
          let n = 0
          for (const phase of new Set(query.phases)) {
            for (const id of byPhase.get(phase)!) {
              const job = byId.get(id)!
              if (job.ownerId === query.ownerId && quotaKeyOf(job) === query.quotaKey) n++
            }
          }
          return n
        }
        let n = 0
        for (const phase of new Set(query.phases)) {
          n += query.ownerId === undefined && query.quotaKey === undefined ? byPhase.get(phase)!.size : (counts?.get(phase) ?? 0)
        }
        return n
      }),
    nextDeadline: (kind) => Effect.sync(() => heaps[kind].peek(currentDeadline[kind])),
    due: (kind, until, limit) => Effect.sync(() => heaps[kind].due(until, limit, currentDeadline[kind]))
  }
}
