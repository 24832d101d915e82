import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Job } from "../src/Job.js"
import { makeRuns } from "../src/internal/runs.js"
import { propertyRuns, testJob } from "../src/testing.js"

describe("Runs.queued", () => {
  it("keeps the latest jobs put, up to its bound, the oldest put going first, whatever was taken or put again between", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.constantFrom("put", "take"), fc.integer({ min: 0, max: 12 })), { maxLength: 200 }),
        (kept, steps) => {
          const queued = makeRuns(kept).queued
          // The model: a map in the order of the latest puts, its first key evicted when full.
          const model = new Map<string, Job>()
          for (const [step, n] of steps) {
            const id = `j${n}`
            if (step === "put") {
              const j = testJob({ jobId: id, phase: "QUEUED", version: model.size })
              model.delete(id)
              if (model.size >= kept) model.delete(model.keys().next().value!)
              model.set(id, j)
              queued.put(j)
            } else {
              const expected = model.get(id)
              model.delete(id)
              expect(queued.take(id)).toBe(expected)
            }
          }
          for (const [id, j] of [...model]) expect(queued.take(id)).toBe(j)
        }
      ),
      { numRuns: propertyRuns(200) }
    )
  })
})
