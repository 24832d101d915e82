/**
 * The built-in `memory` storage, for tests and the demo: objects live in the process and are
 * gone when it ends. It still behaves like a real storage (opaque random locators, streamed reads
 * in 64 KiB chunks, SHA-256 in `stat`, idempotent delete), so code tested against it meets no
 * surprise against `filesystem`.
 *
 * Parameters: none.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import type { Result } from "@uws-kit/core"
import type { Locator, StorageObject, StoragePlugin, StorageStat, StoredObject } from "./StoragePlugin.js"

interface Entry {
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly size: number
  readonly sha256: string
  readonly modified: number
}

const CHUNK = 64 * 1024

/**
 * A memory storage with its objects visible, for tests that need to look inside.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryStorage extends StoragePlugin {
  /** Locators of the objects it holds. */
  readonly locators: () => ReadonlyArray<Locator>
}

/**
 * A new, empty memory storage.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): MemoryStorage => {
  const objects = new Map<Locator, Entry>()
  const right = <A>(a: A): Result.Result<string, A> => ({ _tag: "Right", right: a })
  return {
    save: async (object: StorageObject) => {
      const hash = createHash("sha256")
      const chunks: Array<Uint8Array> = []
      let size = 0
      try {
        for await (const chunk of object.content) {
          hash.update(chunk)
          // Copy: the producer may reuse its buffer.
          chunks.push(Uint8Array.from(chunk))
          size += chunk.length
        }
      } catch (e) {
        return { _tag: "Left", left: `reading ${object.name} failed: ${e instanceof Error ? e.message : String(e)}` }
      }
      const locator = randomUUID()
      objects.set(locator, { chunks, size, sha256: hash.digest("hex"), modified: Date.now() })
      return right(locator)
    },
    get: async (locator: Locator): Promise<Result.Result<string, StoredObject>> => {
      const entry = objects.get(locator)
      if (entry === undefined) return { _tag: "Left", left: `no object ${locator} in this storage` }
      async function* content() {
        for (const chunk of entry!.chunks) {
          for (let i = 0; i < chunk.length; i += CHUNK) yield chunk.subarray(i, i + CHUNK)
        }
      }
      return right({ content: content(), size: entry.size })
    },
    stat: async (locator: Locator): Promise<Result.Result<string, StorageStat | null>> => {
      const entry = objects.get(locator)
      return right(entry === undefined ? null : { size: entry.size, sha256: entry.sha256, modified: entry.modified })
    },
    delete: async (locator: Locator) => {
      objects.delete(locator)
      return right(undefined)
    },
    locators: () => [...objects.keys()]
  }
}

/**
 * The name under which `plugin-config.json` refers to this storage (`AssemblyName`).
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinName = "memory"
