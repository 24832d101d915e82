/**
 * A strict `application/x-www-form-urlencoded` reader (query strings and form bodies).
 *
 * It follows the WHATWG URL standard's parser (split on `&`, first `=` separates name and value,
 * `+` is a space, `%XX` is a byte, a `%` not followed by two hex digits stays literal), with one
 * difference that matters to us: the decoded bytes must be UTF-8. `URLSearchParams` silently
 * turns bad bytes into U+FFFD, which would store a value the client never sent; here they are an
 * error the client sees.
 */
import { Either } from "effect"

/** Name/value pairs in the order sent. */
export type Pairs = Array<readonly [string, string]>

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const hex = (b: number): number =>
  b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1

const PLUS = 0x2b
const PERCENT = 0x25
const AMP = 0x26
const EQ = 0x3d

/** Decodes bytes[start, end) as one form component; `undefined` when they are not UTF-8. */
const component = (bytes: Uint8Array, start: number, end: number): string | undefined => {
  let simple = true
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b === PLUS || b === PERCENT || b >= 0x80) {
      simple = false
      break
    }
  }
  // ASCII decodes as itself; one decode call, not a string grown a character at a time (which
  // took 7 s for a 16 MB value).
  if (simple) return utf8.decode(bytes.subarray(start, end))
  const out = new Uint8Array(end - start)
  let n = 0
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (b === PLUS) out[n++] = 0x20
    else if (b === PERCENT && i + 2 < end && hex(bytes[i + 1]!) >= 0 && hex(bytes[i + 2]!) >= 0) {
      out[n++] = hex(bytes[i + 1]!) * 16 + hex(bytes[i + 2]!)
      i += 2
    } else out[n++] = b
  }
  try {
    return utf8.decode(out.subarray(0, n))
  } catch {
    return undefined
  }
}

/**
 * Parses form-encoded bytes. A string is taken as the bytes of its characters (a query string
 * is ASCII once percent-encoded; a raw byte in a Node request target arrives as a char < 256).
 */
export const parse = (input: Uint8Array | string): Either.Either<Pairs, string> => {
  const bytes = typeof input === "string" ? latin1(input) : input
  if (bytes === undefined) return Either.left("the query string holds characters that are not percent-encoded UTF-8.")
  const pairs: Pairs = []
  let start = 0
  const length = bytes.length
  while (start <= length) {
    let end = start
    while (end < length && bytes[end] !== AMP) end++
    if (end > start) {
      let eq = start
      while (eq < end && bytes[eq] !== EQ) eq++
      const name = component(bytes, start, eq)
      const value = eq < end ? component(bytes, eq + 1, end) : ""
      if (name === undefined || value === undefined) {
        return Either.left("the form data is not UTF-8 (decode percent-escapes as UTF-8 bytes, e.g. é = %C3%A9).")
      }
      pairs.push([name, value])
    }
    start = end + 1
  }
  return Either.right(pairs)
}

const latin1 = (s: string): Uint8Array | undefined => {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0xff) return undefined
    out[i] = c
  }
  return out
}

/** Serialises pairs (for `Link` URLs); the inverse of {@link parse} on UTF-8 text. */
export const stringify = (pairs: ReadonlyArray<readonly [string, string]>): string => new URLSearchParams(pairs as Array<[string, string]>).toString()
