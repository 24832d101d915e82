/**
 * Receiving the multipart upload of a container. The fields may come in any order (the seed's
 * own curl sends the signatures before `StorageId` and `SaveType`, and `Content` near the end), so
 * files are spooled to a private temporary folder while their SHA-256 and size are computed;
 * nothing is held in memory and the folder goes when the request's scope closes.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Multipart } from "@effect/platform"
import type { HttpServerRequest } from "@effect/platform"
import { Data, Effect, Option, Stream } from "effect"
import type { Scope } from "effect"
import type { IncomingFile } from "../Archive.js"
import { MultipartNames } from "@uws-kit/http"

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
}

const problem = (status: RequestProblem["status"], code: string, reason: string) => new RequestProblem({ status, code, reason })

const fieldName = (key: string): FieldName | undefined => {
  const k = key.toLowerCase().replace(/\[\]$/, "")
  return FIELDS.find((f) => f.toLowerCase() === k)
}

const human = (n: number) => (n >= 1024 ** 3 ? `${n / 1024 ** 3} GiB` : n >= 1024 ** 2 ? `${n / 1024 ** 2} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`)

/** Reads the multipart body; spooled files live until the scope closes. */
export const receive = (
  request: HttpServerRequest.HttpServerRequest,
  limits: UploadLimits,
  spoolDirectory: string = os.tmpdir()
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
    const body = request.stream.pipe(
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
          content = yield* spool(part, "Content")
          return
        }
        if (name === "Signs") {
          if (signs.length >= limits.maxSignatures) {
            return yield* Effect.fail(problem(400, "InvalidArgument", `at most ${limits.maxSignatures} signatures per container`))
          }
          const sign = yield* spool(part, "Signs")
          // A browser's form sends an empty, unnamed file part for a file input left empty: no signature.
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
    return { fields, content, signs }
  })
