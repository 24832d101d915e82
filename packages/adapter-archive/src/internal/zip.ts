/**
 * The signatures zip: yazl, entries STOREd (signatures are DER, already compact), opened lazily
 * one after the other, with a fixed timestamp so that the same container always gives the same
 * bytes, and its total size computed before the first byte is sent (Content-Length).
 */
import { createRequire } from "node:module"
import { Readable } from "node:stream"
import * as zlib from "node:zlib"
import { Effect, Stream } from "effect"
import yazl from "yazl"

/**
 * yazl checksums every entry with buffer-crc32, a table loop in JavaScript (~375 MB/s here),
 * and takes no checksum from outside for a stream; Node's `zlib.crc32` computes the same CRC-32
 * natively, ~10× faster (half of a 200 MiB signatures zip's time went to the loop). So the
 * module instance yazl itself loads answers yazl's calls, `(buffer, running CRC)`, natively.
 */
const nativeCrc32ForYazl = () => {
  const crc32 = createRequire(createRequire(import.meta.url).resolve("yazl"))("buffer-crc32") as {
    unsigned: ((buf: unknown, previous?: unknown) => number) & { readonly native?: true }
  }
  const original = crc32.unsigned
  if (typeof zlib.crc32 !== "function" || original.native === true) return
  crc32.unsigned = Object.assign(
    (buf: unknown, previous?: unknown) =>
      Buffer.isBuffer(buf) && (previous === undefined || typeof previous === "number") ? zlib.crc32(buf, previous ?? 0) : original(buf, previous),
    { native: true as const }
  )
}
nativeCrc32ForYazl()

export interface ZipEntry {
  readonly name: string
  readonly size: number
  readonly open: () => Promise<AsyncIterable<Uint8Array>>
}

/**
 * A date whose local-time fields equal the UTC fields of `ms`: DOS timestamps in a zip are local
 * time, and this keeps the bytes the same whatever the server's time zone.
 */
const dosStable = (ms: number) => {
  const d = new Date(ms)
  return new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds())
}

/** Names unique within the zip: a repeated name gets " (2)", " (3)", … before its extension. */
export const uniqueNames = (names: ReadonlyArray<string>): Array<string> => {
  const used = new Set<string>()
  return names.map((name) => {
    let candidate = name
    for (let n = 2; used.has(candidate.toLowerCase()); n++) {
      const dot = name.lastIndexOf(".")
      candidate = dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
    }
    used.add(candidate.toLowerCase())
    return candidate
  })
}

export const zip = (
  entries: ReadonlyArray<ZipEntry>,
  mtime: number
): Effect.Effect<{ readonly size: number; readonly stream: Stream.Stream<Uint8Array, Error> }> =>
  Effect.async((resume) => {
    const file = new yazl.ZipFile()
    const date = dosStable(mtime)
    const names = uniqueNames(entries.map((e) => e.name))
    entries.forEach((entry, i) => {
      file.addReadStreamLazy(names[i]!, { size: entry.size, mtime: date, compress: false, forceDosTimestamp: true }, (cb) => {
        entry.open().then(
          (source) => {
            const readable = Readable.from(source, { objectMode: false })
            // A failing source must fail the zip, not crash the process.
            readable.on("error", (e) => file.emit("error", e))
            cb(null, readable)
          },
          (e: unknown) => cb(e instanceof Error ? e : new Error(String(e)), undefined as never)
        )
      })
    })
    const output = file.outputStream as Readable
    file.on("error", (e: Error) => output.destroy(e))
    // The answer may be abandoned (a HEAD drops its body, a client goes) while yazl still opens
    // entries: a failure then has no reader, and an 'error' event without a listener would stop
    // the process. A reader still gets the failure through its iterator.
    output.on("error", () => {})
    ;(file.end as (options: object, callback: (size: number) => void) => void)({}, (size: number) => {
      resume(
        Effect.succeed({
          size,
          stream: Stream.fromAsyncIterable(output as AsyncIterable<Uint8Array>, (e) => (e instanceof Error ? e : new Error(String(e))))
        })
      )
    })
  })
