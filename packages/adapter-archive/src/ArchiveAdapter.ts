/**
 * The archive's HTTP API, as in the seed (every answer in its `{ data, errorCode,
 * errorDescription }` envelope):
 *
 * | route | answer |
 * |---|---|
 * | `POST {base}/document/content` (multipart) | the new container's id |
 * | `POST {base}/document/search` | `{ documents: [{ id, name, status, isArchived }], totalRecords }` |
 * | `GET {base}/document/{id}` | every field of the seed's example, plus ours |
 * | `GET {base}/document/{id}/status` | the status number |
 * | `GET {base}/document/{id}/sign` | `signatures.zip` (streamed, with Content-Length) |
 * | `GET {base}/document/{id}/content` | the document (ours: streamed from its storage, verified as it goes) |
 * | `GET {base}/document/{id}/timestamps` | the RFC 3161 time-stamps of its signatures (ours) |
 * | `GET {base}/document/{id}/timestamps/{signature}` | the newest token of a signature, DER (ours) |
 * | `POST {base}/document/{id}/timestamps` | stamps again now (ours, operators): the run's id and phase |
 * | `DELETE {base}/document/{id}` | the id (ours: the uploader may delete a temporary container) |
 * | `GET {base}/openapi.json`, `GET {base}/docs` | the OpenAPI 3.1 document of these routes, and its page (ours, `OpenApi`) |
 * | `GET {base}/pages[/document/{id}]`, `GET,POST {base}/pages/upload` | HTML pages: list and search, detail, upload (ours, `ArchivePages`) |
 * | `GET {base}/dictionary/statuses` | the statuses |
 * | `GET {base}/user/storages` | the storages the caller may use |
 * | `GET {base}/plugins` | the plugins and their state (ours, for operators) |
 * | `GET {base}/fetch/{identifier}` | the document, fetched first when not stored (ours, `FetchRoutes`) |
 * | `POST {base}/fixity`, `GET {base}/fixity[/{id}[?wait=s]]`, `POST {base}/fixity/{id}/abort` | fixity runs over the copies (with replication; operators) |
 *
 * Built on the edge every binding shares (`@uws-kit/http`): routes declared once (`Routes`: 405
 * with `Allow`, OPTIONS and HEAD derived from them), one identity contract (`Identity`), and one
 * app served as a web handler (`(Request) => Promise<Response>`), a Node listener, the app itself
 * and a layer for an Effect host's router (`Edge`), so it mounts in node:http, Express, Fastify,
 * Hono, any fetch runtime or an Effect router, taking the caller the host authenticated. Errors
 * map to HTTP statuses and stable `errorCode`s in one table ({@link errorTable}).
 *
 * @since 0.1.0
 */
import { IncomingMessage, type ServerResponse } from "node:http"
import { createHash } from "node:crypto"
import * as os from "node:os"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Identity as CoreIdentity } from "@uws-kit/core"
import { Body, BrowserPages, CrossSite, Edge, Identity, PublicOrigin, Routes } from "@uws-kit/http"
import { Cause, Effect, Either, Schema, type Scope, Stream } from "effect"
import * as ApiSchemas from "./ApiSchemas.js"
import type { ArchiveService, UploadInput } from "./Archive.js"
import * as ArchivePages from "./ArchivePages.js"
import * as ArchiveDate from "./ArchiveDate.js"
import type { ArchiveError } from "./ArchiveError.js"
import * as Containers from "./Container.js"
import type { Container } from "./Container.js"
import { copiesOf, fixityError, notConfigured, runView } from "./internal/replicaViews.js"
import { RequestProblem, defaultLimits, receive, type UploadLimits } from "./internal/spool.js"
import * as Download from "./internal/download.js"
import { zip } from "./internal/zip.js"
import * as FetchRoutes from "./FetchRoutes.js"
import * as OpenApi from "./OpenApi.js"
import * as Search from "./Search.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SourceSystem {
  readonly id: string | number | null
  readonly name: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ArchiveAdapterOptions extends Identity.Options, Edge.HostOptions {
  readonly archive: ArchiveService
  /** Path prefix of the API (default `/api`, as in the seed). */
  readonly basePath?: string
  /*
   * Who is calling (the source system): `identify` (from the request's headers; it must not read
   * the body), `identifyNode`, or the caller the host passes (`handler(request, { caller })`,
   * `listener(req, res, { caller })`, `context`): the contract of `Identity` in `@uws-kit/http`,
   * the same as the REST and SOAP bindings'. Default: anonymous. A throw or a rejection answers
   * 401 (`errorCode: "Unauthenticated"`, its message in `errorDescription`).
   */
  /** How a container's source system is shown (default: `{ id: <uploader's id>, name: null }`). */
  readonly sourceSystem?: (ownerId: string | null) => SourceSystem
  /** Where uploads are spooled while they are received (default: the OS temporary folder). */
  readonly spoolDirectory?: string
  readonly limits?: Partial<UploadLimits>
  /** Zone offset (minutes east of UTC) for dates sent without one, e.g. `21.07.2023` (default 0). */
  readonly dateOffsetMinutes?: number
  /** Largest search page (default 1000). */
  readonly maxPageSize?: number
  /**
   * Most signature bytes `GET /document/{id}` inlines as base64 (default 8 MiB); a container
   * with more answers `signatures: null` and points to `/sign`, so a detail request stays small.
   */
  readonly maxInlineSignatureBytes?: number
  /**
   * Other sites whose pages may upload, search or delete here, e.g. `["https://portal.example"]`.
   * Any other site's page is refused (403, `errorCode: "CrossSiteRequest"`; CSRF defence from
   * `Sec-Fetch-Site` and `Origin`, see `CrossSite` in `@uws-kit/http`). Clients that are not
   * browsers (curl, services) send neither header and are never refused. Default: none.
   */
  readonly allowedOrigins?: ReadonlyArray<string>
  /**
   * Whether `X-Forwarded-*`/`Forwarded` headers are believed when the request's public origin is
   * compared with a page's `Origin` (default `false`, as in the other bindings: a client that
   * reaches the API directly could forge them). Turn it on behind a proxy that sets (or strips) them.
   */
  readonly trustForwarded?: boolean
  /**
   * The URL of a document fetch's job, for the `Location` of a 202 (where the host mounts a UWS
   * binding of the archive's job list); default: `{base}/fetch-status/{id}` (see `FetchRoutes`).
   */
  readonly fetchJobUrl?: (containerId: string) => string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ArchiveAdapter extends Edge.Edge {
  /**
   * Node listener (node:http, Express, Fastify). Its promise settles once the request is over,
   * whichever way it ended, and only after everything it spooled is removed; it never rejects.
   */
  readonly listener: (req: IncomingMessage, res: ServerResponse, context?: Identity.HostContext | Edge.Next) => Promise<void>
  /** The OpenAPI 3.1 document of every route this adapter serves (also at `{base}/openapi.json`). */
  readonly openapi: Record<string, unknown>
  /** Every route this adapter serves, as declared: its path and its methods (HEAD and OPTIONS are derived). */
  readonly routes: ReadonlyArray<{ readonly path: string; readonly methods: ReadonlyArray<string> }>
}

/**
 * Every error tag with its HTTP status and `errorCode`: the one table of this adapter.
 *
 * @since 0.1.0
 * @category errors
 */
export const errorTable: Readonly<Record<ArchiveError["_tag"], { readonly status: number; readonly code: string }>> = {
  JobNotFound: { status: 404, code: "ContainerNotFound" },
  ResourceNotFound: { status: 404, code: "NotFound" },
  Forbidden: { status: 403, code: "Forbidden" },
  InvalidTransition: { status: 409, code: "InvalidState" },
  InvalidParameter: { status: 400, code: "InvalidArgument" },
  Conflict: { status: 409, code: "Conflict" },
  QuotaExceeded: { status: 429, code: "QuotaExceeded" },
  LimitExceeded: { status: 413, code: "LimitExceeded" },
  StorageFailure: { status: 503, code: "StorageFailure" },
  PluginFailure: { status: 502, code: "PluginFailure" },
  StorageEnded: { status: 410, code: "StorageEnded" }
}

/**
 * The envelope every answer is wrapped in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Envelope<A> {
  readonly data: A | null
  readonly errorCode: string | null
  readonly errorDescription: string | null
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(body, { status, contentType: "application/json; charset=utf-8" })
const ok = (data: unknown) => json({ data, errorCode: null, errorDescription: null })
/** `ok`, with `data` held by the compiler to the schema the OpenAPI document shows for it. */
const answer = <A, I>(_schema: Schema.Schema<A, I>, data: NoInfer<I>) => ok(data)
const failure = (status: number, code: string, description: string) =>
  json({ data: null, errorCode: code, errorDescription: description }, status)

const render = (e: ArchiveError | RequestProblem) =>
  e._tag === "RequestProblem"
    ? failure(e.status, e.code, e.reason)
    : // The core's wording names a job; here it is a container.
      e._tag === "Forbidden"
      ? failure(errorTable.Forbidden.status, errorTable.Forbidden.code, `Access to container "${e.jobId}" is forbidden: ${e.reason}`)
      : e._tag === "JobNotFound"
        ? failure(errorTable.JobNotFound.status, errorTable.JobNotFound.code, `No container with id "${e.jobId}".`)
        : failure(errorTable[e._tag].status, errorTable[e._tag].code, e.message.replace(/\b([Jj])ob(s?)\b/g, (_m, j: string, s: string) => `${j === "J" ? "C" : "c"}ontainer${s}`))

const iso = (ms: number | null) => (ms === null ? null : ArchiveDate.format(ms))

const bool = (name: string, value: string | undefined): Either.Either<boolean | undefined, string> => {
  if (value === undefined || value.trim() === "") return Either.right(undefined)
  const v = value.trim().toLowerCase()
  return v === "true" ? Either.right(true) : v === "false" ? Either.right(false) : Either.left(`${name} must be true or false, not "${value}"`)
}

/**
 * Builds the adapter.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { createServer } from "node:http"
 * import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
 * import { Effect, Scope } from "effect"
 * const scope = Effect.runSync(Scope.make())
 * const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "memory", plugin: MemoryStorage.make() }] }), scope))
 * const { archive } = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }] })
 * const api = ArchiveAdapter.makeArchiveAdapter({ archive })
 * createServer((req, res) => void api.listener(req, res)).listen(8080)
 */
export const makeArchiveAdapter = (options: ArchiveAdapterOptions): ArchiveAdapter => {
  const archive = options.archive
  const base = (options.basePath ?? "/api").replace(/\/+$/, "")
  const limits: UploadLimits = { ...defaultLimits, ...options.limits }
  const offset = options.dateOffsetMinutes ?? 0
  const sourceSystem = options.sourceSystem ?? ((ownerId) => ({ id: ownerId, name: null }))
  const crossSite = CrossSite.make(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins })
  const trustForwarded = options.trustForwarded ?? false

  /** Refuses a state-changing request sent by another site's page, before anything is read. */
  const sameSite = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const refused = crossSite(request, PublicOrigin.of({ headers: request.headers, source: request.source }, trustForwarded).origin)
    return refused === undefined ? Effect.void : Effect.fail(new RequestProblem({ status: 403, code: "CrossSiteRequest", reason: refused }))
  })

  const refusals: Identity.Refusals<RequestProblem> = {
    unauthorized: (e) =>
      new RequestProblem({ status: 401, code: "Unauthenticated", reason: `who you are could not be established: ${e instanceof Error ? e.message : String(e)}` }),
    // A host written in JavaScript may still answer null: its bug, not the caller's.
    notACaller: () => new RequestProblem({ status: 500, code: "InternalError", reason: "the host's identify answered something that is not a caller" })
  }
  const caller: Effect.Effect<CoreIdentity.Caller, RequestProblem, HttpServerRequest.HttpServerRequest> = Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) =>
      Identity.resolve(request, options, refusals, () => `${PublicOrigin.of({ headers: request.headers, source: request.source }, trustForwarded).origin}${request.url}`)
  )

  /** Every handler: errors become envelopes, defects a 500 envelope (logged), never a crash. */
  const handle = <E extends ArchiveError | RequestProblem, R>(
    effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpServerRequest.HttpServerRequest> =>
    Effect.zipRight(sameSite, effect).pipe(
      Effect.catchAll((e) => Effect.succeed(render(e as ArchiveError | RequestProblem))),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.logError("archive API request failed", cause).pipe(
              Effect.as(failure(500, "InternalError", "the archive failed to answer this request; the error is logged"))
            )
      )
    )

  const detail = (c: Container) =>
    Effect.gen(function* () {
      let signatures: Array<string> | null = []
      let unavailable: string | null = null
      let omitted: string | null = null
      const inlineBudget = options.maxInlineSignatureBytes ?? 8 * 1024 * 1024
      const total = c.signatures.reduce((n, s) => n + s.size, 0)
      if (!c.storageEnded && total > inlineBudget) {
        signatures = null
        omitted = `the signatures (${total} bytes) are too large to inline; download them with GET ${base}/document/${c.id}/sign`
      } else if (!c.storageEnded) {
        const sources = yield* Effect.either(archive.signatures({ id: null, admin: true }, c.id))
        if (Either.isLeft(sources)) {
          signatures = null
          unavailable = sources.left.message
        } else {
          for (const s of sources.right.signatures) {
            const bytes = yield* Effect.either(
              Effect.flatMap(s.open, (o) => Stream.runCollect(o.stream)).pipe(Effect.map((chunks) => Buffer.concat([...chunks])))
            )
            if (Either.isLeft(bytes)) {
              signatures = null
              unavailable = bytes.left.message
              break
            }
            signatures!.push(bytes.right.toString("base64"))
          }
        }
      }
      const storage = archive.storages({ id: null, admin: true }).find((s) => s.id === c.storageId)
      const copies = yield* copiesOf(archive, c)
      return {
        storage: { id: c.storageId, name: storage?.name ?? null },
        sourceSystem: sourceSystem(c.ownerId),
        hashes: c.hashes,
        signatures,
        isToBeSigned: false,
        useArchiveCa: c.useArchiveCa,
        documentType: c.document.mimeType,
        saveType: Containers.saveTypeCodes[c.saveType],
        structureName: c.structureName,
        modifiedDate: iso(c.modifiedAt),
        isCreateDate: iso(c.createdAt),
        createDate: iso(c.createdAt),
        signatureUpdateDate: iso(c.signatureUpdateDate),
        archiveUntilDate: iso(c.archiveUntil),
        isAvailable: c.isAvailable && unavailable === null,
        id: c.id,
        name: c.name,
        status: c.status,
        isArchived: c.isArchived,
        // Ours: what the seed leaves implicit.
        saveTypeName: c.saveType,
        statusName: Containers.statusOf(c.status)?.name ?? null,
        phase: c.phase,
        document: { fileName: c.document.fileName, size: c.document.size },
        signatureFiles: c.signatures.map((s) => ({ fileName: s.fileName, size: s.size })),
        archiveCaPluginName: c.pluginName,
        originalCreateDate: iso(c.originalCreatedAt),
        restoredFrom: c.restoredFrom,
        upgrade: c.upgrade,
        postProcessing: c.postProcessing,
        error: c.error,
        ...(unavailable === null ? {} : { unavailableReason: unavailable }),
        ...(omitted === null ? {} : { signaturesOmitted: omitted }),
        ...(copies === undefined ? {} : { copies })
      }
    })

  const uploadContainer = Effect.gen(function* () {
    const who = yield* caller
    const request = yield* HttpServerRequest.HttpServerRequest
    const form = yield* receive(request, limits, options.spoolDirectory ?? os.tmpdir(), archive.prepareUpload)
    const f = form.fields
    const problems: Array<string> = []
    const containerName = f.get("ContainerName")
    if (containerName === undefined || containerName.trim() === "") problems.push("ContainerName is required")
    const storageText = f.get("StorageId")
    const storageId = Number(storageText)
    if (storageText === undefined || storageText.trim() === "") problems.push("StorageId is required (see GET /api/user/storages)")
    else if (!/^\s*\d+\s*$/.test(storageText) || !Number.isSafeInteger(storageId)) problems.push(`StorageId must be a storage id (a whole number), not "${storageText}"`)
    const saveTypeText = f.get("SaveType")
    const saveType = saveTypeText === undefined ? undefined : Containers.parseSaveType(saveTypeText)
    if (saveTypeText === undefined || saveTypeText.trim() === "") problems.push("SaveType is required (Temporary, Permanent or Cache)")
    else if (saveType === undefined) problems.push(`SaveType must be Temporary, Permanent or Cache, not "${saveTypeText}"`)
    const dateText = f.get("ArchiveDate")
    let archiveDate: number | undefined
    if (dateText !== undefined && dateText.trim() !== "") {
      const parsed = ArchiveDate.parse(dateText, offset)
      if (Either.isLeft(parsed)) problems.push(`ArchiveDate: ${parsed.left}`)
      else archiveDate = parsed.right
    }
    const useArchiveCa = bool("UseArchiveCa", f.get("UseArchiveCa"))
    if (Either.isLeft(useArchiveCa)) problems.push(useArchiveCa.left)
    // IsNeedArchivatorSign: deprecated in the seed, accepted and ignored.
    if (form.content === undefined) problems.push("Content is required: the signed document (or the attached signature)")
    if (problems.length > 0) {
      return yield* Effect.fail(new RequestProblem({ status: 400, code: "InvalidArgument", reason: problems.join("; ") }))
    }
    const structureName = f.get("StructureName")
    const pluginName = f.get("ArchiveCaPluginName")?.trim()
    const input: UploadInput = {
      containerName: containerName!,
      saveType: saveType!,
      storageId,
      document: form.content!,
      signatures: form.signs,
      ...(structureName === undefined || structureName === "" ? {} : { structureName }),
      ...(archiveDate === undefined ? {} : { archiveDate }),
      ...(Either.isRight(useArchiveCa) && useArchiveCa.right !== undefined ? { useArchiveCa: useArchiveCa.right } : {}),
      ...(pluginName === undefined || pluginName === "" ? {} : { pluginName }),
      ...(form.containerId === undefined ? {} : { containerId: form.containerId })
    }
    return yield* archive.upload(who, input)
  }).pipe(Effect.scoped)
  const upload = Effect.map(uploadContainer, (container) => answer(ApiSchemas.ContainerId, container.id))

  const search = Effect.gen(function* () {
    const who = yield* caller
    const request = yield* HttpServerRequest.HttpServerRequest
    // Bounded: the web request's own text() knows no limit.
    const bytes = yield* Body.read(request, 64 * 1024).pipe(
      Effect.mapError((e) =>
        e.reason === "TooLarge"
          ? new RequestProblem({ status: 413, code: "PayloadTooLarge", reason: "the search body is larger than 64 KiB" })
          : e.reason === "AlreadyRead"
            ? new RequestProblem({ status: 500, code: "InternalError", reason: "the search body was already read by a body parser of the host; mount the archive API before body parsers" })
            : new RequestProblem({ status: 400, code: "MalformedRequest", reason: "the search body could not be read" })
      )
    )
    const text = Buffer.from(bytes).toString("utf8")
    let body: unknown = undefined
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text)
      } catch (e) {
        return yield* Effect.fail(
          new RequestProblem({ status: 400, code: "MalformedRequest", reason: `the search body is not JSON: ${e instanceof Error ? e.message : String(e)}` })
        )
      }
    }
    const query = Search.parse(body, options.maxPageSize === undefined ? {} : { maxPageSize: options.maxPageSize })
    if (Either.isLeft(query)) return yield* Effect.fail(new RequestProblem({ status: 400, code: "InvalidArgument", reason: query.left.join("; ") }))
    const page = yield* archive.search(who, query.right)
    return answer(ApiSchemas.SearchAnswer, {
      documents: page.documents.map((c) => ({ id: c.id, name: c.name, status: c.status, isArchived: c.isArchived })),
      totalRecords: page.totalRecords
    })
  })

  const get = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    const container = yield* archive.get(who, id)
    return answer(ApiSchemas.ContainerDetail, yield* detail(container))
  })

  const status = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    const container = yield* archive.get(who, id)
    return answer(Schema.Int, container.status)
  })

  const timeStamps = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    const entry = yield* archive.timeStamps(who, id)
    if (entry === null) return ok({ state: "not-configured", stamps: [], message: null, renewAt: null })
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
    return ok({
      state: entry.state,
      stamps: entry.stamps.map((s) => ({
        signature: s.signature,
        generation: s.generation,
        tsa: s.tsa,
        tsaUrl: s.tsaUrl,
        serial: s.serial,
        stampedAt: iso(s.stampedAt),
        expires: iso(s.expires),
        token: { fileName: s.token.fileName, size: s.token.size, sha256: s.token.sha256 }
      })),
      message: entry.message,
      renewAt: iso(entry.renewAt)
    })
  })

  const timeStampToken = (p: Routes.Params) => Effect.gen(function* () {
    const who = yield* caller
    const id = p["id"] ?? ""
    const signature = p["signature"] ?? ""
    const found = yield* archive.timeStampToken(who, id, signature)
    if (found === null) return failure(404, "NotFound", `container "${id}" has no time-stamp of "${signature}"`)
    const { stamp, bytes } = found
    return HttpServerResponse.uint8Array(bytes, {
      status: 200,
      contentType: stamp.token.mimeType,
      headers: { "content-disposition": `attachment; filename="${stamp.token.fileName.replace(/["\\]/g, "_")}"` }
    })
  })

  const restamp = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    const run = yield* archive.upgradeSignatures(who, id)
    return ok({ run: run.jobId, phase: run.phase })
  })

  const remove = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    yield* archive.delete(who, id)
    return answer(ApiSchemas.ContainerId, id)
  })

  const sign = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    const { container, signatures } = yield* archive.signatures(who, id)
    // Check every signature is there before the first byte goes out: a failure after that can
    // only cut the download short.
    for (const s of signatures) {
      const stat = yield* s.stat
      if (stat === null || stat.size !== s.part.size) {
        return yield* Effect.fail(
          new RequestProblem({ status: 404, code: "NotFound", reason: `${s.part.name} of container ${container.id} is missing from its storage ${s.part.storage}` })
        )
      }
    }
    const etag = `"${createHash("sha256")
      .update(JSON.stringify(signatures.map((s) => [s.part.fileName, s.part.sha256])))
      .update(String(container.createdAt))
      .digest("base64url")}"`
    // The bytes are a function of the signatures and the creation time: a matching ETag is enough.
    const request = yield* HttpServerRequest.HttpServerRequest
    const ifNoneMatch = request.headers["if-none-match"]
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
      return HttpServerResponse.empty({ status: 304, headers: { etag } })
    }
    const entries = signatures.map((s) => ({
      name: s.part.fileName,
      size: s.part.size,
      open: () => Effect.runPromise(Effect.map(s.open, (o) => Stream.toAsyncIterable(o.stream)))
    }))
    const zipped = yield* zip(entries, container.createdAt)
    // A read failing after the headers went out leaves the answer short of its Content-Length:
    // Node then resets the connection, so the client sees a cut download, never a whole-looking one.
    return HttpServerResponse.stream(zipped.stream, {
      contentType: "application/zip",
      contentLength: zipped.size,
      headers: {
        "content-disposition": "attachment; filename=signatures.zip; filename*=UTF-8''signatures.zip",
        etag,
        "cache-control": "private, no-cache"
      }
    })
  })

  const content = (id: string) => Effect.gen(function* () {
    const who = yield* caller
    const { part, read } = yield* archive.document(who, id)
    return yield* Download.respond(yield* HttpServerRequest.HttpServerRequest, part, read)
  })
  // Fixity runs (with replication): operators start and list them; each is watchable (`?wait=s`).
  const fixityService = Effect.suspend(() => (archive.fixity === undefined ? Effect.fail(notConfigured()) : Effect.succeed(archive.fixity)))
  const operator = Effect.flatMap(caller, (who) =>
    who.admin === true ? Effect.succeed(who) : Effect.fail(new RequestProblem({ status: 403, code: "Forbidden", reason: "only operators see and start fixity runs" }))
  )
  const fixityStart = Effect.gen(function* () {
    const who = yield* operator
    const fixity = yield* fixityService
    return ok(runView(yield* fixity.start(who).pipe(Effect.mapError(fixityError(""))), null))
  })
  const fixityList = Effect.gen(function* () {
    const who = yield* operator
    const fixity = yield* fixityService
    const runs = yield* fixity.list(who).pipe(Effect.mapError(fixityError("")))
    return ok(runs.map((job) => runView(job, null)))
  })
  const fixityRun = (id: string) =>
    Effect.gen(function* () {
      const who = yield* operator
      const fixity = yield* fixityService
      const request = yield* HttpServerRequest.HttpServerRequest
      const wait = Number(new URL(request.url, "http://x").searchParams.get("wait") ?? "0")
      const job =
        Number.isFinite(wait) && wait > 0
          ? yield* fixity.uws.waitForChange(who, id, { timeout: Math.min(wait, 60) * 1000, untilFinal: true })
          : yield* fixity.get(who, id)
      return ok(runView(job, yield* fixity.report(who, id)))
    }).pipe(Effect.mapError((e) => (e._tag === "RequestProblem" ? e : fixityError(id)(e))))
  const fixityAbort = (id: string) =>
    Effect.gen(function* () {
      const who = yield* operator
      const fixity = yield* fixityService
      const job = yield* fixity.uws.abort(who, id).pipe(Effect.mapError(fixityError(id)))
      return ok(runView(job, null))
    })

  const statuses = Effect.succeed(ok(archive.statuses))
  const storages = Effect.map(caller, (who) => ok(archive.storages(who)))
  const pluginList = Effect.map(caller, (who) =>
    answer(Schema.Array(ApiSchemas.PluginState), archive.plugins().map((p) => (who.admin === true ? p : { ...p, failure: p.failure === null ? null : "(visible to operators)" })))
  )

  // ---- HTML pages (ArchivePages) and the API's description (OpenApi) ----
  // The dictionaries' answers held to the schemas the document shows for them.
  void (archive.statuses satisfies ReadonlyArray<Schema.Schema.Encoded<typeof ApiSchemas.Status>>)
  void ((who: CoreIdentity.Caller) => archive.storages(who) satisfies ReadonlyArray<Schema.Schema.Encoded<typeof ApiSchemas.Storage>>)
  const pageUrls: ArchivePages.Urls = {
    stylesheet: `${base}/pages/assets/${ArchivePages.assetName.stylesheet}`,
    list: `${base}/pages`,
    detail: (id) => `${base}/pages/document/${encodeURIComponent(id)}`,
    upload: `${base}/pages/upload`,
    docs: `${base}/docs`,
    openapi: `${base}/openapi.json`,
    signatures: (id) => `${base}/document/${encodeURIComponent(id)}/sign`,
    json: (id) => `${base}/document/${encodeURIComponent(id)}`
  }
  const pageHeaders = { ...BrowserPages.headers({ style: "'self'" }), "cache-control": "no-cache" }
  const html = (body: string, status = 200) => HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8", headers: pageHeaders })
  /**
   * A page's handler: as `handle`, then a refusal's envelope becomes the error page (one mapping
   * of errors to statuses and codes for both).
   */
  const handlePage = <E extends ArchiveError | RequestProblem, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.map(handle(effect), (response) => {
      if (response.status < 400 || response.body._tag !== "Uint8Array") return response
      let envelope: Partial<Envelope<unknown>> = {}
      try {
        envelope = JSON.parse(Buffer.from(response.body.body).toString("utf8")) as Envelope<unknown>
      } catch {
        // Not an envelope: the generic words below.
      }
      const page = html(ArchivePages.errorPage(pageUrls, response.status, envelope.errorCode ?? "Error", envelope.errorDescription ?? "the request failed"), response.status)
      const allow = response.headers["allow"]
      return allow === undefined ? page : HttpServerResponse.setHeader(page, "allow", allow)
    })

  /** The list page's query string as a search body: what does not parse is passed on, for `Search.parse` to name. */
  const listQuery = (params: URLSearchParams) => {
    const given: Record<string, string> = {}
    for (const k of ["name", "storageId", "sourceSystemId", "status", "isArchived"]) {
      const v = params.get(k)?.trim()
      if (v !== undefined && v !== "") given[k] = v
    }
    const number = (v: string) => (/^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v)
    const flag = (v: string) => (v === "true" ? true : v === "false" ? false : v)
    const pageSize = params.get("pageSize")?.trim()
    const page = params.get("page")?.trim()
    const body = {
      filters: {
        ...(given["name"] === undefined ? {} : { name: given["name"] }),
        ...(given["storageId"] === undefined ? {} : { storageIds: [number(given["storageId"])] }),
        ...(given["sourceSystemId"] === undefined ? {} : { sourceSystemId: number(given["sourceSystemId"]) }),
        ...(given["status"] === undefined ? {} : { status: number(given["status"]) }),
        ...(given["isArchived"] === undefined ? {} : { isArchived: flag(given["isArchived"]) })
      },
      ...(pageSize === undefined || pageSize === "" ? {} : { pageSize: number(pageSize) }),
      ...(page === undefined || page === "" ? {} : { page: number(page) })
    }
    return { given, body }
  }
  const listPage = Effect.gen(function* () {
    const who = yield* caller
    const request = yield* HttpServerRequest.HttpServerRequest
    const { given, body } = listQuery(new URL(request.url, "http://archive.invalid").searchParams)
    const query = Search.parse(body, options.maxPageSize === undefined ? {} : { maxPageSize: options.maxPageSize })
    if (Either.isLeft(query)) return yield* Effect.fail(new RequestProblem({ status: 400, code: "InvalidArgument", reason: query.left.join("; ") }))
    const found = yield* archive.search(who, query.right)
    return html(
      ArchivePages.listPage({
        urls: pageUrls,
        query: given,
        page: query.right.page,
        pageSize: query.right.pageSize,
        totalRecords: found.totalRecords,
        documents: found.documents,
        storages: archive.storages(who),
        statuses: archive.statuses
      })
    )
  })
  const detailPage = (id: string) =>
    Effect.gen(function* () {
      const who = yield* caller
      const container = yield* archive.get(who, id)
      return html(ArchivePages.detailPage(pageUrls, yield* detail(container)))
    })
  const uploadForm = Effect.map(caller, (who) =>
    html(
      ArchivePages.uploadPage({
        urls: pageUrls,
        storages: archive.storages(who),
        plugins: archive
          .plugins()
          .filter((p) => p.section === "DocumentStorage" && p.enabled && !p.readOnly)
          .map((p) => p.name)
      })
    )
  )
  // Post/redirect/get: the new container's page, so a reload does not upload again.
  const uploadFromPage = Effect.map(uploadContainer, (container) => HttpServerResponse.empty({ status: 303, headers: { location: pageUrls.detail(container.id) } }))
  const asset = (name: string) =>
    name === ArchivePages.assetName.stylesheet
      ? Effect.succeed(
          HttpServerResponse.text(ArchivePages.stylesheet, {
            contentType: "text/css; charset=utf-8",
            headers: { "cache-control": "public, max-age=31536000, immutable", "x-content-type-options": "nosniff" }
          })
        )
      : Effect.fail(new RequestProblem({ status: 404, code: "NotFound", reason: `no page asset "${name}"` }))
  // Built once the route table exists (it describes itself).
  let description: Record<string, unknown> = {}
  const openapiJson = Effect.sync(() => json(description))
  const docsPage = Effect.sync(() => html(OpenApi.docsPage(pageUrls, description)))

  const notAllowed = (method: string, allow: string) =>
    Effect.succeed(HttpServerResponse.setHeader(failure(405, "MethodNotAllowed", `${method} is not allowed on this path (allowed: ${allow})`), "allow", allow))
  const at = (path: string) => `${base}${path}` as Routes.PathInput
  const withId =
    <E extends ArchiveError | RequestProblem, R>(f: (id: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    (p: Routes.Params) =>
      handle(f(p["id"] ?? ""))
  const isUnderBase = (url: string) => base === "" || url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`)
  /**
   * The URL with the mount path a host stripped put back, since the routes are declared under
   * `basePath`: Express's `app.use(prefix, …)` keeps it in `originalUrl`; Hono's `mount` and
   * Fastify plugins that rewrite the URL leave no trace, so `basePath` is it.
   */
  const wholePath = (request: HttpServerRequest.HttpServerRequest): string => {
    if (isUnderBase(request.url)) return request.url
    const original = (request.source as { readonly originalUrl?: unknown }).originalUrl
    if (typeof original === "string" && isUnderBase(original)) return original
    return `${base}${request.url.startsWith("/") ? request.url : `/${request.url}`}`
  }
  const envelopeOnly = (description: string, schema: Schema.Schema.AnyNoContext): OpenApi.Operation["answer"] => ({ type: "application/json", description, schema })
  const page = (summary: string, description?: string): OpenApi.Operation => ({
    summary,
    ...(description === undefined ? {} : { description }),
    tag: "pages",
    html: true,
    answer: { type: "text/html", description: "the page" }
  })
  const routeTable: ReadonlyArray<OpenApi.DocumentedRoute<void, never, HttpServerRequest.HttpServerRequest | Scope.Scope>> = [
    {
      path: at("/document/content"),
      methods: { POST: () => handle(upload) },
      docs: {
        POST: {
          summary: "Upload a container: the document, its detached signatures and where and how long to keep them",
          body: { type: "multipart/form-data", schema: ApiSchemas.UploadForm },
          answer: envelopeOnly("the new container's id", ApiSchemas.ContainerId)
        }
      }
    },
    {
      path: at("/document/search"),
      methods: { POST: () => handle(search) },
      docs: {
        POST: {
          summary: "Search containers (newest first, 1-based pages)",
          description: "filters.isArchived=false means only Temporary containers whose storage has ended, as in the seed.",
          body: { type: "application/json", schema: ApiSchemas.SearchBody, required: false },
          answer: envelopeOnly("one page of matching containers and how many match", ApiSchemas.SearchAnswer)
        }
      }
    },
    {
      path: at("/document/:id"),
      methods: { GET: withId(get), DELETE: withId(remove) },
      docs: {
        GET: { summary: "A container's detail", answer: envelopeOnly("every field of the seed's example, then ours", ApiSchemas.ContainerDetail) },
        DELETE: { summary: "Delete a temporary container (its uploader)", answer: envelopeOnly("the deleted container's id", ApiSchemas.ContainerId) }
      }
    },
    {
      path: at("/document/:id/status"),
      methods: { GET: withId(status) },
      docs: { GET: { summary: "A container's status number", answer: envelopeOnly("the status (see /dictionary/statuses)", Schema.Int) } }
    },
    {
      path: at("/document/:id/sign"),
      methods: { GET: withId(sign) },
      docs: {
        GET: {
          summary: "A container's signatures as signatures.zip (upgraded ones once archived)",
          answer: { type: "application/zip", description: "signatures.zip, streamed with Content-Length and an ETag" }
        }
      }
    },
    {
      path: at("/document/:id/content"),
      methods: { GET: withId(content) },
      docs: {
        GET: {
          summary: "A container's document, streamed from its storage and verified as it goes (a copy that fails its hash check resets the connection)",
          answer: { type: "application/octet-stream", description: "the document, with Content-Length, its type and file name, and an ETag" }
        }
      }
    },
    {
      path: at("/document/:id/timestamps"),
      methods: { GET: withId(timeStamps), POST: withId(restamp) },
      docs: {
        GET: { summary: "The RFC 3161 time-stamps of a container's signatures", tag: "time-stamps", answer: { type: "application/json", description: "each signature's tokens and the renewal state" } },
        POST: { summary: "Stamp the signatures again now (operators): the renewal run's id and phase", tag: "time-stamps", answer: { type: "application/json", description: "the renewal run" } }
      }
    },
    {
      path: at("/document/:id/timestamps/:signature"),
      methods: { GET: (p: Routes.Params) => handle(timeStampToken(p)) },
      docs: { GET: { summary: "The newest time-stamp token of one signature", tag: "time-stamps", answer: { type: "application/timestamp-reply", description: "the token, DER" } } }
    },
    ...FetchRoutes.routes({ archive, base, caller, handle, ...(options.fetchJobUrl === undefined ? {} : { jobUrl: options.fetchJobUrl }) }).map((r) => ({
      ...r,
      docs: Object.fromEntries(
        Object.keys(r.methods).map((m) => [
          m,
          String(r.path).includes("fetch-status")
            ? { summary: "A fetch's state: its phase and, when it failed, why", tag: "fetch", answer: { type: "application/json", description: "the fetch" } }
            : {
                summary: "A document by identifier: served at once when stored, else fetched from the upstream sources (202 with the fetch's URL; a browser gets a page that waits)",
                tag: "fetch",
                answer: { type: "application/octet-stream", description: "the document (200), or 202 while it is fetched" }
              }
        ])
      )
    })),
    {
      path: at("/fixity"),
      methods: { GET: () => handle(fixityList), POST: () => handle(fixityStart) },
      docs: {
        GET: { summary: "The fixity runs (operators)", tag: "operators", answer: { type: "application/json", description: "every run" } },
        POST: { summary: "Start a fixity run over every copy (operators)", tag: "operators", answer: { type: "application/json", description: "the new run" } }
      }
    },
    {
      path: at("/fixity/:id"),
      methods: { GET: withId(fixityRun) },
      docs: {
        GET: {
          summary: "A fixity run and its report (operators)",
          tag: "operators",
          query: [{ name: "wait", description: "seconds to wait for the run to end (at most 60)", schema: Schema.Number }],
          answer: { type: "application/json", description: "the run and what it found" }
        }
      }
    },
    {
      path: at("/fixity/:id/abort"),
      methods: { POST: withId(fixityAbort) },
      docs: { POST: { summary: "Abort a fixity run (operators)", tag: "operators", answer: { type: "application/json", description: "the run" } } }
    },
    {
      path: at("/dictionary/statuses"),
      methods: { GET: () => handle(statuses) },
      docs: { GET: { summary: "The container statuses", answer: envelopeOnly("every status", Schema.Array(ApiSchemas.Status)) } }
    },
    {
      path: at("/user/storages"),
      methods: { GET: () => handle(storages) },
      docs: { GET: { summary: "The storages the caller may upload to", answer: envelopeOnly("the storages", Schema.Array(ApiSchemas.Storage)) } }
    },
    {
      path: at("/plugins"),
      methods: { GET: () => handle(pluginList) },
      docs: {
        GET: {
          summary: "The plugins and their state (failures are shown to operators)",
          tag: "operators",
          answer: envelopeOnly("every configured plugin", Schema.Array(ApiSchemas.PluginState))
        }
      }
    },
    {
      path: at("/openapi.json"),
      methods: { GET: () => handle(openapiJson) },
      docs: { GET: { summary: "This document (OpenAPI 3.1)", tag: "about", answer: { type: "application/json", description: "the OpenAPI document" } } }
    },
    { path: at("/docs"), methods: { GET: () => handlePage(docsPage) }, docs: { GET: { ...page("This document as a page"), tag: "about" } } },
    {
      path: at("/pages"),
      methods: { GET: () => handlePage(listPage) },
      docs: {
        GET: {
          ...page("The containers, newest first, with the search's filters and paging"),
          query: [
            { name: "name", description: "substring of the container name", schema: Schema.String },
            { name: "storageId", description: "a storage id", schema: Schema.Int },
            { name: "sourceSystemId", description: "the uploader", schema: Schema.String },
            { name: "status", description: "a status number", schema: Schema.Int },
            { name: "isArchived", description: "true: archived; false: temporary and ended", schema: Schema.Literal("true", "false") },
            { name: "page", description: "1-based", schema: Schema.Int },
            { name: "pageSize", description: "default 10", schema: Schema.Int }
          ]
        }
      }
    },
    {
      path: at("/pages/document/:id"),
      methods: { GET: (p) => handlePage(detailPage(p["id"] ?? "")) },
      docs: { GET: page("A container: documents, copies, fixity, retention and time-stamp state (whichever it has)") }
    },
    {
      path: at("/pages/upload"),
      methods: { GET: () => handlePage(uploadForm), POST: () => handlePage(uploadFromPage) },
      docs: {
        GET: page("The upload form"),
        POST: {
          ...page("Upload from the form (same-origin pages only)"),
          body: { type: "multipart/form-data", schema: ApiSchemas.UploadForm },
          answer: { status: 303, type: "text/html", description: "to the new container's page (Location)" }
        }
      }
    },
    {
      path: at("/pages/assets/:name"),
      methods: { GET: (p) => handlePage(asset(p["name"] ?? "")) },
      docs: { GET: { ...page("The pages' stylesheet (versioned by content, cached for ever)"), answer: { type: "text/css", description: "the stylesheet" } } }
    }
  ]
  description = OpenApi.document(routeTable, {
    title: "uws-kit document archive API",
    version: "0.1.0",
    description: "The archive of seed 001 on UWS jobs; every answer of the API is in the { data, errorCode, errorDescription } envelope."
  })
  const route = Routes.make(routeTable, { methodNotAllowed: notAllowed })
  const routed = Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => {
      const routed = route(request.method, wholePath(request), undefined)
      return routed === undefined
        ? Effect.succeed(failure(404, "RouteNotFound", `no route ${request.method} ${request.url.split("?")[0] ?? ""} in this archive API`))
        : // Interruptible, as the platform's router ran its routes: a client going away stops the work.
          Effect.interruptible(routed)
    }
  )
  // The Node listener's promise waits for the app to finish (its spool removed), not only for
  // the answer to go out: requests the app started are tracked by their Node request.
  const running = new WeakMap<IncomingMessage, Promise<void>>()
  const app: Edge.App = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const source = request.source
    if (!(source instanceof IncomingMessage)) return routed
    let finished: () => void = () => {}
    running.set(source, new Promise<void>((resolve) => (finished = resolve)))
    return Effect.ensuring(routed, Effect.sync(() => finished()))
  })
  const edge = Edge.make(app, { mount: base, runtime: options.runtime, context: options.context, dispose: async () => {} })
  return {
    ...edge,
    openapi: description,
    routes: routeTable.map((r) => ({ path: String(r.path), methods: Object.keys(r.methods) })),
    handler: async (request, context) => {
      const response = await edge.handler(request, context)
      if (request.method !== "HEAD" || response.body === null) return response
      // HEAD is answered by GET: the answer without its body.
      await response.body.cancel().catch(() => {})
      return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers })
    },
    listener: (req, res, context) =>
      new Promise<void>((resolve) => {
        res.once("close", () => {
          // A request cut before the app started never will: nothing to wait for.
          void (running.get(req) ?? Promise.resolve()).then(() => resolve())
        })
        edge.listener(req, res, context)
      })
  }
}

