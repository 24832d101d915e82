/**
 * Request bodies: bounded reading, form-urlencoded and multipart decoding (strict UTF-8), and
 * inline uploads spooled to temporary files so that memory stays flat however large the file
 * (they are removed when the request's scope closes, after the core has stored them).
 */
import { createReadStream } from "node:fs"
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises"
import type { IncomingMessage } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import type { LimitExceeded } from "@uws-kit/core/Errors"
import type { Upload } from "@uws-kit/core/Uws"
import { Effect, Either, Stream, type Scope } from "effect"
import * as Content from "@uws-kit/core/Content"
import * as Multipasta from "multipasta"
import { MultipartNames } from "@uws-kit/http"
import { RestError, badRequest } from "./errors.js"
import * as Form from "./form.js"

export interface MediaType {
  /** Lower-cased `type/subtype`, `""` when the header is absent. */
  readonly type: string
  readonly params: Readonly<Record<string, string>>
}

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

// The rest of the body is left unread: the connection cannot carry another request.
const tooLarge = (limit: number) =>
  new RestError({
    kind: "PayloadTooLarge",
    message: `The request body is larger than this service accepts (${limit} bytes).`,
    headers: { connection: "close" }
  })

const header = (req: HttpServerRequest, name: string): string | undefined => {
  const v = (req.headers as Record<string, string | ReadonlyArray<string> | undefined>)[name]
  return Array.isArray(v) ? v[0] : (v as string | undefined)
}

/** Whether the request carries a body at all (without reading it). */
export const hasBody = (req: HttpServerRequest): boolean => {
  const source = req.source as { body?: unknown } | undefined
  if (source !== undefined && "body" in source && !("socket" in source)) return source.body !== null && source.body !== undefined
  const length = header(req, "content-length")
  if (length !== undefined) return length.trim() !== "0"
  return header(req, "transfer-encoding") !== undefined
}

/** Fails early when a host body parser already consumed the stream (reading it would hang). */
const checkUnread = (req: HttpServerRequest): Effect.Effect<void, RestError> => {
  const source = req.source as { _body?: unknown; readableEnded?: boolean; complete?: boolean } | undefined
  if (source !== undefined && (source._body === true || (source.readableEnded === true && hasBody(req)))) {
    return Effect.fail(
      new RestError({
        kind: "InternalError",
        message: "The request body was already read by a body parser of the host; mount the UWS adapter before body parsers."
      })
    )
  }
  return Effect.void
}

const checkLength = (req: HttpServerRequest, limit: number): Effect.Effect<void, RestError> => {
  const length = header(req, "content-length")
  return length !== undefined && Number(length) > limit ? Effect.fail(tooLarge(limit)) : Effect.void
}

const readError = () => badRequest("The request body could not be read.")

/**
 * Feeds the body to `onChunk`, failing with 413 past `limit` bytes. Reads the web or Node stream
 * directly (an Effect Stream costs ~0.1 ms per request here); other sources go through
 * `req.stream`.
 */
const forEachChunk = (
  req: HttpServerRequest,
  limit: number,
  onChunk: (chunk: Uint8Array) => void | Promise<void>
): Effect.Effect<void, RestError> => {
  const source = req.source as { body?: ReadableStream<Uint8Array> | null; socket?: unknown } | undefined
  if (source !== undefined && "socket" in source) {
    return Effect.tryPromise({
      try: (signal) => nodeChunks(source as unknown as IncomingMessage, limit, onChunk, signal),
      catch: (e) => (e instanceof RestError ? e : readError())
    })
  }
  const iterable = source?.body instanceof ReadableStream ? readerIterable(source.body) : undefined
  if (iterable === undefined) {
    let size = 0
    return Stream.runForEach(Stream.mapError(req.stream, readError), (chunk) => {
      size += chunk.length
      if (size > limit) return Effect.fail(tooLarge(limit))
      return Effect.tryPromise({ try: async () => onChunk(chunk), catch: (e) => (e instanceof RestError ? e : readError()) })
    })
  }
  return Effect.tryPromise({
    try: async (signal) => {
      let size = 0
      for await (const chunk of iterable) {
        if (signal.aborted) return
        size += chunk.length
        if (size > limit) throw tooLarge(limit)
        const pending = onChunk(chunk)
        if (pending !== undefined) await pending
      }
    },
    catch: (e) => (e instanceof RestError ? e : readError())
  })
}

/**
 * Reads a Node request with events rather than its async iterator, whose early exit would destroy
 * the socket before the 413 is written.
 */
const nodeChunks = (
  req: IncomingMessage,
  limit: number,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal: AbortSignal
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
      if (size > limit) return finish(tooLarge(limit))
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
    const onError = () => finish(readError())
    const onClose = () => finish(req.complete ? undefined : readError())
    const onAbort = () => finish()
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
    req.on("close", onClose)
    signal.addEventListener("abort", onAbort)
    req.resume()
  })

const readerIterable = (stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> => ({
  [Symbol.asyncIterator]: () => {
    const reader = stream.getReader()
    return {
      next: async () => {
        const r = await reader.read()
        return r.done ? { done: true, value: undefined } : { done: false, value: r.value }
      },
      return: async () => {
        await reader.cancel().catch(() => undefined)
        return { done: true, value: undefined }
      }
    }
  }
})

/** The whole body, at most `limit` bytes. */
export const readBytes = (req: HttpServerRequest, limit: number): Effect.Effect<Uint8Array, RestError> =>
  Effect.gen(function* () {
    if (!hasBody(req)) return new Uint8Array(0)
    yield* checkUnread(req)
    yield* checkLength(req, limit)
    const chunks: Array<Uint8Array> = []
    yield* forEachChunk(req, limit, (chunk) => {
      chunks.push(chunk)
    })
    return Content.concat(chunks)
  })

/**
 * Reads and drops the whole body (at most `limit` bytes). A handler with an effect that ignores
 * its body (the sync facade's GET creates a job) still acts only once the request is complete:
 * a body its client cuts off fails the request, which then changes nothing.
 */
export const discardBody = (req: HttpServerRequest, limit: number): Effect.Effect<void, RestError> =>
  Effect.gen(function* () {
    if (!hasBody(req)) return
    yield* checkUnread(req)
    yield* checkLength(req, limit)
    yield* forEachChunk(req, limit, () => {})
  })

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Decodes text in the charset of its media type; UTF-8 (the default) strictly. */
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

export interface FormBody {
  readonly params: Form.Pairs
  readonly uploads: ReadonlyArray<Upload>
}

export const FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"] as const

const unsupported = (type: string, accepted: ReadonlyArray<string>) =>
  new RestError({
    kind: "UnsupportedMediaType",
    message:
      type === ""
        ? `The request has a body but no Content-Type; send ${accepted.join(" or ")}.`
        : `Content-Type ${type} is not accepted here; send ${accepted.join(" or ")}.`,
    headers: { "accept-post": accepted.join(", ") }
  })

/**
 * Refuses a form of more pairs than any job may have parameters before parsing it: a body of
 * millions of tiny pairs would otherwise become millions of strings. `maxPairs` leaves room for
 * the job-control names (PHASE, RUNID, …), so it never refuses a form the service would take.
 */
const countPairs = (bytes: Uint8Array, maxPairs: number): number => {
  let n = 1
  for (let i = bytes.indexOf(AMP); i >= 0 && n <= maxPairs; i = bytes.indexOf(AMP, i + 1)) n++
  return n
}
const AMP = 0x26

export interface PairLimit {
  readonly maxPairs: number
  /** The refusal, naming the service's limit. */
  readonly error: LimitExceeded
}

/**
 * Reads a form body: urlencoded or multipart. An empty body without a Content-Type is an empty
 * form (`curl -X POST`); any other body must be one of the two.
 */
export const readForm = (
  req: HttpServerRequest,
  limit: number,
  spoolDirectory: string = tmpdir(),
  pairs?: PairLimit
): Effect.Effect<FormBody, RestError | LimitExceeded, Scope.Scope> =>
  Effect.gen(function* () {
    const mt = mediaTypeOf(header(req, "content-type"))
    if (mt.type === "multipart/form-data") return yield* readMultipart(req, limit, spoolDirectory)
    if (mt.type === "application/x-www-form-urlencoded") {
      const cs = mt.params["charset"]?.toLowerCase()
      if (cs !== undefined && cs !== "utf-8" && cs !== "utf8") {
        return yield* Effect.fail(
          new RestError({ kind: "UnsupportedMediaType", message: `Form data must be UTF-8, not ${cs}.`, headers: { "accept-post": FORM_TYPES.join(", ") } })
        )
      }
      const bytes = yield* readBytes(req, limit)
      if (pairs !== undefined && countPairs(bytes, pairs.maxPairs) > pairs.maxPairs) {
        return yield* Effect.fail(pairs.error)
      }
      const parsed = Form.parse(bytes)
      if (Either.isLeft(parsed)) return yield* Effect.fail(badRequest(`Bad form data: ${parsed.left}`))
      return { params: parsed.right, uploads: [] }
    }
    const bytes = yield* readBytes(req, limit)
    if (bytes.length === 0) return { params: [], uploads: [] }
    return yield* Effect.fail(unsupported(mt.type, FORM_TYPES))
  })

export const unsupportedMediaType = unsupported

// ---- multipart -------------------------------------------------------------------------------

const MAX_PARTS = 1000

interface Spool {
  readonly path: string
  readonly handle: FileHandle
  closed: boolean
}

const multipartError = (e: Multipasta.MultipartError, limit: number): RestError => {
  switch (e._tag) {
    case "ReachedLimit":
      return e.limit === "MaxParts"
        ? new RestError({ kind: "PayloadTooLarge", message: `A multipart body may have at most ${MAX_PARTS} parts.` })
        : tooLarge(limit)
    case "InvalidBoundary":
      return badRequest("The multipart body has no boundary (Content-Type: multipart/form-data; boundary=…).")
    case "EndNotReached":
      return badRequest("The multipart body ends before its closing boundary.")
    default:
      return badRequest("The multipart body is malformed.")
  }
}

const readMultipart = (req: HttpServerRequest, limit: number, spoolDirectory: string): Effect.Effect<FormBody, RestError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkUnread(req)
    yield* checkLength(req, limit)
    const params: Form.Pairs = []
    const uploads: Array<Upload> = []
    const pendingChunks: Array<{ spool: Promise<Spool>; chunk: Uint8Array | null }> = []
    const fieldErrors: Array<string> = []
    let failure: RestError | undefined
    let done = false
    // One folder per request, created once: two file parts arriving before the first mkdtemp
    // settled used to create two folders, of which the finalizer removed one.
    let dir: Promise<string> | undefined
    let fileCount = 0
    const files: Array<{ info: Multipasta.PartInfo; spool: Promise<Spool> }> = []

    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        for (const f of files) {
          const s = await f.spool.catch(() => undefined)
          if (s !== undefined && !s.closed) await s.handle.close().catch(() => undefined)
        }
        const d = await dir?.catch(() => undefined)
        if (d !== undefined) await rm(d, { recursive: true, force: true }).catch(() => undefined)
      })
    )

    const spoolFor = async (): Promise<Spool> => {
      const index = fileCount++
      dir ??= mkdtemp(join(spoolDirectory, "uws-upload-"))
      const path = join(await dir, String(index))
      return { path, handle: await open(path, "w"), closed: false }
    }

    const parser = Multipasta.make({
      headers: Object.fromEntries(
        Object.entries(req.headers as Record<string, string | ReadonlyArray<string>>).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v as string)])
      ),
      maxParts: MAX_PARTS,
      maxTotalSize: limit,
      maxFieldSize: limit,
      isFile: (info) => info.filename !== undefined || info.contentType === "application/octet-stream",
      onField: (info, value) => {
        const text = decodeText(value, info.contentTypeParameters["charset"])
        if (Either.isLeft(text)) fieldErrors.push(`field "${info.name}": ${text.left}`)
        else params.push([info.name, text.right])
      },
      onFile: (info) => {
        const spool = spoolFor()
        // Keep a rejection for the flush that awaits it, not as an unhandled rejection.
        spool.catch(() => undefined)
        files.push({ info, spool })
        uploads.push({
          name: info.name,
          ...(info.contentType === "" ? {} : { mimeType: info.contentType }),
          content: Stream.unwrap(
            Effect.promise(() => spool).pipe(
              Effect.map((s) => Stream.fromAsyncIterable(createReadStream(s.path) as AsyncIterable<Uint8Array>, (e) => e))
            )
          )
        })
        return (chunk) => {
          pendingChunks.push({ spool, chunk })
        }
      },
      onError: (e) => {
        failure ??= multipartError(e, limit)
      },
      onDone: () => {
        done = true
      }
    })

    /** Writes the chunks the parser handed over to their spool files, in order. */
    const flushNow = async (): Promise<void> => {
      try {
        while (pendingChunks.length > 0) {
          const { spool, chunk } = pendingChunks.shift()!
          const s = await spool
          if (chunk === null) {
            s.closed = true
            await s.handle.close()
          } else {
            await s.handle.write(chunk)
          }
        }
      } catch (e) {
        throw new RestError({ kind: "InternalError", message: `An upload could not be spooled to disk: ${String(e)}` })
      }
    }
    const flush = Effect.tryPromise({ try: flushNow, catch: (e) => (e instanceof RestError ? e : readError()) })

    // Raw UTF-8 file names would make the parser drop the part's name (see MultipartNames).
    const boundary = MultipartNames.boundaryOf(header(req, "content-type") ?? "")
    const rewriter = boundary === undefined ? undefined : new MultipartNames.Utf8FileNames(boundary)
    yield* forEachChunk(req, limit, (chunk) => {
      if (rewriter === undefined) parser.write(chunk)
      else for (const bytes of rewriter.push(chunk)) parser.write(bytes)
      if (failure !== undefined) throw failure
      return pendingChunks.length === 0 ? undefined : flushNow()
    })
    const ending = rewriter?.end()
    for (const bytes of ending?.bytes ?? []) parser.write(bytes)
    parser.end()
    yield* flush
    if (failure !== undefined) return yield* Effect.fail(failure)
    if (!done || ending?.complete === false) return yield* Effect.fail(badRequest("The multipart body ends before its closing boundary."))
    if (fieldErrors.length > 0) return yield* Effect.fail(badRequest(`Bad multipart data: ${fieldErrors.join("; ")}`))
    return { params, uploads }
  })

/**
 * A whole body as an upload (PUT of a parameter's content), spooled to a temporary file removed
 * when the request's scope closes.
 */
export const spoolBody = (
  req: HttpServerRequest,
  name: string,
  mimeType: string | undefined,
  limit: number,
  spoolDirectory: string = tmpdir()
): Effect.Effect<Upload, RestError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkUnread(req)
    yield* checkLength(req, limit)
    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => mkdtemp(join(spoolDirectory, "uws-upload-")),
        catch: (e) => new RestError({ kind: "InternalError", message: `An upload could not be spooled to disk: ${String(e)}` })
      }),
      (d) => Effect.promise(() => rm(d, { recursive: true, force: true }).catch(() => undefined))
    )
    const path = join(dir, "0")
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => open(path, "w"),
        catch: (e) => new RestError({ kind: "InternalError", message: `An upload could not be spooled to disk: ${String(e)}` })
      }),
      (h) => Effect.promise(() => h.close().catch(() => undefined))
    )
    if (hasBody(req)) {
      yield* forEachChunk(req, limit, async (chunk) => {
        try {
          await handle.write(chunk)
        } catch (e) {
          throw new RestError({ kind: "InternalError", message: `An upload could not be spooled to disk: ${String(e)}` })
        }
      })
    }
    yield* Effect.promise(() => handle.close().catch(() => undefined))
    return {
      name,
      ...(mimeType === undefined || mimeType === "" ? {} : { mimeType }),
      content: Stream.suspend(() => Stream.fromAsyncIterable(createReadStream(path) as AsyncIterable<Uint8Array>, (e) => e))
    }
  })
