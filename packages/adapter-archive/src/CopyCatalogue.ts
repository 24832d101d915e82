/**
 * The catalogue of stored content and its copies (`Replicas` keeps it): what is stored once per
 * storage (content-addressed by SHA-256), which containers' parts refer to it, and where each
 * copy is and how it last checked out.
 *
 * - **Content** `(sha256, size, refs, state)`: `live` while referred to; `deleting` once its last
 *   reference went, until its copies' bytes are deleted (a new reference never joins content
 *   being deleted: it is written afresh and replaces it).
 * - **References** `(id, sha256, containerId, name)`: one per stored part (the locator the
 *   archive keeps names it), so deleting one part deletes exactly one reference.
 * - **Copies** `(sha256, storage, locator, state, checkedAt, detail)`: at most one per storage;
 *   `good`, `corrupt` (its bytes differ), or `missing` (absent, unreadable or never written).
 *
 * Reference counts change in one atomic step with the reference itself, so concurrent uploads and
 * deletes of identical content never lose or keep bytes wrongly. `makeMemory` is the reference;
 * `@uws-kit/store-sql`'s `SqlCopyCatalogue` keeps the same in tables (migration 8).
 *
 * @since 0.1.0
 */
import type { Errors } from "@uws-kit/core"
import { Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type CopyState = "good" | "corrupt" | "missing"

/**
 * One copy of a content in one storage.
 *
 * @since 0.1.0
 * @category models
 */
export interface Copy {
  readonly sha256: string
  /** The storage's `PluginName`. */
  readonly storage: string
  /** The storage's locator; `null` when no bytes are known there (a copy never written). */
  readonly locator: string | null
  readonly state: CopyState
  /** When it was last verified (epoch ms), `null` if never after its write. */
  readonly checkedAt: number | null
  /** What the last check or write found, when not simply good. */
  readonly detail: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Content {
  readonly sha256: string
  readonly size: number
  readonly refs: number
  readonly state: "live" | "deleting"
  readonly copies: ReadonlyArray<Copy>
}

/**
 * One part of one container referring to a content.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reference {
  readonly id: string
  readonly sha256: string
  readonly containerId: string
  readonly name: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CopyCatalogue {
  /**
   * Refers to live content: the reference is recorded and counted, and the content answered.
   * `undefined` (nothing recorded) when no such content is live: the caller writes it.
   */
  readonly addReference: (reference: Reference) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  /**
   * Records content the caller wrote, with its first reference and its copies. When the same
   * content became live meanwhile, the reference joins it instead (`created: false`: the caller
   * deletes what it wrote); content being deleted is replaced.
   */
  readonly createContent: (
    content: { readonly sha256: string; readonly size: number },
    reference: Reference,
    copies: ReadonlyArray<Copy>
  ) => Effect.Effect<{ readonly created: boolean; readonly content: Content }, Errors.StorageFailure>
  /**
   * Drops a reference and answers its content as it is then (with no reference left it is
   * `deleting`); `undefined` when there is no such reference (deleting twice is no error).
   */
  readonly removeReference: (id: string) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  /** Forgets `deleting` content and its copies (its bytes are deleted); `false` when it is not. */
  readonly forget: (sha256: string) => Effect.Effect<boolean, Errors.StorageFailure>
  readonly reference: (id: string) => Effect.Effect<Reference | undefined, Errors.StorageFailure>
  readonly content: (sha256: string) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  /** Adds or replaces the copy of a content in a storage (content that is not known: no-op). */
  readonly putCopy: (copy: Copy) => Effect.Effect<void, Errors.StorageFailure>
  /** Content in SHA-256 order after `after` (exclusive), at most `limit`. */
  readonly list: (after: string | null, limit: number) => Effect.Effect<ReadonlyArray<Content>, Errors.StorageFailure>
}

/**
 * The catalogue in memory: every operation one synchronous step, so atomic.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): CopyCatalogue => {
  const contents = new Map<string, { sha256: string; size: number; refs: number; state: "live" | "deleting"; copies: Map<string, Copy> }>()
  const references = new Map<string, Reference>()
  const view = (sha256: string): Content | undefined => {
    const c = contents.get(sha256)
    return c === undefined
      ? undefined
      : { sha256: c.sha256, size: c.size, refs: c.refs, state: c.state, copies: [...c.copies.values()].sort((a, b) => (a.storage < b.storage ? -1 : 1)) }
  }
  const join = (reference: Reference) => {
    const c = contents.get(reference.sha256)
    if (c === undefined || c.state !== "live") return undefined
    if (!references.has(reference.id)) {
      references.set(reference.id, reference)
      c.refs++
    }
    return view(reference.sha256)
  }
  return {
    addReference: (reference) => Effect.sync(() => join(reference)),
    createContent: (content, reference, copies) =>
      Effect.sync(() => {
        const joined = join(reference)
        if (joined !== undefined) return { created: false, content: joined }
        contents.set(content.sha256, {
          sha256: content.sha256,
          size: content.size,
          refs: 1,
          state: "live",
          copies: new Map(copies.map((c) => [c.storage, { ...c, sha256: content.sha256 }]))
        })
        references.set(reference.id, reference)
        return { created: true, content: view(content.sha256)! }
      }),
    removeReference: (id) =>
      Effect.sync(() => {
        const reference = references.get(id)
        if (reference === undefined) return undefined
        references.delete(id)
        const c = contents.get(reference.sha256)
        if (c === undefined) return undefined
        c.refs--
        if (c.refs <= 0) {
          c.refs = 0
          c.state = "deleting"
        }
        return view(reference.sha256)
      }),
    forget: (sha256) =>
      Effect.sync(() => {
        const c = contents.get(sha256)
        if (c === undefined || c.state !== "deleting" || c.refs > 0) return false
        contents.delete(sha256)
        return true
      }),
    reference: (id) => Effect.sync(() => references.get(id)),
    content: (sha256) => Effect.sync(() => view(sha256)),
    putCopy: (copy) =>
      Effect.sync(() => {
        contents.get(copy.sha256)?.copies.set(copy.storage, copy)
      }),
    list: (after, limit) =>
      Effect.sync(() =>
        [...contents.keys()]
          .filter((k) => after === null || k > after)
          .sort()
          .slice(0, limit)
          .map((k) => view(k)!)
      )
  }
}
