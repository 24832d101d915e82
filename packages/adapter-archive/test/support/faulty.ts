/**
 * Storage plugins that misbehave on demand, per operation: throw, reject, hang, answer a Left,
 * answer garbage, or stall a read stream; otherwise they behave as a memory storage. Every call
 * is logged.
 */
import { MemoryStorage } from "@uws-kit/adapter-archive"
import type { PostProcessor, StoragePlugin } from "@uws-kit/adapter-archive"

export type Mode = "ok" | "throw" | "reject" | "hang" | "left" | "malformed" | "stall"
export type Operation = "initialize" | "save" | "get" | "stat" | "delete"

export interface Faulty extends StoragePlugin.StoragePlugin {
  readonly calls: Array<Operation>
  readonly modes: Partial<Record<Operation, Mode>>
  /** Sets every operation (but initialize) to a mode. */
  readonly set: (mode: Mode) => void
  readonly inner: MemoryStorage.MemoryStorage
}

const misbehave = (mode: Mode, operation: Operation): unknown => {
  switch (mode) {
    case "throw":
      throw new Error(`${operation} exploded`)
    case "reject":
      return Promise.reject(new Error(`${operation}: the disk is on fire`))
    case "hang":
      return new Promise(() => {})
    case "left":
      return { _tag: "Left", left: `${operation}: quota exceeded on the volume` }
    case "malformed":
      return operation === "get" ? { _tag: "Right", right: { content: 42 } } : 42
    default:
      return undefined
  }
}

export const faulty = (initial: Partial<Record<Operation, Mode>> = {}): Faulty => {
  const inner = MemoryStorage.make()
  const calls: Array<Operation> = []
  const modes: Partial<Record<Operation, Mode>> = { ...initial }
  const op =
    <A extends Array<unknown>>(operation: Operation, real: (...args: A) => unknown) =>
    (...args: A): never => {
      calls.push(operation)
      const mode = modes[operation] ?? "ok"
      if (mode === "ok") return real(...args) as never
      if (mode === "stall" && operation === "get") {
        return (async () => {
          const got = (await real(...args)) as { _tag: string; right: { content: AsyncIterable<Uint8Array>; size?: number } }
          if (got._tag !== "Right") return got
          async function* stalled() {
            for await (const chunk of got.right.content) {
              yield chunk.subarray(0, Math.max(1, chunk.length >> 1))
              await new Promise(() => {})
            }
          }
          return { _tag: "Right", right: { content: stalled(), ...(got.right.size === undefined ? {} : { size: got.right.size }) } }
        })() as never
      }
      return misbehave(mode, operation) as never
    }
  return {
    calls,
    modes,
    inner,
    set: (mode) => {
      for (const o of ["save", "get", "stat", "delete"] as const) modes[o] = mode
    },
    initialize: op("initialize", () => ({ _tag: "Right", right: undefined })),
    save: op("save", inner.save),
    get: op("get", inner.get),
    stat: op("stat", inner.stat),
    delete: op("delete", inner.delete)
  }
}

/** A post-processor that records what it saw, then behaves as told. */
export const recordingPostProcessor = (
  mode: Mode,
  seen: Array<{ readonly name: string; readonly succeeded: boolean; readonly failure: string | null }>,
  name: string
): PostProcessor.PostProcessor => ({
  process: (container) => {
    seen.push({ name, succeeded: container.succeeded, failure: container.failure })
    return mode === "ok" ? { _tag: "Right", right: undefined } : (misbehave(mode, "save") as never)
  }
})
