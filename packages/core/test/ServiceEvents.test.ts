/**
 * The service's choices of which event to send, as tables written out by hand (like the
 * JobMachine's), and the rules behind them as properties: every chosen sequence is one the
 * machine accepts, from any phase, and ends where the rule says.
 */
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { JobMachine, Phase, Policy, ServiceEvents } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import type { JobEventType } from "@uws-kit/core/JobEvent"
import type { Phase as PhaseT } from "@uws-kit/core/Phase"
import { propertyRuns } from "@uws-kit/core/testing"
import { testJob } from "../src/testing.js"

const job = (phase: PhaseT, overrides: Partial<Job> = {}): Job =>
  testJob({
    creationTime: 1_000,
    startTime: phase === "EXECUTING" || phase === "SUSPENDED" ? 2_000 : null,
    executionDuration: 60,
    destruction: 100_000,
    phase,
    version: 1,
    ...overrides
  })

/** Where a sequence of events leads from a phase through the machine; null when one is refused. */
const follow = (phase: PhaseT, events: ReadonlyArray<JobEventType>): PhaseT | "gone" | null => {
  let at: PhaseT = phase
  for (const type of events) {
    if (type === "DESTROY" || type === "DELETE") return JobMachine.targetOf(at, type) === undefined ? null : "gone"
    const next = JobMachine.targetOf(at, type)
    if (next === undefined) return null
    at = next
  }
  return at
}

const phase = fc.constantFrom(...Phase.all)

describe("RUN, or HOLD when the queue is full", () => {
  const bounded = { maxQueuedJobs: 2 }
  const table: ReadonlyArray<readonly [number | null, PhaseT, number, "RUN" | "HOLD" | "refused"]> = [
    [null, "PENDING", 1_000_000, "RUN"],
    [null, "HELD", 1_000_000, "RUN"],
    [2, "PENDING", 0, "RUN"],
    [2, "PENDING", 1, "RUN"],
    [2, "PENDING", 2, "HOLD"],
    [2, "PENDING", 9, "HOLD"],
    [2, "HELD", 1, "RUN"],
    [2, "HELD", 2, "refused"],
    [0, "PENDING", 0, "HOLD"],
    [0, "HELD", 0, "refused"]
  ]
  it.each(table)("maxQueuedJobs %s, %s, %i queued → %s", (maxQueuedJobs, p, queued, want) => {
    const chosen = ServiceEvents.runEvent({ maxQueuedJobs }, p, queued)
    if (want === "refused") {
      expect(Either.isLeft(chosen)).toBe(true)
      const error = Either.getLeft(chosen).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      expect(error._tag).toBe("QuotaExceeded")
      expect(error.message).toContain(`the queue is full (${queued} jobs)`)
    } else expect(chosen).toEqual(Either.right(want))
  })

  it("counts the queue only when it is bounded", () => {
    expect(ServiceEvents.countsQueue({ maxQueuedJobs: null })).toBe(false)
    expect(ServiceEvents.countsQueue(bounded)).toBe(true)
  })

  it("RUN while there is room, HOLD only for a PENDING job when there is none; the machine accepts the choice", () => {
    fc.assert(
      fc.property(fc.option(fc.nat({ max: 5 })), fc.constantFrom<PhaseT>("PENDING", "HELD"), fc.nat({ max: 8 }), (max, p, queued) => {
        const chosen = ServiceEvents.runEvent({ maxQueuedJobs: max }, p, queued)
        const room = max === null || queued < max
        if (room) expect(chosen).toEqual(Either.right("RUN"))
        else if (p === "PENDING") expect(chosen).toEqual(Either.right("HOLD"))
        else expect(Either.isLeft(chosen)).toBe(true)
        if (Either.isRight(chosen)) expect(JobMachine.targetOf(p, chosen.right)).toBe(chosen.right === "RUN" ? "QUEUED" : "HELD")
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})

describe("destruction: DESTROY, or ABORT then ARCHIVE", () => {
  const due = 100_000
  const table: ReadonlyArray<readonly [PhaseT, "delete" | "archive", ReadonlyArray<string>]> = [
    ["PENDING", "delete", ["DESTROY"]],
    ["EXECUTING", "delete", ["DESTROY"]],
    ["ARCHIVED", "delete", []],
    ["PENDING", "archive", ["ABORT", "ARCHIVE"]],
    ["QUEUED", "archive", ["ABORT", "ARCHIVE"]],
    ["EXECUTING", "archive", ["ABORT", "ARCHIVE"]],
    ["SUSPENDED", "archive", ["ABORT", "ARCHIVE"]],
    ["HELD", "archive", ["ABORT", "ARCHIVE"]],
    ["UNKNOWN", "archive", ["ARCHIVE"]],
    ["COMPLETED", "archive", ["ARCHIVE"]],
    ["ERROR", "archive", ["ARCHIVE"]],
    ["ABORTED", "archive", ["ARCHIVE"]],
    ["ARCHIVED", "archive", []]
  ]
  it.each(table)("%s, onDestruction %s → %j", (p, onDestruction, want) => {
    expect(ServiceEvents.destructionEvents({ onDestruction }, job(p, { destruction: due }), due)).toEqual(want)
  })

  it("nothing before the destruction time, nor for a job kept until deleted", () => {
    expect(ServiceEvents.destructionEvents({ onDestruction: "delete" }, job("PENDING", { destruction: due }), due - 1)).toEqual([])
    expect(ServiceEvents.destructionEvents({ onDestruction: "delete" }, job("PENDING", { destruction: null }), Number.MAX_SAFE_INTEGER)).toEqual([])
  })

  it("goes through the termination machine: an ended termination is never due, a reached one is what archiving keeps", () => {
    for (const terminationStatus of ["reached", "cancelled"] as const) {
      expect(ServiceEvents.destructionEvents({ onDestruction: "delete" }, { ...job("COMPLETED", { destruction: due }), terminationStatus }, due)).toEqual([])
    }
    const rescheduled = { ...job("COMPLETED", { destruction: due }), terminationStatus: "rescheduled" as const }
    expect(ServiceEvents.destruction({ onDestruction: "archive" }, rescheduled, due)).toEqual({
      events: ["ARCHIVE"],
      termination: { status: "reached", destruction: due }
    })
    expect(ServiceEvents.destruction({ onDestruction: "delete" }, rescheduled, due).events).toEqual(["DESTROY"])
  })

  it("from any phase, a due job ends deleted or ARCHIVED through events the machine accepts", () => {
    fc.assert(
      fc.property(phase, fc.constantFrom("delete" as const, "archive" as const), fc.integer({ min: -5, max: 5 }), (p, onDestruction, late) => {
        const events = ServiceEvents.destructionEvents({ onDestruction }, job(p, { destruction: due }), due + late)
        if (late < 0 || p === "ARCHIVED") expect(events).toEqual([])
        else expect(follow(p, events)).toBe(onDestruction === "delete" ? "gone" : "ARCHIVED")
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("ARCHIVE keeps the results only when the policy says so", () => {
    expect(ServiceEvents.event(Policy.make({ archivedResults: "keep" }), "ARCHIVE", 5)).toEqual({ type: "ARCHIVE", at: 5, keepResults: true })
    expect(ServiceEvents.event(Policy.make({ archivedResults: "drop" }), "ARCHIVE", 5)).toEqual({ type: "ARCHIVE", at: 5, keepResults: false })
    expect(ServiceEvents.event(Policy.make({ archivedResults: "keep" }), "ABORT", 5)).toEqual({ type: "ABORT", at: 5 })
  })
})

describe("recovery: RESUME → HOLD → RUN, or FAIL", () => {
  const table: ReadonlyArray<readonly [PhaseT, boolean, ReadonlyArray<string>]> = [
    ["EXECUTING", true, ["HOLD", "RUN"]],
    ["SUSPENDED", true, ["RESUME", "HOLD", "RUN"]],
    ["EXECUTING", false, ["FAIL"]],
    ["SUSPENDED", false, ["FAIL"]],
    ...Phase.all.filter((p) => p !== "EXECUTING" && p !== "SUSPENDED").flatMap((p) => [[p, true, []] as const, [p, false, []] as const])
  ]
  it.each(table)("%s, restartable %s → %j", (p, restartable, want) => {
    expect(ServiceEvents.recoveryEvents(p, restartable)).toEqual(want)
  })

  it("a lost run ends QUEUED again (restartable) or in ERROR, through events the machine accepts", () => {
    fc.assert(
      fc.property(phase, fc.boolean(), (p, restartable) => {
        const events = ServiceEvents.recoveryEvents(p, restartable)
        if (!Phase.running.has(p)) expect(events).toEqual([])
        else expect(follow(p, events)).toBe(restartable ? "QUEUED" : "ERROR")
      }),
      { numRuns: propertyRuns(100) }
    )
  })
})

describe("the execution time-out re-check", () => {
  const table: ReadonlyArray<readonly [number, number | null, number, boolean]> = [
    // duration (s), startTime, now, timed out
    [60, 2_000, 62_000, true],
    [60, 2_000, 61_999, false],
    [60, 2_000, 70_000, true],
    [0, 2_000, Number.MAX_SAFE_INTEGER, false], // unlimited
    [60, null, 1_000_000, false] // never started
  ]
  it.each(table)("duration %is, started %s, at %i → %s", (executionDuration, startTime, now, want) => {
    expect(ServiceEvents.timedOut(job("EXECUTING", { executionDuration, startTime }), now)).toBe(want)
  })

  it("a job is timed out exactly when its start plus its duration has passed", () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.nat({ max: 1_000_000 }), fc.nat({ max: 20_000_000 }), (seconds, start, now) => {
        const timed = ServiceEvents.timedOut(job("EXECUTING", { executionDuration: seconds, startTime: start }), now)
        expect(timed).toBe(seconds > 0 && start + seconds * 1000 <= now)
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})
