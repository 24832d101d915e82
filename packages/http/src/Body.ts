/**
 * Bounded request bodies for every binding: a declared `Content-Length` over the limit is refused
 * unread, reading stops at the limit, and a body a host's parser already consumed is named as
 * such rather than awaited for ever. Web and Node bodies are read natively (an Effect stream
 * costs ~0.1 ms a request here); any other source through the platform's stream. Each binding
 * words a `BodyError` in its own error form.
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"
import { RequestError } from "@effect/platform/HttpServerError"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Content from "@uws-kit/core/Content"
import { Data, Effect, Either, Stream } from "effect"

/**
 * Why a body was not read: larger than `limit` (`TooLarge`; the rest is left unread, so the
 * connection cannot carry another request), cut or failed (`Unreadable`), or consumed by a body
 * parser of the host before the binding (`AlreadyRead`).
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyError extends Data.TaggedError("BodyError")<{
  readonly reason: "TooLarge" | "Unreadable" | "AlreadyRead"
  readonly limit: number
}> {}

/**
 * A `Content-Type`: lower-cased `type/subtype` (`""` when the header is absent) and parameters
 * (names lower-cased, quotes removed).
 *
 * @since 0.1.0
 * @category models
 */
export interface MediaType {
  readonly type: string
  readonly params: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 * @category reading
 */
export const mediaTypeOf = (header: string | undefined): MediaType => {
  if (header === undefined) return { type: "", params: {} }
  const [head, ...rest] = header.split(";")
  const params: Record<string, string> = {}
  for (const p of rest) {
    const eq = p.indexOf("=")
    if (eq === -1) continue
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1")
  }
  return { type: head!.trim().toLowerCase(), params }
}

const header = (req: HttpServerRequest, name: string): string | undefined => {
  const v = (req.headers as Record<string, string | ReadonlyArray<string> | undefined>)[name]
  return Array.isArray(v) ? v[0] : (v as string | undefined)
}

/**
 * Whether the request carries a body at all (without reading it).
 *
 * @since 0.1.0
 * @category reading
 */
export const hasBody = (req: HttpServerRequest): boolean => {
  const source = req.source as { body?: unknown } | undefined
  if (source !== undefined && "body" in source && !("socket" in source)) return source.body !== null && source.body !== undefined
  const length = header(req, "content-length")
  if (length !== undefined) return length.trim() !== "0"
  return header(req, "transfer-encoding") !== undefined
}

/**
 * Refuses, before anything is read, a body a host's parser already consumed (reading it would
 * hang) and a declared `Content-Length` over `limit`.
 *
 * @since 0.1.0
 * @category reading
 */
export const check = (req: HttpServerRequest, limit: number): Effect.Effect<void, BodyError> => {
  const source = req.source as { _body?: unknown; readableEnded?: boolean } | undefined
  if (source !== undefined && (source._body === true || (source.readableEnded === true && hasBody(req)))) {
    return Effect.fail(new BodyError({ reason: "AlreadyRead", limit }))
  }
  const length = header(req, "content-length")
  return length !== undefined && Number(length) > limit ? Effect.fail(new BodyError({ reason: "TooLarge", limit })) : Effect.void
}

/**
 * Feeds the body to `onChunk`, failing with `TooLarge` past `limit` bytes (after `check`); an
 * `onChunk` that throws or rejects fails with what it threw when that is a `BodyError` or an `E`
 * (`isOwn`), else `Unreadable`.
 *
 * @since 0.1.0
 * @category reading
 */
export const forEachChunk = <E = never>(
  req: HttpServerRequest,
  limit: number,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  isOwn: (e: unknown) => e is E = (_): _ is E => false
): Effect.Effect<void, BodyError | E> => {
  const unreadable = () => new BodyError({ reason: "Unreadable", limit })
  const tooLarge = () => new BodyError({ reason: "TooLarge", limit })
  const caught = (e: unknown): BodyError | E => (e instanceof BodyError || isOwn(e) ? e : unreadable())
  const source = req.source as { body?: ReadableStream<Uint8Array> | null; socket?: unknown } | undefined
  if (source !== undefined && "socket" in source) {
    return Effect.tryPromise({ try: (signal) => nodeChunks(source as unknown as IncomingMessage, limit, onChunk, signal, tooLarge, unreadable), catch: caught })
  }
  const stream = source?.body instanceof ReadableStream ? source.body : undefined
  if (stream === undefined) {
    let size = 0
    return Stream.runForEach(Stream.mapError(req.stream, unreadable), (chunk) => {
      size += chunk.length
      if (size > limit) return Effect.fail(tooLarge())
      return Effect.tryPromise({ try: async () => onChunk(chunk), catch: caught })
    })
  }
  return webChunks(stream, limit, onChunk, tooLarge, caught)
}

/**
 * Reads a web stream chunk by chunk; an interruption, a refusal or a failure cancels it. (No
 * promise per chunk beyond the reader's own, no abort signal: this runs for every request body
 * of a fetch runtime.)
 */
const webChunks = <E>(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  tooLarge: () => BodyError,
  caught: (e: unknown) => BodyError | E
): Effect.Effect<void, BodyError | E> =>
  Effect.async<void, BodyError | E>((resume) => {
    let reader: ReadableStreamDefaultReader<Uint8Array>
    try {
      reader = stream.getReader()
    } catch (e) {
      return resume(Effect.fail(caught(e)))
    }
    let size = 0
    let settled = false
    const stop = (error: BodyError | E) => {
      if (settled) return
      settled = true
      reader.cancel().catch(() => undefined)
      resume(Effect.fail(error))
    }
    const pump = (): void => {
      reader.read().then((r) => {
        if (settled) return
        if (r.done) {
          settled = true
          return resume(Effect.void)
        }
        size += r.value.length
        if (size > limit) return stop(tooLarge())
        let pending: void | Promise<void>
        try {
          pending = onChunk(r.value)
        } catch (e) {
          return stop(caught(e))
        }
        if (pending === undefined) pump()
        else pending.then(pump, (e: unknown) => stop(caught(e)))
      }, (e: unknown) => stop(caught(e)))
    }
    pump()
    return Effect.sync(() => {
      if (settled) return
      settled = true
      reader.cancel().catch(() => undefined)
    })
  })

/**
 * Reads a Node request with events rather than its async iterator, whose early exit would destroy
 * the socket before the 413 is written.
 */
const nodeChunks = (
  req: IncomingMessage,
  limit: number,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal: AbortSignal,
  tooLarge: () => BodyError,
  unreadable: () => BodyError
): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    let size = 0
    let settled = false
    const finish = (error?: unknown) => {
      if (settled) return
      settled = true
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
      req.off("close", onClose)
      signal.removeEventListener("abort", onAbort)
      if (error === undefined) resolve()
      else {
        req.pause()
        reject(error)
      }
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) return finish(tooLarge())
      let pending: void | Promise<void>
      try {
        pending = onChunk(chunk)
      } catch (e) {
        return finish(e)
      }
      if (pending !== undefined) {
        req.pause()
        pending.then(
          () => {
            if (!settled) req.resume()
          },
          (e: unknown) => finish(e)
        )
      }
    }
    const onEnd = () => finish()
    const onError = () => finish(unreadable())
    const onClose = () => finish(req.complete ? undefined : unreadable())
    const onAbort = () => finish()
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
    req.on("close", onClose)
    signal.addEventListener("abort", onAbort)
    req.resume()
  })


/**
 * The body as a stream, for a reader that may stop before its end (a multipart upload refused at
 * a part). A Node request is then left unread, not destroyed: the platform's own `req.stream`
 * destroys it when the stream stops, and an unfinished request takes its socket with it, so the
 * refusal was never written. (The Node listener reads and drops the rest after the answer: `Linger`.)
 *
 * @since 0.1.0
 * @category reading
 */
export const stream = (req: HttpServerRequest): Stream.Stream<Uint8Array, RequestError> => {
  const source = req.source as { socket?: unknown } | undefined
  if (source === undefined || !("socket" in source)) return req.stream
  return NodeStream.fromReadable(
    () => source as unknown as IncomingMessage,
    (cause) => new RequestError({ request: req, reason: "Decode", cause }),
    { closeOnDone: false }
  )
}

/**
 * The whole body, at most `limit` bytes.
 *
 * @since 0.1.0
 * @category reading
 * @example
 * import { HttpServerRequest } from "@effect/platform"
 * import { Body } from "@uws-kit/http"
 * const bytes = Body.read(HttpServerRequest.fromWeb(new Request("http://x/", { method: "POST", body: "hi" })), 1024)
 */
export const read = (req: HttpServerRequest, limit: number): Effect.Effect<Uint8Array, BodyError> => {
  if (!hasBody(req)) return Effect.succeed(new Uint8Array(0))
  const chunks: Array<Uint8Array> = []
  const collect = forEachChunk(req, limit, (chunk) => {
    chunks.push(chunk)
  })
  return Effect.zipRight(check(req, limit), Effect.map(collect, () => Content.concat(chunks)))
}

/**
 * Reads and drops the whole body (at most `limit` bytes). A handler with an effect that ignores
 * its body still acts only once the request is complete: a body its client cuts off fails the
 * request, which then changes nothing.
 *
 * @since 0.1.0
 * @category reading
 */
export const discard = (req: HttpServerRequest, limit: number): Effect.Effect<void, BodyError> =>
  hasBody(req) ? Effect.zipRight(check(req, limit), forEachChunk(req, limit, () => {})) : Effect.void

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * Decodes text in the charset of its media type; UTF-8 (the default) strictly.
 *
 * @since 0.1.0
 * @category reading
 */
export const decodeText = (bytes: Uint8Array, charset: string | undefined): Either.Either<string, string> => {
  const cs = (charset ?? "utf-8").toLowerCase()
  if (cs === "utf-8" || cs === "utf8") {
    try {
      return Either.right(utf8.decode(bytes))
    } catch {
      return Either.left("The text is not valid UTF-8.")
    }
  }
  try {
    return Either.right(new TextDecoder(cs, { fatal: true }).decode(bytes))
  } catch {
    return Either.left(`The text is not valid ${cs}, or ${cs} is not a character set this service knows.`)
  }
}
