/**
 * IVOA VOSI 1.0 service metadata for every binding: `{base}/availability` (VOSIAvailability 1.0:
 * `available`, `upSince`, `note`) and `{base}/capabilities` (VOSICapabilities 1.0, whose
 * `capability` elements are VOResource 1.x `vr:Capability`s with VODataService `vs:ParamHTTP`,
 * VOResource `vr:WebService` or TAPRegExt `tr:TableAccess` types), so that registry harvesters,
 * validators and pyvo find what a service offers. {@link serve} puts both in front of a
 * binding's app; the capability builders say what each protocol declares.
 *
 * @since 0.1.0
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import type { App } from "./Edge.js"
import * as PublicOrigin from "./PublicOrigin.js"
import { attribute, text } from "./XmlEscape.js"

/**
 * The namespaces of the documents.
 *
 * @since 0.1.0
 * @category constants
 */
export const namespaces = {
  availability: "http://www.ivoa.net/xml/VOSIAvailability/v1.0",
  capabilities: "http://www.ivoa.net/xml/VOSICapabilities/v1.0",
  vr: "http://www.ivoa.net/xml/VOResource/v1.0",
  vs: "http://www.ivoa.net/xml/VODataService/v1.1",
  tr: "http://www.ivoa.net/xml/TAPRegExt/v1.0",
  xsi: "http://www.w3.org/2001/XMLSchema-instance"
} as const

/**
 * The standard identifiers declared.
 *
 * @since 0.1.0
 * @category constants
 */
export const standardIds = {
  /** UWS 1.1 §2.2.1.1: a 1.1 service declares `#rest-1.1`. */
  uws: "ivo://ivoa.net/std/UWS#rest-1.1",
  tap: "ivo://ivoa.net/std/TAP",
  capabilities: "ivo://ivoa.net/std/VOSI#capabilities",
  availability: "ivo://ivoa.net/std/VOSI#availability"
} as const

/**
 * One interface of a capability: `vs:ParamHTTP` (a REST resource), `vr:WebService` (a SOAP
 * endpoint, with its WSDL) or `vr:WebBrowser` (HTML pages).
 *
 * @since 0.1.0
 * @category models
 */
export type Interface =
  | { readonly type: "vs:ParamHTTP"; readonly accessURL: string; readonly use?: "full" | "base" | "dir"; readonly role?: "std"; readonly version?: string }
  | { readonly type: "vr:WebService"; readonly accessURL: string; readonly wsdlURL: string }
  | { readonly type: "vr:WebBrowser"; readonly accessURL: string }

/**
 * A TAP capability's description (TAPRegExt `tr:TableAccess`): the languages and output formats
 * a TAP service takes. TAP 1.x requires ADQL 2.0 and VOTable, the default.
 *
 * @since 0.1.0
 * @category models
 */
export interface TableAccess {
  readonly languages?: ReadonlyArray<{ readonly name: string; readonly version: string; readonly ivoId?: string; readonly description?: string }>
  readonly outputFormats?: ReadonlyArray<{ readonly mime: string; readonly alias?: string; readonly ivoId?: string }>
}

/**
 * A capability: its standard, a description, its interfaces, and for TAP its `tr:TableAccess`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Capability {
  readonly standardID?: string
  readonly description?: string
  readonly interfaces: ReadonlyArray<Interface>
  readonly tableAccess?: TableAccess
}

/**
 * What an availability document says.
 *
 * @since 0.1.0
 * @category models
 */
export interface Availability {
  readonly available: boolean
  /** Epoch milliseconds. */
  readonly upSince?: number
  readonly notes?: ReadonlyArray<string>
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/**
 * The VOSIAvailability 1.0 document.
 *
 * @since 0.1.0
 * @category rendering
 */
export const availability = (a: Availability): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<vosi:availability xmlns:vosi="${namespaces.availability}">` +
  `<vosi:available>${a.available}</vosi:available>` +
  (a.upSince === undefined ? "" : `<vosi:upSince>${iso(a.upSince)}</vosi:upSince>`) +
  (a.notes ?? []).map((n) => `<vosi:note>${text(n)}</vosi:note>`).join("") +
  `</vosi:availability>\n`

const renderInterface = (i: Interface): string => {
  const url = `<accessURL use="${i.type === "vs:ParamHTTP" ? (i.use ?? "full") : "full"}">${text(i.accessURL)}</accessURL>`
  switch (i.type) {
    case "vs:ParamHTTP":
      return `<interface xsi:type="vs:ParamHTTP"${i.role === undefined ? "" : ` role="${i.role}"`}${i.version === undefined ? "" : ` version="${attribute(i.version)}"`}>${url}</interface>`
    case "vr:WebService":
      return `<interface xsi:type="vr:WebService">${url}<wsdlURL>${text(i.wsdlURL)}</wsdlURL></interface>`
    case "vr:WebBrowser":
      return `<interface xsi:type="vr:WebBrowser">${url}</interface>`
  }
}

const renderTableAccess = (t: TableAccess): string =>
  (t.languages ?? defaultTableAccess.languages)
    .map(
      (l) =>
        `<language><name>${text(l.name)}</name><version${l.ivoId === undefined ? "" : ` ivo-id="${attribute(l.ivoId)}"`}>${text(l.version)}</version>` +
        (l.description === undefined ? "" : `<description>${text(l.description)}</description>`) +
        `</language>`
    )
    .join("") +
  (t.outputFormats ?? defaultTableAccess.outputFormats)
    .map(
      (f) => `<outputFormat${f.ivoId === undefined ? "" : ` ivo-id="${attribute(f.ivoId)}"`}><mime>${text(f.mime)}</mime>${f.alias === undefined ? "" : `<alias>${text(f.alias)}</alias>`}</outputFormat>`
    )
    .join("")

/**
 * The VOSICapabilities 1.0 document. Element order follows `vr:Capability` (description, then
 * interfaces), and for `tr:TableAccess` its own elements after them.
 *
 * @since 0.1.0
 * @category rendering
 */
export const capabilities = (caps: ReadonlyArray<Capability>): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<vosi:capabilities xmlns:vosi="${namespaces.capabilities}" xmlns:vr="${namespaces.vr}" ` +
  `xmlns:vs="${namespaces.vs}" xmlns:tr="${namespaces.tr}" xmlns:xsi="${namespaces.xsi}">` +
  caps
    .map(
      (c) =>
        `<capability${c.standardID === undefined ? "" : ` standardID="${attribute(c.standardID)}"`}${c.tableAccess === undefined ? "" : ` xsi:type="tr:TableAccess"`}>` +
        (c.description === undefined ? "" : `<description>${text(c.description)}</description>`) +
        c.interfaces.map(renderInterface).join("") +
        (c.tableAccess === undefined ? "" : renderTableAccess(c.tableAccess)) +
        `</capability>`
    )
    .join("") +
  `</vosi:capabilities>\n`

/**
 * ADQL 2.0 and VOTable, what every TAP service takes.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTableAccess: Required<TableAccess> = {
  languages: [{ name: "ADQL", version: "2.0", ivoId: "ivo://ivoa.net/std/ADQL#v2.0", description: "ADQL 2.0" }],
  outputFormats: [{ mime: "application/x-votable+xml", alias: "votable" }]
}

/**
 * The two VOSI capabilities themselves, below `root` (the service's base URL).
 *
 * @since 0.1.0
 * @category capabilities
 */
export const vosiCapabilities = (root: string): ReadonlyArray<Capability> => [
  { standardID: standardIds.capabilities, interfaces: [{ type: "vs:ParamHTTP", accessURL: `${root}/capabilities` }] },
  { standardID: standardIds.availability, interfaces: [{ type: "vs:ParamHTTP", accessURL: `${root}/availability` }] }
]

/**
 * A UWS 1.1 job list served over REST.
 *
 * @since 0.1.0
 * @category capabilities
 */
export const uwsCapability = (jobListUrl: string, description = "UWS 1.1 job list (REST binding)"): Capability => ({
  standardID: standardIds.uws,
  description,
  interfaces: [{ type: "vs:ParamHTTP", accessURL: jobListUrl, role: "std" }]
})

/**
 * A UWS job list served by the SOAP binding of the UWS v0.3 draft (no standard identifier:
 * the binding was never standardised): a `vr:WebService` interface with its WSDL.
 *
 * @since 0.1.0
 * @category capabilities
 */
export const soapCapability = (endpoint: string): Capability => ({
  description: "UWS job list, SOAP binding of the UWS v0.3 draft (SOAP 1.1/1.2, WS-Addressing)",
  interfaces: [{ type: "vr:WebService", accessURL: endpoint, wsdlURL: `${endpoint}?wsdl` }]
})

/**
 * A TAP service rooted at `root` (`{root}/async`, `{root}/sync`).
 *
 * @since 0.1.0
 * @category capabilities
 */
export const tapCapability = (root: string, tableAccess: TableAccess = defaultTableAccess): Capability => ({
  standardID: standardIds.tap,
  description: "TAP layout: asynchronous jobs at async, synchronous queries at sync",
  interfaces: [{ type: "vs:ParamHTTP", accessURL: root, role: "std", version: "1.1" }],
  tableAccess
})

/**
 * How {@link serve} answers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  /** The binding's mount path as clients see it (`""` or `/a/b`). */
  readonly basePath: string
  readonly trustForwarded: boolean
  /** The capabilities at this request's `root` URL (origin, forwarded prefix and mount). */
  readonly capabilities: (root: string) => ReadonlyArray<Capability>
  /** Whether the binding takes requests (false once disposed). */
  readonly isAvailable: () => boolean
  /** When the binding started (epoch ms). */
  readonly upSince: number
}

/**
 * Which VOSI document a path asks for, and the mount path before it: `{mount}/availability` or
 * `{mount}/capabilities`, where `{mount}` is `basePath`, or nothing (a host that strips its
 * mount path, such as Hono `mount` or Express `app.use`).
 *
 * @since 0.1.0
 * @category routing
 */
export const match = (path: string, basePath: string): { readonly document: "availability" | "capabilities"; readonly mount: string } | undefined => {
  const slash = path.lastIndexOf("/")
  const last = path.slice(slash + 1)
  if (last !== "availability" && last !== "capabilities") return undefined
  const before = path.slice(0, slash)
  const base = basePath.replace(/\/+$/, "")
  return before === base || before === "" ? { document: last, mount: before } : undefined
}

const VOSI_HEADERS = { "cache-control": "no-store", "x-content-type-options": "nosniff" }

/**
 * Puts `{base}/availability` and `{base}/capabilities` in front of a binding's app: GET or HEAD
 * answers the document (`text/xml`), other methods 405; every other request goes to `app`.
 * Express's `originalUrl` gives back a stripped mount path for the URLs.
 *
 * @since 0.1.0
 * @category serving
 */
export const serve = (app: App, options: ServeOptions): App =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    const original = (req.source as { readonly originalUrl?: unknown } | undefined)?.originalUrl
    const url = typeof original === "string" ? original : req.url
    const q = url.indexOf("?")
    const found = match(q === -1 ? url : url.slice(0, q), options.basePath)
    if (found === undefined) return app
    if (req.method !== "GET" && req.method !== "HEAD") {
      return Effect.succeed(
        HttpServerResponse.text(`${req.method} is not allowed here; use GET.\n`, { status: 405, headers: { allow: "GET, HEAD" } })
      )
    }
    const { origin, prefix } = PublicOrigin.of({ headers: req.headers, source: req.source }, options.trustForwarded)
    const root = `${origin}${prefix}${found.mount === "" ? options.basePath.replace(/\/+$/, "") : found.mount}`
    const available = options.isAvailable()
    const body =
      found.document === "capabilities"
        ? capabilities(options.capabilities(root))
        : availability({
            available,
            upSince: options.upSince,
            notes: [available ? "The service is taking requests." : "The service is shutting down."]
          })
    return Effect.succeed(HttpServerResponse.text(body, { status: 200, contentType: "text/xml; charset=utf-8", headers: VOSI_HEADERS }))
  })
