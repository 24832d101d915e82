/**
 * The document-storage plugin contract (the seed's `IDocumentStoragePlugin`, done right).
 *
 * A storage keeps opaque objects: the archive hands it one object of a container at a time (the
 * signed document, each signature, an upgraded signature, a UWS result) as a stream, and keeps
 * the locator the storage answers. Every operation returns a Result (or a promise, thunk or
 * Effect of one) and must not throw; the host does not trust that and turns every throw,
 * rejection, time-out and malformed answer into a failure all the same.
 *
 * Differences from the seed, on purpose:
 * - contents are streams, never whole-file buffers;
 * - `stat` exists (size, and the SHA-256 when the storage keeps one), as DSpace's `about`;
 * - `delete` is idempotent: a missing object counts as deleted (Akubra, OCFL `purgeObject`);
 * - parameters are looked up case-insensitively by the host ({@link Plugin.PluginParameters}).
 *
 * @since 0.1.0
 */
import type { Plugin, Result } from "@uws-kit/core"

/**
 * An opaque reference to a stored object, chosen by the storage. The archive keeps it and gives
 * it back to `get`, `stat` and `delete`; it never interprets it.
 *
 * @since 0.1.0
 * @category models
 */
export type Locator = string

/**
 * One object of a container, handed to `save`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StorageObject {
  /** The container (UWS job) the object belongs to. */
  readonly containerId: string
  /** Its role in the container: `document`, `signature-1`, `results/x`, … */
  readonly name: string
  /** The file name it was uploaded with, when there was one. */
  readonly fileName?: string
  readonly mimeType?: string
  /** Its size in bytes, when known in advance. */
  readonly size?: number
  /**
   * Its SHA-256 (lowercase hex), when known in advance (computed while it was received): a
   * content-addressed store (`Replicas`) keeps identical content once. Plain storages ignore it.
   */
  readonly sha256?: string
  /** The bytes, read once, in order. A storage must consume it to the end or fail. */
  readonly content: AsyncIterable<Uint8Array>
  /**
   * SHA-256 of the content (lowercase hex), computed by the host while the storage reads it:
   * defined once `content` has been read to its end. A storage that keeps a digest takes this one
   * instead of hashing the bytes a second time. (The content may be a request still arriving:
   * its size is then not known in advance.)
   */
  readonly digest?: () => string | undefined
  /**
   * The host never writes into a chunk's memory after handing it over (an upload's chunks are
   * the request's own): a storage may keep chunks past the next read without copying them.
   * Absent, a chunk may be overwritten once the next one is asked for, so what is kept is copied.
   */
  readonly stableChunks?: boolean
}

/**
 * A stored object as `get` answers it: a stream opened by the storage.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredObject {
  readonly content: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>
  /** Its size in bytes, when the storage knows it. */
  readonly size?: number
}

/**
 * How the host reads a stored object (`get`'s second argument; a storage may ignore it).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /**
   * The host hashes every byte it reads and checks the digest itself (a mirrored read:
   * `Replicas`), and handles a mismatch (the copy marked corrupt, the read ended in an error, the
   * copy repaired): a storage that checks its reads against a digest it keeps may skip that
   * check, so each byte is hashed once. A storage that checks anyway is still correct.
   */
  readonly hostVerifies?: boolean
}

/**
 * What a storage knows about a stored object without reading it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StorageStat {
  readonly size: number
  /** SHA-256 of the content (lowercase hex), when the storage keeps one. */
  readonly sha256?: string
  /** When it was stored (epoch ms), when the storage knows. */
  readonly modified?: number
}

/**
 * A document storage. `Left`s carry a message a user or operator can act on.
 *
 * @since 0.1.0
 * @category models
 * @example
 * import type { StoragePlugin } from "@uws-kit/adapter-archive"
 * const objects = new Map<string, Uint8Array>()
 * export const plugin: StoragePlugin.StoragePlugin = {
 *   save: async (object) => {
 *     const chunks: Array<Uint8Array> = []
 *     for await (const chunk of object.content) chunks.push(chunk)
 *     const locator = crypto.randomUUID()
 *     objects.set(locator, Buffer.concat(chunks))
 *     return { _tag: "Right", right: locator }
 *   },
 *   get: async (locator) => {
 *     const bytes = objects.get(locator)
 *     return bytes === undefined ? { _tag: "Left", left: `no object ${locator}` } : { _tag: "Right", right: { content: [bytes] as never, size: bytes.length } }
 *   },
 *   stat: async (locator) => ({ _tag: "Right", right: objects.has(locator) ? { size: objects.get(locator)!.length } : null }),
 *   delete: async (locator) => (objects.delete(locator), { _tag: "Right", right: undefined })
 * }
 */
export interface StoragePlugin extends Plugin.Lifecycle {
  /** Stores one object; answers its locator. Nothing is visible unless this succeeds. */
  readonly save: (object: StorageObject) => Result.Outcome<string, Locator>
  /** Opens a stored object for reading. A missing object is a `Left`. */
  readonly get: (locator: Locator, options?: ReadOptions) => Result.Outcome<string, StoredObject>
  /** Size (and digest) of a stored object; `null` when it does not exist. */
  readonly stat: (locator: Locator) => Result.Outcome<string, StorageStat | null>
  /** Deletes an object. Idempotent: a missing object counts as deleted. */
  readonly delete: (locator: Locator) => Result.Outcome<string, void>
}

/**
 * Whether a value has the four operations of a storage (checked when a plugin is loaded).
 *
 * @since 0.1.0
 * @category guards
 */
export const isStoragePlugin = (u: unknown): u is StoragePlugin =>
  typeof u === "object" &&
  u !== null &&
  ["save", "get", "stat", "delete"].every((op) => typeof (u as Record<string, unknown>)[op] === "function")
