/**
 * The SOAP endpoint as one @effect/platform HTTP app: GET serves the WSDL, the schemas, result
 * downloads and a short description; POST reads a SOAP 1.1/1.2 request, dispatches it on the
 * operation table and answers a reply or a fault. Nothing a request carries can make it fail:
 * every error, and every defect, ends as a fault in the request's SOAP version.
 */
import type { IncomingMessage } from "node:http"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Body, BrowserPages, type CrossSite, Identity, PublicOrigin, Streamed, type Xml } from "@uws-kit/http"
import { Cause, Deferred, Effect, Either } from "effect"
import type { UwsError } from "@uws-kit/core/Errors"
import type { Caller } from "@uws-kit/core/Identity"
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

export interface AppOptions extends Identity.Options {
  readonly service: UwsService
  readonly basePath: string | undefined
  readonly maxEnvelopeBytes: number
  readonly xmlLimits: Partial<Xml.Limits>
  readonly publicUrl: string | undefined
  readonly trustForwarded: boolean
  readonly resultUrl: ((jobId: string, resultId: string, endpoint: string) => string) | undefined
  readonly isClosed: () => boolean
  /** Completes when the adapter is disposed: blocked waits end then. */
  readonly closing: Deferred.Deferred<void>
  /** Refuses SOAP calls sent by other sites' pages (CSRF). */
  readonly crossSite: ReturnType<typeof CrossSite.make>
}


const isNode = (u: unknown): u is IncomingMessage & { readonly originalUrl?: string } =>
  typeof u === "object" && u !== null && "socket" in u && typeof (u as IncomingMessage).url === "string"

const pathOf = (url: string) => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

/**
 * Where the request is, as the client sees it: the public origin (honouring `X-Forwarded-Proto`,
 * `X-Forwarded-Host`, `X-Forwarded-Prefix` and `Forwarded` when trusted, validated), the path
 * with any mount prefix a host stripped (Express keeps it in `originalUrl`), and the query.
 */
const locate = (request: HttpServerRequest.HttpServerRequest, options: AppOptions) => {
  const { origin, prefix } = PublicOrigin.of({ headers: request.headers, source: request.source }, options.trustForwarded)
  const node = isNode(request.source) ? request.source : undefined
  const original = node?.originalUrl
  const raw = typeof original === "string" && original.startsWith("/") ? original : request.url
  const q = raw.indexOf("?")
  return {
    origin,
    prefix,
    path: pathOf(raw),
    query: new URLSearchParams(q === -1 ? "" : raw.slice(q + 1))
  }
}

type Location = ReturnType<typeof locate>

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


/**
 * Reads the body, refusing more than `max` bytes without reading them all (`Body` of
 * `@uws-kit/http`): a declared Content-Length over the limit is refused unread; otherwise reading
 * stops at the limit.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, max: number): Effect.Effect<Uint8Array, SoapFault> =>
  Effect.mapError(Body.read(request, max), (e) =>
    e.reason === "TooLarge"
      ? Fault.make("EnvelopeTooLarge", `the request is larger than this endpoint accepts (${max} bytes).`)
      : e.reason === "AlreadyRead"
        ? Fault.make("InternalError", "the request body was already read by a body parser of the host; mount the SOAP endpoint before body parsers.")
        : Fault.make("MalformedEnvelope", "the request body could not be read.")
  )

// Decoding resets a decoder (no `stream` option): the UTF-8 one serves every request.
const utf8 = new TextDecoder("utf-8", { fatal: true })

const decodeText = (bytes: Uint8Array, charset: string): Either.Either<string, SoapFault> => {
  let decoder: TextDecoder
  try {
    decoder = charset === "utf-8" ? utf8 : new TextDecoder(charset, { fatal: true })
  } catch {
    return Either.left(Fault.make("UnsupportedMediaType", `the charset "${charset}" is not supported (use utf-8).`))
  }
  try {
    return Either.right(decoder.decode(bytes))
  } catch {
    return Either.left(Fault.make("MalformedEnvelope", `the request is not valid ${charset}.`))
  }
}

const refusals: Identity.Refusals<SoapFault> = {
  unauthorized: (e) => Fault.make("Unauthenticated", e instanceof Error && e.message !== "" ? e.message : "the caller could not be identified."),
  notACaller: () => Fault.make("InternalError", "the host's identify answered something that is not a caller.")
}

const identify = (options: AppOptions, request: HttpServerRequest.HttpServerRequest, loc: Location): Effect.Effect<Caller, SoapFault> =>
  Identity.resolve(request, options, refusals, () => {
    const q = loc.query.toString()
    return `${loc.origin}${loc.prefix}${loc.path}${q === "" ? "" : `?${q}`}`
  })

const renderContext = (options: AppOptions, endpoint: string): RenderContext => ({
  resultHref: (jobId, resultId) =>
    options.resultUrl !== undefined
      ? options.resultUrl(jobId, resultId, endpoint)
      : `${endpoint}?job=${encodeURIComponent(jobId)}&result=${encodeURIComponent(resultId)}`
})

const toFault = (e: UwsError | SoapFault): SoapFault => (e._tag === "SoapFault" ? e : Fault.fromUwsError(e))

const internalError = () => Fault.make("InternalError", "the service failed while handling this request; the failure was logged.")

/**
 * Handles a SOAP POST. Written as a chain of plain checks rather than a generator: it is the path
 * of every call, and each `yield*` costs a step of the run loop.
 */
const soap = (request: HttpServerRequest.HttpServerRequest, options: AppOptions, loc: Location, endpoint: string) => {
  let version: SoapVersion = "1.1"
  let echo: { messageId: string | undefined; resourceId: string | undefined } | undefined
  /** Everything after the envelope is read: plain checks, then the operation. */
  const call = (envelope: Envelope.RequestEnvelope, action: string | undefined): Effect.Effect<HttpServerResponse.HttpServerResponse, UwsError | SoapFault> => {
    echo = { messageId: envelope.addressing.messageId, resourceId: envelope.resourceId }
    const body = envelope.body
    const op = body.ns === Namespaces.uwsSoap ? byName.get(body.local) : undefined
    if (op === undefined) {
      return Effect.fail(
        Fault.make(
          "UnknownOperation",
          `this endpoint has no operation {${body.ns}}${body.local}; it offers ${operations.map((o) => o.name).join(", ")} in the namespace ${Namespaces.uwsSoap} (see ?wsdl).`
        )
      )
    }
    const expected = Wsdl.requestAction(op.name)
    for (const [what, given] of [
      [version === "1.1" ? "SOAPAction" : "the action parameter", action],
      ["wsa:Action", envelope.addressing.action]
    ] as const) {
      if (given !== undefined && given !== expected) {
        return Effect.fail(
          Fault.make("ActionMismatch", `${what} "${given}" does not match the operation ${op.name}, whose action is "${expected}".`)
        )
      }
    }
    const input = F.decode(op.request, body)
    if (!input.ok) return Effect.fail(Fault.make("InvalidRequest", `${op.name}: ${input.reason}`))
    let jobId = ""
    if (op.jobSpecific) {
      if (envelope.resourceId === undefined || envelope.resourceId === "") {
        return Effect.fail(
          Fault.make(
            "MissingResourceIdentifier",
            `${op.name} is about a job: send the job's ResourceIdentifier (from createJob's endpoint reference) as the SOAP header {${Namespaces.uwsSoap}}ResourceIdentifier.`
          )
        )
      }
      jobId = envelope.resourceId
    }
    return Effect.flatMap(identify(options, request, loc), (caller) =>
      Effect.map(
        (op as Operation).run({ service: options.service, caller, jobId, endpoint, closing: Deferred.await(options.closing) }, input.value),
        (output) => {
          const resourceId = op.resourceOf !== undefined ? op.resourceOf(output) : op.jobSpecific ? jobId : undefined
          const reply = Envelope.render(
            version,
            Envelope.replyHeaders(Wsdl.responseAction(op.name), envelope.addressing.messageId, resourceId),
            `<u:${op.name}Response>${F.encode(op.response, output, renderContext(options, endpoint))}</u:${op.name}Response>`
          )
          return xml(reply, 200, Envelope.contentType(version))
        }
      )
    )
  }
  const handled = Effect.suspend((): Effect.Effect<HttpServerResponse.HttpServerResponse, UwsError | SoapFault> => {
    const transport = Envelope.transport(request.headers["content-type"], request.headers["soapaction"])
    if (Either.isLeft(transport)) return Effect.fail(transport.left)
    version = transport.right.version
    return Effect.flatMap(readBody(request, options.maxEnvelopeBytes), (bytes) => {
      const text = decodeText(bytes, transport.right.charset)
      if (Either.isLeft(text)) return Effect.fail(text.left)
      const envelope = Envelope.parse(text.right, version, options.xmlLimits)
      return Either.isLeft(envelope) ? Effect.fail(envelope.left) : call(envelope.right, transport.right.action)
    })
  })
  return handled.pipe(
    Effect.catchAll((e) => Effect.succeed(faultResponse(toFault(e), version, echo))),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logError("uws-kit SOAP: unexpected failure", cause).pipe(Effect.as(faultResponse(internalError(), version, echo)))
    )
  )
}

/** A result's content, for `GET {endpoint}?job={id}&result={id}`. */
const download = (request: HttpServerRequest.HttpServerRequest, options: AppOptions, loc: Location, jobId: string, resultId: string) =>
  Effect.gen(function* () {
    const caller = yield* identify(options, request, loc)
    const { ref, content } = yield* options.service.result(caller, jobId, resultId)
    if (content === undefined) return HttpServerResponse.redirect(ref.href ?? "", { status: 303 })
    return Streamed.response(request, content.stream, {
      contentType: content.mimeType ?? ref.mimeType ?? "application/octet-stream",
      contentLength: content.size,
      headers: BrowserPages.contentHeaders
    })
  }).pipe(Effect.catchAll((e) => Effect.succeed(plainError(toFault(e)))))

const describe = (endpoint: string) => {
  const items = operations
    .map((op) => `<li><code>${op.name}</code>${op.jobSpecific ? " (job)" : ""}: ${escapeText(op.documentation)}</li>`)
    .join("")
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>UWS SOAP endpoint</title></head><body><h1>UWS SOAP endpoint</h1><p>This is a Universal Worker Service endpoint with the SOAP binding of the UWS v0.3 draft (SOAP 1.1 and 1.2, WS-Addressing). Point a SOAP client at <a href="${escapeText(endpoint)}?wsdl">${escapeText(endpoint)}?wsdl</a>.</p><ul>${items}</ul></body></html>`
}

/**
 * Builds the app. The platform runs an app uninterruptibly, and this one stays so: a client that
 * hangs up must not cut a change to a job in half (the core writes the job, then dispatches or
 * cancels; an interruption between the two would strand a QUEUED job). Only `getPhase`'s wait
 * is interruptible, so that a hang-up or `dispose` ends it.
 */
export const makeApp = (options: AppOptions) => {
  const basePath = options.basePath === undefined ? "" : normalisePath(`/${options.basePath}`.replace(/\/+/g, "/"))
  const base = basePath === "/" ? "" : basePath
  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const soapVersion: SoapVersion = (request.headers["content-type"] ?? "").toLowerCase().startsWith("application/soap+xml") ? "1.2" : "1.1"
    const loc = locate(request, options)
    const path = normalisePath(loc.path)
    // The endpoint is at basePath; a host that strips its mount path (Hono `mount`) sends "/".
    if (base !== "" && path !== base && path !== "/" && path !== "") {
      return faultResponse(Fault.make("NoSuchEndpoint", `there is no SOAP endpoint at ${loc.path}; it is at ${base}.`), soapVersion)
    }
    const endpoint = options.publicUrl ?? `${loc.origin}${loc.prefix}${base === "" ? (path === "" ? "/" : path) : base}`
    if (options.isClosed()) return faultResponse(Fault.make("Closed", "this endpoint has been shut down."), soapVersion)
    if (request.method === "POST") {
      const refused = options.crossSite(request, loc.origin)
      if (refused !== undefined) return faultResponse(Fault.make("CrossSiteRequest", refused), soapVersion)
      return yield* soap(request, options, loc, endpoint)
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return faultResponse(Fault.make("MethodNotAllowed", `${request.method} is not allowed here: POST SOAP requests, GET ?wsdl for the contract.`), soapVersion)
    }
    const query = loc.query
    if (query.has("wsdl") || query.has("WSDL")) return xml(Wsdl.make(endpoint), 200, "text/xml; charset=utf-8")
    const xsd = query.get("xsd")
    if (xsd !== null) {
      return Wsdl.schemaNames.includes(xsd as Wsdl.SchemaName)
        ? xml(Wsdl.schema(endpoint, xsd as Wsdl.SchemaName), 200, "text/xml; charset=utf-8")
        : HttpServerResponse.text(`No schema "${xsd}" here; there are ${Wsdl.schemaNames.join(", ")}.\n`, { status: 404, contentType: "text/plain; charset=utf-8" })
    }
    const job = query.get("job")
    const result = query.get("result")
    if (job !== null && result !== null) return yield* download(request, options, loc, job, result)
    return HttpServerResponse.text(describe(endpoint), { status: 200, contentType: "text/html; charset=utf-8", headers: BrowserPages.headers() })
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logError("uws-kit SOAP: unexpected failure", cause).pipe(Effect.as(faultResponse(internalError(), "1.1")))
    )
  )
}
