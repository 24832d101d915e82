/**
 * A workaround for @effect/platform 0.97's multipart parser (multipasta): it reads part headers as
 * UTF-8 and then accepts only Latin-1 in quoted parameters, so a part whose file name is raw UTF-8
 * (`filename="Договор.pdf"`, what curl and browsers send) loses its name *and* its field name and
 * turns into a nameless text field. Its parser does understand RFC 5987 `filename*=UTF-8''…`.
 *
 * This transform finds the part header blocks in the byte stream (it only follows the multipart
 * framing: delimiters and the blank line that ends a header block; bodies pass through untouched)
 * and rewrites a non-ASCII `filename="…"` of a Content-Disposition header into
 * `filename*=UTF-8''<percent-encoded>`. Everything else is passed through byte for byte.
 *
 * It also works around a second defect of the same parser: a body that ends (or fails) inside a
 * file part makes the part's stream wait forever, so a client that drops its upload would leave a
 * request fiber and its spooled file behind. When the source ends early or fails, the transform
 * closes the multipart framing itself and reports the cut through `onCut`; the caller must then
 * refuse the upload (the last part is truncated).
 */

const HEADER_BLOCK_LIMIT = 64 * 1024
const CRLFCRLF = Buffer.from("\r\n\r\n")

const unreserved = /[A-Za-z0-9\-._~]/

const percentEncode = (text: string) => {
  let out = ""
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte)
    out += unreserved.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/** Rewrites one header block (bytes, read as Latin-1 so that every byte maps to one char). */
export const rewriteHeaderBlock = (block: Buffer): Buffer => {
  const text = block.toString("latin1")
  if (!/[\u0080-\u00ff]/.test(text)) return block
  const rewritten = text
    .split("\r\n")
    .map((line) => {
      if (!/^content-disposition\s*:/i.test(line) || !/[\u0080-\u00ff]/.test(line) || /filename\*\s*=/i.test(line)) return line
      return line.replace(/filename="((?:[^"\\]|\\.)*)"/i, (_all, raw: string) => {
        const unescaped = raw.replace(/\\(.)/g, "$1")
        // Undecodable bytes become U+FFFD: the name stays readable, the parser never chokes.
        const name = new TextDecoder("utf-8").decode(Buffer.from(unescaped, "latin1"))
        return `filename*=UTF-8''${percentEncode(name)}`
      })
    })
    .join("\r\n")
  return Buffer.from(rewritten, "latin1")
}

/** The body with every part's non-ASCII quoted file name rewritten, streamed. */
export async function* utf8FileNames(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  onCut: (reason: string) => void = () => {}
): AsyncGenerator<Uint8Array> {
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  let state: "body" | "afterDelimiter" | "headers" | "epilogue" = "body"
  // A virtual CRLF in front lets the first delimiter (at the very start) be found like the others.
  let pending: Buffer = Buffer.from("\r\n")
  let skip = 2
  const emit = function* (bytes: Buffer): Generator<Uint8Array> {
    if (skip > 0) {
      const dropped = Math.min(skip, bytes.length)
      skip -= dropped
      bytes = bytes.subarray(dropped)
    }
    if (bytes.length > 0) yield bytes
  }
  let failure: unknown = undefined
  const chunks = (async function* () {
    try {
      for await (const chunk of source) yield chunk
    } catch (e) {
      failure = e
    }
  })()
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk])
    for (;;) {
      if (state === "epilogue") {
        yield* emit(pending)
        pending = Buffer.alloc(0)
        break
      }
      if (state === "body") {
        const at = pending.indexOf(delimiter)
        if (at < 0) {
          const keep = Math.min(pending.length, delimiter.length - 1)
          yield* emit(pending.subarray(0, pending.length - keep))
          pending = pending.subarray(pending.length - keep)
          break
        }
        yield* emit(pending.subarray(0, at + delimiter.length))
        pending = pending.subarray(at + delimiter.length)
        state = "afterDelimiter"
        continue
      }
      if (state === "afterDelimiter") {
        if (pending.length < 2) break
        state = pending[0] === 0x2d && pending[1] === 0x2d ? "epilogue" : "headers"
        continue
      }
      // headers
      const end = pending.indexOf(CRLFCRLF)
      if (end < 0) {
        if (pending.length > HEADER_BLOCK_LIMIT) {
          // Not a sane header block: pass it on and let the parser refuse it.
          yield* emit(pending)
          pending = Buffer.alloc(0)
          state = "body"
        }
        break
      }
      yield* emit(rewriteHeaderBlock(pending.subarray(0, end + CRLFCRLF.length)))
      pending = pending.subarray(end + CRLFCRLF.length)
      state = "body"
    }
  }
  yield* emit(pending)
  if (failure !== undefined) onCut(`reading the body failed: ${failure instanceof Error ? failure.message : String(failure)}`)
  else if (state !== "epilogue") onCut("the body ended before its closing boundary")
  if (state !== "epilogue") {
    // Close the framing so that the parser finishes instead of waiting for the rest.
    const closing = state === "afterDelimiter" ? "--\r\n" : state === "headers" ? `\r\n\r\n\r\n--${boundary}--\r\n` : `\r\n--${boundary}--\r\n`
    yield* emit(Buffer.from(closing))
  }
}

/** The boundary of a multipart Content-Type, if it has one. */
export const boundaryOf = (contentType: string): string | undefined => {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m?.[1] ?? m?.[2]
}
