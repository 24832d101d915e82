/**
 * The ISO 8601 reader behind DESTRUCTION, AFTER and TIME=: every form clients send, exact
 * millisecond values, and a clear refusal of everything else (never a throw).
 */
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Iso8601 } from "@uws-kit/http"
import { propertyRuns } from "@uws-kit/core/testing"

const first = new Date(0)
first.setUTCFullYear(0, 0, 1)
first.setUTCHours(0, 0, 0, 0)
const LOW = first.getTime()
const HIGH = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

const instant = fc.integer({ min: LOW, max: HIGH })
const pad = (n: number, width: number) => String(n).padStart(width, "0")

const right = (text: string) => {
  const r = Iso8601.parse(text)
  if (Either.isLeft(r)) throw new Error(`${text}: ${r.left}`)
  return r.right
}

describe("Iso8601.parse", () => {
  it("reads back every instant it writes (format ∘ parse = id)", () => {
    fc.assert(
      fc.property(instant, (t) => {
        expect(right(Iso8601.format(t))).toBe(t)
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("reads extended and basic forms, with or without Z, T or space, fractions of any length (truncated)", () => {
    fc.assert(
      fc.property(
        instant,
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom("T", "t", " "),
        fc.constantFrom("Z", "z", ""),
        fc.boolean(),
        fc.constantFrom(".", ","),
        (t, digits, sep, zone, basic, point) => {
          const d = new Date(t)
          const [Y, M, D, h, m, s, ms] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
          // A random fraction that starts with the milliseconds: truncation must give them back.
          const fraction = digits === 0 ? "" : `${point}${(pad(ms, 3) + "987654").slice(0, digits)}`
          const kept = digits >= 3 ? ms : Number(pad(ms, 3).slice(0, digits).padEnd(3, "0"))
          const expected = t - ms + kept
          const date = basic ? `${pad(Y, 4)}${pad(M, 2)}${pad(D, 2)}` : `${pad(Y, 4)}-${pad(M, 2)}-${pad(D, 2)}`
          const time = basic ? `${pad(h, 2)}${pad(m, 2)}${pad(s, 2)}${fraction}` : `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${fraction}`
          const text = `${date}${basic ? (sep === " " ? "T" : sep) : sep}${time}${zone}`
          expect(right(text)).toBe(expected)
        }
      ),
      { numRuns: propertyRuns(300) }
    )
  })

  it("reads the reduced forms uws-validator sends for AFTER", () => {
    expect(right("2015-10-26T09:15:35")).toBe(Date.UTC(2015, 9, 26, 9, 15, 35))
    expect(right("2015-10-26 09:00")).toBe(Date.UTC(2015, 9, 26, 9, 0))
    expect(right("2015-10-26")).toBe(Date.UTC(2015, 9, 26))
    expect(right("2015")).toBe(Date.UTC(2015, 0, 1))
    expect(right("2015-10")).toBe(Date.UTC(2015, 9, 1))
    expect(right("20151026")).toBe(Date.UTC(2015, 9, 26))
    expect(right("  2026-11-23T10:00:00.123456Z ")).toBe(Date.UTC(2026, 10, 23, 10, 0, 0, 123))
    expect(right("0099-01-01T00:00:00Z")).toBe(Date.parse("0099-01-01T00:00:00Z"))
    expect(right("2024-02-29")).toBe(Date.UTC(2024, 1, 29))
  })

  it("reads numeric UTC offsets as the instant they name, written back in UTC with Z (v0.3: ISO 8601)", () => {
    expect(Iso8601.format(right("2030-01-06T00:00:00+01:00"))).toBe("2030-01-05T23:00:00.000Z")
    expect(right("2015-10-26T09:15:35+00:00")).toBe(Date.UTC(2015, 9, 26, 9, 15, 35))
    expect(right("2015-10-26T09:15-0500")).toBe(Date.UTC(2015, 9, 26, 14, 15))
    expect(right("2015-10-26T09:15:35.5-03")).toBe(Date.UTC(2015, 9, 26, 12, 15, 35, 500))
    expect(right("20151026T0915+0530")).toBe(Date.UTC(2015, 9, 26, 3, 45))
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9000, 0, 1) }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (t, minutes) => {
        // The same instant written in local time at that offset.
        const local = new Date(t + minutes * 60_000).toISOString().slice(0, 23)
        const sign = minutes < 0 ? "-" : "+"
        const zone = `${sign}${pad(Math.floor(Math.abs(minutes) / 60), 2)}:${pad(Math.abs(minutes) % 60, 2)}`
        expect(right(`${local}${zone}`)).toBe(t)
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("refuses impossible dates, times and offsets, the empty string and garbage, saying why", () => {
    const cases: ReadonlyArray<[string, RegExp]> = [
      ["2015-10-26T09:15:35+14:30", /beyond/],
      ["2015-10-26T09:15:35+01:75", /beyond/],
      ["0000-01-01T00:00:00+01:00", /outside the years/],
      ["2015-26-10", /no month 26/],
      ["2015-02-29", /not a day/],
      ["1900-02-29", /not a day/],
      ["2015-04-31", /not a day/],
      ["2015-10-26T24:00:00Z", /time of day/],
      ["2015-10-26T23:59:60Z", /time of day/],
      ["2015-10-26Z", /not an ISO 8601/],
      ["26/10/2015", /not an ISO 8601/],
      ["yesterday", /not an ISO 8601/],
      ["", /not an ISO 8601/],
      ["201510", /not an ISO 8601/],
      ["2015-10-26T09:15:35.1234567890Z", /not an ISO 8601/],
      ["1445850935", /not an ISO 8601/]
    ]
    for (const [text, why] of cases) {
      const r = Iso8601.parse(text)
      expect(Either.isLeft(r), text).toBe(true)
      if (Either.isLeft(r)) expect(r.left, text).toMatch(why)
    }
  })

  it("never throws, any instant it accepts is a real date, and isForm says which refusals are of the form (random text)", () => {
    const isoish = fc.stringMatching(/^[0-9]{0,8}[-T: .,Zz+0-9]{0,20}$/)
    fc.assert(
      fc.property(fc.oneof(fc.string(), isoish), (text) => {
        const r = Iso8601.parse(text)
        // A text of a known form is refused only for its values, and the message says which.
        expect(Either.isLeft(r) && /not an ISO 8601/.test(r.left)).toBe(!Iso8601.isForm(text))
        if (Either.isRight(r)) {
          expect(Number.isFinite(r.right)).toBe(true)
          expect(r.right).toBeGreaterThanOrEqual(LOW)
          expect(r.right).toBeLessThanOrEqual(HIGH)
        } else expect(r.left.length).toBeGreaterThan(0)
      }),
      { numRuns: propertyRuns(1000) }
    )
  })
})

describe("Iso8601.parse with a default offset (the archive's zone)", () => {
  it("property: a value without a zone is read in the default offset; a zone, when given, wins", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9000, 0, 1) }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        fc.constantFrom("Z", "+00:00", "-0000"),
        (t, minutes, utc) => {
          // The same instant written in local time at that offset, without a zone.
          const local = new Date(t + minutes * 60_000).toISOString().slice(0, 23)
          expect(Either.getOrThrow(Iso8601.parse(local, { defaultOffsetMinutes: minutes }))).toBe(t)
          expect(Either.getOrThrow(Iso8601.parse(`${new Date(t).toISOString().slice(0, 23)}${utc}`, { defaultOffsetMinutes: minutes }))).toBe(t)
        }
      ),
      { numRuns: propertyRuns(300) }
    )
    // A date alone is the start of that day in the default offset.
    expect(Iso8601.format(Either.getOrThrow(Iso8601.parse("2023-07-21", { defaultOffsetMinutes: 180 })))).toBe("2023-07-20T21:00:00.000Z")
  })
})

describe("Iso8601.isForm", () => {
  it("tells the forms parse knows from others, whatever the values (see the random-text property)", () => {
    expect(Iso8601.isForm("2015-02-30")).toBe(true)
    expect(Iso8601.isForm(" 20151026T0915+0530 ")).toBe(true)
    expect(Iso8601.isForm("21.07.2023")).toBe(false)
    expect(Iso8601.isForm("2015-10-26Z")).toBe(false)
  })
})

describe("Iso8601.format", () => {
  it("writes UTC with milliseconds and Z; empty for none", () => {
    expect(Iso8601.format(Date.UTC(2014, 8, 10, 10, 1, 2))).toBe("2014-09-10T10:01:02.000Z")
    expect(Iso8601.formatOrEmpty(null)).toBe("")
  })
})
