/**
 * The conformance suite every `ResultStore` implementation runs (in the manner of unstorage's
 * `testDriver`): byte-exact round trips whatever the content's form and size, replacement,
 * prefix deletion that touches nothing else, and a property run of random operations against a
 * map. Call it inside a vitest file:
 *
 * @example
 * import { testResultStore } from "@uws-kit/core/ResultStoreSuite"
 * import { ResultStore } from "@uws-kit/core"
 * testResultStore({ name: "memory", make: async () => ResultStore.makeMemory() })
 *
 * Requires `vitest` and `fast-check` (dev dependencies of the store's package).
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { concat } from "./Content.js"
import type { ResultStoreService } from "./ResultStore.js"
import { propertyRuns } from "./testing.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ResultStoreSuiteOptions {
  readonly name: string
  /** A new, empty store per call. */
  readonly make: () => Promise<ResultStoreService>
  /** Called after each store is done with. */
  readonly dispose?: (store: ResultStoreService) => Promise<void>
  /** Property runs (default `propertyRuns(30)`). */
  readonly runs?: number
  /** The store's own regressions, registered inside the suite's `describe`. */
  readonly additionalTests?: (context: {
    readonly withStore: <A>(f: (store: ResultStoreService) => Promise<A>) => Promise<A>
  }) => void
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const read = (store: ResultStoreService, jobId: string, key: string) =>
  run(
    Effect.flatMap(store.get(jobId, key), (stored) =>
      stored === undefined
        ? Effect.succeed(undefined)
        : Effect.map(Stream.runCollect(stored.stream), (chunks) => ({
            size: stored.size,
            mimeType: stored.mimeType,
            bytes: Uint8Array.from(concat(Chunk.toReadonlyArray(chunks)))
          }))
    )
  )

const bytesOf = (n: number, seed: number) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 255
  return out
}

/**
 * Registers the suite.
 *
 * @since 0.1.0
 * @category suites
 */
export const testResultStore = (options: ResultStoreSuiteOptions): void => {
  const runs = options.runs ?? propertyRuns(30)
  const withStore = async <A>(f: (store: ResultStoreService) => Promise<A>): Promise<A> => {
    const store = await options.make()
    try {
      return await f(store)
    } finally {
      await options.dispose?.(store)
    }
  }

  describe(`ResultStore conformance: ${options.name}`, () => {
    it("gives back exactly the bytes it was given, from bytes, text and streams, small, empty and large", async () => {
      await withStore(async (store) => {
        const large = bytesOf(300_000, 7)
        const text = "naïve ∑ résumé <&>\n"
        await run(store.put("job1", "results/bytes", bytesOf(10, 1), "application/octet-stream"))
        await run(store.put("job1", "results/text", text, "text/plain;charset=utf-8"))
        await run(store.put("job1", "results/empty", new Uint8Array(0), undefined))
        const put = await run(
          store.put("job1", "results/large", Stream.fromIterable([large.subarray(0, 1000), large.subarray(1000, 70_000), large.subarray(70_000)]), "application/x-votable+xml")
        )
        expect(put.size).toBe(large.length)
        expect(await read(store, "job1", "results/bytes")).toEqual({ size: 10, mimeType: "application/octet-stream", bytes: bytesOf(10, 1) })
        const t = await read(store, "job1", "results/text")
        expect(new TextDecoder().decode(t!.bytes)).toBe(text)
        expect(t!.mimeType).toBe("text/plain;charset=utf-8")
        expect(await read(store, "job1", "results/empty")).toEqual({ size: 0, mimeType: undefined, bytes: new Uint8Array(0) })
        const l = await read(store, "job1", "results/large")
        expect(l!.size).toBe(large.length)
        expect(Buffer.from(l!.bytes).equals(Buffer.from(large))).toBe(true)
        expect(await read(store, "job1", "results/missing")).toBeUndefined()
        expect(await read(store, "job2", "results/bytes")).toBeUndefined()
      })
    })

    it("replaces the content under a key, and deletes by prefix without touching other keys or jobs", async () => {
      await withStore(async (store) => {
        await run(store.put("a", "results/r", "one", "text/plain"))
        await run(store.put("a", "results/r", "second", undefined))
        expect(await read(store, "a", "results/r")).toEqual({ size: 6, mimeType: undefined, bytes: new TextEncoder().encode("second") })
        await run(store.put("a", "parameters/IN", "upload", "text/csv"))
        await run(store.put("a", "results_x", "lookalike", undefined))
        await run(store.put("b", "results/r", "other job", undefined))
        await run(store.deleteAll("a", "results/"))
        expect(await read(store, "a", "results/r")).toBeUndefined()
        expect((await read(store, "a", "parameters/IN"))?.size).toBe(6)
        expect((await read(store, "a", "results_x"))?.size).toBe(9)
        expect((await read(store, "b", "results/r"))?.size).toBe(9)
        await run(store.deleteAll("a"))
        expect(await read(store, "a", "parameters/IN")).toBeUndefined()
        expect(await read(store, "a", "results_x")).toBeUndefined()
        expect((await read(store, "b", "results/r"))?.size).toBe(9)
        // Deleting what is not there is not an error.
        await run(store.deleteAll("nobody"))
        await run(store.deleteAll("b", "nothing/"))
      })
    })

    it("keys with LIKE wildcards and unusual characters are matched literally", async () => {
      await withStore(async (store) => {
        await run(store.put("j%_1", "results/100%_done", "a", undefined))
        await run(store.put("j%_1", "results/100xxdone", "b", undefined))
        await run(store.put("jx_1", "results/100%_done", "c", undefined))
        await run(store.deleteAll("j%_1", "results/100%"))
        expect(await read(store, "j%_1", "results/100%_done")).toBeUndefined()
        expect((await read(store, "j%_1", "results/100xxdone"))?.size).toBe(1)
        expect((await read(store, "jx_1", "results/100%_done"))?.size).toBe(1)
      })
    })

    it("behaves as a map of (job, key) → (bytes, media type) under random operations", async () => {
      const jobs = ["j1", "j2"]
      const keys = ["results/a", "results/b", "parameters/a", "staging/x/a"]
      const arbOp = fc.oneof(
        fc.record({
          op: fc.constant("put" as const),
          job: fc.constantFrom(...jobs),
          key: fc.constantFrom(...keys),
          bytes: fc.uint8Array({ maxLength: 200 }),
          mimeType: fc.option(fc.constantFrom("text/plain", "application/json"), { nil: undefined })
        }),
        fc.record({
          op: fc.constant("delete" as const),
          job: fc.constantFrom(...jobs),
          prefix: fc.option(fc.constantFrom("results/", "parameters/", "staging/"), { nil: undefined })
        })
      )
      await fc.assert(
        fc.asyncProperty(fc.array(arbOp, { maxLength: 15 }), (ops) =>
          withStore(async (store) => {
            const model = new Map<string, { bytes: Uint8Array; mimeType: string | undefined }>()
            for (const o of ops) {
              if (o.op === "put") {
                const { size } = await run(store.put(o.job, o.key, o.bytes, o.mimeType))
                expect(size).toBe(o.bytes.length)
                model.set(`${o.job} ${o.key}`, { bytes: o.bytes, mimeType: o.mimeType })
              } else {
                await run(store.deleteAll(o.job, o.prefix))
                for (const k of [...model.keys()]) {
                  const [job, key] = k.split(" ") as [string, string]
                  if (job === o.job && (o.prefix === undefined || key.startsWith(o.prefix))) model.delete(k)
                }
              }
            }
            for (const job of jobs) {
              for (const key of keys) {
                const expected = model.get(`${job} ${key}`)
                const got = await read(store, job, key)
                if (expected === undefined) expect(got).toBeUndefined()
                else expect(got).toEqual({ size: expected.bytes.length, mimeType: expected.mimeType, bytes: Uint8Array.from(expected.bytes) })
              }
            }
          })
        ),
        { numRuns: runs }
      )
    })

    options.additionalTests?.({ withStore })
  })
}
