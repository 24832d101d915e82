/**
 * The signatures zip when nobody reads it to the end: a HEAD (its body dropped), a client gone.
 * yazl opens the first entry as soon as the zip is ended, so an entry can fail with no reader;
 * the failure must end the zip quietly, never surface as an uncaught 'error' event (which would
 * stop the process). Found by the archive's HEAD tests, where a storage disposed under a dropped
 * download crashed the test worker.
 */
import { createRequire } from "node:module"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { zip } from "../src/internal/zip.js"
import { unzip } from "./support/unzip.js"

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

const watchUncaught = () => {
  const seen: Array<unknown> = []
  const on = (e: unknown) => void seen.push(e)
  process.on("uncaughtException", on)
  return { seen, stop: () => process.off("uncaughtException", on) }
}

describe("the signatures zip, abandoned", () => {
  it("an entry that fails to open while nobody reads ends the zip without an uncaught error", async () => {
    const watch = watchUncaught()
    try {
      const made = await Effect.runPromise(zip([{ name: "a.sig", size: 3, open: () => Promise.reject(new Error("the storage is disposed")) }], 0))
      expect(made.size).toBeGreaterThan(0)
      await settle()
      expect(watch.seen).toEqual([])
    } finally {
      watch.stop()
    }
  })

  it("an entry whose bytes fail mid-way while nobody reads ends the zip without an uncaught error", async () => {
    const watch = watchUncaught()
    try {
      await Effect.runPromise(
        zip(
          [
            {
              name: "a.sig",
              size: 2048,
              open: async () =>
                (async function* () {
                  yield new Uint8Array(1024)
                  throw new Error("the disk went away")
                })()
            }
          ],
          0
        )
      )
      await settle()
      expect(watch.seen).toEqual([])
    } finally {
      watch.stop()
    }
  })

  it("a reader still sees the failure", async () => {
    const made = await Effect.runPromise(zip([{ name: "a.sig", size: 3, open: () => Promise.reject(new Error("the storage is disposed")) }], 0))
    const read = await Effect.runPromise(Effect.either(Stream.runDrain(made.stream)))
    expect(read._tag).toBe("Left")
  })
})

describe("the signatures zip's checksums", () => {
  // buffer-crc32's own JavaScript loop (`signed`, left as it is), as the reference for the
  // native CRC-32 yazl is given for `unsigned`, chained over the chunks a storage streams.
  const reference = createRequire(createRequire(import.meta.url).resolve("yazl"))("buffer-crc32") as { signed: (b: Buffer) => number }
  const collect = async (stream: Stream.Stream<Uint8Array, Error>) =>
    Buffer.concat(Array.from(await Effect.runPromise(Stream.runCollect(stream))))

  it("are each entry's CRC-32, however its bytes are chunked", async () => {
    const entry = fc.record({
      data: fc.uint8Array({ maxLength: 70_000 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 })
    })
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 4 }), async (entries) => {
        const made = await Effect.runPromise(
          zip(
            entries.map((e, i) => ({
              name: `s${i}.sig`,
              size: e.data.length,
              open: async () =>
                (async function* () {
                  const at = [...new Set(e.cuts.map((c) => c % (e.data.length + 1)))].sort((a, b) => a - b)
                  let from = 0
                  for (const to of [...at, e.data.length]) {
                    yield e.data.slice(from, to)
                    from = to
                  }
                })()
            })),
            0
          )
        )
        const bytes = await collect(made.stream)
        expect(bytes.length).toBe(made.size)
        const read = unzip(bytes)
        expect(read.map((r) => r.data.equals(Buffer.from(entries[read.indexOf(r)]!.data)))).toEqual(entries.map(() => true))
        expect(read.map((r) => r.crc32)).toEqual(entries.map((e) => reference.signed(Buffer.from(e.data)) >>> 0))
      }),
      { numRuns: propertyRuns(40) }
    )
  })
})
