/**
 * XML Schema simple types as the binding reads and writes them. Reading is strict (what the
 * WSDL promises is what is accepted, with the lexical leniency XML Schema itself allows, such
 * as surrounding whitespace); a value that does not fit gives a message naming the field.
 */
import * as Phase from "@uws-kit/core/Phase"
import type { XmlElement } from "./xml.js"

/** A decoded value, or why it could not be decoded. */
export type Decoded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly reason: string }

const ok = <A>(value: A): Decoded<A> => ({ ok: true, value })
const bad = (reason: string): Decoded<never> => ({ ok: false, reason })

/** `xs:int`. */
export const decodeInt = (text: string): Decoded<number> => {
  const s = text.trim()
  if (!/^[+-]?[0-9]+$/.test(s)) return bad(`"${s}" is not an integer.`)
  const n = Number(s)
  if (n < -2147483648 || n > 2147483647) return bad(`${s} is outside the range of xs:int.`)
  return ok(n)
}

/** `xs:boolean`. */
export const decodeBoolean = (text: string): Decoded<boolean> => {
  switch (text.trim()) {
    case "true":
    case "1":
      return ok(true)
    case "false":
    case "0":
      return ok(false)
    default:
      return bad(`"${text.trim()}" is not a boolean (true, false, 1 or 0).`)
  }
}

const DATE_TIME = /^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$/

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/**
 * `xs:dateTime` to epoch milliseconds. A value without a time zone is taken as UTC, as UWS
 * (§2.2.1) requires of every time; fractions beyond milliseconds are truncated.
 */
export const decodeDateTime = (text: string): Decoded<number> => {
  const s = text.trim()
  const m = DATE_TIME.exec(s)
  if (m === null) return bad(`"${s}" is not an ISO 8601 date-time (e.g. 2030-01-31T12:00:00.000Z).`)
  const [, y, mo, d, h, mi, se, fraction, zone] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(se)
  const millis = fraction === undefined ? 0 : Math.trunc(Number(`0${fraction}`) * 1000)
  const endOfDay = hour === 24 && minute === 0 && second === 0 && millis === 0
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    (hour > 23 && !endOfDay) ||
    minute > 59 ||
    second > 59 ||
    year === 0 // XML Schema 1.0 has no year 0000
  ) {
    return bad(`"${s}" is not a valid date-time.`)
  }
  let offset = 0
  if (zone !== undefined && zone !== "Z") {
    const zh = Number(zone.slice(1, 3))
    const zm = Number(zone.slice(4, 6))
    if (zh > 14 || zm > 59 || (zh === 14 && zm > 0)) return bad(`"${s}" has an invalid time-zone offset.`)
    offset = (zone[0] === "-" ? -1 : 1) * (zh * 60 + zm) * 60_000
  }
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, millis)
  const ms = date.getTime() - offset
  if (!Number.isFinite(ms)) return bad(`"${s}" is outside the range of dates this service handles.`)
  return ok(ms)
}

/** Epoch milliseconds as ISO 8601 UTC with milliseconds and `Z` (UWS 1.1 §2.2.1). */
export const formatDateTime = (ms: number): string => new Date(ms).toISOString()

/** `uws:ExecutionPhase`, read leniently as to case (UWS services accept `executing`). */
export const decodePhase = (text: string): Decoded<Phase.Phase> => {
  const phase = Phase.parse(text)
  return phase === undefined ? bad(`"${text.trim()}" is not a UWS phase (${Phase.all.join(", ")}).`) : ok(phase)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** `xs:base64Binary`. */
export const decodeBase64 = (text: string): Decoded<Uint8Array> => {
  const s = text.replace(/[ \t\n\r]/g, "")
  if (s.length % 4 !== 0 || !BASE64.test(s)) return bad("the content is not base64.")
  try {
    const binary = atob(s)
    const bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
    return ok(bytes)
  } catch {
    return bad("the content is not base64.")
  }
}

/** Whether an element is `xsi:nil="true"`. */
export const isNil = (element: XmlElement): boolean => {
  const value = element.attributes.find((a) => a.ns === "http://www.w3.org/2001/XMLSchema-instance" && a.local === "nil")?.value
  return value !== undefined && (value.trim() === "true" || value.trim() === "1")
}
