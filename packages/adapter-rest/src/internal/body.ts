/**
 * Request bodies: bounded reading (`Body` of `@uws-kit/http`, refusals in REST's words),
 * form-urlencoded and multipart decoding (strict UTF-8), and
 * inline uploads spooled to temporary files so that memory stays flat however large the file
 * (they are removed when the request's scope closes, after the core has stored them).
 */
import { createReadStream } from "node:fs"
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import type { LimitExceeded } from "@uws-kit/core/Errors"
import type { Upload } from "@uws-kit/core/Uws"
import { Effect, Either, Stream, type Scope } from "effect"
import * as Multipasta from "multipasta"
import { Body, MultipartNames } from "@uws-kit/http"
import { RestError, badRequest } from "./errors.js"
import * as Form from "./form.js"

export const { mediaTypeOf, hasBody, decodeText } = Body

/** A body refusal in REST's words (the messages clients have always had). */
const fromBody = (e: Body.BodyError): RestError => {
  switch (e.reason) {
    case "TooLarge":
      return tooLarge(e.limit)
    case "Unreadable":
      return readError()
    case "AlreadyRead":
      return new RestError({
        kind: "InternalError",
        message: "The request body was already read by a body parser of the host; mount the UWS adapter before body parsers."
      })
  }
}

// The rest of the body is left unread: the connection cannot carry another request.
const tooLarge = (limit: number) =>
  new RestError({
    kind: "PayloadTooLarge",
    message: `The request body is larger than this service accepts (${limit} bytes).`,
    headers: { connection: "close" }
  })

const readError = () => badRequest("The request body could not be read.")

const header = (req: HttpServerRequest, name: string): string | undefined => {
  const v = (req.headers as Record<string, string | ReadonlyArray<string> | undefined>)[name]
  return Array.isArray(v) ? v[0] : (v as string | undefined)
}

const isRestError = (e: unknown): e is RestError => e instanceof RestError

const check = (req: HttpServerRequest, limit: number): Effect.Effect<void, RestError> => Effect.mapError(Body.check(req, limit), fromBody)

/** Feeds the body to `onChunk` (which may throw a RestError), failing with 413 past `limit` bytes. */
const forEachChunk = (req: HttpServerRequest, limit: number, onChunk: (chunk: Uint8Array) => void | Promise<void>): Effect.Effect<void, RestError> =>
  Effect.mapError(Body.forEachChunk(req, limit, onChunk, isRestError), (e) => (e instanceof RestError ? e : fromBody(e)))

/** The whole body, at most `limit` bytes. */
export const readBytes = (req: HttpServerRequest, limit: number): Effect.Effect<Uint8Array, RestError> => Effect.mapError(Body.read(req, limit), fromBody)

/**
 * Reads and drops the whole body (at most `limit` bytes). A handler with an effect that ignores
 * its body (the sync facade's GET creates a job) still acts only once the request is complete.
 */
export const discardBody = (req: HttpServerRequest, limit: number): Effect.Effect<void, RestError> => Effect.mapError(Body.discard(req, limit), fromBody)

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

/** A urlencoded body's form (the app's reading and the Node listener's fast creation share it). */
export const urlencodedForm = (bytes: Uint8Array, pairs?: PairLimit): Either.Either<FormBody, RestError | LimitExceeded> => {
  if (pairs !== undefined && countPairs(bytes, pairs.maxPairs) > pairs.maxPairs) return Either.left(pairs.error)
  const parsed = Form.parse(bytes)
  return Either.isLeft(parsed) ? Either.left(badRequest(`Bad form data: ${parsed.left}`)) : Either.right({ params: parsed.right, uploads: [] })
}

/** What the app answers for a body it could not read (the client hung up mid-body). */
export const unreadableBody = (limit: number): RestError => fromBody(new Body.BodyError({ reason: "Unreadable", limit }))

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
      return yield* urlencodedForm(yield* readBytes(req, limit), pairs)
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
    yield* check(req, limit)
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
    yield* check(req, limit)
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
