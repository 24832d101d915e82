/**
 * The cursor view on its own (no HTTP): any FIRST..LAST gives exactly those rows of the stored
 * table and a next page while rows remain, however the store cuts the table into chunks (one
 * piece of 100 000 rows included: a per-line recursion once overflowed the stack there).
 */
import type { Job } from "@uws-kit/core/Job"
import type { View } from "@uws-kit/core/ResultView"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { cursor } from "../../examples/adql/worker.js"
import { columns } from "../../examples/adql/Catalogue.js"
import * as VoTable from "../../examples/adql/VoTable.js"
import { infoOf, rowsOf } from "./adqlSupport.js"

const encoder = new TextEncoder()

const tableOf = (n: number) =>
  encoder.encode(VoTable.head("SELECT id FROM stars", [columns[0]], true) + Array.from({ length: n }, (_, i) => VoTable.row([i + 1])).join("") + VoTable.tail(true))

const cut = (bytes: Uint8Array, sizes: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let at = 0
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes.length === 0 ? bytes.length : Math.max(1, sizes[i % sizes.length]!)
    out.push(bytes.subarray(at, at + size))
    at += size
  }
  return out
}

const view = async (chunks: ReadonlyArray<Uint8Array>, query: ReadonlyArray<readonly [string, string]>) => {
  const answer = (await Effect.runPromise(
    cursor({
      job: {} as Job,
      resultId: "cursor",
      url: "http://x/results/cursor",
      query,
      read: () => Effect.succeed({ size: 0, mimeType: undefined, stream: Stream.fromIterable(chunks) })
    }) as Effect.Effect<View, unknown>
  )) as View
  return answer.content as string
}

describe("the cursor view", () => {
  it("gives rows FIRST..LAST and a next page exactly while rows remain, whatever the chunks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(300), fc.integer({ min: 1, max: 320 }), fc.nat(50), fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 5 }), async (n, first, extra, sizes) => {
        const last = first + extra
        const page = await view(cut(tableOf(n), sizes), [["FIRST", String(first)], ["LAST", String(last)]])
        const expected = Array.from({ length: Math.max(0, Math.min(n, last) - first + 1) }, (_, i) => [String(first + i)])
        expect(rowsOf(page)).toEqual(expected)
        expect(infoOf(page, "next")).toBe(n > last ? `http://x/results/cursor?FIRST=${last + 1}&LAST=${last + extra + 1}` : undefined)
      }),
      { numRuns: propertyRuns(100) }
    )
  })

  it("reads a page of a 100 000-row table stored in one piece", async () => {
    const page = await view([tableOf(100_000)], [["FIRST", "99991"], ["LAST", "100000"]])
    expect(rowsOf(page).map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => String(99_991 + i)))
    expect(infoOf(page, "next")).toBeUndefined()
    expect(rowsOf(await view([tableOf(100_000)], [])).length).toBe(100)
  })
})
