/**
 * `transact` with a known job (src/internal/transact.ts): the job a caller has just written spares
 * a load, and must never change a decision: stale or not, the outcome and the stored job are those
 * of a transact that loads.
 */
import { Clock, Effect, PubSub } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Dispatcher, JobStore, Phase, Policy, ResultStore, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import type { Phase as PhaseT } from "@uws-kit/core/Phase"
import type { TimedEventType } from "../src/ServiceEvents.js"
import type { JobChange } from "../src/Uws.js"
import { makeSchedule } from "../src/internal/deadlines.js"
import { makeRuns } from "../src/internal/runs.js"
import { makeTransact } from "../src/internal/transact.js"
import { makeWaiters } from "../src/internal/waiters.js"
import { testJob } from "../src/testing.js"

const job = (phase: PhaseT, version: number): Job =>
  testJob({ creationTime: 1_000, startTime: phase === "EXECUTING" || phase === "SUSPENDED" ? 2_000 : null, executionDuration: 60, phase, version })

const noDeadlines = { destruction: null, execution: null }

/** A transact over a fresh memory store holding `stored`. */
const makeOne = (stored: Job) =>
  Effect.gen(function* () {
    const store = JobStore.makeMemory()
    yield* store.insert(stored, noDeadlines)
    const clock = yield* Effect.clock
    const transact = makeTransact({
      store,
      results: ResultStore.makeMemory(),
      dispatcher: yield* Dispatcher.makeInProcess(),
      policy: Policy.defaults,
      worker: Worker.noop,
      now: Clock.currentTimeMillis,
      runs: makeRuns(),
      waiters: makeWaiters(clock),
      schedule: yield* makeSchedule(store, clock, Infinity),
      changes: yield* PubSub.unbounded<JobChange>()
    })
    return { store, transact }
  })

const events: ReadonlyArray<TimedEventType> = ["RUN", "START", "ABORT", "HOLD", "SUSPEND", "RESUME", "ARCHIVE"]

describe("transact with a known job", () => {
  it("decides as a transact that loads, whether the known job is the stored one or stale", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Phase.all),
        fc.constantFrom(...Phase.all),
        fc.boolean(),
        fc.constantFrom(...events),
        async (storedPhase, knownPhase, current, type) => {
          const stored = job(storedPhase, 3)
          // The known job is the stored one, or an older version in any phase.
          const known = current ? stored : job(knownPhase, 2)
          const run = (withKnown: boolean) =>
            Effect.runPromise(
              Effect.gen(function* () {
                const { store, transact } = yield* makeOne(stored)
                const outcome = yield* Effect.either(transact.system("j1", type, transact.at(type), withKnown ? known : undefined))
                const after = yield* store.get("j1")
                return {
                  outcome: outcome._tag === "Left" ? outcome.left._tag : outcome.right.job.phase,
                  phase: after?.phase,
                  version: after?.version
                }
              }).pipe(Effect.scoped)
            )
          expect(await run(true)).toEqual(await run(false))
        }
      ),
      { numRuns: 300 }
    )
  })
})
