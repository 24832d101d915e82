import { Either } from "effect"
import fc from "fast-check"
import { getShortestPaths } from "xstate/graph"
import { describe, expect, it } from "vitest"
import { Policy, TerminationMachine } from "@uws-kit/core"
import type {
  TerminationEvent,
  TerminationEventType,
  TerminationState,
  TerminationStatus
} from "@uws-kit/core/TerminationMachine"
import { propertyRuns } from "@uws-kit/core/testing"

const termination = (status: TerminationStatus, destruction: number | null = 100_000): TerminationState => ({ status, destruction })

const sample = (type: TerminationEventType, t = 50_000): TerminationEvent =>
  type === "RESCHEDULE" ? { type, destruction: t } : { type, at: t }

/** Every (status, event) pair, by hand from the issue: the status it leads to and its effects, or null (refused). */
type Outcome = readonly [TerminationStatus, ReadonlyArray<string>] | null
const live: Record<TerminationEventType, Outcome> = {
  RESCHEDULE: ["rescheduled", []],
  REACH_DESTROY: ["reached", ["destroy"]],
  REACH_ARCHIVE: ["reached", ["archive"]],
  CANCEL: ["cancelled", []]
}
const ended: Record<TerminationEventType, Outcome> = { RESCHEDULE: null, REACH_DESTROY: null, REACH_ARCHIVE: null, CANCEL: null }
const expected: Record<TerminationStatus, Record<TerminationEventType, Outcome>> = {
  scheduled: live,
  rescheduled: live,
  reached: ended,
  cancelled: ended
}

const pairs = TerminationMachine.statuses.flatMap((status) =>
  TerminationMachine.eventTypes.map((type) => [status, type, expected[status][type]] as const)
)

describe("every (status, event) pair", () => {
  it.each(pairs)("%s + %s → %j", (status, type, outcome) => {
    const decision = TerminationMachine.decide(termination(status), sample(type))
    if (outcome === null) {
      expect(decision).toEqual(Either.left({ event: type, state: status }))
      return
    }
    const after = Either.getOrThrow(decision)
    expect(after.termination.status).toBe(outcome[0])
    expect(after.effects).toEqual(outcome[1])
    expect(after.termination.destruction).toBe(type === "RESCHEDULE" ? 50_000 : 100_000)
  })
})

describe("policy: scheduling, rescheduling, reaching", () => {
  const day = 86_400
  const clamping = Policy.make({ defaultDestructionLifetime: day, maxDestructionLifetime: 7 * day, overLimit: "clamp" })
  const refusing = Policy.make({ defaultDestructionLifetime: day, maxDestructionLifetime: 7 * day, overLimit: "refuse" })

  it("a new job is scheduled at the default lifetime, or at the time asked for within the limit", () => {
    expect(TerminationMachine.schedule(clamping, 0)).toEqual(Either.right({ status: "scheduled", destruction: day * 1000 }))
    expect(TerminationMachine.schedule(clamping, 0, 5_000)).toEqual(Either.right({ status: "scheduled", destruction: 5_000 }))
    expect(TerminationMachine.schedule(clamping, 0, null)).toEqual(Either.right({ status: "scheduled", destruction: 7 * day * 1000 }))
  })

  it("a time past the limit is clamped, or refused with a reason, as the policy says", () => {
    const far = 30 * day * 1000
    expect(TerminationMachine.reschedule(clamping, 0, 1, far)).toEqual(Either.right({ type: "RESCHEDULE", destruction: 7 * day * 1000 }))
    const refused = TerminationMachine.reschedule(refusing, 0, 1, far)
    expect(Either.isLeft(refused) && refused.left.message).toContain("this service keeps a job at most until")
  })

  it("a time in the past is refused", () => {
    const refused = TerminationMachine.reschedule(clamping, 0, 10_000, 5_000)
    expect(Either.isLeft(refused) && refused.left._tag).toBe("InvalidParameter")
  })

  it("reaching the time destroys or archives the job, per policy", () => {
    const scheduled = termination("scheduled")
    for (const [onDestruction, effect] of [["delete", "destroy"], ["archive", "archive"]] as const) {
      const event = TerminationMachine.reach(Policy.make({ onDestruction }), 100_000)
      expect(Either.getOrThrow(TerminationMachine.decide(scheduled, event)).effects).toEqual([effect])
    }
  })

  it("is due only while live and at or past its time; never without a time", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TerminationMachine.statuses),
        fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: null }),
        fc.integer({ min: 0, max: 1e12 }),
        (status, destruction, now) => {
          const due = TerminationMachine.isDue({ status, destruction }, now)
          expect(due).toBe((status === "scheduled" || status === "rescheduled") && destruction !== null && destruction <= now)
        }
      ),
      { numRuns: propertyRuns(300) }
    )
  })

  it("any reschedule the policy allows stays within its bounds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }), fc.option(fc.integer({ min: 0, max: 2e9 }), { nil: null }), (creation, after, requested) => {
        const now = creation + after
        for (const policy of [clamping, refusing]) {
          const event = TerminationMachine.reschedule(policy, creation, now, requested)
          if (Either.isLeft(event)) continue
          const destruction = event.right.destruction
          const limit = creation + 7 * day * 1000
          expect(destruction).not.toBeNull()
          // In the future, unless clamped to a limit the job has already reached (then it is due now).
          expect(destruction! > now || (policy.overLimit === "clamp" && destruction === limit)).toBe(true)
          expect(destruction!).toBeLessThanOrEqual(limit)
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})

const anyEvent: fc.Arbitrary<TerminationEvent> = fc
  .tuple(fc.constantFrom(...TerminationMachine.eventTypes), fc.integer({ min: 0, max: 1e12 }), fc.boolean())
  .map(([type, t, never]): TerminationEvent => (type === "RESCHEDULE" && never ? { type, destruction: null } : sample(type, t)))

describe("the derived transition table", () => {
  it("decides exactly as xstate's transition() over random event sequences", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TerminationMachine.statuses), fc.array(anyEvent, { maxLength: 30 }), (status, events) => {
        let current = termination(status)
        for (const event of events) {
          const fast = TerminationMachine.decide(current, event)
          expect(fast).toEqual(TerminationMachine.decideWithXState(current, event))
          if (Either.isRight(fast)) current = fast.right.termination
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("lists the events a status accepts, as the table above", () => {
    for (const status of TerminationMachine.statuses) {
      const accepted = TerminationMachine.eventTypes.filter((t) => expected[status][t] !== null)
      expect([...TerminationMachine.acceptedEvents(status)].sort()).toEqual(accepted.sort())
    }
  })
})

describe("the machine as a graph", () => {
  it("reaches every status from scheduled", () => {
    const paths = getShortestPaths(TerminationMachine.terminationMachine, {
      input: { destruction: 100_000 },
      events: TerminationMachine.eventTypes.map((t) => sample(t)),
      serializeState: (s) => String(s.value)
    })
    expect(new Set(paths.map((p) => String(p.state.value)))).toEqual(new Set(TerminationMachine.statuses))
  })
})
