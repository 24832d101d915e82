/**
 * The conformance suite of `CopyCatalogue` drivers (run by `ContainerIndexSuite` when a driver
 * gives its copy catalogue too): random sequences of operations against a small model, and
 * concurrent references and deletions of the same content, after which every count is what the
 * references say.
 *
 * Requires `vitest` and `fast-check`.
 *
 * @since 0.1.0
 */
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Copy, CopyCatalogue, Reference } from "./CopyCatalogue.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface CopyCatalogueSuiteOptions {
  readonly name: string
  /** A new, empty catalogue per call. */
  readonly make: () => Promise<CopyCatalogue>
  readonly runs?: number
}

const SHAS = ["a".repeat(64), "b".repeat(64), "c".repeat(64)]
const STORAGES = ["primary", "mirror-1", "mirror-2"]
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

type Op =
  | { readonly op: "add"; readonly ref: number; readonly sha: number }
  | { readonly op: "create"; readonly ref: number; readonly sha: number; readonly storages: ReadonlyArray<string> }
  | { readonly op: "remove"; readonly ref: number }
  | { readonly op: "forget"; readonly sha: number }
  | { readonly op: "copy"; readonly sha: number; readonly storage: string; readonly state: Copy["state"] }

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("add" as const), ref: fc.nat(7), sha: fc.nat(2) }),
  fc.record({ op: fc.constant("create" as const), ref: fc.nat(7), sha: fc.nat(2), storages: fc.subarray(STORAGES, { minLength: 1 }) }),
  fc.record({ op: fc.constant("remove" as const), ref: fc.nat(7) }),
  fc.record({ op: fc.constant("forget" as const), sha: fc.nat(2) }),
  fc.record({ op: fc.constant("copy" as const), sha: fc.nat(2), storage: fc.constantFrom(...STORAGES), state: fc.constantFrom("good" as const, "corrupt" as const, "missing" as const) })
)

const refOf = (ref: number, sha: number): Reference => ({ id: `ref-${ref}`, sha256: SHAS[sha]!, containerId: `c-${ref % 3}`, name: `part-${ref}` })
const copyOf = (sha: number, storage: string, state: Copy["state"] = "good"): Copy => ({
  sha256: SHAS[sha]!,
  storage,
  locator: state === "missing" ? null : `${storage}/${sha}`,
  state,
  checkedAt: state === "good" ? null : 1_700_000_000_000,
  detail: state === "good" ? null : `found ${state}`
})

/** What the catalogue must hold: content → refs, state, copies; reference → content. */
interface Model {
  contents: Map<string, { size: number; state: "live" | "deleting"; copies: Map<string, Copy> }>
  refs: Map<string, string>
}
const refsOf = (m: Model, sha: string) => [...m.refs.values()].filter((s) => s === sha).length

/**
 * @since 0.1.0
 * @category testing
 */
export const testCopyCatalogue = (options: CopyCatalogueSuiteOptions): void => {
  const runs = options.runs ?? propertyRuns(30)
  describe(`CopyCatalogue conformance: ${options.name}`, () => {
    it("answers every operation as the model of references, counts and copies does", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 30 }), async (ops) => {
          const catalogue = await options.make()
          const model: Model = { contents: new Map(), refs: new Map() }
          for (const o of ops) {
            switch (o.op) {
              case "add": {
                const ref = refOf(o.ref, o.sha)
                const got = await run(catalogue.addReference(ref))
                const c = model.contents.get(ref.sha256)
                const known = model.refs.get(ref.id)
                if (c === undefined || c.state !== "live" || (known !== undefined && known !== ref.sha256)) {
                  if (c === undefined || c.state !== "live") expect(got).toBeUndefined()
                  break
                }
                model.refs.set(ref.id, ref.sha256)
                expect(got?.refs).toBe(refsOf(model, ref.sha256))
                break
              }
              case "create": {
                const ref = refOf(o.ref, o.sha)
                if (model.refs.has(ref.id) && model.refs.get(ref.id) !== ref.sha256) break // ids are never reused for other content
                const got = await run(catalogue.createContent({ sha256: ref.sha256, size: o.sha + 1 }, ref, o.storages.map((s) => copyOf(o.sha, s))))
                const c = model.contents.get(ref.sha256)
                const joins = c !== undefined && c.state === "live"
                expect(got.created).toBe(!joins)
                if (!joins) {
                  for (const [id, sha] of [...model.refs]) if (sha === ref.sha256) model.refs.delete(id)
                  model.contents.set(ref.sha256, { size: o.sha + 1, state: "live", copies: new Map(o.storages.map((s) => [s, copyOf(o.sha, s)])) })
                }
                model.refs.set(ref.id, ref.sha256)
                expect(got.content.refs).toBe(refsOf(model, ref.sha256))
                expect(got.content.state).toBe("live")
                break
              }
              case "remove": {
                const id = `ref-${o.ref}`
                const got = await run(catalogue.removeReference(id))
                const sha = model.refs.get(id)
                if (sha === undefined) {
                  expect(got).toBeUndefined()
                  break
                }
                model.refs.delete(id)
                const c = model.contents.get(sha)!
                if (refsOf(model, sha) === 0) c.state = "deleting"
                expect(got?.refs).toBe(refsOf(model, sha))
                expect(got?.state).toBe(c.state)
                break
              }
              case "forget": {
                const sha = SHAS[o.sha]!
                const c = model.contents.get(sha)
                const expected = c !== undefined && c.state === "deleting"
                expect(await run(catalogue.forget(sha))).toBe(expected)
                if (expected) model.contents.delete(sha)
                break
              }
              case "copy": {
                const copy = copyOf(o.sha, o.storage, o.state)
                await run(catalogue.putCopy(copy))
                model.contents.get(copy.sha256)?.copies.set(copy.storage, copy)
                break
              }
            }
          }
          // The whole state, as listed and as looked up.
          const listed = await run(catalogue.list(null, 100))
          expect(listed.map((c) => c.sha256)).toEqual([...model.contents.keys()].sort())
          for (const c of listed) {
            const m = model.contents.get(c.sha256)!
            expect({ size: c.size, refs: c.refs, state: c.state }).toEqual({ size: m.size, refs: refsOf(model, c.sha256), state: m.state })
            expect(c.copies).toEqual([...m.copies.values()].sort((a, b) => (a.storage < b.storage ? -1 : 1)))
            expect(await run(catalogue.content(c.sha256))).toEqual(c)
          }
          for (let i = 0; i < 8; i++) {
            const sha = model.refs.get(`ref-${i}`)
            const got = await run(catalogue.reference(`ref-${i}`))
            expect(got?.sha256).toBe(sha)
          }
          // Paging by SHA-256.
          const first = await run(catalogue.list(null, 1))
          if (first.length === 1) expect((await run(catalogue.list(first[0]!.sha256, 100))).map((c) => c.sha256)).toEqual(listed.slice(1).map((c) => c.sha256))
        }),
        { numRuns: runs }
      )
    })

    it("counts right under concurrent references and deletions of the same content", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.boolean(), { minLength: 2, maxLength: 24 }), async (plan) => {
          const catalogue = await options.make()
          const sha = SHAS[0]!
          await run(catalogue.createContent({ sha256: sha, size: 1 }, refOf(100, 0), [copyOf(0, "primary")]))
          // Every reference added at once, then half of them removed while others are added.
          await Promise.all(plan.map((_, i) => run(catalogue.addReference(refOf(i, 0)))))
          await Promise.all(
            plan.map((remove, i) => (remove ? run(catalogue.removeReference(`ref-${i}`)) : run(catalogue.addReference(refOf(i + 50, 0)))))
          )
          const kept = plan.filter((r) => !r).length * 2 + 1
          expect((await run(catalogue.content(sha)))?.refs).toBe(kept)
          await Promise.all(
            [100, ...plan.flatMap((remove, i) => (remove ? [] : [i, i + 50]))].map((i) => run(catalogue.removeReference(`ref-${i}`)))
          )
          const gone = await run(catalogue.content(sha))
          expect(gone).toMatchObject({ refs: 0, state: "deleting" })
          // Content being deleted is never joined: it is written afresh.
          expect(await run(catalogue.addReference(refOf(200, 0)))).toBeUndefined()
          expect(await run(catalogue.forget(sha))).toBe(true)
          expect(await run(catalogue.content(sha))).toBeUndefined()
        }),
        { numRuns: Math.max(5, Math.floor(runs / 3)) }
      )
    })
  })
}
