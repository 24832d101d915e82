/**
 * The conformance suite every `Dispatcher` implementation runs: a queued job is claimed by one
 * holder at a time, never more claims than the concurrency (counted over every instance sharing
 * the dispatcher), a held job is not adopted, and (for shared dispatchers) the claims of an
 * instance that stopped expire and are adopted by another.
 *
 * @example
 * import { testDispatcher } from "@uws-kit/core/DispatcherSuite"
 * import { Dispatcher, JobStore } from "@uws-kit/core"
 * import { Effect } from "effect"
 * testDispatcher({
 *   name: "in-process",
 *   make: async () => {
 *     const dispatcher = await Effect.runPromise(Dispatcher.makeInProcess())
 *     return { store: JobStore.makeMemory(), instance: async () => ({ dispatcher, stop: async () => {} }), shared: false, dispose: async () => {} }
 *   }
 * })
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { describe, expect, it } from "vitest"
import type { Claim, DispatcherService } from "./Dispatcher.js"
import type { Job } from "./Job.js"
import type { JobStoreService } from "./JobStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DispatcherSetup {
  /** Where the dispatchers find queued jobs (the suite stores them QUEUED, then offers them). */
  readonly store: JobStoreService
  /** An instance sharing the queue; `stop` ends it as a crash would (its claims not released). */
  readonly instance: () => Promise<{ readonly dispatcher: DispatcherService; readonly stop: () => Promise<void> }>
  /** Whether instances are separate holders (leases that expire); false: `instance` is one. */
  readonly shared: boolean
  readonly dispose: () => Promise<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DispatcherSuiteOptions {
  readonly name: string
  readonly make: () => Promise<DispatcherSetup>
}

const queued = (jobId: string, creationTime: number): Job => ({
  jobId, runId: null, ownerId: null, quote: null, creationTime, startTime: null, endTime: null, executionDuration: 0,
  destruction: null, parameters: [], results: [], errorSummary: null, jobInfo: null, phase: "QUEUED", version: 0
})

const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect as Effect.Effect<A>)
/** A claim that is not there within a moment: `undefined`. */
const claimSoon = (d: DispatcherService, concurrency: number, ms = 400) =>
  run(Effect.map(Effect.timeoutOption(d.claim(concurrency), ms), Option.getOrUndefined))

/**
 * @since 0.1.0
 * @category suites
 */
export const testDispatcher = (options: DispatcherSuiteOptions): void => {
  describe(`Dispatcher conformance: ${options.name}`, () => {
    const withSetup = async (f: (setup: DispatcherSetup, enqueue: (d: DispatcherService, ids: ReadonlyArray<string>) => Promise<void>) => Promise<void>) => {
      const setup = await options.make()
      let t = 1_700_000_000_000
      const enqueue = async (d: DispatcherService, ids: ReadonlyArray<string>) => {
        for (const id of ids) {
          await run(setup.store.insert(queued(id, t++), { destruction: null, execution: null }))
          await run(d.offer(id))
        }
      }
      try {
        await f(setup, enqueue)
      } finally {
        await setup.dispose()
      }
    }

    it("claims every queued job once, however many claim at once, and no more than the concurrency", async () => {
      await withSetup(async (setup, enqueue) => {
        const a = await setup.instance()
        const b = setup.shared ? await setup.instance() : a
        const ids = Array.from({ length: 12 }, (_, i) => `job${i}`)
        await enqueue(a.dispatcher, ids)
        // 16 claimers over two instances, concurrency 12: the 12 jobs, each once; 4 claimers wait.
        const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => claimSoon(i % 2 === 0 ? a.dispatcher : b.dispatcher, 12, 1500)))
        const got = claims.filter((c): c is Claim => c !== undefined)
        expect(got.map((c) => c.jobId).sort()).toEqual([...ids].sort())
        await Promise.all(got.map((c) => run(c.release)))
      })
    })

    it("respects the concurrency across instances: a claim waits until one is released", async () => {
      await withSetup(async (setup, enqueue) => {
        const a = await setup.instance()
        const b = setup.shared ? await setup.instance() : a
        await enqueue(a.dispatcher, ["q1", "q2", "q3"])
        const first = await claimSoon(a.dispatcher, 2, 2000)
        const second = await claimSoon(b.dispatcher, 2, 2000)
        expect(first).toBeDefined()
        expect(second).toBeDefined()
        expect(await claimSoon(b.dispatcher, 2)).toBeUndefined()
        const third = run(b.dispatcher.claim(2))
        // As the service does: the holder starts the job (no longer QUEUED), runs it, lets go.
        const job = await run(setup.store.get(first!.jobId))
        await run(setup.store.update({ ...job!, phase: "COMPLETED", version: job!.version + 1 }, job!.version, { destruction: null, execution: null }))
        await run(first!.release)
        const got = await third
        expect([first!.jobId, second!.jobId, got.jobId].sort()).toEqual(["q1", "q2", "q3"])
        await run(second!.release)
        await run(got.release)
      })
    })

    it("a job offered twice is held by one claim at a time", async () => {
      await withSetup(async (setup, enqueue) => {
        const a = await setup.instance()
        await enqueue(a.dispatcher, ["twice"])
        await run(a.dispatcher.offer("twice"))
        const one = await claimSoon(a.dispatcher, 5, 2000)
        expect(one?.jobId).toBe("twice")
        expect(await claimSoon(a.dispatcher, 5)).toBeUndefined()
        await run(one!.release)
      })
    })

    it("a held job is not adopted; once released it is", async () => {
      await withSetup(async (setup, enqueue) => {
        const a = await setup.instance()
        const b = setup.shared ? await setup.instance() : a
        await enqueue(a.dispatcher, ["held"])
        const claim = await claimSoon(a.dispatcher, 1, 2000)
        expect(claim?.jobId).toBe("held")
        expect(Option.isNone(await run(b.dispatcher.adopt("held")))).toBe(true)
        await run(claim!.release)
        const adopted = await run(b.dispatcher.adopt("held"))
        expect(Option.isSome(adopted)).toBe(true)
        // Held for recovery: nobody claims it meanwhile.
        expect(await claimSoon(a.dispatcher, 5)).toBeUndefined()
        await run(Option.getOrThrow(adopted).release)
      })
    })

    it("an instance that stops loses its claims: they expire and another instance adopts them", async () => {
      await withSetup(async (setup, enqueue) => {
        if (!setup.shared) return // one process: nothing outlives it
        const a = await setup.instance()
        const b = await setup.instance()
        await enqueue(a.dispatcher, ["orphan"])
        const claim = await claimSoon(a.dispatcher, 1, 2000)
        expect(claim?.jobId).toBe("orphan")
        // While a lives (renewing), its claim holds, also past the lease's first term.
        expect(await claimSoon(b.dispatcher, 5, 1500)).toBeUndefined()
        expect(Option.isNone(await run(b.dispatcher.adopt("orphan")))).toBe(true)
        await a.stop()
        expect(await run(b.dispatcher.expired)).toContain("orphan")
        const adopted = await run(b.dispatcher.adopt("orphan"))
        expect(Option.isSome(adopted)).toBe(true)
        expect(Option.isNone(await run(b.dispatcher.adopt("orphan")))).toBe(true)
        await run(Option.getOrThrow(adopted).release)
        // Released, the still-queued job is claimable again (and the expired lease is gone).
        expect((await claimSoon(b.dispatcher, 1, 2000))?.jobId).toBe("orphan")
      })
    })
  })
}
