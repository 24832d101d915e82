import { Effect, Stream } from "effect"
import { toBytes } from "../Content.js"
import { StorageFailure } from "../Errors.js"
import type { ResultStoreService } from "../ResultStore.js"

interface Entry {
  readonly bytes: Uint8Array
  readonly mimeType: string | undefined
}

/** Keeps contents as byte arrays, per job. Reads are streamed in 64 KiB chunks all the same. */
export const makeMemoryResultStore = (): ResultStoreService => {
  const jobs = new Map<string, Map<string, Entry>>()
  return {
    put: (jobId, key, content, mimeType) =>
      Effect.map(
        Effect.mapError(toBytes(content), (cause) => new StorageFailure({ operation: "put", reason: `reading the content failed: ${String(cause)}`, cause })),
        (bytes) => {
          let entries = jobs.get(jobId)
          if (entries === undefined) jobs.set(jobId, (entries = new Map()))
          entries.set(key, { bytes, mimeType })
          return { size: bytes.length }
        }
      ),
    get: (jobId, key) =>
      Effect.sync(() => {
        const entry = jobs.get(jobId)?.get(key)
        if (entry === undefined) return undefined
        const chunkSize = 65_536
        const chunks: Array<Uint8Array> = []
        for (let i = 0; i < entry.bytes.length; i += chunkSize) chunks.push(entry.bytes.subarray(i, i + chunkSize))
        return { size: entry.bytes.length, mimeType: entry.mimeType, stream: Stream.fromIterable(chunks) }
      }),
    deleteAll: (jobId, prefix) =>
      Effect.sync(() => {
        if (prefix === undefined) {
          jobs.delete(jobId)
          return
        }
        const entries = jobs.get(jobId)
        if (entries === undefined) return
        for (const key of [...entries.keys()]) if (key.startsWith(prefix)) entries.delete(key)
        if (entries.size === 0) jobs.delete(jobId)
      })
  }
}
