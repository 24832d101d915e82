/**
 * Receiving the multipart upload of a container, in one pass over its bytes.
 *
 * Each file part is hashed (SHA-256) and counted as it arrives and, when the archive names a
 * document storage ready to write, streamed straight into it (`save`, fed through a
 * {@link BytePipe}): no spool file, no second write, no second hash (the storage is given the
 * digest). The parts of a multipart body arrive in order, so nothing needs seeing in advance, with
 * one exception: the storage is the one `ArchiveCaPluginName` names if that field came before the
 * first file, otherwise the default one; when it comes later and names another storage, the
 * upload copies the files across once (clients that name a storage should send it first).
 *
 * A file is spooled to a private temporary folder (as before this one-pass path existed) only
 * when no storage is ready to write when it arrives; the folder goes when the request's scope
 * closes. Copies written to a storage that the upload does not take over (it was refused, cut
 * off, or went to another storage) are deleted when the scope closes, before the answer.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Multipart } from "@effect/platform"
import type { HttpServerRequest } from "@effect/platform"
import { Cause, Data, Effect, Exit, Fiber, Option, Stream } from "effect"
import { Scope } from "effect"
import type { IncomingFile, UploadTarget } from "../Archive.js"
import type { Storage } from "../Storage.js"
import { Errors } from "@uws-kit/core"
import { Body, MultipartNames } from "@uws-kit/http"
import * as BytePipe from "./bytePipe.js"

/** A problem with the request itself, answered with its HTTP status and a stable code. */
export class RequestProblem extends Data.TaggedError("RequestProblem")<{
  readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 500
  readonly code: string
  readonly reason: string
}> {
  override get message() {
    return this.reason
  }
}

export interface UploadLimits {
  /** Largest document (Content), bytes. */
  readonly maxDocumentSize: number
  /** Largest signature, bytes. */
  readonly maxSignatureSize: number
  /** Most signatures. */
  readonly maxSignatures: number
  /** Largest text field, bytes. */
  readonly maxFieldSize: number
}

export const defaultLimits: UploadLimits = {
  maxDocumentSize: 4 * 1024 ** 3,
  maxSignatureSize: 16 * 1024 ** 2,
  maxSignatures: 64,
  maxFieldSize: 64 * 1024
}

/** The fields of the upload, in the seed's spelling. */
export const FIELDS = [
  "Content",
  "Signs",
  "StorageId",
  "SaveType",
  "ContainerName",
  "StructureName",
  "ArchiveDate",
  "IsNeedArchivatorSign",
  "UseArchiveCa",
  "ArchiveCaPluginName"
] as const
export type FieldName = (typeof FIELDS)[number]

export interface UploadForm {
  readonly fields: ReadonlyMap<FieldName, string>
  readonly content: IncomingFile | undefined
  readonly signs: ReadonlyArray<IncomingFile>
  /** The container id the files were stored under, when they were written straight to a storage. */
  readonly containerId: string | undefined
}

/** Where files go while they are received (the archive's `prepareUpload`). */
export type PrepareUpload = (pluginName: string | undefined) => UploadTarget

const problem = (status: RequestProblem["status"], code: string, reason: string) => new RequestProblem({ status, code, reason })

const fieldName = (key: string): FieldName | undefined => {
  const k = key.toLowerCase().replace(/\[\]$/, "")
  return FIELDS.find((f) => f.toLowerCase() === k)
}

const human = (n: number) => (n >= 1024 ** 3 ? `${n / 1024 ** 3} GiB` : n >= 1024 ** 2 ? `${n / 1024 ** 2} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`)

/**
 * Reads the multipart body; spooled files, and stored copies the upload did not take over, live
 * until the scope closes. Without `prepare`, every file is spooled.
 */
export const receive = (
  request: HttpServerRequest.HttpServerRequest,
  limits: UploadLimits,
  spoolDirectory: string = os.tmpdir(),
  prepare?: PrepareUpload
): Effect.Effect<UploadForm, RequestProblem, Scope.Scope> =>
  Effect.gen(function* () {
    const contentType = request.headers["content-type"] ?? ""
    if (!/^multipart\/form-data\s*;.*boundary=/i.test(contentType)) {
      return yield* Effect.fail(
        problem(415, "UnsupportedMediaType", `the upload must be multipart/form-data with a boundary, not "${contentType || "(none)"}"`)
      )
    }
    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => fs.mkdtemp(path.join(spoolDirectory, "uws-archive-upload-")),
        catch: (e) => e
      }).pipe(Effect.orDie),
      (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
    )
    const fields = new Map<FieldName, string>()
    let content: IncomingFile | undefined
    const signs: Array<IncomingFile> = []
    let files = 0

    let target: UploadTarget | undefined
    const requestScope = yield* Effect.scope
    const tooLarge = (label: string, max: number) => problem(413, "PayloadTooLarge", `${label} is larger than this archive accepts (${human(max)})`)
    const notDer = (label: string, part: Multipart.File) =>
      problem(400, "InvalidArgument", `${label} (${part.name}) is not a binary DER signature; base64 and PEM signatures are not accepted`)
    const partProblem = (label: string, max: number) => (e: RequestProblem | Multipart.MultipartError) =>
      e._tag === "RequestProblem"
        ? e
        : e.reason === "FileTooLarge"
          ? tooLarge(label, max)
          : problem(400, "MalformedRequest", `the multipart body is malformed: ${e.message}`)

    /**
     * One pass: each batch of the part is counted, hashed and handed to the storage's save, which
     * runs alongside; the part is read to its end whatever the storage does (a storage that failed
     * is reported by the upload, after the request's own problems).
     */
    const stream = (part: Multipart.File, field: "Content" | "Signs", storage: Storage, containerId: string) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const max = field === "Content" ? limits.maxDocumentSize : limits.maxSignatureSize
          const index = signs.length + 1
          const label = field === "Content" ? "Content" : `Signs #${index}`
          const mimeType = part.contentType || "application/octet-stream"
          const pipe = BytePipe.make()
          const hash = createHash("sha256")
          let digest: string | undefined
          let size = 0
          let first: number | undefined
          let feeding = true
          // A daemon, awaited below whatever happens: it must not be interrupted with the request,
          // or the plugin's save would go on unobserved and could keep what it had read.
          const saving = yield* Effect.forkDaemon(
            restore(
              storage.save({
                containerId,
                name: field === "Content" ? "document" : `signature-${index}`,
                fileName: part.name,
                mimeType,
                content: pipe.iterable,
                digest: () => digest,
                // The request's chunks, never reused by their source (BytePipe's rule).
                stableChunks: true
              }).pipe(Effect.ensuring(Effect.sync(() => pipe.close())))
            )
          )
          const produced = yield* Effect.exit(
            restore(
              Stream.runForEachChunk(part.content, (chunk) => {
                let wait: Promise<boolean> | undefined
                for (const bytes of chunk) {
                  if (bytes.length === 0) continue
                  if (first === undefined) first = bytes[0]
                  size += bytes.length
                  if (size > max) return Effect.fail(tooLarge(label, max))
                  hash.update(bytes)
                  if (!feeding) continue
                  const written = pipe.write(bytes)
                  if (written === false) feeding = false
                  else if (written !== true) wait = written
                }
                return wait === undefined
                  ? Effect.void
                  : Effect.map(
                      Effect.promise(() => wait!),
                      (more) => {
                        if (!more) feeding = false
                      }
                    )
              }).pipe(Effect.mapError(partProblem(label, max)))
            )
          )
          if (Exit.isFailure(produced)) {
            // Cut off or refused: the storage stops waiting for bytes, and keeps nothing.
            pipe.fail(new Error("the upload stopped before the end of this file"))
            const saved = yield* Fiber.await(saving)
            if (Exit.isSuccess(saved)) yield* storage.delete(saved.value).pipe(Effect.ignore)
            return yield* Effect.failCause(produced.cause)
          }
          digest = hash.digest("hex")
          pipe.end()
          const saved = yield* Fiber.await(saving)
          if (Exit.isSuccess(saved)) {
            let claimed = false
            const locator = saved.value
            // On the request's scope (not whatever scope a stream operator runs this in): the copy
            // lives until the upload took it over or the request is over.
            yield* Scope.addFinalizer(requestScope, Effect.suspend(() => (claimed ? Effect.void : storage.delete(locator).pipe(Effect.ignore))))
            if (field === "Signs" && size > 0 && first !== 0x30) return yield* Effect.fail(notDer(label, part))
            const incoming: IncomingFile = {
              fileName: part.name,
              mimeType,
              size,
              sha256: digest,
              open: () => Stream.toAsyncIterable(Stream.unwrap(Effect.map(storage.get(locator), (o) => o.stream))),
              stored: {
                _tag: "Stored",
                storage: storage.name,
                locator,
                claim: () => {
                  claimed = true
                }
              }
            }
            return incoming
          }
          if (field === "Signs" && size > 0 && first !== 0x30) return yield* Effect.fail(notDer(label, part))
          // A storage that answered before the end of a file was told no size (none was known
          // then): the size is known now, and the reason says it as a save from a spool did.
          const failure = Option.map(Cause.failureOption(saved.cause), (e) =>
            e.operation === "save" && e.reason.includes(" bytes of the object")
              ? new Errors.PluginFailure({ plugin: e.plugin, operation: e.operation, reason: e.reason.replace(" bytes of the object", ` bytes of ${size} object`) })
              : e
          )
          const incoming: IncomingFile = {
            fileName: part.name,
            mimeType,
            size,
            sha256: digest,
            open: () => {
              throw new Error("this file could not be stored and is gone")
            },
            stored: Option.isSome(failure)
              ? { _tag: "Failed", failure: failure.value }
              : { _tag: "Failed", failure: new Errors.PluginFailure({ plugin: storage.name, operation: "save", reason: "the save was interrupted" }) }
          }
          return incoming
        })
      )

    const receiveFile = (part: Multipart.File, field: "Content" | "Signs") => {
      if (prepare === undefined) return spool(part, field)
      target ??= prepare(fields.get("ArchiveCaPluginName")?.trim())
      return target.storage === undefined ? spool(part, field) : stream(part, field, target.storage, target.containerId)
    }

    const spool = (part: Multipart.File, field: "Content" | "Signs") =>
      Effect.gen(function* () {
        const max = field === "Content" ? limits.maxDocumentSize : limits.maxSignatureSize
        const index = signs.length + 1
        const label = field === "Content" ? "Content" : `Signs #${index}`
        const file = path.join(dir, `${files++}.part`)
        const handle = yield* Effect.acquireRelease(
          Effect.promise(() => fs.open(file, "wx")),
          (h) => Effect.promise(() => h.close().catch(() => {}))
        )
        const hash = createHash("sha256")
        let size = 0
        let first: number | undefined
        yield* Stream.runForEach(part.content, (chunk) =>
          Effect.gen(function* () {
            if (chunk.length === 0) return
            if (first === undefined) first = chunk[0]
            size += chunk.length
            if (size > max) return yield* Effect.fail(problem(413, "PayloadTooLarge", `${label} is larger than this archive accepts (${human(max)})`))
            hash.update(chunk)
            yield* Effect.promise(async () => {
              let written = 0
              while (written < chunk.length) written += (await handle.write(chunk, written, chunk.length - written)).bytesWritten
            })
          })
        ).pipe(
          Effect.mapError((e) =>
            e._tag === "RequestProblem"
              ? e
              : e.reason === "FileTooLarge"
                ? problem(413, "PayloadTooLarge", `${label} is larger than this archive accepts (${human(max)})`)
                : problem(400, "MalformedRequest", `the multipart body is malformed: ${e.message}`)
          )
        )
        // DER signatures start with an ASN.1 SEQUENCE; base64 and PEM do not (the seed refuses them).
        if (field === "Signs" && size > 0 && first !== 0x30) {
          return yield* Effect.fail(
            problem(400, "InvalidArgument", `${label} (${part.name}) is not a binary DER signature; base64 and PEM signatures are not accepted`)
          )
        }
        const incoming: IncomingFile = {
          fileName: part.name,
          mimeType: part.contentType || "application/octet-stream",
          size,
          sha256: hash.digest("hex"),
          open: () => createReadStream(file, { highWaterMark: 64 * 1024 })
        }
        return incoming
      }).pipe(Effect.scoped)

    const boundary = MultipartNames.boundaryOf(contentType)!
    // Raw UTF-8 file names would defeat the parser: rewrite them first (see MultipartNames in @uws-kit/http).
    // One Effect stream from the request's body to the parser, never a JS async generator between
    // them: a generator waiting for the next chunk cannot be returned, so a request aborted while
    // its client stalled mid-body would never finish interrupting, and its spool (released only
    // once the interruption is done) would stay on disk for good.
    let cut: string | undefined
    const rewriter = new MultipartNames.Utf8FileNames(boundary)
    // Body.stream, not request.stream: a refusal mid-body must leave the Node request (and its
    // socket) to carry the answer.
    const body = Body.stream(request).pipe(
      Stream.catchAll((e) => {
        cut = `reading the body failed: ${e.message}`
        return Stream.empty
      }),
      Stream.mapConcat((chunk) => rewriter.push(chunk)),
      Stream.concat(
        Stream.suspend(() => {
          const { bytes, complete } = rewriter.end()
          if (cut === undefined && !complete) cut = "the body ended before its closing boundary"
          return Stream.fromIterable(bytes)
        })
      )
    )
    const parts = body.pipe(
      Stream.pipeThroughChannel(Multipart.makeChannel<unknown>(request.headers)),
      Multipart.withLimitsStream({
        maxParts: Option.some(limits.maxSignatures + FIELDS.length + 16),
        maxFieldSize: limits.maxFieldSize,
        maxFileSize: Option.some(Math.max(limits.maxDocumentSize, limits.maxSignatureSize) + 1),
        fieldMimeTypes: []
      })
    )
    yield* Stream.runForEach(parts, (part) =>
      Effect.gen(function* () {
        const name = fieldName(part.key)
        if (part.key === "") {
          return yield* Effect.fail(problem(400, "InvalidArgument", "a part has no readable field name (field names are ASCII: Content, Signs, …)"))
        }
        if (name === undefined) {
          return yield* Effect.fail(problem(400, "InvalidArgument", `"${part.key}" is not a field of this upload (fields: ${FIELDS.join(", ")})`))
        }
        if (part._tag === "Field") {
          if (name === "Content") {
            return yield* Effect.fail(problem(400, "InvalidArgument", "Content must be sent as a file part (curl -F 'Content=@document.txt')"))
          }
          if (name === "Signs") {
            return yield* Effect.fail(
              problem(400, "InvalidArgument", "Signs must be sent as binary file parts (curl -F 'Signs=@signature.sig'); base64 text is not accepted")
            )
          }
          if (fields.has(name)) return yield* Effect.fail(problem(400, "InvalidArgument", `${name} is given more than once`))
          fields.set(name, part.value)
          return
        }
        if (part._tag !== "File") return
        if (name === "Content") {
          if (content !== undefined) return yield* Effect.fail(problem(400, "InvalidArgument", "Content is given more than once"))
          content = yield* receiveFile(part, "Content")
          return
        }
        if (name === "Signs") {
          if (signs.length >= limits.maxSignatures) {
            return yield* Effect.fail(problem(400, "InvalidArgument", `at most ${limits.maxSignatures} signatures per container`))
          }
          const sign = yield* receiveFile(part, "Signs")
          // A browser's form sends an empty, unnamed file part for a file input left empty: no
          // signature (a copy already written for it is unclaimed, so deleted with the request).
          if (sign.size === 0 && sign.fileName === "") return
          signs.push(sign)
          return
        }
        // A text field sent as a file part (some clients do): read it, within the field limit.
        const bytes = yield* Stream.runFold(part.content, [] as Array<Uint8Array>, (acc, c) => (acc.push(c), acc)).pipe(
          Effect.mapError((e) => problem(400, "MalformedRequest", `the multipart body is malformed: ${e.message}`))
        )
        const text = Buffer.concat(bytes).toString("utf8")
        if (Buffer.byteLength(text) > limits.maxFieldSize) return yield* Effect.fail(problem(413, "PayloadTooLarge", `${name} is too long`))
        if (fields.has(name)) return yield* Effect.fail(problem(400, "InvalidArgument", `${name} is given more than once`))
        fields.set(name, text)
      })
    ).pipe(
      Effect.mapError((e) =>
        e instanceof RequestProblem
          ? e
          : !(e instanceof Multipart.MultipartError)
            ? problem(400, "MalformedRequest", `the request body could not be read: ${e instanceof Error ? e.message : String(e)}`)
            : e.reason === "TooManyParts"
            ? problem(413, "PayloadTooLarge", "the upload has too many parts")
            : e.reason === "FieldTooLarge"
              ? problem(413, "PayloadTooLarge", `a text field is longer than ${human(limits.maxFieldSize)}`)
              : e.reason === "FileTooLarge"
                ? problem(413, "PayloadTooLarge", "a file is larger than this archive accepts")
                : e.reason === "BodyTooLarge"
                  ? problem(413, "PayloadTooLarge", "the upload is larger than this archive accepts")
                  : problem(400, "MalformedRequest", `the multipart body is malformed: ${e.message}`)
      )
    )
    if (cut !== undefined) {
      return yield* Effect.fail(problem(400, "MalformedRequest", `the upload was cut off (${cut}); nothing was stored`))
    }
    return { fields, content, signs, containerId: target?.storage === undefined ? undefined : target.containerId }
  })
