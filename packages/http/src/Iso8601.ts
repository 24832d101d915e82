/**
 * The one ISO 8601 reader and writer of the HTTP bindings: REST's `DESTRUCTION`, job-list
 * `AFTER` and v0.3 `TIME=`, and SOAP's `xsd:dateTime` fields all go through {@link parse}, and
 * every instant a binding writes goes through {@link format}.
 *
 * UWS 1.1 §2.2.1 wants UTC instants with a `Z`; the v0.3 draft says "in ISO 8601". What clients
 * send in practice is wider, so the reader accepts (after trimming surrounding white space):
 *
 * - extended forms `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `YYYY-MM-DDThh:mm:ss`
 *   and `YYYY-MM-DDThh:mm:ss.f…` (1 to 9 fraction digits, `.` or `,`), with `T`, `t` or a space
 *   between date and time;
 * - the basic forms `YYYYMMDD` and `YYYYMMDDThhmm[ss[.f…]]`;
 * - an optional zone after a time: `Z`/`z`, or a numeric offset `±hh`, `±hh:mm`, `±hhmm` (at
 *   most 14 hours), converted to UTC. A value without a zone is read as UTC (UWS times are UTC),
 *   or in the offset a caller gives ({@link Options}: the archive's configured zone).
 *
 * It refuses, with a message saying why: impossible dates (`2015-02-30`, `2015-26-10`), hour 24
 * and leap seconds (a JavaScript instant cannot hold them), instants outside years 0000–9999,
 * and anything else (the empty string included). Fractions are truncated to milliseconds, which
 * keeps "created strictly after" exact for millisecond creation times (pyvo sends microseconds).
 * Every instant is written back in UTC with `Z`, never with the offset it came with.
 *
 * @since 0.1.0
 */
import { Either } from "effect"

const EXTENDED =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/
const BASIC = /^(\d{4})(\d{2})(\d{2})(?:[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/

const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31

const num = (s: string | undefined, fallback: number): number => (s === undefined ? fallback : Number(s))

const FIRST = (() => {
  const d = new Date(0)
  d.setUTCFullYear(0, 0, 1)
  d.setUTCHours(0, 0, 0, 0)
  return d.getTime()
})()
const LAST = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/**
 * How {@link parse} reads a value written without a zone.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The zone offset of a value written without one, in minutes east of UTC (`180` = +03:00); 0 by default. */
  readonly defaultOffsetMinutes?: number
}

/**
 * Whether a text has the form of a date or instant {@link parse} reads (surrounding white space
 * aside), whether or not its values are possible: for a reader that also takes other forms and
 * must tell which one the sender meant.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isForm = (input: string): boolean => {
  const text = input.trim()
  return EXTENDED.test(text) || BASIC.test(text)
}

/**
 * Reads an ISO 8601 instant as epoch milliseconds, or explains in a sentence why it cannot.
 *
 * @since 0.1.0
 * @category parsing
 * @example
 * import { Iso8601 } from "@uws-kit/http"
 * Iso8601.parse("2026-11-23T10:00:00.123456Z") // Either.right(1795428000123)
 * Iso8601.parse("2030-01-06T00:00:00+01:00") // the instant 2030-01-05T23:00:00.000Z
 */
export const parse = (input: string, options?: Options): Either.Either<number, string> => {
  const text = input.trim()
  const m = EXTENDED.exec(text) ?? BASIC.exec(text)
  if (m === null) {
    return Either.left(`"${input}" is not an ISO 8601 date or instant (e.g. 2026-01-31T12:00:00Z).`)
  }
  const zone = m[8]
  let offset = zone === undefined ? (options?.defaultOffsetMinutes ?? 0) * 60_000 : 0
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "")
    const zh = Number(digits.slice(0, 2))
    const zm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
    if (zm > 59 || zh * 60 + zm > 14 * 60) return Either.left(`"${input}" has a UTC offset beyond ±14:00.`)
    offset = (zone[0] === "-" ? -1 : 1) * (zh * 60 + zm) * 60_000
  }
  const year = Number(m[1])
  const month = num(m[2], 1)
  const day = num(m[3], 1)
  const hour = num(m[4], 0)
  const minute = num(m[5], 0)
  const second = num(m[6], 0)
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0").slice(0, 3))
  if (month < 1 || month > 12) return Either.left(`"${input}" has no month ${month}.`)
  if (day < 1 || day > daysIn(year, month)) return Either.left(`"${input}" is not a day of the calendar.`)
  if (hour > 23 || minute > 59 || second > 59) return Either.left(`"${input}" is not a time of day (00:00:00 to 23:59:59).`)
  const date = new Date(0)
  // setUTCFullYear, because Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, millis)
  const utc = date.getTime() - offset
  if (!(utc >= FIRST && utc <= LAST)) return Either.left(`"${input}" is outside the years 0000 to 9999.`)
  return Either.right(utc)
}

/**
 * Writes an instant the way UWS 1.1 shows it: UTC, milliseconds, `Z`
 * (`2026-11-23T10:00:00.000Z`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (millis: number): string => new Date(millis).toISOString()

/**
 * {@link format}, or the empty string for `null` (the `/destruction` and `/quote` resources are
 * empty when there is no value, UWS 1.1 §2.1.5/§2.1.6).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatOrEmpty = (millis: number | null): string => (millis === null ? "" : format(millis))
