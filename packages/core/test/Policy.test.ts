import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Errors, Policy } from "@uws-kit/core"
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

describe("Policy size limits", () => {
  const limits = Policy.make({
    maxParametersPerJob: 3,
    maxParameterValueBytes: 8,
    maxParameterBytesPerJob: 20,
    maxUploadBytes: 10,
    maxUploadBytesPerJob: 15
  })
  const p = (name: string, value: string) => ({ name, value })
  const refusal = (e: Either.Either<void, Errors.LimitExceeded>) => (Either.isLeft(e) ? [e.left.limit, e.left.message] : "ok")

  it.each([
    ["nothing", [], [], "ok"],
    ["three parameters", [p("A", "1"), p("B", "2"), p("C", "3")], [], "ok"],
    ["four parameters", [p("A", "1"), p("B", "2"), p("C", "3"), p("D", "4")], [], "maxParametersPerJob"],
    ["two parameters and two uploads", [p("A", "1"), p("B", "2")], [{ name: "F", content: "x" }, { name: "G", content: "y" }], "maxParametersPerJob"],
    ["a value of exactly 8 bytes", [p("A", "12345678")], [], "ok"],
    ["a value of 9 bytes", [p("A", "123456789")], [], "maxParameterValueBytes"],
    ["a value of 3 two-byte characters and 3 ASCII (9 bytes)", [p("A", "ééé123")], [], "maxParameterValueBytes"],
    ["names and values of exactly 20 bytes", [p("AAAA", "12345678"), p("BBBB", "1234")], [], "ok"],
    ["names and values of 21 bytes", [p("AAAA", "12345678"), p("BBBBB", "1234")], [], "maxParameterBytesPerJob"],
    ["an upload of exactly 10 bytes", [], [{ name: "F", content: "0123456789" }], "ok"],
    ["an upload of 11 bytes", [], [{ name: "F", content: new Uint8Array(11) }], "maxUploadBytes"],
    ["uploads of 16 bytes together", [], [{ name: "F", content: "01234567" }, { name: "G", content: "01234567" }], "maxUploadBytesPerJob"],
    ["a streamed upload (measured as it is stored)", [], [{ name: "F", content: new ReadableStream() }], "ok"]
  ] as const)("%s", (_, parameters, uploads, expected) => {
    const r = refusal(Policy.checkParameters(limits, parameters, uploads))
    expect(r === "ok" ? r : r[0]).toBe(expected)
  })

  it("every refusal names the limit and its value", () => {
    expect(refusal(Policy.checkParameters(Policy.defaults, Array.from({ length: 1001 }, (_, i) => p(`P${i}`, "1"))))).toEqual([
      "maxParametersPerJob",
      "Request too large: this service takes at most 1000 parameters per job (got 1001)."
    ])
    expect(refusal(Policy.checkParameters(Policy.defaults, [p("Q", "x".repeat(65_537))]))[1]).toBe(
      'Request too large: this service takes parameter values (and RUNID) of at most 64 KiB (65536 bytes) each (got 65537 bytes in "Q").'
    )
    expect(refusal(Policy.checkRunId(Policy.defaults, "r".repeat(65_537)))[1]).toContain("64 KiB (65536 bytes)")
    expect(refusal(Policy.checkUploadBytes(Policy.defaults, "F", 16 * 1024 * 1024 + 1, 0))[1]).toContain("uploads of at most 16 MiB (16777216 bytes) each")
    expect(refusal(Policy.checkUploadBytes(Policy.defaults, "F", 1, 64 * 1024 * 1024))[1]).toContain("at most 64 MiB (67108864 bytes) of uploads per job")
  })

  it("refuses 3,000,000 parameters without looking at their values", () => {
    const unread = { name: "P", get value(): string { throw new Error("a value was read") } }
    const many = new Array<typeof unread>(3_000_000).fill(unread)
    expect(refusal(Policy.checkParameters(Policy.defaults, many))[0]).toBe("maxParametersPerJob")
  })

  it("counts UTF-8 bytes as TextEncoder does", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 40 }),
          // UTF-16 units one by one: lone and paired surrogates included.
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 })
        ),
        (s) => {
          expect(Policy.utf8Bytes(s)).toBe(new TextEncoder().encode(s).length)
        }
      ),
      { numRuns: propertyRuns(200) }
    )
    // Lone surrogates become U+FFFD (3 bytes), as TextEncoder writes them.
    expect(Policy.utf8Bytes("\ud800")).toBe(3)
    expect(Policy.utf8Bytes("a\udc00b")).toBe(5)
  })

  it("a value at the limit passes and one byte over is refused, whatever the limit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.constantFrom("a", "é", "€", "😀"), (max, unit) => {
        const policy = Policy.make({ maxParameterValueBytes: max })
        const unitBytes = new TextEncoder().encode(unit).length
        const atLimit = unit.repeat(Math.floor(max / unitBytes)) + "a".repeat(max % unitBytes)
        expect(Either.isRight(Policy.checkParameters(policy, [p("A", atLimit)]))).toBe(true)
        expect(refusal(Policy.checkParameters(policy, [p("A", `${atLimit}a`)]))[0]).toBe("maxParameterValueBytes")
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("a count or total at the limit passes and one over is refused, whatever the limits", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 400 }), (count, total) => {
        const policy = Policy.make({ maxParametersPerJob: count, maxParameterBytesPerJob: null })
        const params = (n: number) => Array.from({ length: n }, (_, i) => p(`P${i}`, ""))
        expect(Either.isRight(Policy.checkParameters(policy, params(count)))).toBe(true)
        expect(refusal(Policy.checkParameters(policy, params(count + 1)))[0]).toBe("maxParametersPerJob")
        const bytes = Policy.make({ maxParametersPerJob: null, maxParameterValueBytes: null, maxParameterBytesPerJob: total })
        expect(Either.isRight(Policy.checkParameters(bytes, [p("A", "v".repeat(total - 1))]))).toBe(true)
        expect(refusal(Policy.checkParameters(bytes, [p("A", "v".repeat(total))]))[0]).toBe("maxParameterBytesPerJob")
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("bounds the job document: 6 bytes per character escaped and 80 of markup per parameter", () => {
    expect(Policy.maxJobDocumentBytes(Policy.defaults)).toBe(6 * 256 * 1024 + 80 * 1000)
    expect(Policy.maxJobDocumentBytes({ maxParametersPerJob: null, maxParameterBytesPerJob: 1 })).toBeNull()
  })

  it("refuses a negative or fractional limit", () => {
    expect(() => Policy.make({ maxParametersPerJob: -1, maxUploadBytes: 1.5 })).toThrow(
      "maxParametersPerJob must be null or a whole number ≥ 0; maxUploadBytes must be null or a whole number ≥ 0"
    )
  })
})
