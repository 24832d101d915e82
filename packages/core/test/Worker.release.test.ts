/**
 * `Worker.release`: called once for every forgotten job (deleted by its owner, destroyed by the
 * reaper at its destruction time), never for one that lives on or is archived; a failing release
 * does not undo the removal. Time is Effect's TestClock.
 */
import { Effect, Layer, TestClock, TestContext } from "effect"
import { describe, expect, it } from "vitest"
import { Identity, JobStore, ResultStore, Uws, Worker } from "@uws-kit/core"
import type { Policy } from "@uws-kit/core/Policy"

const stores = Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)
const caller = Identity.anonymous

const withReleases = <A>(f: (uws: Uws.UwsService, released: Array<string>) => Effect.Effect<A, unknown>, policy: Partial<Policy> = {}, fail = false) => {
  const released: Array<string> = []
  const worker = Worker.make({
    name: "holder",
    run: () => Effect.succeed([]),
    release: (job) => (fail ? Promise.reject(new Error("disk gone")) : Effect.sync(() => void released.push(job.jobId)))
  })
  return Effect.runPromise(
    Effect.gen(function* () {
      const uws = yield* Uws.make({ worker, policy: { defaultDestructionLifetime: 60, maxDestructionLifetime: 3600, ...policy } })
      return yield* f(uws, released)
    }).pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))
  )
}

describe("Worker.release", () => {
  it("is called once when the owner deletes the job, not before", () =>
    withReleases((uws, released) =>
      Effect.gen(function* () {
        const job = yield* uws.create(caller, { run: true })
        yield* uws.waitForChange(caller, job.jobId, { timeout: "indefinitely", untilFinal: true })
        expect(released).toEqual([])
        yield* uws.delete(caller, job.jobId)
        expect(released).toEqual([job.jobId])
      })
    ))

  it("is called when the reaper destroys the job at its destruction time, not a moment earlier", () =>
    withReleases((uws, released) =>
      Effect.gen(function* () {
        const job = yield* uws.create(caller, { run: true })
        yield* TestClock.adjust(59_999)
        expect(released).toEqual([])
        yield* TestClock.adjust(1)
        yield* Effect.yieldNow()
        expect(released).toEqual([job.jobId])
        expect((yield* Effect.either(uws.get(caller, job.jobId)))._tag).toBe("Left")
      })
    ))

  it("is not called for a job archived at its destruction time (it is kept, not forgotten)", () =>
    withReleases(
      (uws, released) =>
        Effect.gen(function* () {
          const job = yield* uws.create(caller, { run: true })
          yield* TestClock.adjust(61_000)
          yield* Effect.yieldNow()
          expect((yield* uws.get(caller, job.jobId)).phase).toBe("ARCHIVED")
          expect(released).toEqual([])
        }),
      { onDestruction: "archive" }
    ))

  it("failing does not bring the job back", () =>
    withReleases(
      (uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(caller, {})
          yield* uws.delete(caller, job.jobId)
          expect((yield* Effect.either(uws.get(caller, job.jobId)))._tag).toBe("Left")
        }),
      {},
      true
    ))
})
