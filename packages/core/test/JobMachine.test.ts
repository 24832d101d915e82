import { Either } from "effect"
import fc from "fast-check"
import { getShortestPaths } from "xstate/graph"
import { describe, expect, it } from "vitest"
import { JobEvent as JobEvents, JobMachine, Phase } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import type { JobEvent, JobEventType } from "@uws-kit/core/JobEvent"
import type { Phase as PhaseT } from "@uws-kit/core/Phase"
import { propertyRuns } from "@uws-kit/core/testing"
import { testJob } from "../src/testing.js"

const job = (phase: PhaseT, overrides: Partial<Job> = {}): Job =>
  testJob({
    creationTime: 1_000,
    startTime: phase === "EXECUTING" || phase === "SUSPENDED" ? 2_000 : null,
    executionDuration: 60,
    destruction: 100_000,
    parameters: [{ name: "A", value: "1" }],
    results: phase === "COMPLETED" ? [{ id: "r", size: 3 }] : [],
    phase,
    version: 7,
    ...overrides
  })

const sample = (type: JobEventType, at = 5_000): JobEvent => {
  switch (type) {
    case "UPDATE_PARAMETERS":
      return { type, parameters: [{ name: "a", value: "2" }] }
    case "SET_DESTRUCTION":
      return { type, destruction: 50_000 }
    case "SET_EXECUTION_DURATION":
      return { type, seconds: 30 }
    case "PROGRESS":
      return { type, jobInfo: { progress: "0.5" } }
    case "COMPLETE":
      return { type, at, results: [{ id: "out", size: 1 }] }
    case "PUBLISH_RESULT":
      return { type, result: { id: `partial-${at % 3}`, size: 2 } }
    case "FAIL":
      return { type, at, error: { type: "fatal", message: "boom", hasDetail: false } }
    case "ARCHIVE":
      return { type, at }
    default:
      return { type, at } as JobEvent
  }
}

/**
 * The expected outcome of every (phase, event) pair, written out by hand from UWS 1.1 §2.1.3
 * and the rules: a phase, "same" (accepted, phase unchanged), "gone" (the job is
 * forgotten) or null (refused).
 */
const S = "same" as const
const G = "gone" as const
type Outcome = PhaseT | typeof S | typeof G | null
const expected: Record<PhaseT, Partial<Record<JobEventType, Outcome>>> = {
  PENDING: { RUN: "QUEUED", ABORT: "ABORTED", HOLD: "HELD", FAIL: "ERROR", UPDATE_PARAMETERS: S, SET_DESTRUCTION: S, SET_EXECUTION_DURATION: S, DELETE: G, DESTROY: G },
  QUEUED: { START: "EXECUTING", ABORT: "ABORTED", HOLD: "HELD", FAIL: "ERROR", SET_DESTRUCTION: S, SET_EXECUTION_DURATION: S, DELETE: G, DESTROY: G },
  EXECUTING: { COMPLETE: "COMPLETED", FAIL: "ERROR", ABORT: "ABORTED", TIMEOUT: "ABORTED", HOLD: "HELD", SUSPEND: "SUSPENDED", PROGRESS: S, PUBLISH_RESULT: S, SET_DESTRUCTION: S, DELETE: G, DESTROY: G },
  SUSPENDED: { RESUME: "EXECUTING", FAIL: "ERROR", ABORT: "ABORTED", TIMEOUT: "ABORTED", PROGRESS: S, PUBLISH_RESULT: S, SET_DESTRUCTION: S, DELETE: G, DESTROY: G },
  HELD: { RUN: "QUEUED", ABORT: "ABORTED", SET_DESTRUCTION: S, SET_EXECUTION_DURATION: S, DELETE: G, DESTROY: G },
  COMPLETED: { ARCHIVE: "ARCHIVED", SET_DESTRUCTION: S, DELETE: G, DESTROY: G },
  ERROR: { ARCHIVE: "ARCHIVED", SET_DESTRUCTION: S, DELETE: G, DESTROY: G },
  ABORTED: { ARCHIVE: "ARCHIVED", SET_DESTRUCTION: S, DELETE: G, DESTROY: G },
  UNKNOWN: { ABORT: "ABORTED", ARCHIVE: "ARCHIVED", SET_DESTRUCTION: S, DELETE: G, DESTROY: G },
  ARCHIVED: { DELETE: G, DESTROY: G }
}

const pairs = Phase.all.flatMap((phase) => JobEvents.types.map((event) => [phase, event, expected[phase][event] ?? null] as const))

describe("every (phase, event) pair", () => {
  it.each(pairs)("%s + %s → %s", (phase, type, outcome) => {
    const before = job(phase)
    const decision = JobMachine.decide(before, sample(type))
    if (outcome === null) {
      expect(Either.isLeft(decision)).toBe(true)
      const error = Either.getLeft(decision).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      expect(error._tag).toBe("InvalidTransition")
      expect(error.message).toBe(`${type} is not allowed in ${phase} (job "j1").`)
      return
    }
    expect(Either.isRight(decision)).toBe(true)
    const { job: after, effects } = Either.getOrThrow(decision)
    expect(after.version).toBe(before.version + 1)
    expect(effects).toContain("notify")
    if (outcome === G) {
      expect(effects).toContain("forget")
      expect(effects).toContain("deleteResults")
      expect(effects.includes("cancel")).toBe(Phase.running.has(phase))
    } else {
      expect(after.phase).toBe(outcome === S ? phase : outcome)
      expect(effects).not.toContain("forget")
    }
  })
})

describe("what accepted events do to the job", () => {
  const decide = (phase: PhaseT, event: JobEvent, overrides?: Partial<Job>) =>
    Either.getOrThrow(JobMachine.decide(job(phase, overrides), event))

  it("RUN dispatches; START records the start; COMPLETE the results and the end", () => {
    expect(decide("PENDING", sample("RUN")).effects).toEqual(["dispatch", "notify"])
    expect(decide("QUEUED", { type: "START", at: 3_000 }).job.startTime).toBe(3_000)
    const done = decide("EXECUTING", { type: "COMPLETE", at: 9_000, results: [{ id: "x" }] }).job
    expect([done.results, done.endTime]).toEqual([[{ id: "x" }], 9_000])
  })

  it("ABORT keeps results and stamps the end; aborting a running job cancels it", () => {
    const aborted = decide("EXECUTING", { type: "ABORT", at: 4_000 }, { results: [{ id: "partial" }] })
    expect(aborted.job.results).toEqual([{ id: "partial" }])
    expect(aborted.job.endTime).toBe(4_000)
    expect(aborted.effects).toContain("cancel")
    expect(decide("PENDING", { type: "ABORT", at: 4_000 }).effects).not.toContain("cancel")
  })

  it("TIMEOUT aborts with an error summary that says why", () => {
    const timedOut = decide("EXECUTING", { type: "TIMEOUT", at: 62_000 }).job
    expect(timedOut.phase).toBe("ABORTED")
    expect(timedOut.errorSummary?.message).toContain("execution duration of 60 s")
  })

  it("ARCHIVE drops results (and deletes them) unless asked to keep them", () => {
    const dropped = decide("COMPLETED", { type: "ARCHIVE", at: 1 })
    expect(dropped.job.results).toEqual([])
    expect(dropped.effects).toContain("deleteResults")
    expect(decide("COMPLETED", { type: "ARCHIVE", at: 1, keepResults: true }).job.results).toHaveLength(1)
  })

  it("UPDATE_PARAMETERS replaces values in place, case-insensitively, keeping order", () => {
    const updated = decide(
      "PENDING",
      { type: "UPDATE_PARAMETERS", parameters: [{ name: "b", value: "9" }, { name: "B", value: "10" }] },
      { parameters: [{ name: "A", value: "1" }, { name: "B", value: "2" }, { name: "C", value: "3" }, { name: "b", value: "4" }] }
    ).job
    expect(updated.parameters).toEqual([
      { name: "A", value: "1" },
      { name: "b", value: "9" },
      { name: "B", value: "10" },
      { name: "C", value: "3" }
    ])
  })

  it("PUBLISH_RESULT lists a result while the job runs; COMPLETE keeps it, a final result of the same id replaces it", () => {
    const running = decide("EXECUTING", { type: "PUBLISH_RESULT", result: { id: "part1", size: 1 } }).job
    const again = Either.getOrThrow(JobMachine.decide(running, { type: "PUBLISH_RESULT", result: { id: "part2", size: 2 } })).job
    expect(again.results).toEqual([{ id: "part1", size: 1 }, { id: "part2", size: 2 }])
    const done = Either.getOrThrow(
      JobMachine.decide(again, { type: "COMPLETE", at: 9_000, results: [{ id: "part2", size: 5 }, { id: "final", size: 3 }] })
    ).job
    expect(done.results).toEqual([{ id: "part1", size: 1 }, { id: "part2", size: 5 }, { id: "final", size: 3 }])
    // A new run starts without what an earlier run published.
    expect(decide("QUEUED", { type: "START", at: 3_000 }, { results: [{ id: "old" }] }).job.results).toEqual([])
  })

  it("an error summary always has a detail: /error serves at least its message", () => {
    expect(decide("EXECUTING", sample("FAIL")).job.errorSummary?.hasDetail).toBe(true)
    expect(decide("EXECUTING", { type: "TIMEOUT", at: 62_000 }).job.errorSummary?.hasDetail).toBe(true)
  })

  it("UPDATE_PARAMETERS with a runId sets it", () => {
    expect(decide("PENDING", { type: "UPDATE_PARAMETERS", parameters: [], runId: "night-3" }).job.runId).toBe("night-3")
  })

  it("PROGRESS merges into jobInfo", () => {
    const a = decide("EXECUTING", { type: "PROGRESS", jobInfo: { done: "1" } }, { jobInfo: { step: "load" } }).job
    expect(a.jobInfo).toEqual({ step: "load", done: "1" })
  })
})

const anyEvent: fc.Arbitrary<JobEvent> = fc
  .tuple(fc.constantFrom(...JobEvents.types), fc.integer({ min: 0, max: 1e12 }), fc.boolean())
  .map(([type, at, keep]) => {
    const e = sample(type, at)
    return e.type === "ARCHIVE" ? { ...e, keepResults: keep } : e
  })

describe("the derived transition table", () => {
  it("decides exactly as xstate's transition() over random event sequences", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Phase.all), fc.array(anyEvent, { maxLength: 30 }), (phase, events) => {
        let current = job(phase)
        for (const event of events) {
          const fast = JobMachine.decide(current, event)
          const reference = JobMachine.decideWithXState(current, event)
          expect(fast).toEqual(reference)
          if (Either.isRight(fast)) {
            if (fast.right.effects.includes("forget")) return
            current = fast.right.job
          }
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("lists the events a phase accepts, as the table above", () => {
    for (const phase of Phase.all) {
      expect([...JobMachine.acceptedEvents(phase)].sort()).toEqual(Object.keys(expected[phase]).sort())
    }
  })
})

describe("the machine as a graph", () => {
  it("reaches every phase from PENDING except UNKNOWN, which only a foreign store can hold", () => {
    const paths = getShortestPaths(JobMachine.jobMachine, {
      input: job("PENDING"),
      events: JobEvents.types.map((t) => sample(t)),
      serializeState: (s) => String(s.value)
    })
    const reached = new Set(paths.map((p) => String(p.state.value)))
    expect([...reached].sort()).toEqual(Phase.all.filter((p) => p !== "UNKNOWN").sort())
  })
})
