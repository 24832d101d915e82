/**
 * The dates the archive API accepts: ISO 8601 (`2023-07-21`, `2023-07-21T10:00:00Z`,
 * `2023-07-21T10:00:00.123+03:00`) and the seed's `dd.MM.yyyy` (`21.07.2023`, optionally with
 * ` HH:mm[:ss]`). A date without an offset is read in the archive's zone offset (UTC unless the
 * host says otherwise), at the start of the day when there is no time, as the seed's example
 * (`21.07.2023` → `2023-07-21T00:00:00+03:00`) shows.
 *
 * ISO 8601 is read by `@uws-kit/http`'s one reader (`Iso8601`), so the archive takes exactly the
 * forms the REST and SOAP bindings take; only `dd.MM.yyyy` is the archive's own.
 *
 * The parser is strict: impossible dates (`31.02.2023`, `2023-13-01`, hour 24) are errors, not
 * silently rolled over as `Date.parse` does.
 *
 * @since 0.1.0
 */
import { Iso8601 } from "@uws-kit/http"
import { Either } from "effect"

const RU = /^(\d{2})\.(\d{2})\.(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

const build = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetMinutes: number
): Either.Either<number, string> => {
  if (year < 1) return Either.left("the year must be 0001–9999")
  if (month < 1 || month > 12) return Either.left("the month must be 01–12")
  if (day < 1 || day > daysIn(year, month)) return Either.left(`the month has no day ${day}`)
  if (hour > 23 || minute > 59 || second > 59) return Either.left("the time must be 00:00:00–23:59:59")
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis)
  // Date.UTC maps years 0–99 to 1900–1999; set the year explicitly.
  const d = new Date(utc)
  d.setUTCFullYear(year)
  return Either.right(d.getTime() - offsetMinutes * 60_000)
}

/**
 * Reads a date; `offsetMinutes` is the zone offset for dates written without one (east of UTC
 * positive, `180` for +03:00). Answers epoch milliseconds, or a message naming what is wrong.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string, offsetMinutes = 0): Either.Either<number, string> => {
  const value = text.trim()
  const expected = `"${text}" is not a date (use ISO 8601 such as 2023-07-21 or 2023-07-21T00:00:00Z, or dd.MM.yyyy such as 21.07.2023)`
  if (Iso8601.isForm(value)) return Iso8601.parse(text, { defaultOffsetMinutes: offsetMinutes })
  const ru = RU.exec(value)
  if (ru !== null) {
    const [, d, mo, y, h, mi, s] = ru
    return build(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), 0, offsetMinutes).pipe(
      Either.mapLeft((reason) => `"${text}": ${reason}`)
    )
  }
  return Either.left(expected)
}

/**
 * How the archive renders an instant: ISO 8601 in UTC with milliseconds (`Iso8601.format`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (ms: number): string => Iso8601.format(ms)

/**
 * An instant in the seed's `dd.MM.yyyy` form, in a zone offset (for tests and clients).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatDayMonthYear = (ms: number, offsetMinutes = 0): string => {
  const d = new Date(ms + offsetMinutes * 60_000)
  const pad = (n: number, w = 2) => String(n).padStart(w, "0")
  return `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCFullYear(), 4)}`
}
