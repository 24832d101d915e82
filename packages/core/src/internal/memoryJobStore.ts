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

/**
 * One stored job with what the indexes keep of it beside the job, so that a write looks the job
 * up once: its deadlines. It is also the job's key in the creation order.
 */
interface Entry extends Key {
  job: Job
  deadlines: Deadlines
  /** False once removed: the creation order drops it lazily. */
  live: boolean
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
 * The in-memory job store. Indexes: creation order (ascending array of entries, removed ones
 * dropped lazily), entries per phase and per owner, counts per owner and phase, and a
 * min-heap per deadline kind over the instants the service passed in (stale entries skipped
 * lazily). A query gathers the smallest matching index when that is cheaper than walking the
 * creation order from the newest end, and walks otherwise.
 */
export const makeMemoryJobStore = (): JobStoreService => {
  const byId = new Map<string, Entry>()
  let order: Array<Entry> = []
  let dead = 0
  const byPhase = new Map<Phase, Set<Entry>>(Phases.all.map((p) => [p, new Set()]))
  const byOwner = new Map<string | null, Set<Entry>>()
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
    return byId.get(id)?.deadlines[kind] === at
  }
  const currentDeadline = { destruction: isCurrent("destruction"), execution: isCurrent("execution") }

  /** Pushes the deadlines that changed onto their heaps. */
  const schedule = (id: string, deadlines: Deadlines, before: Deadlines | undefined) => {
    for (const kind of ["destruction", "execution"] as const) {
      const at = deadlines[kind]
      if (at !== null && before?.[kind] !== at) {
        heaps[kind].push(at, id)
        heaps[kind].compactIfSparse(byId.size, currentDeadline[kind])
      }
    }
  }

  const replace = (entry: Entry, job: Job, deadlines: Deadlines) => {
    const previous = entry.job
    if (previous.phase !== job.phase) {
      byPhase.get(previous.phase)!.delete(entry)
      addCount(previous, previous.phase, -1)
      byPhase.get(job.phase)!.add(entry)
      addCount(job, job.phase, 1)
    }
    entry.job = job
    const before = entry.deadlines
    entry.deadlines = deadlines
    schedule(job.jobId, deadlines, before)
  }

  const unindex = (entry: Entry) => {
    const job = entry.job
    entry.live = false
    byPhase.get(job.phase)!.delete(entry)
    byOwner.get(job.ownerId)?.delete(entry)
    addCount(job, job.phase, -1)
    dead++
    if (dead > 1024 && dead * 2 > order.length) {
      order = order.filter((e) => e.live)
      dead = 0
    }
  }

  const insert = (job: Job, deadlines: Deadlines) => {
    if (byId.has(job.jobId)) return false
    const entry: Entry = { t: job.creationTime, id: job.jobId, job, deadlines, live: true }
    byId.set(job.jobId, entry)
    const last = order[order.length - 1]
    if (last === undefined || compareKeys(last, entry) < 0) order.push(entry)
    else order.splice(lowerBound(order, entry), 0, entry)
    let owned = byOwner.get(job.ownerId)
    if (owned === undefined) byOwner.set(job.ownerId, (owned = new Set()))
    owned.add(entry)
    byPhase.get(job.phase)!.add(entry)
    addCount(job, job.phase, 1)
    schedule(job.jobId, deadlines, undefined)
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
    let smallest: Iterable<Job> | undefined
    let smallestSize = Infinity
    if (phases !== undefined) {
      let size = 0
      for (const p of phases) size += byPhase.get(p)!.size
      smallest = (function* () {
        for (const p of phases) for (const e of byPhase.get(p)!) yield e.job
      })()
      smallestSize = size
    }
    if (query.ownerId !== undefined) {
      const owned = byOwner.get(query.ownerId)
      if ((owned?.size ?? 0) < smallestSize) {
        smallest = (function* () {
          for (const e of owned ?? []) yield e.job
        })()
        smallestSize = owned?.size ?? 0
      }
    }
    const total = Math.max(1, byId.size)
    const walkCost = Math.min(range, want === Infinity ? range : (want * total) / Math.max(1, smallestSize))
    const gatherCost = smallestSize * Math.max(1, Math.log2(smallestSize + 1))

    if (smallest !== undefined && gatherCost < walkCost) {
      const found: Array<Job> = []
      for (const job of smallest) {
        if (!matches(job)) continue
        if (position !== undefined && compareKeys({ t: job.creationTime, id: job.jobId }, position) >= 0) continue
        found.push(job)
      }
      found.sort((a, b) => b.creationTime - a.creationTime || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0))
      jobs.push(...(want === Infinity ? found : found.slice(0, want)))
    } else {
      for (let i = upper - 1; i >= lower && jobs.length < want; i--) {
        const entry = order[i]!
        if (entry.live && matches(entry.job)) jobs.push(entry.job)
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
    get: (jobId) => Effect.sync(() => byId.get(jobId)?.job),
    peek: (jobId) => byId.get(jobId)?.job ?? null,
    insert: (job, deadlines) =>
      Effect.suspend(() =>
        insert(job, deadlines) ? Effect.void : Effect.fail(new Conflict({ jobId: job.jobId, reason: "a job with this id exists." }))
      ),
    update: (job, expectedVersion, deadlines) =>
      Effect.suspend((): Effect.Effect<void, Conflict | JobNotFound> => {
        const entry = byId.get(job.jobId)
        if (entry === undefined) return Effect.fail(new JobNotFound({ jobId: job.jobId }))
        if (entry.job.version !== expectedVersion) {
          return Effect.fail(
            new Conflict({ jobId: job.jobId, reason: `expected version ${expectedVersion}, found ${entry.job.version}.` })
          )
        }
        replace(entry, job, deadlines)
        return Effect.void
      }),
    remove: (jobId, expectedVersion) =>
      Effect.suspend((): Effect.Effect<void, Conflict | JobNotFound> => {
        const entry = byId.get(jobId)
        if (entry === undefined) return Effect.fail(new JobNotFound({ jobId }))
        if (entry.job.version !== expectedVersion) {
          return Effect.fail(
            new Conflict({ jobId, reason: `expected version ${expectedVersion}, found ${entry.job.version}.` })
          )
        }
        byId.delete(jobId)
        unindex(entry)
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
            for (const { job } of byPhase.get(phase)!) {
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
