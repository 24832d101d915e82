/**
 * The conformance suite every `JobStore` implementation runs (in the manner of unstorage's
 * `testDriver`): compare-and-set semantics, the listing filters with cursor paging against a
 * naive model, counts and the deadline index. A store is an index: the suite gives it explicit
 * phase sets and deadline instants, and checks it answers exactly those. Call it inside a
 * vitest file:
 *
 * @example
 * import { testJobStore } from "@uws-kit/core/JobStoreSuite"
 * import { JobStore } from "@uws-kit/core"
 * testJobStore({ name: "memory", make: async () => JobStore.makeMemory() })
 *
 * Requires `vitest` and `fast-check` (dev dependencies of the store's package).
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Job } from "./Job.js"
import type { Deadlines, JobStoreService, ListQuery } from "./JobStore.js"
import * as Phases from "./Phase.js"
import type { Phase } from "./Phase.js"
import { propertyRuns } from "./testing.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface JobStoreSuiteOptions {
  readonly name: string
  /** A new, empty store per call. */
  readonly make: () => Promise<JobStoreService>
  /** Called after each store is done with (close connections, drop tables). */
  readonly dispose?: (store: JobStoreService) => Promise<void>
  /** Property runs (default `propertyRuns(40)`); slow stores may want fewer. */
  readonly runs?: number
  /** The store's own regressions, registered inside the suite's `describe`. */
  readonly additionalTests?: (context: { readonly withStore: <A>(f: (store: JobStoreService) => Promise<A>) => Promise<A> }) => void
}

/** A job with the deadline instants the service would have computed for it. */
interface Entry {
  readonly job: Job
  readonly deadlines: Deadlines
}

const owners = [null, "alice", "bob"] as const
// Anonymous clients counted apart (`Identity.anonymousAs`); "bob" as a key shares bob's count.
const quotaKeys = [undefined, "client:a", "bob"] as const

const arbInstant = fc.option(fc.integer({ min: 0, max: 100 }).map((t) => 1_700_000_000_000 + t * 1000))
const arbDeadlines: fc.Arbitrary<Deadlines> = fc.record({ destruction: arbInstant, execution: arbInstant })

const arbJob = (id: number): fc.Arbitrary<Entry> =>
  fc
    .record({
      ownerId: fc.constantFrom(...owners),
      quotaKey: fc.constantFrom(...quotaKeys),
      phase: fc.constantFrom(...Phases.all),
      // Few distinct creation times, so ties (broken by job id) are common.
      creationTime: fc.integer({ min: 0, max: 20 }).map((t) => 1_700_000_000_000 + t * 1000),
      destruction: fc.option(fc.integer({ min: 0, max: 100 }).map((t) => 1_700_000_000_000 + t * 1000)),
      executionDuration: fc.constantFrom(0, 10, 60),
      deadlines: arbDeadlines
    })
    .map((r) => ({
      deadlines: r.deadlines,
      job: {
      jobId: `job-${String(id).padStart(4, "0")}`,
      runId: null,
      ownerId: r.ownerId,
      phase: r.phase,
      quote: null,
      creationTime: r.creationTime,
      startTime: r.phase === "EXECUTING" || r.phase === "SUSPENDED" ? r.creationTime + 500 : null,
      endTime: null,
      executionDuration: r.executionDuration,
      destruction: r.destruction,
      parameters: [{ name: "N", value: String(id) }],
      results: [],
      errorSummary: null,
      jobInfo: null,
      ...(r.quotaKey === undefined || r.ownerId !== null ? {} : { quotaKey: r.quotaKey }),
      version: 0
    } satisfies Job
    }))

const arbJobs = fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbJob(i))))

const arbQuery: fc.Arbitrary<ListQuery> = fc.record(
  {
    phases: fc.uniqueArray(fc.constantFrom(...Phases.all), { minLength: 0, maxLength: 3 }),
    after: fc.integer({ min: -1, max: 20 }).map((t) => 1_700_000_000_000 + t * 1000 + (t % 2 === 0 ? 0 : 500)),
    last: fc.integer({ min: 1, max: 12 }),
    ownerId: fc.constantFrom(...owners)
  },
  { requiredKeys: [] }
)

/** The listing computed the slow, obvious way: absent phases = every phase, empty = none. */
const naiveList = (entries: ReadonlyArray<Entry>, q: ListQuery): ReadonlyArray<string> => {
  const phases = q.phases !== undefined ? new Set<Phase>(q.phases) : undefined
  const matching = entries
    .map((e) => e.job)
    .filter((j) => phases === undefined || phases.has(j.phase))
    .filter((j) => q.ownerId === undefined || j.ownerId === q.ownerId)
    .filter((j) => q.after === undefined || j.creationTime > q.after)
    .sort((a, b) => b.creationTime - a.creationTime || (a.jobId < b.jobId ? 1 : -1))
    .map((j) => j.jobId)
  return q.last === undefined ? matching : matching.slice(0, q.last)
}

/**
 * Registers the suite.
 *
 * @since 0.1.0
 * @category suites
 */
export const testJobStore = (options: JobStoreSuiteOptions): void => {
  const runs = options.runs ?? propertyRuns(40)
  const withStore = async <A>(f: (store: JobStoreService) => Promise<A>): Promise<A> => {
    const store = await options.make()
    try {
      return await f(store)
    } finally {
      await options.dispose?.(store)
    }
  }
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
  const insertAll = (store: JobStoreService, entries: ReadonlyArray<Entry>) =>
    run(Effect.forEach(entries, (e) => store.insert(e.job, e.deadlines), { discard: true }))
  const none: Deadlines = { destruction: null, execution: null }

  describe(`JobStore conformance: ${options.name}`, () => {
    it("inserts, gets, and refuses a second job with the same id", async () => {
      await withStore(async (store) => {
        const [entry] = fc.sample(arbJob(1), { numRuns: 1, seed: 1 })
        const job: Job = {
          ...entry!.job,
          runId: "run ü",
          quote: 1_700_000_001_234,
          // The quote's and the termination's state are kept beside the phase.
          quoteStatus: "accepted",
          quoteAcceptedAt: 1_700_000_000_500,
          terminationStatus: "rescheduled",
          endTime: 1_700_000_002_000,
          parameters: [{ name: "QUERY", value: "SELECT * FROM t WHERE a < 3 — ∑" }, { name: "IN", value: "param:IN", byReference: true }],
          results: [{ id: "r1", size: 12, mimeType: "text/plain" }, { id: "r2", href: "http://example.org/x?a=1&b=2" }],
          errorSummary: { type: "fatal", message: "it broke", hasDetail: true, detail: "<detail/>" },
          jobInfo: { progress: "50%" }
        }
        await run(store.insert(job, entry!.deadlines))
        expect(await run(store.get(job.jobId))).toEqual(job)
        expect(await run(store.get("missing"))).toBeUndefined()
        const again = await run(Effect.either(store.insert(job, entry!.deadlines)))
        expect(Either.isLeft(again) && again.left._tag).toBe("Conflict")
      })
    })

    it("updates and removes only at the expected version (compare-and-set)", async () => {
      await withStore(async (store) => {
        const [entry] = fc.sample(arbJob(2), { numRuns: 1, seed: 2 })
        const job = entry!.job
        await run(store.insert(job, entry!.deadlines))
        const next = { ...job, phase: "ABORTED" as const, version: 1 }
        await run(store.update(next, 0, none))
        const stale = await run(Effect.either(store.update({ ...job, phase: "QUEUED", version: 1 }, 0, none)))
        expect(Either.isLeft(stale) && stale.left._tag).toBe("Conflict")
        expect((await run(store.get(job.jobId)))?.phase).toBe("ABORTED")
        const staleRemove = await run(Effect.either(store.remove(job.jobId, 0)))
        expect(Either.isLeft(staleRemove) && staleRemove.left._tag).toBe("Conflict")
        await run(store.remove(job.jobId, 1))
        expect(await run(store.get(job.jobId))).toBeUndefined()
        const gone = await run(Effect.either(store.update(next, 1, none)))
        expect(Either.isLeft(gone) && gone.left._tag).toBe("JobNotFound")
      })
    })

    it("lists by the given filters (phase union, after, last, owner), newest first", async () => {
      await fc.assert(
        fc.asyncProperty(arbJobs, fc.array(arbQuery, { minLength: 1, maxLength: 5 }), (jobs, queries) =>
          withStore(async (store) => {
            await insertAll(store, jobs)
            for (const q of queries) {
              const page = await run(store.list(q))
              expect(page.jobs.map((j) => j.jobId)).toEqual(naiveList(jobs, q))
              expect(page.next).toBeNull()
            }
          })
        ),
        { numRuns: runs }
      )
    })

    it("pages with cursors: the pages together are the whole listing, LAST bounding them all", async () => {
      await fc.assert(
        fc.asyncProperty(arbJobs, arbQuery, fc.integer({ min: 1, max: 7 }), (jobs, q, limit) =>
          withStore(async (store) => {
            await insertAll(store, jobs)
            const seen: Array<string> = []
            let cursor: string | undefined
            for (let i = 0; i < 100; i++) {
              const page = await run(store.list({ ...q, limit, ...(cursor === undefined ? {} : { cursor }) }))
              expect(page.jobs.length).toBeLessThanOrEqual(limit)
              seen.push(...page.jobs.map((j) => j.jobId))
              if (page.next === null) break
              cursor = page.next
            }
            expect(seen).toEqual(naiveList(jobs, q))
          })
        ),
        { numRuns: runs }
      )
    })

    it("lists right after updates, removals and an id stored again (once, where it now belongs)", async () => {
      await fc.assert(
        fc.asyncProperty(
          arbJobs,
          fc.array(fc.tuple(fc.nat(), fc.constantFrom("update", "remove", "again"), fc.constantFrom(...Phases.all), fc.integer({ min: 0, max: 20 })), { maxLength: 20 }),
          fc.array(arbQuery, { minLength: 1, maxLength: 4 }),
          async (entries, changes, queries) =>
            withStore(async (store) => {
              await insertAll(store, entries)
              const current = new Map(entries.map((e) => [e.job.jobId, e]))
              const removed = new Map<string, Entry>()
              for (const [i, change, phase, t] of changes) {
                if (change === "again") {
                  // A removed id stored again, created at another time: listed at its new place only.
                  const gone = [...removed.values()]
                  if (gone.length === 0) continue
                  const { job } = gone[i % gone.length]!
                  const again: Job = { ...job, phase, creationTime: 1_700_000_000_000 + t * 1000, version: 0 }
                  await run(store.insert(again, none))
                  removed.delete(job.jobId)
                  current.set(job.jobId, { job: again, deadlines: none })
                  continue
                }
                const ids = [...current.keys()]
                if (ids.length === 0) continue
                const entry = current.get(ids[i % ids.length]!)!
                if (change === "remove") {
                  await run(store.remove(entry.job.jobId, entry.job.version))
                  current.delete(entry.job.jobId)
                  removed.set(entry.job.jobId, entry)
                } else {
                  const next: Job = { ...entry.job, phase, version: entry.job.version + 1 }
                  await run(store.update(next, entry.job.version, none))
                  current.set(next.jobId, { job: next, deadlines: none })
                }
              }
              for (const q of queries) {
                const page = await run(store.list(q))
                expect(page.jobs.map((j) => j.jobId)).toEqual(naiveList([...current.values()], q))
                expect(page.jobs).toEqual(page.jobs.map((j) => current.get(j.jobId)!.job))
              }
            })
        ),
        { numRuns: runs }
      )
    })

    it("keeps counts and deadlines right through updates and removals", async () => {
      await fc.assert(
        fc.asyncProperty(
          arbJobs,
          fc.array(fc.tuple(fc.nat(), fc.constantFrom(...Phases.all), fc.boolean(), arbDeadlines), { maxLength: 20 }),
          fc.array(fc.uniqueArray(fc.constantFrom(...Phases.all), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
          async (entries, changes, phaseSets) =>
            withStore(async (store) => {
              await insertAll(store, entries)
              const current = new Map(entries.map((e) => [e.job.jobId, e]))
              for (const [i, phase, remove, deadlines] of changes) {
                const ids = [...current.keys()]
                if (ids.length === 0) break
                const { job } = current.get(ids[i % ids.length]!)!
                if (remove) {
                  await run(store.remove(job.jobId, job.version))
                  current.delete(job.jobId)
                } else {
                  const next: Job = { ...job, phase, version: job.version + 1 }
                  await run(store.update(next, job.version, deadlines))
                  current.set(job.jobId, { job: next, deadlines })
                }
              }
              const all = [...current.values()]
              for (const phases of phaseSets) {
                expect(await run(store.count({ phases }))).toBe(all.filter((e) => phases.includes(e.job.phase)).length)
                for (const owner of owners) {
                  expect(await run(store.count({ phases, ownerId: owner }))).toBe(
                    all.filter((e) => e.job.ownerId === owner && phases.includes(e.job.phase)).length
                  )
                }
                for (const key of [...owners, "client:a"]) {
                  expect(await run(store.count({ phases, quotaKey: key }))).toBe(
                    all.filter((e) => (e.job.quotaKey ?? e.job.ownerId) === key && phases.includes(e.job.phase)).length
                  )
                }
              }
              for (const kind of ["destruction", "execution"] as const) {
                const deadlines = all
                  .map((e) => [e.job.jobId, e.deadlines[kind]] as const)
                  .filter((d): d is readonly [string, number] => d[1] !== null)
                  .sort((a, b) => a[1] - b[1])
                expect(await run(store.nextDeadline(kind))).toBe(deadlines[0]?.[1] ?? null)
                const until = 1_700_000_000_000 + 50_000
                const due = await run(store.due(kind, until, 1000))
                expect([...due].sort()).toEqual(deadlines.filter(([, at]) => at <= until).map(([id]) => id).sort())
                // Asking does not consume: the same answer twice.
                expect([...(await run(store.due(kind, until, 1000)))].sort()).toEqual([...due].sort())
              }
            })
        ),
        { numRuns: runs }
      )
    })

    it("peek, where the store has it, never disagrees with get, through writes that apply, lose or race", async () => {
      await fc.assert(
        fc.asyncProperty(
          arbJobs,
          fc.array(fc.tuple(fc.nat(), fc.constantFrom("update", "stale", "remove", "race"), fc.constantFrom(...Phases.all)), { maxLength: 16 }),
          async (entries, changes) =>
            withStore(async (store) => {
              const ids = [...entries.map((e) => e.job.jobId), "missing"]
              const agree = async () => {
                for (const id of ids) {
                  const peeked = store.peek?.(id)
                  if (peeked !== undefined) expect(peeked ?? undefined).toEqual(await run(store.get(id)))
                }
              }
              await insertAll(store, entries)
              await agree()
              for (const [i, change, phase] of changes) {
                const id = ids[i % ids.length]!
                const job = await run(store.get(id))
                if (job !== undefined) {
                  const next: Job = { ...job, phase, version: job.version + 1 }
                  const write =
                    change === "update" ? store.update(next, job.version, none)
                    : change === "stale" ? store.update(next, job.version - 1, none)
                    : change === "remove" ? store.remove(id, job.version)
                    // Two writers of one version at once, and a read between them: one wins.
                    : Effect.all([store.update(next, job.version, none), store.get(id), store.update({ ...next, phase: "ERROR" }, job.version, none)], { concurrency: "unbounded" })
                  await run(Effect.either(write))
                }
                await agree()
              }
            })
        ),
        { numRuns: runs }
      )
    })

    options.additionalTests?.({ withStore })
  })
}
