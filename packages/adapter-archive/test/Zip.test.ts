/**
 * The signatures zip when nobody reads it to the end: a HEAD (its body dropped), a client gone.
 * yazl opens the first entry as soon as the zip is ended, so an entry can fail with no reader;
 * the failure must end the zip quietly, never surface as an uncaught 'error' event (which would
 * stop the process). Found by the archive's HEAD tests, where a storage disposed under a dropped
 * download crashed the test worker.
 */
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { zip } from "../src/internal/zip.js"

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
