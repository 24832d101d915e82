/**
 * The upstream-source plugin contract: where the archive fetches a document it does not hold
 * (the Sci-Hub pattern, seed 000: serve if stored, else fetch, then keep). A plugin kind of its
 * own in `plugin-config.json` (`Plugins.Upstream`), Result-typed like the others: every operation
 * returns a Result (or a promise, thunk or Effect of one) and must not throw; the host does not
 * trust that and turns every throw, rejection, time-out and malformed answer into a failure.
 *
 * The plugin only opens the document. The host reads it: it bounds the size, stops a stalled
 * stream, checks the announced length and digest, and stores nothing it has not verified.
 *
 * @since 0.2.0
 */
import type { Plugin, Result } from "@uws-kit/core"

/**
 * What the host asks for.
 *
 * @since 0.2.0
 * @category models
 */
export interface UpstreamRequest {
  /** The document's identifier as the client gave it (a DOI-like key, `sha256:<hex>`, …). */
  readonly identifier: string
  /** Aborted when the fetch is given up (time-out, the fetch aborted, the archive closing). */
  readonly signal: AbortSignal
}

/**
 * A document the upstream has, opened.
 *
 * @since 0.2.0
 * @category models
 */
export interface UpstreamDocument {
  /** The bytes, read once, in order. */
  readonly content: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>
  /** The length the upstream announces (e.g. Content-Length): the bytes must match it. */
  readonly size?: number
  readonly mimeType?: string
  readonly fileName?: string
  /** The SHA-256 the upstream announces (lowercase hex): the bytes must match it. */
  readonly sha256?: string
}

/**
 * An upstream source. `Right(null)`: it does not have the document (the next one is tried).
 *
 * @since 0.2.0
 * @category models
 */
export interface UpstreamSource extends Plugin.Lifecycle {
  readonly open: (request: UpstreamRequest) => Result.Outcome<string, UpstreamDocument | null>
}

/**
 * Whether a value has the operation of an upstream source (checked when a plugin is loaded).
 *
 * @since 0.2.0
 * @category guards
 */
export const isUpstreamSource = (u: unknown): u is UpstreamSource =>
  typeof u === "object" && u !== null && typeof (u as Record<string, unknown>)["open"] === "function"
