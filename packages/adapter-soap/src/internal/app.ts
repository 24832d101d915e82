/**
 * The SOAP endpoint as one @effect/platform HTTP app: GET serves the WSDL, the schemas, result
 * downloads and a short description; POST reads a SOAP 1.1/1.2 request, dispatches it on the
 * operation table and answers a reply or a fault. Nothing a request carries can make it fail:
 * every error, and every defect, ends as a fault in the request's SOAP version.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import type { UwsError } from "@uws-kit/core/Errors"
import type { Caller } from "@uws-kit/core/Identity"
import * as Identity from "@uws-kit/core/Identity"
import type { UwsService } from "@uws-kit/core/Uws"
import * as Envelope from "../Envelope.js"
import * as Fault from "../Fault.js"
import type { SoapFault, SoapVersion } from "../Fault.js"
import * as Namespaces from "../Namespaces.js"
import * as Wsdl from "../Wsdl.js"
import * as F from "./fields.js"
import { byName, operations, type Operation } from "./operations.js"
import type { RenderContext } from "./render.js"
import { escapeText } from "./xml.js"

/** What the host's `identify` sees of a request. */
export interface RequestInfo {
  readonly method: string
  /** The request URL as the endpoint sees it (absolute, with the public origin). */
  readonly url: URL
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly remoteAddress: string | undefined
  /** The underlying request: a web `Request`, or a Node `IncomingMessage`. */
  readonly source: unknown
}

export interface AppOptions {
  readonly service: UwsService
  readonly basePath: string | undefined
  readonly identify: ((request: RequestInfo) => Caller | PromiseLike<Caller>) | undefined
  readonly maxEnvelopeBytes: number
  readonly publicUrl: string | undefined
  readonly trustForwardedHeaders: boolean
  readonly resultUrl: ((jobId: string, resultId: string, endpoint: string) => string) | undefined
  readonly isClosed: () => boolean
}

const first = (value: string | undefined) => value?.split(",")[0]?.trim() || undefined

/** The endpoint's public origin and path for this request. */
const locate = (request: HttpServerRequest.HttpServerRequest, options: AppOptions) => {
  const source = request.source as { readonly url?: unknown; readonly socket?: { readonly encrypted?: boolean } }
  let protocol = "http"
  let host = request.headers["host"] ?? "localhost"
  if (typeof source.url === "string" && /^https?:\/\//i.test(source.url)) {
    // A web Request carries its absolute URL (and no Host header of its own).
    const u = new URL(source.url)
    protocol = u.protocol.slice(0, -1)
    host = u.host
  } else if (source.socket?.encrypted === true) {
    protocol = "https"
  }
  if (options.trustForwardedHeaders) {
    const proto = first(request.headers["x-forwarded-proto"])?.toLowerCase()
    if (proto === "http" || proto === "https") protocol = proto
    host = first(request.headers["x-forwarded-host"]) ?? host
  }
  // Express strips its mount path from `url` and keeps the whole path in `originalUrl`.
  const originalUrl = (request.source as { readonly originalUrl?: unknown }).originalUrl
  return new URL(typeof originalUrl === "string" && originalUrl.startsWith("/") ? originalUrl : request.url, `${protocol}://${host}`)
}

const normalisePath = (p: string) => (p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p)

const xml = (body: string, status: number, contentType: string, headers?: Record<string, string>) =>
  HttpServerResponse.text(body, { status, contentType, ...(headers === undefined ? {} : { headers }) })

const faultResponse = (
  fault: SoapFault,
  version: SoapVersion,
  request?: { readonly messageId: string | undefined; readonly resourceId: string | undefined }
) =>
  xml(
    Envelope.renderFault(fault, version, request),
    Fault.status(fault, version),
    Envelope.contentType(version),
    fault.tag === "MethodNotAllowed" ? { allow: "GET, HEAD, POST" } : undefined
  )

const plainError = (fault: SoapFault) =>
  HttpServerResponse.text(`${fault.reason}\n`, { status: Fault.rules[fault.tag].plain, contentType: "text/plain; charset=utf-8" })

/** Reads the body, refusing more than `max` bytes without reading them all. */
const readBody = (request: HttpServerRequest.HttpServerRequest, max: number) =>
  Effect.gen(function* () {
    const tooLarge = Fault.make("EnvelopeTooLarge", `the request is larger than this endpoint accepts (${max} bytes).`)
    const declared = request.headers["content-length"]
    if (declared !== undefined && Number(declared) > max) return yield* Effect.fail(tooLarge)
    const chunks: Array<Uint8Array> = []
    let size = 0
    yield* Stream.runForEachWhile(request.stream, (chunk) =>
      Effect.sync(() => {
        size += chunk.length
        if (size > max) return false
        chunks.push(chunk)
        return true
      })
    ).pipe(Effect.mapError(() => Fault.make("MalformedEnvelope", "the request body could not be read.")))
    if (size > max) return yield* Effect.fail(tooLarge)
    if (chunks.length === 1) return chunks[0]!
    const out = new Uint8Array(size)
    let offset = 0
    for (const c of chunks) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  })

const decodeText = (bytes: Uint8Array, charset: string) =>
  Effect.suspend(() => {
    let decoder: TextDecoder
    try {
      decoder = new TextDecoder(charset, { fatal: true })
    } catch {
      return Effect.fail(Fault.make("UnsupportedMediaType", `the charset "${charset}" is not supported (use utf-8).`))
    }
    try {
      return Effect.succeed(decoder.decode(bytes))
    } catch {
      return Effect.fail(Fault.make("MalformedEnvelope", `the request is not valid ${charset}.`))
    }
  })

const identify = (options: AppOptions, request: HttpServerRequest.HttpServerRequest, url: URL): Effect.Effect<Caller, SoapFault> => {
  const hook = options.identify
  if (hook === undefined) return Effect.succeed(Identity.anonymous)
  const info: RequestInfo = {
    method: request.method,
    url,
    headers: request.headers,
    remoteAddress: Option.getOrUndefined(request.remoteAddress),
    source: request.source
  }
  return Effect.tryPromise({
    try: async () => await hook(info),
    catch: (e) =>
      Fault.make("Unauthenticated", e instanceof Error && e.message !== "" ? e.message : "the caller could not be identified.")
  }).pipe(
    Effect.flatMap((caller) =>
      caller !== null && typeof caller === "object" && (caller.id === null || typeof caller.id === "string")
        ? Effect.succeed(caller)
        : Effect.fail(Fault.make("InternalError", "the host's identify answered something that is not a caller."))
    )
  )
}

const renderContext = (options: AppOptions, endpoint: string): RenderContext => ({
  resultHref: (jobId, resultId) =>
    options.resultUrl !== undefined
      ? options.resultUrl(jobId, resultId, endpoint)
      : `${endpoint}?job=${encodeURIComponent(jobId)}&result=${encodeURIComponent(resultId)}`
})

const toFault = (e: UwsError | SoapFault): SoapFault => (e._tag === "SoapFault" ? e : Fault.fromUwsError(e))

/** Handles a SOAP POST. */
const soap = (request: HttpServerRequest.HttpServerRequest, options: AppOptions, url: URL, endpoint: string) => {
  let version: SoapVersion = "1.1"
  let echo: { messageId: string | undefined; resourceId: string | undefined } | undefined
  return Effect.gen(function* () {
    const transport = yield* Envelope.transport(request.headers["content-type"], request.headers["soapaction"])
    version = transport.version
    const bytes = yield* readBody(request, options.maxEnvelopeBytes)
    const text = yield* decodeText(bytes, transport.charset)
    const envelope = yield* Envelope.parse(text, version)
    echo = { messageId: envelope.addressing.messageId, resourceId: envelope.resourceId }
    const body = envelope.body
    const op = body.ns === Namespaces.uwsSoap ? byName.get(body.local) : undefined
    if (op === undefined) {
      return yield* Effect.fail(
        Fault.make(
          "UnknownOperation",
          `this endpoint has no operation {${body.ns}}${body.local}; it offers ${operations.map((o) => o.name).join(", ")} in the namespace ${Namespaces.uwsSoap} (see ?wsdl).`
        )
      )
    }
    const expected = Wsdl.requestAction(op.name)
    for (const [what, action] of [
      [version === "1.1" ? "SOAPAction" : "the action parameter", transport.action],
      ["wsa:Action", envelope.addressing.action]
    ] as const) {
      if (action !== undefined && action !== expected) {
        return yield* Effect.fail(
          Fault.make("ActionMismatch", `${what} "${action}" does not match the operation ${op.name}, whose action is "${expected}".`)
        )
      }
    }
    const input = F.decode(op.request, body)
    if (!input.ok) return yield* Effect.fail(Fault.make("InvalidRequest", `${op.name}: ${input.reason}`))
    let jobId = ""
    if (op.jobSpecific) {
      if (envelope.resourceId === undefined || envelope.resourceId === "") {
        return yield* Effect.fail(
          Fault.make(
            "MissingResourceIdentifier",
            `${op.name} is about a job: send the job's ResourceIdentifier (from createJob's endpoint reference) as the SOAP header {${Namespaces.uwsSoap}}ResourceIdentifier.`
          )
        )
      }
      jobId = envelope.resourceId
    }
    const caller = yield* identify(options, request, url)
    const output = yield* (op as Operation).run({ service: options.service, caller, jobId, endpoint }, input.value)
    const resourceId = op.resourceOf !== undefined ? op.resourceOf(output) : op.jobSpecific ? jobId : undefined
    const reply = Envelope.render(
      version,
      Envelope.replyHeaders(Wsdl.responseAction(op.name), envelope.addressing.messageId, resourceId),
      `<u:${op.name}Response>${F.encode(op.response, output, renderContext(options, endpoint))}</u:${op.name}Response>`
    )
    return xml(reply, 200, Envelope.contentType(version))
  }).pipe(
    Effect.catchAll((e) => Effect.succeed(faultResponse(toFault(e), version, echo))),
    Effect.catchAllCause((cause) =>
      Effect.logError("SOAP request failed unexpectedly", cause).pipe(
        Effect.as(faultResponse(Fault.make("InternalError", "the service failed while handling this request."), version, echo))
      )
    )
  )
}

/** A result's content, for `GET {endpoint}?job={id}&result={id}`. */
const download = (request: HttpServerRequest.HttpServerRequest, options: AppOptions, url: URL, jobId: string, resultId: string) =>
  Effect.gen(function* () {
    const caller = yield* identify(options, request, url)
    const { ref, content } = yield* options.service.result(caller, jobId, resultId)
    if (content === undefined) return HttpServerResponse.redirect(ref.href ?? "", { status: 303 })
    return HttpServerResponse.stream(content.stream, {
      contentType: content.mimeType ?? ref.mimeType ?? "application/octet-stream",
      contentLength: content.size
    })
  }).pipe(Effect.catchAll((e) => Effect.succeed(plainError(toFault(e)))))

const describe = (endpoint: string) => {
  const items = operations
    .map((op) => `<li><code>${op.name}</code>${op.jobSpecific ? " (job)" : ""}: ${escapeText(op.documentation)}</li>`)
    .join("")
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>UWS SOAP endpoint</title></head><body><h1>UWS SOAP endpoint</h1><p>This is a Universal Worker Service endpoint with the SOAP binding of the UWS v0.3 draft (SOAP 1.1 and 1.2, WS-Addressing). Point a SOAP client at <a href="${escapeText(endpoint)}?wsdl">${escapeText(endpoint)}?wsdl</a>.</p><ul>${items}</ul></body></html>`
}

/** Builds the app. */
export const makeApp = (options: AppOptions) => {
  const basePath = options.basePath === undefined || options.basePath === "" ? undefined : normalisePath(options.basePath)
  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = locate(request, options)
    const path = normalisePath(url.pathname)
    const soapVersion: SoapVersion = (request.headers["content-type"] ?? "").toLowerCase().startsWith("application/soap+xml") ? "1.2" : "1.1"
    if (basePath !== undefined && path !== basePath) {
      return faultResponse(Fault.make("NoSuchEndpoint", `there is no SOAP endpoint at ${url.pathname}; it is at ${basePath}.`), soapVersion)
    }
    const endpoint =
      options.publicUrl ?? `${url.protocol}//${url.host}${basePath ?? (url.pathname === "" ? "/" : url.pathname)}`
    if (options.isClosed()) return faultResponse(Fault.make("Closed", "this endpoint has been shut down."), soapVersion)
    if (request.method === "POST") return yield* soap(request, options, url, endpoint)
    if (request.method !== "GET" && request.method !== "HEAD") {
      return faultResponse(Fault.make("MethodNotAllowed", `${request.method} is not allowed here: POST SOAP requests, GET ?wsdl for the contract.`), soapVersion)
    }
    const query = url.searchParams
    if (query.has("wsdl") || query.has("WSDL")) return xml(Wsdl.make(endpoint), 200, "text/xml; charset=utf-8")
    const xsd = query.get("xsd")
    if (xsd !== null) {
      return Wsdl.schemaNames.includes(xsd as Wsdl.SchemaName)
        ? xml(Wsdl.schema(endpoint, xsd as Wsdl.SchemaName), 200, "text/xml; charset=utf-8")
        : HttpServerResponse.text(`No schema "${xsd}" here; there are ${Wsdl.schemaNames.join(", ")}.\n`, { status: 404, contentType: "text/plain; charset=utf-8" })
    }
    const job = query.get("job")
    const result = query.get("result")
    if (job !== null && result !== null) return yield* download(request, options, url, job, result)
    return HttpServerResponse.text(describe(endpoint), { status: 200, contentType: "text/html; charset=utf-8" })
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.logError("SOAP endpoint failed unexpectedly", cause).pipe(
        Effect.as(faultResponse(Fault.make("InternalError", "the service failed while handling this request."), "1.1"))
      )
    )
  )
}
