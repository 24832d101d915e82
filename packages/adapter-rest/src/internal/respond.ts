/**
 * REST's answers: negotiated representations, redirects, and errors in the negotiated form
 * (DALI VOTable documents for XML clients).
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { BrowserPages } from "@uws-kit/http"
import * as Html from "../Html.js"
import type * as Json from "../Json.js"
import * as Xml from "../Xml.js"
import { REASON, headersOf, statusOf, tagOf, type AnyError } from "./errors.js"
import { ATOMS, ERRORS, negotiate, onlyXml, type MediaType } from "./negotiate.js"
import type { Ctx } from "./request.js"

// ---- responses -------------------------------------------------------------------------------

export const CONTENT_TYPE: Record<MediaType, string> = {
  "application/xml": "application/xml; charset=utf-8",
  "text/xml": "text/xml; charset=utf-8",
  "application/json": "application/json; charset=utf-8",
  "text/html": "text/html; charset=utf-8",
  "text/plain": "text/plain; charset=utf-8"
}

export const NEGOTIATED = { vary: "Accept", "cache-control": "no-cache" } as const

export const see = (location: string) => HttpServerResponse.empty({ status: 303, headers: { location } })

// HTML pages load their stylesheet and script from this binding (same origin), nothing inline;
// the script reads the job's events and page from it too.
export const PAGE_HEADERS = BrowserPages.headers({ script: "'self'", style: "'self'", connect: "'self'" })

export const body = (type: MediaType, text: string, headers: Readonly<Record<string, string>> = {}, status = 200) =>
  HttpServerResponse.text(text, {
    status,
    contentType: CONTENT_TYPE[type],
    headers: type === "text/html" ? { ...NEGOTIATED, ...PAGE_HEADERS, ...headers } : { ...NEGOTIATED, ...headers }
  })

export interface Renderings {
  readonly xml?: () => string
  readonly json?: () => unknown
  readonly html?: () => string
  readonly text?: () => string
}

export const represent = (
  ctx: Pick<Ctx, "accept" | "browser">,
  offers: ReadonlyArray<MediaType>,
  r: Renderings,
  headers: Readonly<Record<string, string>> = {}
): HttpServerResponse.HttpServerResponse => representAs(negotiate(ctx.accept, offers, ctx.browser), r, headers)

/** The answer in `type`, negotiated already. */
export const representAs = (type: MediaType, r: Renderings, headers: Readonly<Record<string, string>> = {}): HttpServerResponse.HttpServerResponse => {
  switch (type) {
    case "application/xml":
    case "text/xml":
      return body(type, r.xml!(), headers)
    case "application/json":
      return body(type, JSON.stringify(r.json!()), headers)
    case "text/html":
      return body(type, r.html!(), headers)
    case "text/plain":
      return body(type, r.text!(), headers)
  }
}

export const escapeXml = Xml.escapeText

/** A DALI error document: what IVOA tools (pyvo, TOPCAT) already know how to read and show. */
export const daliError = (type: "application/xml" | "text/xml", message: string, status: number, tag: string, headers: Readonly<Record<string, string>>) =>
  body(
    type,
    `<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n  <RESOURCE type="results">\n    <INFO name="QUERY_STATUS" value="ERROR">${escapeXml(message)}</INFO>\n    <INFO name="HTTP_STATUS" value="${status}"/>\n    <INFO name="ERROR_TAG" value="${tag}"/>\n  </RESOURCE>\n</VOTABLE>\n`,
    headers,
    status
  )

/**
 * A job's error summary as a TAP client reads `/error`: a DALI VOTable whose QUERY_STATUS is
 * ERROR, the message its text (a resource, so 200).
 */
export const daliErrorDocument = (message: string, detail: string | undefined) =>
  body(
    "application/xml",
    `<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n  <RESOURCE type="results">\n    <INFO name="QUERY_STATUS" value="ERROR">${escapeXml(message)}</INFO>\n${detail === undefined ? "" : `    <INFO name="DETAIL" value="">${escapeXml(detail)}</INFO>\n`}  </RESOURCE>\n</VOTABLE>\n`
  )

export const errorResponse = (
  accept: string | undefined,
  browser: boolean,
  error: AnyError,
  backUrl: string | undefined,
  assets?: Html.Assets,
  dali = false
): HttpServerResponse.HttpServerResponse => {
  const status = statusOf(error)
  const tag = tagOf(error)
  const message = error.message
  const title = REASON[status] ?? "Error"
  const headers = { ...headersOf(error), "cache-control": "no-store" }
  const type = negotiate(accept, ERRORS, browser)
  // A TAP client (pyvo's get_job) parses whatever an error answers as VOTable.
  if (dali && (type === "text/plain" || type === "text/html")) return daliError("application/xml", message, status, tag, headers)
  switch (type) {
    case "text/plain":
      return body(type, `${message}\n`, headers, status)
    case "application/json":
      return body(type, JSON.stringify({ error: { status, tag, message } } satisfies Json.ErrorJson), headers, status)
    case "text/html":
      return body(type, Html.errorPage({ status, title, message, ...(backUrl === undefined ? {} : { backUrl }), ...(assets === undefined ? {} : { assets }) }), headers, status)
    case "application/xml":
    case "text/xml":
      return daliError(type, message, status, tag, headers)
  }
}

/** An atom: text/plain, JSON on request, or a one-element UWS document for XML-only clients (v0.3). */
export const atom = (ctx: Pick<Ctx, "accept" | "browser">, key: string, text: string, value: unknown) => {
  const xml = onlyXml(ctx.accept)
  return xml === undefined
    ? represent(ctx, ATOMS, { text: () => text, json: () => ({ [key]: value }) })
    : body(xml, Xml.atomDocument(key, value === null ? null : text))
}
