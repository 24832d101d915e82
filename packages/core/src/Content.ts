/**
 * Content of results and uploads, and its conversions. Everything is a stream underneath, so a
 * store or an adapter never needs a whole document in memory.
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Stream } from "effect"

/**
 * Bytes, text, or a stream (web `ReadableStream`, any async iterable such as a Node
 * `Readable`, or an Effect `Stream`).
 *
 * @since 0.1.0
 * @category models
 */
export type Content =
  | Uint8Array
  | string
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Stream.Stream<Uint8Array, unknown>

const encoder = new TextEncoder()

const isReadableStream = (u: unknown): u is ReadableStream<Uint8Array> =>
  typeof u === "object" && u !== null && typeof (u as ReadableStream).getReader === "function"

const isAsyncIterable = (u: unknown): u is AsyncIterable<Uint8Array> =>
  typeof u === "object" && u !== null && Symbol.asyncIterator in u

/**
 * Any content as an Effect stream of byte chunks.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toStream = (content: Content): Stream.Stream<Uint8Array, unknown> => {
  if (typeof content === "string") return Stream.succeed(encoder.encode(content))
  if (content instanceof Uint8Array) return Stream.succeed(content)
  if (Stream.StreamTypeId in (content as object)) return content as Stream.Stream<Uint8Array, unknown>
  if (isReadableStream(content)) return Stream.fromReadableStream({ evaluate: () => content, onError: (e) => e })
  if (isAsyncIterable(content)) {
    return Stream.fromAsyncIterable(content, (e) => e).pipe(
      Stream.map((chunk) => (typeof chunk === "string" ? encoder.encode(chunk) : chunk))
    )
  }
  return Stream.fail(new TypeError("unsupported content: expected bytes, text, a ReadableStream, an async iterable or an Effect Stream"))
}

/**
 * The bytes of content held in memory (bytes or text) at once, without a stream; `undefined`
 * for a stream. Stores take the common small result this way: a stream of one chunk costs a
 * pipeline of fibers.
 *
 * @since 0.1.0
 * @category conversions
 */
export const inMemory = (content: Content): Uint8Array | undefined =>
  typeof content === "string" ? encoder.encode(content) : content instanceof Uint8Array ? content : undefined

/**
 * Collects content into one byte array (for small documents and tests only).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toBytes = (content: Content): Effect.Effect<Uint8Array, unknown> => {
  const held = inMemory(content)
  return held !== undefined ? Effect.succeed(held) : Stream.runCollect(toStream(content)).pipe(Effect.map((chunks) => concat(Chunk.toReadonlyArray(chunks))))
}

/**
 * @since 0.1.0
 * @category conversions
 */
export const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}
