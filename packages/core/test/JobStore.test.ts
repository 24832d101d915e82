import { Effect } from "effect"
import { expect, it } from "vitest"
import { JobStore } from "@uws-kit/core"
import { testJobStore } from "@uws-kit/core/JobStoreSuite"

testJobStore({ name: "memory", make: async () => JobStore.makeMemory() })

it("the memory store answers LAST and PHASE listings from its indexes at scale", async () => {
  // Not a timing test: it checks the answers on a store big enough that a planner mistake
  // (a full scan or a sort of everything) would still be correct but visible in `npm run bench`.
  const store = JobStore.makeMemory()
  const n = 20_000
  for (let i = 0; i < n; i++) {
    await Effect.runPromise(
      store.insert({
        jobId: `j${String(i).padStart(6, "0")}`, runId: null, ownerId: i % 2 === 0 ? "alice" : null, quote: null,
        creationTime: i, startTime: null, endTime: null, executionDuration: 0, destruction: null,
        parameters: [], results: [], errorSummary: null, jobInfo: null,
        phase: i % 1000 === 0 ? "EXECUTING" : "COMPLETED", version: 0
      }, { destruction: null, execution: null })
    )
  }
  const last = await Effect.runPromise(store.list({ last: 3, ownerId: "alice" }))
  expect(last.jobs.map((j) => j.jobId)).toEqual(["j019998", "j019996", "j019994"])
  const executing = await Effect.runPromise(store.list({ phases: ["EXECUTING"] }))
  expect(executing.jobs).toHaveLength(20)
  expect(executing.jobs[0]!.jobId).toBe("j019000")
})
