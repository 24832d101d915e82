/**
 * The dumps over HTTP, for mirrors and operators (answers to requests in the archive's
 * `{ data, errorCode, errorDescription }` envelope; the index and the bags as files):
 *
 * | route | answer |
 * |---|---|
 * | `GET {base}/index.json` (and `{base}/`) | the chunks of the series (`Dumps.Index`) |
 * | `GET {base}/chunks/{name}` | a chunk: one bag as a tar, immutable (`ETag` = its SHA-512) |
 * | `GET {base}/selections/{name}` | the bag of a selection export |
 * | `POST {base}/export` (body: none, or `{ "filters": {…} }` as in a search) | the export's id |
 * | `POST {base}/import` (body: a tar of one bag) | the import's id |
 * | `GET {base}/jobs/{id}` | phase, progress, chunks written, error |
 *
 * The exports and imports are also a UWS job list (`DumpsService.uws`), which a host may mount
 * with the REST binding to watch, wait on, abort and list them.
 *
 * @since 0.1.0
 */
import { createReadStream } from "node:fs"
import { open, rm } from "node:fs/promises"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Identity as CoreIdentity } from "@uws-kit/core"
import { Body, CrossSite, Edge, Identity, PublicOrigin, Routes } from "@uws-kit/http"
import { Cause, Effect, Either, Stream } from "effect"
import type { DumpsService } from "./Dumps.js"
import { fileSize } from "./Dumps.js"
import { RequestProblem } from "./internal/spool.js"
import * as Search from "./Search.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DumpAdapterOptions extends Identity.Options, Edge.HostOptions {
  readonly dumps: DumpsService
  /** Path prefix (default `/dumps`). */
  readonly basePath?: string
  /** Largest bag an import accepts (default 16 GiB). */
  readonly maxImportBytes?: number
  readonly allowedOrigins?: ReadonlyArray<string>
  readonly trustForwarded?: boolean
}

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status, contentType: "application/json; charset=utf-8" })
const ok = (data: unknown, status = 200) => json({ data, errorCode: null, errorDescription: null }, status)
const failure = (status: number, code: string, description: string) => json({ data: null, errorCode: code, errorDescription: description }, status)

/**
 * Builds the adapter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDumpAdapter = (options: DumpAdapterOptions): Edge.Edge => {
  const dumps = options.dumps
  const base = (options.basePath ?? "/dumps").replace(/\/+$/, "")
  const maxImportBytes = options.maxImportBytes ?? 16 * 1024 ** 3
  const trustForwarded = options.trustForwarded ?? false
  const crossSite = CrossSite.make(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins })
  const problem = (status: RequestProblem["status"], code: string, reason: string) => new RequestProblem({ status, code, reason })

  const refusals: Identity.Refusals<RequestProblem> = {
    unauthorized: (e) => problem(401, "Unauthenticated", `who you are could not be established: ${e instanceof Error ? e.message : String(e)}`),
    notACaller: () => problem(500, "InternalError", "the host's identify answered something that is not a caller")
  }
  const caller: Effect.Effect<CoreIdentity.Caller, RequestProblem, HttpServerRequest.HttpServerRequest> = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Identity.resolve(request, options, refusals, () => `${PublicOrigin.of({ headers: request.headers, source: request.source }, trustForwarded).origin}${request.url}`)
  )
  const sameSite = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    if (request.method === "GET" || request.method === "HEAD") return Effect.void
    const refused = crossSite(request, PublicOrigin.of({ headers: request.headers, source: request.source }, trustForwarded).origin)
    return refused === undefined ? Effect.void : Effect.fail(problem(403, "CrossSiteRequest", refused))
  })

  const handle = <E extends { readonly _tag: string; readonly message: string }, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.zipRight(sameSite, effect).pipe(
      Effect.catchAll((e: E | RequestProblem) =>
        Effect.succeed(
          e._tag === "RequestProblem"
            ? failure((e as RequestProblem).status, (e as RequestProblem).code, (e as RequestProblem).reason)
            : e._tag === "DumpRefused"
              ? failure(403, "Forbidden", e.message)
              : e._tag === "JobNotFound"
                ? failure(404, "DumpNotFound", "no such export or import")
                : e._tag === "QuotaExceeded"
                  ? failure(429, "QuotaExceeded", e.message)
                  : failure(503, "StorageFailure", e.message)
        )
      ),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.logError("dumps request failed", cause).pipe(Effect.as(failure(500, "InternalError", "the archive failed to answer this request; the error is logged")))
      )
    )

  const index = Effect.map(dumps.index, (i) => json(i))

  const serveFile = (kind: "chunks" | "selections", name: string) =>
    Effect.gen(function* () {
      const file = dumps.file(kind, name)
      const size = file === undefined ? undefined : yield* Effect.promise(() => fileSize(file))
      if (file === undefined || size === undefined) return yield* Effect.fail(problem(404, "NotFound", `no ${kind === "chunks" ? "chunk" : "selection"} named ${name}`))
      const chunk = kind === "chunks" ? (yield* dumps.index).chunks.find((c) => c.name === name) : undefined
      const etag = chunk === undefined ? undefined : `"${chunk.sha512}"`
      const request = yield* HttpServerRequest.HttpServerRequest
      if (etag !== undefined && request.headers["if-none-match"]?.split(",").some((t) => t.trim() === etag) === true) {
        return HttpServerResponse.empty({ status: 304, headers: { etag } })
      }
      return HttpServerResponse.stream(
        Stream.fromAsyncIterable(createReadStream(file) as AsyncIterable<Uint8Array>, (e) => e),
        {
          contentType: "application/x-tar",
          contentLength: size,
          headers: {
            "content-disposition": `attachment; filename="${name}"`,
            ...(etag === undefined ? {} : { etag, "cache-control": "public, max-age=31536000, immutable" })
          }
        }
      )
    })

  const startExport = Effect.gen(function* () {
    const who = yield* caller
    const request = yield* HttpServerRequest.HttpServerRequest
    const bytes = yield* Body.read(request, 64 * 1024).pipe(Effect.mapError(() => problem(400, "MalformedRequest", "the export body could not be read (at most 64 KiB)")))
    const text = Buffer.from(bytes).toString("utf8").trim()
    let filters: Search.Filters | undefined
    if (text !== "") {
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        return yield* Effect.fail(problem(400, "MalformedRequest", "the export body is not JSON"))
      }
      const extra = typeof body === "object" && body !== null ? Object.keys(body).filter((k) => k.toLowerCase() !== "filters") : ["(not an object)"]
      if (extra.length > 0) return yield* Effect.fail(problem(400, "InvalidArgument", `the export body holds filters only, not ${extra.join(", ")}`))
      const q = Search.parse(body)
      if (Either.isLeft(q)) return yield* Effect.fail(problem(400, "InvalidArgument", q.left.join("; ")))
      filters = q.right.filters
    }
    const job = yield* dumps.exportDump(who, filters)
    return ok({ id: job.jobId, href: `${base}/jobs/${job.jobId}` }, 202)
  })

  const startImport = Effect.gen(function* () {
    const who = yield* caller
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!Body.hasBody(request)) return yield* Effect.fail(problem(400, "InvalidArgument", "send the bag as a tar in the body (Content-Type: application/x-tar)"))
    const file = dumps.incomingFile()
    const received = Effect.acquireUseRelease(
      Effect.promise(() => open(file, "wx")),
      (handle) =>
        Effect.zipRight(
          Body.check(request, maxImportBytes),
          Body.forEachChunk(request, maxImportBytes, async (chunk) => {
            await handle.write(chunk)
          })
        ).pipe(Effect.zipRight(Effect.promise(() => handle.sync()))),
      (handle) => Effect.promise(() => handle.close())
    )
    const got = yield* Effect.either(received)
    if (Either.isLeft(got)) {
      yield* Effect.promise(() => rm(file, { force: true }))
      return yield* Effect.fail(
        got.left.reason === "TooLarge"
          ? problem(413, "PayloadTooLarge", `a bag of at most ${maxImportBytes} bytes is accepted`)
          : problem(400, "MalformedRequest", "the bag could not be received whole")
      )
    }
    const job = yield* dumps.importDump(who, file)
    return ok({ id: job.jobId, href: `${base}/jobs/${job.jobId}` }, 202)
  })

  const jobView = (id: string) =>
    Effect.gen(function* () {
      const who = yield* caller
      const job = yield* dumps.uws.get(who, id)
      const results = yield* dumps.uws.results(who, id)
      return ok({
        id: job.jobId,
        action: job.parameters.find((p) => p.name.toLowerCase() === "action")?.value ?? null,
        phase: job.phase,
        progress: job.jobInfo ?? {},
        results: results.map((r) => ({ id: r.id, href: r.href ?? null })),
        error: job.errorSummary?.message ?? null,
        createdAt: new Date(job.creationTime).toISOString(),
        endedAt: job.endTime === null ? null : new Date(job.endTime).toISOString()
      })
    })

  const notAllowed = (method: string, allow: string) =>
    Effect.succeed(HttpServerResponse.setHeader(failure(405, "MethodNotAllowed", `${method} is not allowed on this path (allowed: ${allow})`), "allow", allow))
  const at = (p: string) => `${base}${p}` as Routes.PathInput
  const route = Routes.make<void, never, HttpServerRequest.HttpServerRequest>(
    [
      { path: at("/"), methods: { GET: () => handle(index) } },
      { path: at("/index.json"), methods: { GET: () => handle(index) } },
      { path: at("/chunks/:name"), methods: { GET: (p) => handle(serveFile("chunks", p["name"] ?? "")) } },
      { path: at("/selections/:name"), methods: { GET: (p) => handle(serveFile("selections", p["name"] ?? "")) } },
      { path: at("/export"), methods: { POST: () => handle(startExport) } },
      { path: at("/import"), methods: { POST: () => handle(startImport) } },
      { path: at("/jobs/:id"), methods: { GET: (p) => handle(jobView(p["id"] ?? "")) } }
    ],
    { methodNotAllowed: notAllowed }
  )
  const app: Edge.App = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const routed = route(request.method, request.url.split("?")[0] ?? "", undefined)
    return routed === undefined ? Effect.succeed(failure(404, "RouteNotFound", `no route ${request.method} ${request.url.split("?")[0] ?? ""} for dumps`)) : Effect.interruptible(routed)
  })
  return Edge.make(app, { mount: base, runtime: options.runtime, context: options.context, dispose: async () => {} })
}
