import { Either } from "effect"
import fc from "fast-check"
import { getShortestPaths } from "xstate/graph"
import { describe, expect, it } from "vitest"
import { QuoteMachine } from "@uws-kit/core"
import type { QuoteEvent, QuoteEventType, QuoteState, QuoteStatus } from "@uws-kit/core/QuoteMachine"
import { propertyRuns } from "@uws-kit/core/testing"
import { testJob } from "../src/testing.js"

const quote = (status: QuoteStatus, overrides: Partial<QuoteState> = {}): QuoteState => ({
  status,
  quote: status === "unknown" ? null : 40_000,
  acceptedAt: status === "accepted" ? 2_000 : null,
  ...overrides
})

const sample = (type: QuoteEventType, t = 50_000): QuoteEvent => {
  switch (type) {
    case "ESTIMATE":
    case "ESTIMATE_EXCEEDED":
      return { type, quote: t }
    case "ESTIMATE_UNKNOWN":
      return { type }
    case "ACCEPT":
      return { type, at: t }
  }
}

/**
 * Every (status, event) pair, written out by hand from the issue: the status it leads to and
 * whether it commits the job, or null (refused).
 */
type Outcome = readonly [QuoteStatus, "commit" | "-"] | null
const expected: Record<QuoteStatus, Record<QuoteEventType, Outcome>> = {
  unknown: { ESTIMATE: ["estimated", "-"], ESTIMATE_UNKNOWN: ["unknown", "-"], ESTIMATE_EXCEEDED: ["exceeded", "-"], ACCEPT: ["accepted", "commit"] },
  estimated: { ESTIMATE: ["estimated", "-"], ESTIMATE_UNKNOWN: ["unknown", "-"], ESTIMATE_EXCEEDED: ["exceeded", "-"], ACCEPT: ["accepted", "commit"] },
  exceeded: { ESTIMATE: ["estimated", "-"], ESTIMATE_UNKNOWN: ["unknown", "-"], ESTIMATE_EXCEEDED: ["exceeded", "-"], ACCEPT: null },
  accepted: { ESTIMATE: null, ESTIMATE_UNKNOWN: null, ESTIMATE_EXCEEDED: null, ACCEPT: ["accepted", "-"] }
}

const pairs = QuoteMachine.statuses.flatMap((status) =>
  QuoteMachine.eventTypes.map((type) => [status, type, expected[status][type]] as const)
)

describe("every (status, event) pair", () => {
  it.each(pairs)("%s + %s → %j", (status, type, outcome) => {
    const decision = QuoteMachine.decide(quote(status), sample(type))
    if (outcome === null) {
      expect(decision).toEqual(Either.left({ event: type, state: status }))
      return
    }
    const { quote: after, effects } = Either.getOrThrow(decision)
    expect(after.status).toBe(outcome[0])
    expect(effects).toEqual(outcome[1] === "commit" ? ["commit"] : [])
  })
})

describe("what accepted events do to the quote", () => {
  const decide = (q: QuoteState, e: QuoteEvent) => Either.getOrThrow(QuoteMachine.decide(q, e)).quote

  it("an estimate replaces the prediction; an unknown estimate clears it", () => {
    expect(decide(quote("estimated"), { type: "ESTIMATE", quote: 70_000 }).quote).toBe(70_000)
    expect(decide(quote("estimated"), { type: "ESTIMATE_EXCEEDED", quote: 90_000 }).quote).toBe(90_000)
    expect(decide(quote("estimated"), { type: "ESTIMATE_UNKNOWN" }).quote).toBeNull()
  })

  it("acceptance records when, and keeps the prediction accepted (a 'don't know' too)", () => {
    expect(decide(quote("estimated"), { type: "ACCEPT", at: 3_000 })).toEqual({ status: "accepted", quote: 40_000, acceptedAt: 3_000 })
    expect(decide(quote("unknown"), { type: "ACCEPT", at: 3_000 })).toEqual({ status: "accepted", quote: null, acceptedAt: 3_000 })
  })

  it("a second acceptance changes nothing and does not commit again", () => {
    const first = quote("accepted", { quote: 12_000, acceptedAt: 1_000 })
    expect(QuoteMachine.decide(first, { type: "ACCEPT", at: 9_000 })).toEqual(Either.right({ quote: first, effects: [] }))
  })
})

describe("classify", () => {
  const instant = fc.option(fc.integer({ min: 0, max: 1e13 }), { nil: null })
  it("an estimate is unknown without a prediction, exceeded past the destruction time, else estimated", () => {
    fc.assert(
      fc.property(instant, instant, (estimate, destruction) => {
        const event = QuoteMachine.classify(estimate, destruction)
        if (estimate === null) expect(event).toEqual({ type: "ESTIMATE_UNKNOWN" })
        else if (destruction !== null && estimate > destruction) expect(event).toEqual({ type: "ESTIMATE_EXCEEDED", quote: estimate })
        else expect(event).toEqual({ type: "ESTIMATE", quote: estimate })
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("a quote exactly at the destruction time can still be met", () => {
    expect(QuoteMachine.classify(5, 5).type).toBe("ESTIMATE")
  })

  it("estimates a job from the application's prediction, in seconds from now", () => {
    const job = { destruction: 100_000 } as const
    const at = (seconds: number | null) => QuoteMachine.estimate({ quote: () => seconds }, { ...jobOf(), ...job }, 1_000)
    expect(at(10)).toEqual({ type: "ESTIMATE", quote: 11_000 })
    expect(at(1_000)).toEqual({ type: "ESTIMATE_EXCEEDED", quote: 1_001_000 })
    expect(at(null)).toEqual({ type: "ESTIMATE_UNKNOWN" })
    expect(QuoteMachine.estimate({}, jobOf(), 1_000)).toEqual({ type: "ESTIMATE_UNKNOWN" })
  })
})

const jobOf = () => testJob()

const anyEvent: fc.Arbitrary<QuoteEvent> = fc
  .tuple(fc.constantFrom(...QuoteMachine.eventTypes), fc.integer({ min: 0, max: 1e12 }))
  .map(([type, t]) => sample(type, t))

describe("the derived transition table", () => {
  it("decides exactly as xstate's transition() over random event sequences", () => {
    fc.assert(
      fc.property(fc.constantFrom(...QuoteMachine.statuses), fc.array(anyEvent, { maxLength: 30 }), (status, events) => {
        let current = quote(status)
        for (const event of events) {
          const fast = QuoteMachine.decide(current, event)
          expect(fast).toEqual(QuoteMachine.decideWithXState(current, event))
          if (Either.isRight(fast)) current = fast.right.quote
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("lists the events a status accepts, as the table above", () => {
    for (const status of QuoteMachine.statuses) {
      const accepted = QuoteMachine.eventTypes.filter((t) => expected[status][t] !== null)
      expect([...QuoteMachine.acceptedEvents(status)].sort()).toEqual(accepted.sort())
    }
  })
})

describe("the machine as a graph", () => {
  it("reaches every status from unknown", () => {
    const paths = getShortestPaths(QuoteMachine.quoteMachine, {
      input: { quote: null, acceptedAt: null },
      events: QuoteMachine.eventTypes.map((t) => sample(t)),
      serializeState: (s) => String(s.value)
    })
    expect(new Set(paths.map((p) => String(p.state.value)))).toEqual(new Set(QuoteMachine.statuses))
  })

  it("reaches acceptance only through an estimate that can be met (or a 'don't know')", () => {
    const paths = getShortestPaths(QuoteMachine.quoteMachine, {
      input: { quote: null, acceptedAt: null },
      events: QuoteMachine.eventTypes.map((t) => sample(t)),
      serializeState: (s) => String(s.value)
    })
    for (const path of paths.filter((p) => p.state.value === "accepted")) {
      const beforeAccept = path.steps.at(-2)
      expect(beforeAccept === undefined || beforeAccept.state.value !== "exceeded").toBe(true)
    }
  })
})

/**
 * Model-based: a PENDING job's parameters change at random, and so does its destruction time;
 * the quote follows the application's prediction for the parameters as they stand, until the
 * client accepts it; from then on it is frozen at what was accepted. The application predicts
 * from the parameters (seconds = sum of the values), as a real one would.
 */
type Command =
  | { readonly _tag: "Update"; readonly values: ReadonlyArray<number> }
  | { readonly _tag: "Unknowable" }
  | { readonly _tag: "SetDestruction"; readonly destruction: number | null }
  | { readonly _tag: "Accept"; readonly at: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 4 }).map((values): Command => ({ _tag: "Update", values })),
  fc.constant<Command>({ _tag: "Unknowable" }),
  fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: null }).map((destruction): Command => ({ _tag: "SetDestruction", destruction })),
  fc.integer({ min: 0, max: 1_000 }).map((at): Command => ({ _tag: "Accept", at }))
)

describe("model: parameter updates re-estimate the quote, acceptance freezes it", () => {
  it("holds over random command sequences", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const now = 1_000
        let seconds: number | null = null
        let destruction: number | null = 1_000_000
        let state: QuoteState = QuoteMachine.initial
        // The model: what the quote must be.
        let accepted: { quote: number | null; at: number } | null = null
        for (const c of commands) {
          if (c._tag === "Accept") {
            const decision = QuoteMachine.decide(state, { type: "ACCEPT", at: c.at })
            const exceeded = accepted === null && seconds !== null && destruction !== null && now + seconds * 1000 > destruction
            expect(Either.isLeft(decision)).toBe(exceeded)
            if (Either.isRight(decision)) {
              expect(decision.right.effects).toEqual(accepted === null ? ["commit"] : [])
              if (accepted === null) accepted = { quote: state.quote, at: c.at }
              state = decision.right.quote
            }
          } else {
            if (c._tag === "Update") seconds = c.values.reduce((a, b) => a + b, 0)
            else if (c._tag === "Unknowable") seconds = null
            else destruction = c.destruction
            // The service re-estimates only while the quote is open.
            if (QuoteMachine.isOpen(state)) {
              const event = QuoteMachine.estimate({ quote: () => seconds }, { ...jobOf(), destruction }, now)
              state = Either.getOrThrow(QuoteMachine.decide(state, event)).quote
            }
          }
          if (accepted !== null) {
            expect(state).toEqual({ status: "accepted", quote: accepted.quote, acceptedAt: accepted.at })
          } else {
            const predicted = seconds === null ? null : now + seconds * 1000
            expect(state.quote).toBe(predicted)
            expect(state.status).toBe(
              predicted === null ? "unknown" : destruction !== null && predicted > destruction ? "exceeded" : "estimated"
            )
          }
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})
