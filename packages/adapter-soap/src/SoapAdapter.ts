/**
 * The SOAP binding of UWS (v0.3 draft §2.2.2) over a UWS service: one endpoint for the whole job
 * list, a WSDL at `?wsdl`, SOAP 1.1 and 1.2, job identity by WS-Addressing. It mounts like every
 * binding (`Edge` of `@uws-kit/http`): a web-standard handler for any fetch runtime, a Node
 * listener for node:http, Express or Fastify, both taking the caller the host authenticated, and
 * the @effect/platform app and layer both are built from, for an Effect host's router.
 *
 * @since 0.1.0
 */
import type { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Effect } from "effect"
import { CrossSite, Edge, type Identity, Vosi, type Xml } from "@uws-kit/http"
import type { UwsService } from "@uws-kit/core/Uws"
import * as Wsdl from "./Wsdl.js"
import { makeApp } from "./internal/app.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface SoapAdapterOptions extends Identity.Options, Edge.HostOptions {
  readonly service: UwsService
  /**
   * The path of the endpoint as clients see it, e.g. `/soap/echo`. Requests that carry it (node:http
   * routing without stripping, Express via `originalUrl`) or whose host stripped it (Hono `mount`,
   * which sends `/`) reach the endpoint; other paths get a `NoSuchEndpoint` fault (404). Absent:
   * the endpoint answers at any path and its address is the request's.
   */
  readonly basePath?: string
  /*
   * Who is calling (`identify`, `identifyNode`, and the host's `context` or per-request caller):
   * the contract of `Identity` in `@uws-kit/http`; default anonymous. A refusal is an
   * `Unauthenticated` fault (401) whose reason is the error's message. Owner isolation is the
   * core's: a caller sees and acts on their own jobs.
   */
  /** Largest request accepted, in bytes (default 1 MiB); larger ones get an `EnvelopeTooLarge` fault, unread. */
  readonly maxEnvelopeBytes?: number
  /**
   * Limits of the XML reader for request envelopes (default `Xml.defaultLimits` of
   * `@uws-kit/http`: depth 64, 10,000 elements, 64 attributes and 32 namespace declarations per
   * element, 256 declarations per envelope; text per element bounded by `maxEnvelopeBytes`). An
   * envelope over one gets a `MalformedEnvelope` fault naming the limit.
   */
  readonly xmlLimits?: Partial<Xml.Limits>
  /**
   * The endpoint's public URL, when the host knows it better than the request does. Absent: it
   * is computed per request from the request's origin (honouring `X-Forwarded-Proto`/`-Host`/
   * `-Prefix` and `Forwarded`, see `trustForwarded`) and `basePath`.
   */
  readonly publicUrl?: string
  /**
   * Whether `X-Forwarded-*`/`Forwarded` headers are believed (default `false`: a client that
   * reaches the service directly could forge them). Turn it on behind a proxy that sets (or
   * strips) them.
   */
  readonly trustForwarded?: boolean
  /**
   * Where a result the service stores can be fetched (default: this endpoint,
   * `{endpoint}?job={jobId}&result={resultId}`). A host that also mounts the REST binding can
   * point here at its `…/results/{id}` URLs instead.
   */
  readonly resultUrl?: (jobId: string, resultId: string, endpoint: string) => string
  /**
   * Other sites whose pages may call this endpoint, e.g. `["https://portal.example"]`. A call
   * sent by any other site's page is refused with a `Forbidden` fault (403; CSRF defence from
   * `Sec-Fetch-Site` and `Origin`, see `CrossSite` in `@uws-kit/http`). SOAP clients send
   * neither header and are never refused. Default: none.
   */
  readonly allowedOrigins?: ReadonlyArray<string>
  /**
   * IVOA VOSI service metadata at `{basePath}/availability` and `{basePath}/capabilities`
   * (`Vosi` of `@uws-kit/http`): the endpoint as a `vr:WebService` interface with its WSDL, and
   * the two VOSI capabilities. Default on; `false` leaves both paths to the endpoint.
   */
  readonly vosi?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SoapAdapter extends Edge.Edge {
  /** The WSDL this endpoint serves at a given public URL. */
  readonly wsdl: (endpoint: string) => string
  /**
   * Stops taking requests (later ones get a `Closed` fault, 503) and ends blocked `getPhase`
   * waits at once with the phase as it is, so that a server can close. The service itself is
   * closed by its owner.
   */
  readonly dispose: () => Promise<void>
}

/**
 * The default `maxEnvelopeBytes`: 1 MiB, ample for job parameters and small inline uploads.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxEnvelopeBytes = 1024 * 1024

/**
 * Builds the SOAP endpoint over a service.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { createServer } from "node:http"
 * import { Uws, Worker } from "@uws-kit/core"
 * import { SoapAdapter } from "@uws-kit/adapter-soap"
 *
 * const { service } = await Uws.start({ worker: Worker.noop })
 * const soap = SoapAdapter.makeSoapAdapter({ service, basePath: "/soap" })
 * createServer(soap.listener).listen(8080) // WSDL at http://localhost:8080/soap?wsdl
 */
export const makeSoapAdapter = (options: SoapAdapterOptions): SoapAdapter => {
  const max = options.maxEnvelopeBytes ?? defaultMaxEnvelopeBytes
  if (!Number.isSafeInteger(max) || max < 1) throw new Error("maxEnvelopeBytes must be a whole number of bytes ≥ 1.")
  const shutdown = Edge.makeShutdown()
  const app: Edge.App = makeApp({
    service: options.service,
    basePath: options.basePath,
    identify: options.identify,
    identifyNode: options.identifyNode,
    maxEnvelopeBytes: max,
    xmlLimits: { maxTextLength: max, ...options.xmlLimits },
    publicUrl: options.publicUrl === undefined ? undefined : options.publicUrl.replace(/\/+$/, "") || options.publicUrl,
    trustForwarded: options.trustForwarded ?? false,
    resultUrl: options.resultUrl,
    isClosed: shutdown.isClosed,
    closing: shutdown.closing,
    crossSite: CrossSite.make(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins })
  }) satisfies Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  const basePath = (options.basePath ?? "").split("/").filter((s) => s !== "").map((s) => `/${s}`).join("")
  const served: Edge.App =
    options.vosi === false
      ? app
      : Vosi.serve(app, {
          basePath,
          trustForwarded: options.trustForwarded ?? false,
          isAvailable: () => !shutdown.isClosed(),
          upSince: Date.now(),
          // The endpoint's address is the root's unless the host gave its public URL.
          capabilities: (root) => [Vosi.soapCapability(options.publicUrl?.replace(/\/+$/, "") ?? root), ...Vosi.vosiCapabilities(root)]
        })
  const edge = Edge.make(served, { mount: options.basePath ?? "", runtime: options.runtime, context: options.context, dispose: shutdown.close })
  return { ...edge, wsdl: Wsdl.make }
}
