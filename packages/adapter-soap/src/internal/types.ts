/**
 * XML Schema simple types as the binding reads and writes them. Reading is strict (what the
 * WSDL promises is what is accepted, with the lexical leniency XML Schema itself allows, such
 * as surrounding whitespace); a value that does not fit gives a message naming the field.
 */
import * as Phase from "@uws-kit/core/Phase"
import { Iso8601 } from "@uws-kit/http"
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

/**
 * `xs:dateTime` to epoch milliseconds, with the one ISO 8601 reader of the HTTP bindings
 * (`@uws-kit/http`): offsets are converted to UTC, a value without a zone is UTC (UWS §2.2.1),
 * fractions beyond milliseconds are truncated.
 */
export const decodeDateTime = (text: string): Decoded<number> => {
  const r = Iso8601.parse(text)
  return r._tag === "Right" ? ok(r.right) : bad(r.left)
}

/** Epoch milliseconds as ISO 8601 UTC with milliseconds and `Z` (UWS 1.1 §2.2.1). */
export const formatDateTime = (ms: number): string => Iso8601.format(ms)

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
