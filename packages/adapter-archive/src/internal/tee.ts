/**
 * One source read once, by several consumers at the pace of the slowest: the next chunk is pulled
 * only when every branch still reading has taken the current one (no buffering beyond one chunk).
 * A branch whose consumer stops (`return()`, as the storage host does on a time-out) no longer
 * holds the others back; when every branch stopped, the source is closed. Branches share the
 * chunks (storages copy what they keep, as their contract says, unless the object's chunks are
 * `stableChunks`).
 */
export const tee = (source: AsyncIterable<Uint8Array>, n: number): ReadonlyArray<AsyncIterable<Uint8Array>> => {
  let iterator: AsyncIterator<Uint8Array> | undefined
  let index = -1
  let current: IteratorResult<Uint8Array> | undefined
  let failure: { readonly error: unknown } | undefined
  let pulling: Promise<void> | undefined
  const consumed = new Array<number>(n).fill(-1)
  const active = new Array<boolean>(n).fill(true)
  let waiters: Array<() => void> = []
  const wake = () => {
    const ws = waiters
    waiters = []
    for (const w of ws) w()
  }
  const ready = () => active.every((a, i) => !a || consumed[i] === index)
  const pull = async () => {
    try {
      iterator ??= source[Symbol.asyncIterator]()
      current = await iterator.next()
    } catch (e) {
      failure = { error: e }
      current = { done: true, value: undefined }
    }
    index++
    wake()
  }
  const stop = (i: number) => {
    if (!active[i]) return
    active[i] = false
    if (active.every((a) => !a)) void Promise.resolve(iterator?.return?.()).catch(() => {})
    wake()
  }
  const branch = (i: number): AsyncIterable<Uint8Array> => ({
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          if (!active[i]) return { done: true, value: undefined }
          if (consumed[i]! < index) {
            consumed[i] = index
            if (failure !== undefined) throw failure.error
            return current!
          }
          if (current?.done === true) return { done: true, value: undefined }
          if (pulling === undefined && ready()) {
            pulling = pull().finally(() => {
              pulling = undefined
            })
          }
          await new Promise<void>((resolve) => waiters.push(resolve))
        }
      },
      return: async () => {
        stop(i)
        return { done: true, value: undefined }
      }
    })
  })
  return Array.from({ length: n }, (_, i) => branch(i))
}
