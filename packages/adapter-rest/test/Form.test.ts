/**
 * The strict form-urlencoded reader (`src/internal/form.ts`) and the parameter readers
 * (`src/internal/params.ts`): they agree with the WHATWG parser on every UTF-8 input, refuse
 * what is not UTF-8 instead of inventing U+FFFD, and never throw.
 */
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { propertyRuns } from "@uws-kit/core/testing"
import * as Form from "../src/internal/form.js"
import * as Params from "../src/internal/params.js"
import { isXmlSafe } from "../src/Xml.js"

const text = fc.string({ unit: "binary", maxLength: 12 })
const pairs = fc.array(fc.tuple(text, text), { maxLength: 6 })

const parse = (input: string | Uint8Array) => {
  const r = Form.parse(input)
  if (Either.isLeft(r)) throw new Error(r.left)
  return r.right
}

describe("form-urlencoded", () => {
  it("reads back what URLSearchParams writes, names and values exact (any Unicode)", () => {
    fc.assert(
      fc.property(pairs, (ps) => {
        const encoded = new URLSearchParams(ps).toString()
        expect(parse(encoded)).toEqual(ps)
        expect(parse(new TextEncoder().encode(encoded))).toEqual(ps)
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("agrees with URLSearchParams on any ASCII input it accepts, and refuses only non-UTF-8", () => {
    // ASCII only: with a raw non-ASCII character next to a % or +, Node's URLSearchParams gives
    // U+FFFD where the standard gives the character (see the regression case below).
    const ascii = fc.string({ unit: fc.constantFrom(..."ab=&+%0123456789ABCDEFcdef".split("")), maxLength: 24 })
    fc.assert(
      fc.property(ascii, (input) => {
        const ours = Form.parse(new TextEncoder().encode(input))
        const whatwg = [...new URLSearchParams(input)]
        if (Either.isRight(ours)) expect(ours.right).toEqual(whatwg)
        else {
          // URLSearchParams would have invented a replacement character.
          expect(whatwg.some(([n, v]) => (n + v).includes("\uFFFD"))).toBe(true)
        }
      }),
      { numRuns: propertyRuns(1000) }
    )
  })

  it("keeps raw (unescaped) UTF-8 characters as sent", () => {
    const plain = fc.string({ unit: "binary", maxLength: 8 }).filter((t) => !/[&=+%]/.test(t))
    fc.assert(
      fc.property(fc.array(fc.tuple(plain, plain), { maxLength: 4 }), (ps) => {
        const raw = ps.map(([n, v]) => `${n}=${v}`).join("&")
        expect(parse(new TextEncoder().encode(raw))).toEqual(ps)
      }),
      { numRuns: propertyRuns(300) }
    )
    // Shrunk counterexamples of the comparison with URLSearchParams, which is wrong on them.
    expect(parse(new TextEncoder().encode("%a+aé"))).toEqual([["%a aé", ""]])
    expect(parse(new TextEncoder().encode("%2a%é"))).toEqual([["*%é", ""]])
  })

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = Form.parse(bytes)
        if (Either.isLeft(r)) expect(r.left).toMatch(/UTF-8/)
      }),
      { numRuns: propertyRuns(1000) }
    )
  })

  it("handles the edge cases of the standard", () => {
    expect(parse("")).toEqual([])
    expect(parse("&&a=1&&")).toEqual([["a", "1"]])
    expect(parse("a")).toEqual([["a", ""]])
    expect(parse("=x")).toEqual([["", "x"]])
    expect(parse("a=b=c")).toEqual([["a", "b=c"]])
    expect(parse("a=%zz%4")).toEqual([["a", "%zz%4"]])
    expect(parse("a+b=c+d%2B")).toEqual([["a b", "c d+"]])
    expect(parse("q=%C3%A9")).toEqual([["q", "é"]])
    expect(Either.isLeft(Form.parse("q=%C3"))).toBe(true)
    expect(Either.isLeft(Form.parse("q=%ED%A0%80"))).toBe(true) // an encoded surrogate
    expect(Either.isLeft(Form.parse(new Uint8Array([0x71, 0x3d, 0xc3])))).toBe(true)
    expect(Either.isLeft(Form.parse("q=\u0100"))).toBe(true) // not a byte
  })
})

describe("parameter readers", () => {
  it("EXECUTIONDURATION: whole seconds ≥ 0 (and n.0), else a message", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_147_483_647 }), (n) => {
        expect(Params.parseDuration(String(n))).toEqual(Either.right(n))
        expect(Params.parseDuration(`${n}.0`)).toEqual(Either.right(n))
      }),
      { numRuns: propertyRuns(200) }
    )
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = Params.parseDuration(s)
        if (Either.isRight(r)) expect(Number.isSafeInteger(r.right) && r.right >= 0).toBe(true)
      }),
      { numRuns: propertyRuns(500) }
    )
    for (const bad of ["-1", "1.5", "1e3", "", "ten", "2147483648", "0x10"]) expect(Either.isLeft(Params.parseDuration(bad)), bad).toBe(true)
  })

  it("WAIT: integers ≥ -1, the shortest wins, -1 is indefinitely", () => {
    expect(Params.parseWait([])).toEqual(Either.right(undefined))
    expect(Params.parseWait(["-1"])).toEqual(Either.right("indefinitely"))
    expect(Params.parseWait(["30", "-1", "5"])).toEqual(Either.right(5))
    expect(Params.parseWait(["0"])).toEqual(Either.right(0))
    for (const bad of ["-2", "1.5", "", "soon"]) expect(Either.isLeft(Params.parseWait([bad])), bad).toBe(true)
  })

  it("LAST: integers > 0, the smallest wins", () => {
    expect(Params.parseLast(["10", "3"])).toEqual(Either.right(3))
    for (const bad of ["0", "-1", "x", "1.0", "99999999999999999999"]) expect(Either.isLeft(Params.parseLast([bad])), bad).toBe(true)
  })

  it("creation: control parameters out (any case), the rest kept in order", () => {
    const r = Params.creation([
      ["phase", "run"],
      ["Q", "1"],
      ["RunId", "x"],
      ["q", "2"],
      ["EXECUTIONDURATION", "60"],
      ["Destruction", "2030-01-01T00:00:00Z"]
    ])
    expect(r).toEqual(
      Either.right({
        parameters: [
          { name: "Q", value: "1" },
          { name: "q", value: "2" }
        ],
        runId: "x",
        executionDuration: 60,
        destruction: Date.UTC(2030, 0, 1),
        run: true
      })
    )
    expect(Either.isLeft(Params.creation([["PHASE", "ABORT"]]))).toBe(true)
    expect(Either.isLeft(Params.creation([["RUNID", "a"], ["runid", "b"]]))).toBe(true)
    // An empty DESTRUCTION is a mistake, not "as late as allowed".
    expect(Either.isLeft(Params.creation([["DESTRUCTION", ""]]))).toBe(true)
    expect(Params.creation([["RUNID", "a"], ["runid", "a"]])).toEqual(Either.right({ parameters: [], runId: "a" }))
  })

  it("creation, for any pairs: refused with a reason, or the non-control pairs in order and each control field read once", () => {
    const name = fc.oneof(fc.constantFrom("PHASE", "phase", "RUNID", "RunId", "EXECUTIONDURATION", "executionDuration", "DESTRUCTION", "destruction", "A", "", "x\u0001"), text)
    const value = fc.oneof(fc.constantFrom("RUN", " run ", "ABORT", "10", "600.0", "-1", "2030-01-01T00:00:00Z", "bad", ""), text)
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (ps) => {
        const r = Params.creation(ps)
        const controls = (n: string) => ps.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v)
        const once = (n: string) => (new Set(controls(n)).size > 1 ? "differs" : controls(n)[0])
        const refusable =
          ps.some(([k]) => k === "" || !isXmlSafe(k)) ||
          controls("phase").some((v) => v.trim().toUpperCase() !== "RUN") ||
          ["runid", "executionduration", "destruction"].some((n) => once(n) === "differs") ||
          (once("executionduration") !== undefined && Either.isLeft(Params.parseDuration(once("executionduration")!))) ||
          (once("destruction") !== undefined && Either.isLeft(Params.parseDestruction("DESTRUCTION", once("destruction")!)))
        if (Either.isLeft(r)) {
          expect(refusable).toBe(true)
          expect(r.left.length).toBeGreaterThan(0)
          return
        }
        expect(refusable).toBe(false)
        expect(r.right.parameters).toEqual(ps.filter(([k]) => !Params.isControl(k)).map(([n, v]) => ({ name: n, value: v })))
        expect(r.right.runId).toBe(once("runid"))
        expect(r.right.run ?? false).toBe(controls("phase").length > 0)
        expect(r.right.executionDuration).toEqual(once("executionduration") === undefined ? undefined : Either.getOrThrow(Params.parseDuration(once("executionduration")!)))
        expect(r.right.destruction).toEqual(once("destruction") === undefined ? undefined : Either.getOrThrow(Params.parseDestruction("DESTRUCTION", once("destruction")!)))
      }),
      { numRuns: propertyRuns(1000) }
    )
  })
})
