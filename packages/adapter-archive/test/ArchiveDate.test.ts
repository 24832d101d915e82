import { ArchiveDate } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import { Iso8601 } from "@uws-kit/http"
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

const parse = (text: string, offset = 0) => Either.getOrThrowWith(ArchiveDate.parse(text, offset), (e) => new Error(e))

describe("ArchiveDate.parse", () => {
  it("reads the seed's dd.MM.yyyy at the start of the day, in the archive's zone offset", () => {
    expect(new Date(parse("21.07.2023", 180)).toISOString()).toBe("2023-07-20T21:00:00.000Z") // 2023-07-21T00:00:00+03:00
    expect(new Date(parse("21.07.2023")).toISOString()).toBe("2023-07-21T00:00:00.000Z")
    expect(new Date(parse("21.07.2023 13:45", 180)).toISOString()).toBe("2023-07-21T10:45:00.000Z")
  })

  it("reads ISO 8601 dates, date-times and offsets", () => {
    expect(new Date(parse("2023-07-21")).toISOString()).toBe("2023-07-21T00:00:00.000Z")
    expect(new Date(parse("2023-07-21T00:00:00+03:00")).toISOString()).toBe("2023-07-20T21:00:00.000Z")
    expect(new Date(parse("2023-07-21T12:30:15.5Z")).toISOString()).toBe("2023-07-21T12:30:15.500Z")
    expect(new Date(parse("2023-05-30T20:00:35.17556+03:00")).toISOString()).toBe("2023-05-30T17:00:35.175Z") // the seed's precision
    expect(new Date(parse("2023-07-21T12:30", 60)).toISOString()).toBe("2023-07-21T11:30:00.000Z")
    expect(new Date(parse("2023-07-21 12:30:00-0230")).toISOString()).toBe("2023-07-21T15:00:00.000Z")
  })

  it("refuses impossible and malformed dates with a message, instead of rolling them over", () => {
    for (const bad of ["31.02.2023", "29.02.2023", "2023-13-01", "2023-00-10", "2023-07-21T24:00:00Z", "2023-07-21T12:60Z", "21/07/2023", "tomorrow", "", "2023-7-21", "1.7.2023", "2023-07-21T12:00:00+25:00"]) {
      const r = ArchiveDate.parse(bad)
      expect(Either.isLeft(r), bad).toBe(true)
      if (Either.isLeft(r)) expect(r.left).toContain(bad === "" ? "not a date" : bad)
    }
    expect(Either.isRight(ArchiveDate.parse("29.02.2024"))).toBe(true)
  })

  it("property: any instant written either way reads back as that instant (at second precision for dd.MM.yyyy HH:mm:ss)", () => {
    const instant = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31) })
    const offset = fc.integer({ min: -12 * 60, max: 14 * 60 }).map((m) => m - (m % 15))
    fc.assert(
      fc.property(instant, offset, (ms, off) => {
        expect(parse(new Date(ms).toISOString())).toBe(ms)
        const day = ms - (((ms + off * 60_000) % 86_400_000) + 86_400_000) % 86_400_000
        expect(parse(ArchiveDate.formatDayMonthYear(ms, off), off)).toBe(day)
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("property: reads ISO 8601 exactly as the REST and SOAP bindings do (the one reader), in the archive's zone when none is given", () => {
    const iso = fc.oneof(
      fc.stringMatching(/^\d{4}(-\d{2}(-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,4})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$/),
      fc.stringMatching(/^\d{8}(T\d{4}(\d{2})?(Z|[+-]\d{4})?)?$/)
    )
    fc.assert(
      fc.property(iso, fc.integer({ min: -12 * 60, max: 14 * 60 }), (text, offset) => {
        expect(ArchiveDate.parse(text, offset)).toStrictEqual(Iso8601.parse(text, { defaultOffsetMinutes: offset }))
      }),
      { numRuns: propertyRuns(500) }
    )
    // ISO 8601 puts a zone on a time of day, never on a date alone.
    expect(Either.isLeft(ArchiveDate.parse("2023-07-21+03:00"))).toBe(true)
    expect(parse("2023-07-21T00:00+03:00")).toBe(Date.UTC(2023, 6, 20, 21))
  })

  it("property: never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9.:TZ+ -]{0,30}$/)), (text) => {
        const r = ArchiveDate.parse(text)
        if (Either.isRight(r)) expect(Number.isFinite(r.right)).toBe(true)
      }),
      { numRuns: propertyRuns(500) }
    )
  })
})
