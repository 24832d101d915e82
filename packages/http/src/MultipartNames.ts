/**
 * A workaround, in front of the multipart parser `multipasta` (0.2.8, under @effect/platform
 * 0.97), for two of its defects. Every HTTP adapter that reads multipart bodies puts it in front.
 *
 * 1. It decodes part headers as UTF-8 and then accepts only Latin-1 in quoted parameters, so a
 *    part whose file name is raw UTF-8 (`filename="Договор.pdf"`, what curl and browsers send)
 *    loses its file name *and* its field name. It does understand RFC 5987
 *    `filename*=UTF-8''…`, so a non-ASCII quoted file name is rewritten into that form.
 * 2. A body that ends (or fails) inside a part leaves the parser waiting forever. When the body
 *    ends early, the rewriter closes the multipart framing itself and says so, so the caller
 *    refuses the upload instead of hanging.
 *
 * The rewriter only follows the framing (delimiters and the blank line ending a header block);
 * part bodies pass through untouched, and a body without non-ASCII file names byte for byte.
 *
 * @since 0.1.0
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

/**
 * Rewrites one part header block (its bytes, read as Latin-1 so that every byte is one char).
 *
 * @since 0.1.0
 * @category rewriting
 */
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

/**
 * The rewriter, fed chunk by chunk: `push` answers the bytes to hand to the parser, `end` the
 * bytes that close a cut-off body and whether the body was complete.
 *
 * @since 0.1.0
 * @category rewriting
 */
export class Utf8FileNames {
  private readonly delimiter: Buffer
  private state: "body" | "afterDelimiter" | "headers" | "epilogue" = "body"
  // A virtual CRLF in front lets the first delimiter (at the very start) be found like the others.
  private pending: Buffer = Buffer.from("\r\n")
  private skip = 2
  // In a part's bytes: a copy of the last bytes passed on, where a delimiter may have begun.
  private tail: Buffer = Buffer.alloc(0)

  constructor(private readonly boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`)
  }

  push(chunk: Uint8Array): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    // A part's bytes are passed on in place, never copied or held back (a body's chunks are not
    // reused by their source): a delimiter that began in the bytes already passed on is found
    // by looking at the seam, the copied tail joined to the chunk's first bytes.
    let view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.state === "body" && this.pending.length === 0 && this.tail.length > 0) {
      const seam = Buffer.concat([this.tail, view.subarray(0, this.delimiter.length - 1)])
      const at = seam.indexOf(this.delimiter)
      if (at >= 0 && at < this.tail.length) {
        const end = at + this.delimiter.length - this.tail.length
        this.emit(out, view.subarray(0, end))
        view = view.subarray(end)
        this.state = "afterDelimiter"
      }
      this.tail = this.state === "body" ? Buffer.from(seam.subarray(Math.max(0, seam.length - (this.delimiter.length - 1)))) : Buffer.alloc(0)
      // The seam was all of the chunk: its bytes were looked at there.
      if (this.state === "body" && view.length < this.delimiter.length - 1) {
        this.emit(out, view)
        return out
      }
    }
    this.pending = this.pending.length === 0 ? view : Buffer.concat([this.pending, view])
    for (;;) {
      if (this.state === "epilogue") {
        this.emit(out, this.pending)
        this.pending = Buffer.alloc(0)
        return out
      }
      if (this.state === "body") {
        const at = this.pending.indexOf(this.delimiter)
        if (at < 0) {
          const keep = Math.min(this.pending.length, this.delimiter.length - 1)
          this.tail = Buffer.from(this.pending.subarray(this.pending.length - keep))
          this.emit(out, this.pending)
          this.pending = Buffer.alloc(0)
          return out
        }
        this.tail = Buffer.alloc(0)
        this.emit(out, this.pending.subarray(0, at + this.delimiter.length))
        this.pending = this.pending.subarray(at + this.delimiter.length)
        this.state = "afterDelimiter"
        continue
      }
      if (this.state === "afterDelimiter") {
        if (this.pending.length < 2) return out
        this.state = this.pending[0] === 0x2d && this.pending[1] === 0x2d ? "epilogue" : "headers"
        continue
      }
      const end = this.pending.indexOf(CRLFCRLF)
      if (end < 0) {
        if (this.pending.length > HEADER_BLOCK_LIMIT) {
          // Not a sane header block: pass it on and let the parser refuse it.
          this.emit(out, this.pending)
          this.pending = Buffer.alloc(0)
          this.state = "body"
        }
        return out
      }
      this.emit(out, rewriteHeaderBlock(this.pending.subarray(0, end + CRLFCRLF.length)))
      this.pending = this.pending.subarray(end + CRLFCRLF.length)
      this.state = "body"
    }
  }

  /** The rest; when the body stopped before its closing boundary, bytes that close it. */
  end(): { readonly bytes: Array<Uint8Array>; readonly complete: boolean } {
    const out: Array<Uint8Array> = []
    this.emit(out, this.pending)
    this.pending = Buffer.alloc(0)
    if (this.state === "epilogue") return { bytes: out, complete: true }
    const closing =
      this.state === "afterDelimiter"
        ? "--\r\n"
        : this.state === "headers"
          ? `\r\n\r\n\r\n--${this.boundary}--\r\n`
          : `\r\n--${this.boundary}--\r\n`
    this.emit(out, Buffer.from(closing))
    this.state = "epilogue"
    return { bytes: out, complete: false }
  }

  private emit(out: Array<Uint8Array>, bytes: Buffer): void {
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, bytes.length)
      this.skip -= dropped
      bytes = bytes.subarray(dropped)
    }
    if (bytes.length > 0) out.push(bytes)
  }
}

/**
 * The rewriter over a whole body, streamed. `onCut` hears why a body stopped short (it ended
 * before its closing boundary, or reading it failed); the caller must then refuse the upload.
 *
 * @since 0.1.0
 * @category rewriting
 */
export async function* utf8FileNames(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  onCut: (reason: string) => void = () => {}
): AsyncGenerator<Uint8Array> {
  const rewriter = new Utf8FileNames(boundary)
  let failure: unknown = undefined
  try {
    for await (const chunk of source) yield* rewriter.push(chunk)
  } catch (e) {
    failure = e
  }
  const { bytes, complete } = rewriter.end()
  if (failure !== undefined) onCut(`reading the body failed: ${failure instanceof Error ? failure.message : String(failure)}`)
  else if (!complete) onCut("the body ended before its closing boundary")
  yield* bytes
}

/**
 * The boundary of a multipart Content-Type, if it has one.
 *
 * @since 0.1.0
 * @category rewriting
 */
export const boundaryOf = (contentType: string): string | undefined => {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m?.[1] ?? m?.[2]
}
