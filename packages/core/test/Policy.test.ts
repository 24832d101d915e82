import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Policy } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"

const policy = fc.record({
  maxExecutionDuration: fc.constantFrom(0, 60, 3_600),
  maxDestructionLifetime: fc.constantFrom(null, 60, 86_400),
  overLimit: fc.constantFrom("clamp" as const, "refuse" as const)
}).map((p) =>
  Policy.make({
    ...p,
    defaultExecutionDuration: p.maxExecutionDuration === 0 ? 0 : p.maxExecutionDuration,
    defaultDestructionLifetime: p.maxDestructionLifetime
  })
)

describe("Policy", () => {
  it("an effective execution duration is never negative and never over the limit", () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: -10, max: 10_000 }), (p, requested) => {
        const d = Policy.executionDuration(p, requested)
        if (requested < 0) {
          expect(Either.isLeft(d)).toBe(true)
          return
        }
        if (Either.isLeft(d)) {
          expect(p.overLimit).toBe("refuse")
          expect(d.left.message).toContain("limit")
          return
        }
        expect(d.right).toBeGreaterThanOrEqual(0)
        if (p.maxExecutionDuration > 0) {
          expect(d.right).toBeGreaterThan(0)
          expect(d.right).toBeLessThanOrEqual(p.maxExecutionDuration)
        } else expect(d.right).toBe(requested)
        if (requested > 0 && (p.maxExecutionDuration === 0 || requested <= p.maxExecutionDuration)) expect(d.right).toBe(requested)
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("a destruction time is in the future and within the lifetime limit, or refused", () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), fc.option(fc.integer({ min: -1e8, max: 1e9 })), (p, created, later, requested) => {
        const now = created + later
        const d = Policy.destruction(p, created, now, requested)
        if (requested !== null && requested <= now) {
          expect(Either.isLeft(d) && d.left.message).toContain("not in the future")
          return
        }
        if (Either.isLeft(d)) {
          expect(p.overLimit).toBe("refuse")
          return
        }
        if (p.maxDestructionLifetime === null) {
          expect(d.right).toBe(requested)
          return
        }
        expect(d.right).not.toBeNull()
        expect(d.right!).toBeLessThanOrEqual(created + p.maxDestructionLifetime * 1000)
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("refuses an inconsistent policy with every problem named", () => {
    expect(() => Policy.make({ concurrency: 0, defaultExecutionDuration: 10, maxExecutionDuration: 5 })).toThrow(
      "Invalid UWS policy: concurrency must be at least 1; defaultExecutionDuration must lie within maxExecutionDuration."
    )
  })
})
