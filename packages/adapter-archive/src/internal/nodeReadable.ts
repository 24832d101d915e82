/**
 * A storage's read stream as a Node `Readable`, for sending a stored object to a socket with
 * Node's own backpressure (`pipeline(readable, response)`) and no per-chunk Effect step.
 *
 * The stream is a plugin's, so it is not trusted: a chunk that is not bytes or a stream that goes
 * `idleMs` without a chunk fails it; destroying it calls the plugin's `return()` without waiting
 * (an async generator suspended in an await would never answer).
 *
 * One chunk is held back until the next one (or the clean end) arrives: a storage that verifies
 * what it reads (the filesystem storage checks the SHA-256 at the end) fails after its last
 * chunk, and that chunk must then not go out — an answer with a Content-Length that stops short
 * is reset by Node, so the client sees a cut download, never a whole-looking corrupted one.
 */
import { Readable } from "node:stream"

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

export const fromUntrusted = (content: unknown, idleMs: number, failure: (reason: string) => Error): Readable => {
  if (content instanceof Uint8Array) return Readable.from([content], { objectMode: false })
  let iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined
  let held: Uint8Array | undefined
  let timer: NodeJS.Timeout | undefined
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const open = (): AsyncIterator<unknown> | Iterator<unknown> | undefined => {
    if (typeof content === "object" && content !== null && Symbol.asyncIterator in content) {
      return (content as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    }
    if (typeof content === "object" && content !== null && Symbol.iterator in content) {
      // Not the contract (which asks for a stream), but unambiguous: accept it.
      return (content as Iterable<unknown>)[Symbol.iterator]()
    }
    return undefined
  }
  return new Readable({
    highWaterMark: 256 * 1024,
    read() {
      const step = () => {
        let pending: Promise<IteratorResult<unknown>>
        try {
          iterator ??= open()
          if (iterator === undefined) return this.destroy(failure("answered content that is not a stream (AsyncIterable or ReadableStream of bytes)"))
          pending = Promise.resolve(iterator.next())
        } catch (e) {
          return this.destroy(failure(`the stream failed: ${describe(e)}`))
        }
        timer = setTimeout(() => this.destroy(failure(`the stream stalled for ${idleMs} ms`)), idleMs)
        pending.then(
          (r) => {
            stop()
            if (this.destroyed) return
            if (r.done === true) {
              if (held !== undefined) this.push(held)
              held = undefined
              this.push(null)
              return
            }
            if (!(r.value instanceof Uint8Array)) return this.destroy(failure("the stream gave something other than bytes"))
            if (r.value.length === 0) return step()
            const out = held
            held = r.value
            // The first chunk is only held: read on until there is one to give.
            if (out === undefined) return step()
            this.push(out)
          },
          (e: unknown) => {
            stop()
            held = undefined
            if (!this.destroyed) this.destroy(failure(`the stream failed: ${describe(e)}`))
          }
        )
      }
      step()
    },
    destroy(error, callback) {
      stop()
      held = undefined
      try {
        void Promise.resolve(iterator?.return?.()).catch(() => {})
      } catch {
        // nothing more to do for a stream we abandon
      }
      callback(error)
    }
  })
}
