/**
 * The ADQL subset's parser: printing a query and parsing it back gives the same query; any text
 * at all either parses or fails with an `AdqlError` giving a line, a column and what was
 * expected (never another exception); a few errors read as they should.
 */
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { AdqlError, parse, print } from "../../examples/adql/Adql.js"
import { translate } from "../../examples/adql/Sql.js"
import { anyShape, catalogueShape, query, withoutPositions } from "./adqlArbitraries.js"

const runs = propertyRuns(200)

/** Parses and translates; only an AdqlError may come out. */
const attempt = (text: string): "ok" | AdqlError => {
  try {
    translate(text, parse(text))
    return "ok"
  } catch (e) {
    if (e instanceof AdqlError) return e
    throw e
  }
}

describe("ADQL parser", () => {
  it("parses what it prints back to the same query", () => {
    fc.assert(
      fc.property(query(anyShape), (q) => {
        expect(withoutPositions(parse(print(q)))).toEqual(withoutPositions(q))
      }),
      { numRuns: runs }
    )
  })

  it("translates every printed catalogue query into SQL with one bound value per ?", () => {
    fc.assert(
      fc.property(query(catalogueShape), (q) => {
        const text = print(q)
        const translated = translate(text, parse(text))
        expect(translated.sql.split("?").length - 1).toBe(translated.params.length)
      }),
      { numRuns: runs }
    )
  })

  it("answers garbage with an AdqlError at a position inside the text, never a crash", () => {
    const mutated = fc.tuple(query(catalogueShape).map(print), fc.nat(), fc.nat(6), fc.string({ maxLength: 3 })).map(([text, at, cut, insert]) => {
      const i = at % (text.length + 1)
      return text.slice(0, i) + insert + text.slice(i + cut)
    })
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), mutated), (text) => {
        const outcome = attempt(text)
        if (outcome !== "ok") {
          const lines = text.split("\n")
          expect(outcome.line).toBeGreaterThanOrEqual(1)
          expect(outcome.line).toBeLessThanOrEqual(lines.length)
          expect(outcome.column).toBeGreaterThanOrEqual(1)
          expect(outcome.column).toBeLessThanOrEqual(lines[outcome.line - 1]!.length + 1)
          expect(outcome.message).toMatch(/^ADQL error at line \d+, column \d+: ./)
        }
      }),
      { numRuns: runs * 3 }
    )
  })

  it("refuses nesting and lengths that would exhaust the stack, with an AdqlError", () => {
    for (const text of [
      `SELECT * FROM stars WHERE ${"(".repeat(5000)}ra > 1${")".repeat(5000)}`,
      `SELECT * FROM stars WHERE ${"-".repeat(5000)}ra > 1`,
      `SELECT * FROM stars WHERE ${"NOT ".repeat(5000)}ra > 1`,
      `SELECT * FROM stars WHERE ra > ${Array(100_000).fill("1").join(" + ")}`
    ]) {
      expect(attempt(text)).toBeInstanceOf(AdqlError)
    }
  })

  it.each([
    ["SELECT", "ADQL error at line 1, column 7: expected one of *, a name, found the end of the query"],
    ["SELECT ra FROM stars WHERE", "ADQL error at line 1, column 27: expected one of NOT, -, a number, a name, CONTAINS, (, found the end of the query"],
    ["SELECT ra\nFROM stars WHERE ra >", "ADQL error at line 2, column 22: expected one of -, a number, a name, CONTAINS, (, found the end of the query"],
    ["SELECT ra FROM stars LIMIT 3", 'ADQL error at line 1, column 22: expected the end of the query (or WHERE, ORDER BY), found "LIMIT"'],
    ["SELECT TOP 1.5 ra FROM stars", "ADQL error at line 1, column 12: TOP takes a whole number of rows, not 1.5"],
    ["SELECT ra FROM stars WHERE ra # 3", 'ADQL error at line 1, column 31: unexpected character "#"'],
    ["SELECT ra FROM stars WHERE ra", "ADQL error at line 1, column 28: expected a condition here (a comparison, BETWEEN, or CONTAINS(…) = 1), found a value"],
    ["SELECT nope FROM stars", 'ADQL error at line 1, column 8: no column "nope" in stars; its columns are id, ra, dec, mag, bv, plx'],
    ["SELECT ra FROM galaxies", 'ADQL error at line 1, column 16: no table "galaxies"; the one table is stars'],
    ["SELECT * FROM stars WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 1, 2, 3)) = 2", "ADQL error at line 1, column 27: CONTAINS(…) can only be compared with = 1 (inside) or = 0 (outside)"],
    ["SELECT * FROM stars WHERE CONTAINS(POINT('GALACTIC', ra, dec), CIRCLE('ICRS', 1, 2, 3)) = 1", "ADQL error at line 1, column 42: only the 'ICRS' frame is served, not 'GALACTIC'"],
    ["SELECT * FROM stars WHERE ra + CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 1, 2, 3)) > 1", "ADQL error at line 1, column 32: CONTAINS(…) can only be compared: CONTAINS(…) = 1 or CONTAINS(…) = 0"]
  ])("explains %j", (text, message) => {
    expect(attempt(text)).toEqual(expect.objectContaining({ message }))
  })
})
