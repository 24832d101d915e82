/**
 * Bytes pushed by a receiver, pulled by a storage: the bridge that lets an upload be written
 * straight into a storage plugin's `save` (which reads an `AsyncIterable`) while the request is
 * still arriving, with backpressure both ways and no copy.
 *
 * - `write` answers at once while the reader keeps up (at most `highWaterMark` bytes queued),
 *   otherwise a promise that settles once the reader has taken enough, or stopped reading;
 * - `fail` makes the reader's pending and next `next()` reject: a storage waiting for bytes of a
 *   request that was cut off is woken up and cleans up, instead of waiting for good;
 * - the reader's `return()` (a storage that answered early, or was abandoned) makes every later
 *   `write` answer `false`, so the receiver stops feeding it (and may go on draining the request).
 *
 * Chunks are handed over as they are: the writer must not reuse a chunk's memory afterwards
 * (request bodies never do). Several pipes fed by one writer are a tee (one upload, several
 * storages, hashed once by the writer).
 */

export interface BytePipe {
  /** What the storage reads; one reader, once. */
  readonly iterable: AsyncIterable<Uint8Array>
  /** `true` while the reader takes bytes; `false` once it stopped (nothing more is queued). */
  readonly write: (chunk: Uint8Array) => boolean | Promise<boolean>
  /** No more bytes: the reader's iteration ends once it took the queued ones. */
  readonly end: () => void
  /** The bytes will not all come: the reader's next `next()` rejects with `error`. */
  readonly fail: (error: Error) => void
  /** Whether the reader stopped reading (returned) before the end. */
  readonly stopped: () => boolean
  /**
   * The save reading this pipe is over, whichever way: a read still to come (a plugin's promise
   * that outlived it) is refused rather than told the bytes ended, and writes answer `false`.
   */
  readonly close: () => void
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined }

export const make = (highWaterMark = 1024 * 1024): BytePipe => {
  const queue: Array<Uint8Array> = []
  let queued = 0
  let ended = false
  let failure: Error | undefined
  let stopped = false
  let taken = false
  let reader: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: Error) => void } | undefined
  let writer: ((more: boolean) => void) | undefined
  let waiting: Promise<boolean> | undefined

  const wakeWriter = () => {
    const w = writer
    writer = undefined
    w?.(!stopped)
  }
  const takeQueued = (): Uint8Array => {
    const chunk = queue.shift()!
    queued -= chunk.length
    if (queued < highWaterMark) wakeWriter()
    return chunk
  }
  const settleReader = () => {
    const r = reader
    if (r === undefined) return
    if (queue.length > 0) {
      reader = undefined
      r.resolve({ done: false, value: takeQueued() })
    } else if (failure !== undefined) {
      reader = undefined
      r.reject(failure)
    } else if (ended || stopped) {
      reader = undefined
      r.resolve(DONE)
    }
  }

  const iterator: AsyncIterator<Uint8Array> = {
    next: () => {
      if (queue.length > 0) return Promise.resolve({ done: false, value: takeQueued() })
      if (failure !== undefined) return Promise.reject(failure)
      if (ended || stopped) return Promise.resolve(DONE)
      return new Promise((resolve, reject) => {
        reader = { resolve, reject }
      })
    },
    return: () => {
      stopped = true
      queue.length = 0
      queued = 0
      settleReader()
      wakeWriter()
      return Promise.resolve(DONE)
    }
  }

  return {
    iterable: {
      [Symbol.asyncIterator]: () => {
        if (taken) throw new Error("the bytes of an upload can be read only once")
        taken = true
        return iterator
      }
    },
    write: (chunk) => {
      if (stopped || ended || failure !== undefined) return false
      if (chunk.length === 0) return true
      if (reader !== undefined && queue.length === 0) {
        const r = reader
        reader = undefined
        r.resolve({ done: false, value: chunk })
        return true
      }
      queue.push(chunk)
      queued += chunk.length
      if (queued < highWaterMark) return true
      // One promise for every write made while the queue is full: all settle together.
      return (waiting ??= new Promise<boolean>((resolve) => {
        writer = (more) => {
          waiting = undefined
          resolve(more)
        }
      }))
    },
    end: () => {
      if (failure !== undefined) return
      ended = true
      settleReader()
    },
    fail: (error) => {
      if (ended || failure !== undefined) return
      failure = error
      queue.length = 0
      queued = 0
      settleReader()
      wakeWriter()
    },
    stopped: () => stopped,
    close: () => {
      if (!ended && failure === undefined) {
        failure = new Error("the save reading these bytes is over")
        queue.length = 0
        queued = 0
        settleReader()
      }
      stopped = true
      wakeWriter()
    }
  }
}
