/**
 * The watchdog through the service, on Effect's TestClock: whatever the order in which jobs
 * start (each with its own execution duration), end and time passes, a job still running at its
 * deadline is aborted then, and never before. The watchdog sleeps for the earliest deadline it
 * knows and is woken only by an earlier one, so a job that starts while it is idle or asleep,
 * after another has ended, must still be caught.
 */
import { Deferred, Effect, Layer, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { expect, it } from "vitest"
import { Identity, JobStore, ResultStore, Uws, Worker } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"

type Step =
  | { readonly _tag: "start"; readonly seconds: number }
  | { readonly _tag: "finish"; readonly job: number }
  | { readonly _tag: "advance"; readonly ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ _tag: fc.constant("start" as const), seconds: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ _tag: fc.constant("finish" as const), job: fc.nat(15) }),
  fc.record({ _tag: fc.constant("advance" as const), ms: fc.oneof(fc.integer({ min: 0, max: 25_000 }), fc.constantFrom(999, 1_000, 1_001)) })
)

/** Lets the service's fibers (runs, watchdog) do what the last step set going. */
const settle = Effect.repeatN(Effect.yieldNow(), 64)

const scenario = (steps: ReadonlyArray<Step>) =>
  Effect.gen(function* () {
    const finish = new Map<string, Deferred.Deferred<void>>()
    const worker = Worker.make({
      name: "held",
      run: (job) => Effect.as(Deferred.await(finish.get(job.jobId)!), [])
    })
    const uws = yield* Uws.make({ worker, policy: { defaultDestructionLifetime: null, maxDestructionLifetime: null, maxExecutionDuration: 0, concurrency: 64 } })
    /** What the test expects of each job it started: its deadline, and when it was told to finish. */
    const jobs: Array<{ readonly jobId: string; readonly deadline: number; finishedAt: number | null }> = []
    let now = 0
    for (const s of steps) {
      if (s._tag === "start") {
        const jobId = `job-${jobs.length}`
        finish.set(jobId, yield* Deferred.make<void>())
        yield* uws.create(Identity.anonymous, { jobId, executionDuration: s.seconds, run: true })
        jobs.push({ jobId, deadline: now + s.seconds * 1000, finishedAt: null })
      } else if (s._tag === "finish") {
        const job = jobs[s.job]
        if (job === undefined || job.finishedAt !== null) continue
        job.finishedAt = now
        yield* Deferred.succeed(finish.get(job.jobId)!, undefined)
      } else {
        yield* TestClock.adjust(s.ms)
        now += s.ms
      }
      yield* settle
      for (const job of jobs) {
        const phase = (yield* uws.get(Identity.anonymous, job.jobId)).phase
        const expected = job.finishedAt !== null && job.finishedAt < job.deadline ? "COMPLETED" : now >= job.deadline ? "ABORTED" : "EXECUTING"
        expect({ job: job.jobId, now, phase }).toEqual({ job: job.jobId, now, phase: expected })
      }
    }
  }).pipe(Effect.scoped, Effect.provide(Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)), Effect.provide(TestContext.TestContext))

it("aborts each running job at its deadline and never before, however starts, ends and time interleave (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => Effect.runPromise(scenario(steps))),
    { numRuns: propertyRuns(150) }
  )
})

it("regression: a job that starts after the watchdog went idle (the only running job ended) is still aborted at its deadline", async () => {
  await Effect.runPromise(
    scenario([
      { _tag: "start", seconds: 5 },
      { _tag: "finish", job: 0 },
      { _tag: "advance", ms: 1_000 },
      { _tag: "start", seconds: 10 },
      { _tag: "start", seconds: 20 },
      { _tag: "advance", ms: 10_000 },
      { _tag: "advance", ms: 1_000 },
      { _tag: "advance", ms: 10_000 }
    ])
  )
})
