/**
 * The conformance suite every `ContainerIndex` runs (in the manner of unstorage's
 * `testDriver`): over random containers (owners, names in any case and script, storages, save
 * types, phases, archive dates around the search instant, ties of creation time) and random
 * searches (every filter, paging, the caller's storages), its answers must be `Search.run`'s over
 * the same containers, computed at the same instant. Call it inside a vitest file:
 *
 * @example
 * import { testContainerIndex } from "@uws-kit/adapter-archive/ContainerIndexSuite"
 * import { ContainerIndex } from "@uws-kit/adapter-archive"
 * testContainerIndex({ name: "memory", make: async () => ContainerIndex.makeMemory() })
 *
 * Requires `vitest` and `fast-check`.
 *
 * @since 0.1.0
 */
import { Phase } from "@uws-kit/core"
import type { Job } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Containers from "./Container.js"
import type { ContainerIndex } from "./ContainerIndex.js"
import { entryOf } from "./ContainerIndex.js"
import type { CopyCatalogue } from "./CopyCatalogue.js"
import { testCopyCatalogue } from "./CopyCatalogueSuite.js"
import * as Search from "./Search.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ContainerIndexSuiteOptions {
  readonly name: string
  /** A new, empty index per call. */
  readonly make: () => Promise<ContainerIndex>
  /** Property runs (default `propertyRuns(40)`). */
  readonly runs?: number
  /** The driver's catalogue of copies (`Replicas`), a new, empty one per call: run its suite too. */
  readonly copies?: () => Promise<CopyCatalogue>
}

const T0 = 1_700_000_000_000
const NAMES = ["Договор поставки", "ДОГОВОР аренды", "report", "Report-2", "a_b%c", "Счёт №5", "İstanbul", "x"]
const NEEDLES = ["дог", "ДОГОВОР", "rep", "REPORT-", "%", "_", "", "x", "ё", "i̇", "nothing"]
const OWNERS = ["4", "7", "alice", null]
const STORAGES = [1, 4, 7]

const manifest = JSON.stringify({
  version: 1,
  document: { name: "document", fileName: "d.pdf", mimeType: "application/pdf", size: 1, sha256: "00", storage: "s", locator: "l" },
  signatures: []
})

const jobArbitrary = fc.record({
  jobId: fc.stringMatching(/^[A-Za-z0-9_-]{1,6}$/),
  ownerId: fc.constantFrom(...OWNERS),
  name: fc.constantFrom(...NAMES),
  storageId: fc.constantFrom(...STORAGES),
  saveType: fc.constantFrom("Temporary" as const, "Permanent" as const, "Cache" as const),
  // Archive dates before, at and after the search instant (T0 + 0 … T0 + 8), or none.
  destruction: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }),
  created: fc.integer({ min: 0, max: 5 }),
  phase: fc.constantFrom(...Phase.all),
  failed: fc.boolean(),
  verified: fc.boolean()
})

type JobSpec = typeof jobArbitrary extends fc.Arbitrary<infer A> ? A : never

const toJob = (s: JobSpec): Job.Job => ({
  jobId: s.jobId,
  runId: null,
  ownerId: s.ownerId,
  quote: null,
  creationTime: T0 + s.created,
  startTime: null,
  endTime: null,
  executionDuration: 0,
  destruction: s.saveType !== "Permanent" && s.destruction !== null ? T0 + s.destruction : null,
  parameters: [
    { name: Containers.Param.ContainerName, value: s.name },
    { name: Containers.Param.SaveType, value: s.saveType },
    { name: Containers.Param.StorageId, value: String(s.storageId) },
    { name: Containers.Param.Manifest, value: manifest }
  ],
  results: [],
  errorSummary: s.failed ? { type: "fatal", message: "failed", hasDetail: false } : null,
  jobInfo: s.verified ? { [Containers.Info.hash("document")]: "AA==" } : null,
  phase: s.phase,
  version: 1
})

const queryArbitrary = fc.record({
  filters: fc.record(
    {
      storageIds: fc.subarray(STORAGES),
      name: fc.constantFrom(...NEEDLES),
      sourceSystemId: fc.constantFrom("4", "7", "alice", "nobody"),
      status: fc.integer({ min: 0, max: 6 }),
      isArchived: fc.boolean(),
      saveType: fc.constantFrom("Temporary" as const, "Permanent" as const, "Cache" as const)
    },
    { requiredKeys: [] }
  ),
  pageSize: fc.integer({ min: 1, max: 6 }),
  page: fc.integer({ min: 1, max: 4 })
})

const contextArbitrary = fc.record(
  { now: fc.integer({ min: 0, max: 8 }).map((n) => T0 + n), storages: fc.subarray(STORAGES) },
  { requiredKeys: ["now"] }
)

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

/**
 * @since 0.1.0
 * @category testing
 */
export const testContainerIndex = (options: ContainerIndexSuiteOptions): void => {
  const runs = options.runs ?? propertyRuns(40)
  describe(`ContainerIndex conformance: ${options.name}`, () => {
    it("answers every search as Search.run does over the same containers, at the same instant", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(jobArbitrary, { selector: (s) => s.jobId, maxLength: 40 }),
          // Some containers change after being indexed (a phase change), some are deleted.
          fc.array(fc.tuple(fc.nat(), fc.constantFrom(...Phase.all)), { maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 5 }),
          fc.array(fc.tuple(queryArbitrary, contextArbitrary), { minLength: 1, maxLength: 6 }),
          async (specs, changes, deletions, searches) => {
            const index = await options.make()
            const jobs = new Map(specs.map((s) => [s.jobId, toJob(s)]))
            await run(index.upsertAll([...jobs.values()].map((job) => entryOf(job)!)))
            if (specs.length > 0) {
              for (const [i, phase] of changes) {
                const job = { ...jobs.get(specs[i % specs.length]!.jobId)!, phase }
                jobs.set(job.jobId, job)
                await run(index.upsert(entryOf(job)!))
              }
              for (const i of deletions) {
                const id = specs[i % specs.length]!.jobId
                jobs.delete(id)
                await run(index.remove(id))
              }
            }
            expect(await run(index.count)).toBe(jobs.size)
            for (const [query, context] of searches) {
              const visible = [...jobs.values()]
                .map((j) => Containers.fromJob(j, context.now)!)
                .filter((c) => context.storages === undefined || context.storages.includes(c.storageId))
              const expected = Search.run(visible, query)
              const got = await run(index.search(query, context))
              expect(got).toEqual({ ids: expected.documents.map((c) => c.id), totalRecords: expected.totalRecords })
            }
          }
        ),
        { numRuns: runs }
      )
    })

    it("lists its ids, storages and entries by base status; forgetting an unknown container is no error", async () => {
      const index = await options.make()
      const a = entryOf(toJob({ jobId: "a", ownerId: "4", name: "A", storageId: 4, saveType: "Temporary", destruction: 10, created: 1, phase: "QUEUED", failed: false, verified: false }))!
      const b = entryOf(toJob({ jobId: "b", ownerId: null, name: "B", storageId: 7, saveType: "Permanent", destruction: null, created: 2, phase: "COMPLETED", failed: false, verified: true }))!
      await run(index.upsert(a))
      await run(index.upsert(b))
      await run(index.upsert(b))
      await run(index.remove("missing"))
      expect(await run(index.count)).toBe(2)
      expect([...(await run(index.ids))].sort()).toEqual(["a", "b"])
      expect([...(await run(index.storageIds))].sort()).toEqual([4, 7])
      expect(await run(index.withStatus([Containers.StatusCode.Accepted, Containers.StatusCode.Processing]))).toEqual(["a"])
      expect(await run(index.withStatus([]))).toEqual([])
      await run(index.remove("a"))
      expect(await run(index.ids)).toEqual(["b"])
    })
  })
  if (options.copies !== undefined) testCopyCatalogue({ name: options.name, make: options.copies, ...(options.runs === undefined ? {} : { runs: options.runs }) })
}
