/**
 * The v0.3 two-phase commit through the service: a PENDING job's quote follows its parameters
 * and its destruction time; RUN (= accepting the quote) freezes it and records when; a quote
 * past the destruction time is not accepted; the reaper ends a job through its termination.
 * Time is Effect's TestClock, so instants are exact.
 */
import { Effect, Either, Layer, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Identity, Job as Jobs, JobStore, QuoteMachine, ResultStore, TerminationMachine, Uws, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import type { Policy } from "@uws-kit/core/Policy"
import { propertyRuns } from "@uws-kit/core/testing"

const stores = Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)
const caller = Identity.anonymous
const HOUR = 3_600_000

/** Predicts N seconds for a job with parameter N, "don't know" without one. */
const worker = Worker.make({
  name: "predictable",
  quote: (job) => {
    const n = Jobs.parameter(job, "N")
    return n === undefined ? null : Number(n)
  },
  run: () => Effect.succeed([{ id: "out", href: "https://example.org/out" }])
})

/** The same application, but its runs never end: an accepted job stays running while the test goes on. */
const endless = Worker.make({ name: "endless", quote: worker.quote!, run: () => Effect.never })

const withService = <A, E>(f: (uws: Uws.UwsService) => Effect.Effect<A, E>, policy: Partial<Policy> = {}, app: Worker.Worker = worker) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const uws = yield* Uws.make({ worker: app, policy: { defaultDestructionLifetime: 3600, maxDestructionLifetime: 86_400, ...policy } })
      return yield* f(uws)
    }).pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))
  )

const quoteOf = (job: Job) => QuoteMachine.ofJob(job)
const refusal = <A>(e: Either.Either<A, { readonly _tag: string; readonly message: string }>) =>
  Either.isLeft(e) ? `${e.left._tag}: ${e.left.message}` : "accepted"

describe("the two-phase commit", () => {
  it("create → change parameters → the quote changes → accept → runs with the accepted quote recorded", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const created = yield* uws.create(caller, { parameters: [{ name: "N", value: "10" }] })
        expect(quoteOf(created)).toEqual({ status: "estimated", quote: 10_000, acceptedAt: null })

        yield* TestClock.adjust(1_000)
        const changed = yield* uws.updateParameters(caller, created.jobId, [{ name: "n", value: "20" }])
        expect(quoteOf(changed)).toEqual({ status: "estimated", quote: 21_000, acceptedAt: null })

        yield* TestClock.adjust(1_000)
        const accepted = yield* uws.run(caller, created.jobId)
        expect(quoteOf(accepted)).toEqual({ status: "accepted", quote: 21_000, acceptedAt: 2_000 })

        const done = yield* uws.waitForChange(caller, created.jobId, { timeout: "indefinitely", untilFinal: true })
        expect(done.phase).toBe("COMPLETED")
        expect(quoteOf(done)).toEqual({ status: "accepted", quote: 21_000, acceptedAt: 2_000 })
      })
    ))

  it("a quote no application can give is 'don't know', and it can be accepted", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const created = yield* uws.create(caller, {})
        expect(quoteOf(created).status).toBe("unknown")
        const accepted = yield* uws.run(caller, created.jobId)
        expect(quoteOf(accepted)).toEqual({ status: "accepted", quote: null, acceptedAt: 0 })
      })
    ))

  it("a quote past the destruction time is refused, changing nothing, until the time or the parameters move", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const created = yield* uws.create(caller, { parameters: [{ name: "N", value: "7200" }] })
        expect(quoteOf(created)).toEqual({ status: "exceeded", quote: 7_200_000, acceptedAt: null })
        const refused = yield* Effect.either(uws.run(caller, created.jobId))
        expect(refusal(refused)).toMatch(/^InvalidTransition: RUN is not allowed in PENDING .*quote .* is past its destruction time/)
        const still = yield* uws.get(caller, created.jobId)
        expect([still.phase, still.version]).toEqual(["PENDING", created.version])

        // A later destruction time makes the same estimate one that can be met.
        const later = yield* uws.setDestruction(caller, created.jobId, 3 * HOUR)
        expect(quoteOf(later).status).toBe("estimated")
        expect(TerminationMachine.ofJob(later)).toEqual({ status: "rescheduled", destruction: 3 * HOUR })
        // And an earlier one makes it exceeded again, without asking the application.
        const earlier = yield* uws.setDestruction(caller, created.jobId, HOUR)
        expect(quoteOf(earlier)).toEqual({ status: "exceeded", quote: 7_200_000, acceptedAt: null })
        const cheaper = yield* uws.updateParameters(caller, created.jobId, [{ name: "N", value: "60" }])
        expect(quoteOf(cheaper)).toEqual({ status: "estimated", quote: 60_000, acceptedAt: null })
        expect((yield* uws.run(caller, created.jobId)).phase).toBe("QUEUED")
      })
    ))

  it("the accepted quote stays what was accepted when the destruction time moves", () =>
    withService(
      (uws) =>
        Effect.gen(function* () {
          const created = yield* uws.create(caller, { parameters: [{ name: "N", value: "600" }] })
          yield* uws.run(caller, created.jobId)
          const moved = yield* uws.setDestruction(caller, created.jobId, 2 * HOUR)
          expect(quoteOf(moved)).toEqual({ status: "accepted", quote: 600_000, acceptedAt: 0 })
        }),
      {},
      endless
    ))
})

describe("termination", () => {
  it("a new job's termination is scheduled; reaching it destroys the job", () =>
    withService((uws) =>
      Effect.gen(function* () {
        const created = yield* uws.create(caller, {})
        expect(TerminationMachine.ofJob(created)).toEqual({ status: "scheduled", destruction: HOUR })
        yield* TestClock.adjust(HOUR)
        expect(refusal(yield* Effect.either(uws.get(caller, created.jobId)))).toMatch(/^JobNotFound/)
      })
    ))

  it("with an archiving policy, reaching it archives the job and the termination is reached", () =>
    withService(
      (uws) =>
        Effect.gen(function* () {
          const created = yield* uws.create(caller, { run: true })
          yield* uws.waitForChange(caller, created.jobId, { timeout: "indefinitely", untilFinal: true })
          yield* TestClock.adjust(HOUR)
          const archived = yield* uws.get(caller, created.jobId)
          expect(archived.phase).toBe("ARCHIVED")
          expect(TerminationMachine.ofJob(archived)).toEqual({ status: "reached", destruction: HOUR })
        }),
      { onDestruction: "archive" }
    ))
})

/**
 * Model-based, through the service: random parameter updates, destruction changes, RUNs and
 * clock jumps on one job; after each step the job's quote is what the model predicts.
 */
type Step =
  | { readonly _tag: "Update"; readonly n: number | null }
  | { readonly _tag: "SetDestruction"; readonly hours: number }
  | { readonly _tag: "Run" }
  | { readonly _tag: "Advance"; readonly ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }).map((n): Step => ({ _tag: "Update", n })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }).map((hours): Step => ({ _tag: "SetDestruction", hours })) },
  { weight: 1, arbitrary: fc.constant<Step>({ _tag: "Run" }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 60_000 }).map((ms): Step => ({ _tag: "Advance", ms })) }
)

describe("model: parameter updates re-estimate the quote, acceptance freezes it", () => {
  it("holds over random steps", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), (steps) =>
        withService(
          (uws) =>
            Effect.gen(function* () {
              const { jobId } = yield* uws.create(caller, {})
              let now = 0
              let n: number | null = null
              let estimatedAt = 0
              let destruction = HOUR
              let accepted: { quote: number | null; at: number } | null = null
              for (const s of steps) {
                if (s._tag === "Advance") {
                  yield* TestClock.adjust(s.ms)
                  now += s.ms
                } else if (s._tag === "Update") {
                  const r = yield* Effect.either(uws.updateParameters(caller, jobId, [{ name: "N", value: s.n === null ? "?" : String(s.n) }]))
                  expect(Either.isRight(r)).toBe(accepted === null)
                  if (accepted === null) [n, estimatedAt] = [s.n, now]
                } else if (s._tag === "SetDestruction") {
                  yield* uws.setDestruction(caller, jobId, now + s.hours * HOUR)
                  destruction = now + s.hours * HOUR
                } else {
                  const predicted = n === null || Number.isNaN(n) ? null : estimatedAt + n * 1000
                  const exceeded = accepted === null && predicted !== null && predicted > destruction
                  const r = yield* Effect.either(uws.run(caller, jobId))
                  // Once accepted the job has left PENDING: RUN again is refused by the job machine.
                  expect(Either.isRight(r)).toBe(accepted === null && !exceeded)
                  if (Either.isRight(r)) accepted = { quote: predicted, at: now }
                }
                const job = yield* uws.get(caller, jobId)
                if (accepted !== null) {
                  expect(quoteOf(job)).toEqual({ status: "accepted", quote: accepted.quote, acceptedAt: accepted.at })
                } else {
                  const predicted = n === null ? null : estimatedAt + n * 1000
                  expect(quoteOf(job)).toEqual({
                    status: predicted === null ? "unknown" : predicted > destruction ? "exceeded" : "estimated",
                    quote: predicted,
                    acceptedAt: null
                  })
                }
              }
            }),
          // An accepted job runs for ever, so the clock alone moves.
          { maxDestructionLifetime: null },
          endless
        )
      ),
      { numRuns: propertyRuns(60) }
    )
  })
})
