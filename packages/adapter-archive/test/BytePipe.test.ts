/**
 * The pipe between a receiver and a storage's save: whatever the chunks and however the two
 * sides are paced, the reader gets exactly the bytes written, in order, then the end or the
 * failure; a writer is never left waiting once the reader stopped; bytes queued never exceed
 * the high-water mark by more than one chunk before the writer is told to wait.
 */
import * as fc from "fast-check"
import { propertyRuns } from "@uws-kit/core/testing"
import { describe, expect, it } from "vitest"
import * as BytePipe from "../src/internal/bytePipe.js"

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("BytePipe", () => {
  it("property: the reader gets the written bytes in order, then the end or the failure, whatever the pacing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 30 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom("end", "fail"),
        async (chunks, pacing, highWaterMark, finish) => {
          const pipe = BytePipe.make(highWaterMark)
          let step = 0
          const read = (async () => {
            const got: Array<number> = []
            try {
              for await (const chunk of pipe.iterable) {
                got.push(...chunk)
                if (pacing[step++ % Math.max(1, pacing.length)] === true) await tick()
              }
              return { got, failed: false }
            } catch {
              return { got, failed: true }
            }
          })()
          for (const [i, chunk] of chunks.entries()) {
            const written = pipe.write(chunk)
            expect(written).not.toBe(false)
            if (written !== true) expect(await written).toBe(true)
            if (pacing[i % Math.max(1, pacing.length)] === false) await tick()
          }
          if (finish === "end") pipe.end()
          else pipe.fail(new Error("cut off"))
          const { got, failed } = await read
          expect(failed).toBe(finish === "fail")
          const sent = chunks.flatMap((c) => [...c])
          if (finish === "end") expect(got).toEqual(sent)
          else expect(got).toEqual(sent.slice(0, got.length))
        }
      ),
      { numRuns: propertyRuns(100) }
    )
  })

  it("lets a waiting writer go (answering false) once the reader stops, and takes no more", async () => {
    const pipe = BytePipe.make(4)
    const iterator = pipe.iterable[Symbol.asyncIterator]()
    const waiting = pipe.write(new Uint8Array(8))
    expect(waiting).toBeInstanceOf(Promise)
    const again = pipe.write(new Uint8Array(1))
    expect(again).toBe(waiting)
    await iterator.return!()
    expect(await waiting).toBe(false)
    expect(pipe.write(new Uint8Array(1))).toBe(false)
    expect(pipe.stopped()).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it("wakes a reader waiting for bytes when the writer fails, and refuses a second reader", async () => {
    const pipe = BytePipe.make()
    const iterator = pipe.iterable[Symbol.asyncIterator]()
    const pending = iterator.next()
    pipe.fail(new Error("the client went away"))
    await expect(pending).rejects.toThrow("the client went away")
    expect(() => pipe.iterable[Symbol.asyncIterator]()).toThrow(/only once/)
  })
})

describe("BytePipe closed by the host", () => {
  it("refuses a read that outlived its save instead of telling it the bytes ended", async () => {
    const pipe = BytePipe.make()
    const iterator = pipe.iterable[Symbol.asyncIterator]()
    expect(pipe.write(new Uint8Array([1, 2]))).toBe(true)
    const pending = (async () => [await iterator.next(), iterator.next()] as const)()
    const [first, second] = await pending
    pipe.close()
    expect(first.value).toEqual(new Uint8Array([1, 2]))
    await expect(second).rejects.toThrow(/over/)
    await expect(iterator.next()).rejects.toThrow(/over/)
    expect(pipe.write(new Uint8Array(1))).toBe(false)
  })
})
