/**
 * The service's WAIT and its `until` (what a binding closing passes): `until` ends only a wait
 * that blocks, answering the job as it then is; a change still ends a wait that has an `until`.
 * Time is Effect's TestClock: nothing here waits for real time.
 */
import { Deferred, Effect, Fiber, Layer, TestContext } from "effect"
import { describe, expect, it } from "vitest"
import { Identity, JobStore, ResultStore, Uws, Worker } from "@uws-kit/core"

const stores = Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)
const caller = Identity.anonymous

const withService = <A, E>(f: (uws: Uws.UwsService) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const uws = yield* Uws.make({ worker: Worker.make({ name: "endless", run: () => Effect.never }) })
      return yield* f(uws)
    }).pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))
  )

/** Runs `wait` in a fiber and lets it reach its block (the test clock never moves here). */
const blocked = <A, E>(wait: Effect.Effect<A, E>) => Effect.tap(Effect.fork(wait), () => Effect.repeatN(Effect.yieldNow(), 20))

describe("WAIT with until", () => {
  it("a blocked wait ends when until completes, with the job as it then is", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const job = yield* uws.create(caller, { parameters: [{ name: "N", value: "1" }] })
        const closing = yield* Deferred.make<void>()
        const fiber = yield* blocked(uws.waitForChange(caller, job.jobId, { timeout: "indefinitely", until: Deferred.await(closing) }))
        expect(fiber.unsafePoll()).toBeNull()
        // A change that does not end the wait (the phase stays PENDING) is stored first.
        yield* uws.setExecutionDuration(caller, job.jobId, 30)
        expect(fiber.unsafePoll()).toBeNull()
        yield* Deferred.succeed(closing, undefined)
        const answered = yield* Fiber.join(fiber)
        expect(answered.phase).toBe("PENDING")
        expect(answered.executionDuration).toBe(30)
      })
    ))

  it("a change of phase still ends a wait that has an until", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const job = yield* uws.create(caller, {})
        const fiber = yield* blocked(uws.waitForChange(caller, job.jobId, { timeout: "indefinitely", until: Effect.never }))
        expect(fiber.unsafePoll()).toBeNull()
        yield* uws.abort(caller, job.jobId)
        expect((yield* Fiber.join(fiber)).phase).toBe("ABORTED")
      })
    ))

  it("a wait that does not block answers at once, whatever until does", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const job = yield* uws.create(caller, {})
        yield* uws.abort(caller, job.jobId)
        expect((yield* uws.waitForChange(caller, job.jobId, { timeout: "indefinitely", until: Effect.never })).phase).toBe("ABORTED")
        // PENDING with the guard PHASE=QUEUED does not block either.
        const other = yield* uws.create(caller, {})
        expect((yield* uws.waitForChange(caller, other.jobId, { timeout: "indefinitely", phase: "QUEUED", until: Effect.never })).phase).toBe("PENDING")
      })
    ))

  it("until ends a wait that is already blocked when the binding has closed before", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const job = yield* uws.create(caller, {})
        expect((yield* uws.waitForChange(caller, job.jobId, { timeout: "indefinitely", until: Effect.void })).phase).toBe("PENDING")
      })
    ))
})
