/**
 * A typed UWS client over `fetch`: create (with parameters and uploads), read, list with the
 * UWS 1.1 filters, run, abort, change destruction and execution duration, wait, read results and
 * delete. It speaks plain UWS 1.0/1.1 REST and XML, so it works against any UWS service, not only
 * ours: documents are read namespace-agnostically (by local names, as pyvo does), redirects are
 * followed by the client itself (a relative `Location` is resolved against the request), and
 * `wait` uses the blocking `WAIT` with the `PHASE` race guard, falling back to polling with
 * back-off against servers that do not block.
 *
 * @since 0.1.0
 * @example
 * import * as Client from "@uws-kit/adapter-rest/client"
 * const uws = Client.make("http://localhost:8080/uws/echo/jobs")
 * const job = await uws.create({ parameters: { GREETING: "hello" }, run: true })
 * const done = await uws.wait(job, { timeout: 60_000 })
 * const text = await (await uws.fetchResult(done, done.results[0]!)).text()
 */
import type { Parameter } from "@uws-kit/core/Job"
import * as Phases from "@uws-kit/core/Phase"
import type { Phase } from "@uws-kit/core/Phase"
import { XMLParser } from "fast-xml-parser"

// ---- models ------------------------------------------------------------------------------

/**
 * A result as a UWS document lists it. `href` is absolute when the document's URL was known.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultLink {
  readonly id: string
  readonly href: string | null
  readonly mimeType?: string
  readonly size?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorSummary {
  readonly type: string
  readonly hasDetail: boolean
  readonly message: string
}

/**
 * A job document (the schema's `JobSummary`), read namespace-agnostically. Times are `Date`s;
 * absent, empty and `xsi:nil` values are `null`.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobSummary {
  /** The document's `version` attribute; "1.0" when absent, as UWS 1.1 §2.2.1.1 says. */
  readonly version: string
  readonly jobId: string
  readonly runId: string | null
  readonly ownerId: string | null
  /** A phase name this client does not know reads as "UNKNOWN" (the client should re-query). */
  readonly phase: Phase
  readonly quote: Date | null
  readonly creationTime: Date | null
  readonly startTime: Date | null
  readonly endTime: Date | null
  /** Seconds; 0 = unlimited; `null` when the document has none. */
  readonly executionDuration: number | null
  readonly destruction: Date | null
  readonly parameters: ReadonlyArray<Parameter>
  readonly results: ReadonlyArray<ResultLink>
  readonly errorSummary: ErrorSummary | null
  /**
   * The text-only children of `jobInfo`, keyed by their `name` attribute when they have one
   * (`<entry name="progress">…</entry>`), else by their local name.
   */
  readonly jobInfo: Readonly<Record<string, string>> | null
}

/**
 * A job document and the URL it was read from.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteJob extends JobSummary {
  readonly url: string
}

/**
 * One entry of a job list (the schema's `ShortJobDescription`).
 *
 * @since 0.1.0
 * @category models
 */
export interface JobReference {
  readonly jobId: string
  /** The job's URL: the entry's `xlink:href`, else the list URL + "/" + id (what pyvo assumes). */
  readonly url: string
  readonly phase: Phase
  readonly runId: string | null
  readonly ownerId: string | null
  readonly creationTime: Date | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobList {
  readonly version: string
  /** The URL the list was finally read from (a server may redirect to bound it, e.g. with LAST). */
  readonly url: string
  readonly jobs: ReadonlyArray<JobReference>
  /** The next page, when the server pages with a `Link: <…>; rel="next"` header (an extension). */
  readonly next: string | null
}

/**
 * A job given by id (resolved against the job list), by absolute URL, or as a document this
 * client returned.
 *
 * @since 0.1.0
 * @category models
 */
export type JobRef = string | URL | { readonly url: string }

/**
 * A file to send with a new job (UWS 1.1 §2.2.3.1.1 inline upload): the server makes it the
 * by-reference parameter `name` (`param:{name}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload {
  readonly name: string
  readonly content: Blob | Uint8Array | string
  readonly fileName?: string
  readonly mimeType?: string
}

/**
 * Parameters as a record (an array value repeats the name) or as ordered pairs.
 *
 * @since 0.1.0
 * @category models
 */
export type Parameters =
  | Readonly<Record<string, string | number | boolean | ReadonlyArray<string | number>>>
  | ReadonlyArray<readonly [string, string]>

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateOptions {
  readonly parameters?: Parameters
  readonly uploads?: ReadonlyArray<Upload>
  readonly runId?: string
  /** Seconds (0 = unlimited); the server may substitute its own value. */
  readonly executionDuration?: number
  readonly destruction?: Date | number
  /** Commit the job at once (`PHASE=RUN` with the creation request). */
  readonly run?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Union of phases (`PHASE` repeated). ARCHIVED jobs are listed only when asked for. */
  readonly phases?: ReadonlyArray<Phase>
  /** Jobs created strictly after this instant. */
  readonly after?: Date | number
  /** The most recently created `last` jobs. */
  readonly last?: number
  /**
   * Page size, for servers that page job lists (an extension: uws-kit's `limit` parameter);
   * follow {@link JobList.next} with `listPage`.
   */
  readonly limit?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  /** Resolve when the job is in one of these phases (default: COMPLETED, ERROR, ABORTED, ARCHIVED). */
  readonly phases?: ReadonlyArray<Phase>
  /** The instant by which `wait` gives up (a `Date` or epoch milliseconds). */
  readonly deadline?: Date | number
  /** Milliseconds from now by which `wait` gives up, when no `deadline` is given (default 600 000). */
  readonly timeout?: number
  readonly signal?: AbortSignal
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** How requests are sent (default: the global `fetch`). An in-process handler fits too. */
  readonly fetch?: (request: Request) => Promise<Response>
  /** Headers for every request (e.g. authorisation); a function is called per request. */
  readonly headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>)
  /**
   * `manual` (default): the client follows redirects itself and learns the job URL from the
   * creation response's `Location`. `follow`: for browsers, whose fetch hides redirects; the job
   * URL is then the URL the redirects ended at.
   */
  readonly redirects?: "manual" | "follow"
  /** Longest single blocking `WAIT` in seconds (default 60; the server may cap it lower). */
  readonly maxWait?: number
  /** Clock and sleep, replaceable in tests. */
  readonly now?: () => number
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/**
 * Why a call failed: the server answered with an error status (`http`), sent something that is
 * not the expected UWS document (`malformed`), `wait` ran out of time (`timeout`), or the job
 * reached a phase from which the awaited phases cannot follow (`ended`).
 *
 * @since 0.1.0
 * @category errors
 */
export class UwsClientError extends Error {
  override readonly name = "UwsClientError"
  readonly kind: "http" | "malformed" | "timeout" | "ended" | "redirect"
  readonly status: number | undefined
  readonly url: string
  /** The last job document seen, for `timeout` and `ended`. */
  readonly job: RemoteJob | undefined
  constructor(options: {
    readonly kind: UwsClientError["kind"]
    readonly message: string
    readonly url: string
    readonly status?: number
    readonly job?: RemoteJob
  }) {
    super(options.message)
    this.kind = options.kind
    this.url = options.url
    this.status = options.status
    this.job = options.job
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UwsClient {
  /** The job list's URL. */
  readonly listUrl: string
  /** The URL of a job given by id, URL or document. */
  readonly jobUrl: (job: JobRef) => string
  readonly create: (options?: CreateOptions) => Promise<RemoteJob>
  readonly get: (job: JobRef) => Promise<RemoteJob>
  readonly list: (options?: ListOptions) => Promise<JobList>
  /** Reads a page named by {@link JobList.next}. */
  readonly listPage: (url: string) => Promise<JobList>
  readonly run: (job: JobRef) => Promise<RemoteJob>
  readonly abort: (job: JobRef) => Promise<RemoteJob>
  readonly setDestruction: (job: JobRef, destruction: Date | number) => Promise<RemoteJob>
  readonly setExecutionDuration: (job: JobRef, seconds: number) => Promise<RemoteJob>
  /** Updates parameters of a PENDING job (UWS 1.1 §2.1.11). */
  readonly updateParameters: (job: JobRef, parameters: Parameters) => Promise<RemoteJob>
  readonly phase: (job: JobRef) => Promise<Phase>
  readonly parameters: (job: JobRef) => Promise<ReadonlyArray<Parameter>>
  readonly results: (job: JobRef) => Promise<ReadonlyArray<ResultLink>>
  /** The result's content as a streaming response (checked to be 2xx). */
  readonly fetchResult: (job: JobRef, result: string | ResultLink) => Promise<Response>
  /** The `/error` resource as text. */
  readonly error: (job: JobRef) => Promise<string>
  /**
   * Blocks until the job is in one of `phases`, using `WAIT` with the `PHASE` guard. Fails with
   * `timeout` at the deadline and with `ended` when the job is final in another phase.
   */
  readonly wait: (job: JobRef, options?: WaitOptions) => Promise<RemoteJob>
  readonly delete: (job: JobRef) => Promise<void>
}

// ---- XML ---------------------------------------------------------------------------------

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  // Values are kept exactly as sent (parameter values may start or end with spaces).
  trimValues: false,
  // Numeric character references are decoded too (the five XML entities are by default).
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === "jobref" || name === "parameter" || name === "result"
})

type Node = string | { readonly [key: string]: unknown } | undefined

const malformed = (message: string, url = "") => new UwsClientError({ kind: "malformed", message, url })

const rootOf = (xml: string, expected: string, url: string): Record<string, unknown> => {
  let doc: Record<string, unknown>
  try {
    doc = parser.parse(xml) as Record<string, unknown>
  } catch (e) {
    throw malformed(`Not an XML document (${e instanceof Error ? e.message : String(e)}).`, url)
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith("?") && k !== "#text" && k !== "#comment")
  const root = doc[expected]
  if (root === undefined) {
    throw malformed(`Expected a UWS <${expected}> document, got ${roots.length === 0 ? "nothing" : `<${roots[0]}>`}.`, url)
  }
  return typeof root === "object" && root !== null ? (root as Record<string, unknown>) : {}
}

const isNil = (node: Node) => typeof node === "object" && node !== null && node["@_nil"] === "true"

/** The text of an element: `undefined` when absent, `null` when nil, else its text. */
const rawText = (node: Node): string | null | undefined => {
  if (node === undefined) return undefined
  if (isNil(node)) return null
  if (typeof node === "string") return node
  const t = (node as Record<string, unknown>)["#text"]
  return typeof t === "string" ? t : ""
}

const optText = (node: Node): string | null => {
  const t = rawText(node)
  return t === undefined || t === null ? null : t
}

/** An identifier (owner, run id): an empty element means there is none, as in UWS 1.0 documents. */
const optId = (node: Node): string | null => {
  const t = optText(node)
  return t === null || t.trim() === "" ? null : t
}

const attr = (node: Node, name: string): string | undefined =>
  typeof node === "object" && node !== null && typeof node[`@_${name}`] === "string" ? (node[`@_${name}`] as string) : undefined

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/

/**
 * Reads an ISO 8601 instant as UWS documents write it (`2026-11-25T20:10:00.123Z`); a value
 * without a zone is UTC, as UWS times are. `undefined` when it is not such an instant.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseInstant = (value: string): Date | undefined => {
  const m = ISO.exec(value.trim())
  if (m === null) return undefined
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m
  const ms = Number((frac + "000").slice(0, 3))
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  const check = new Date(t)
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined
  }
  if (zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1
    const digits = zone.slice(1).replace(":", "")
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  }
  return new Date(t)
}

const date = (node: Node, field: string, url: string): Date | null => {
  const t = optText(node)
  if (t === null || t.trim() === "") return null
  const d = parseInstant(t)
  if (d === undefined) throw malformed(`<${field}> is not an ISO 8601 instant: "${t}".`, url)
  return d
}

const phaseOf = (node: Node, url: string): Phase => {
  const t = optText(node)
  if (t === null || t.trim() === "") throw malformed("The document has no <phase>.", url)
  return Phases.parse(t) ?? "UNKNOWN"
}

const resolve = (href: string, base: string | undefined): string => {
  if (base === undefined || base === "") return href
  try {
    return new URL(href, base).href
  } catch {
    return href
  }
}

const asArray = (node: unknown): ReadonlyArray<Node> =>
  Array.isArray(node) ? (node as ReadonlyArray<Node>) : node === undefined ? [] : [node as Node]

const parametersOf = (node: Node): ReadonlyArray<Parameter> =>
  asArray(typeof node === "object" && node !== null ? node["parameter"] : undefined).map((p) => {
    const name = attr(p, "id") ?? ""
    const value = rawText(p) ?? ""
    return attr(p, "byReference") === "true" ? { name, value, byReference: true } : { name, value }
  })

const resultsOf = (node: Node, base: string | undefined): ReadonlyArray<ResultLink> =>
  asArray(typeof node === "object" && node !== null ? node["result"] : undefined).map((r) => {
    const href = attr(r, "href")
    const mimeType = attr(r, "mime-type")
    const size = attr(r, "size")
    const n = size === undefined ? NaN : Number(size)
    return {
      id: attr(r, "id") ?? "",
      href: href === undefined ? null : resolve(href, base),
      ...(mimeType === undefined ? {} : { mimeType }),
      ...(Number.isSafeInteger(n) && n >= 0 ? { size: n } : {})
    }
  })

const jobInfoOf = (node: Node): Readonly<Record<string, string>> | null => {
  if (node === undefined || isNil(node)) return null
  if (typeof node !== "object" || node === null) return {}
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("@_") || k === "#text") continue
    for (const item of asArray(v)) {
      // `<entry name="progress">3/10</entry>` (a name attribute) or `<progress>3/10</progress>`.
      const name = attr(item, "name") ?? k
      const value = rawText(item)
      if (typeof value === "string" && (typeof item === "string" || Object.keys(item ?? {}).every((key) => key.startsWith("@_") || key === "#text"))) {
        out[name] = value
      }
    }
  }
  return out
}

/**
 * Reads a UWS job document (1.0 or 1.1, any namespace prefix). Relative result hrefs are
 * resolved against `url` when given.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseJob = (xml: string, url?: string): JobSummary => {
  const job = rootOf(xml, "job", url ?? "")
  const u = url ?? ""
  const jobId = optText(job["jobId"] as Node)
  if (jobId === null || jobId.trim() === "") throw malformed("The job document has no <jobId>.", u)
  const ed = optText(job["executionDuration"] as Node)
  const executionDuration = ed === null || ed.trim() === "" ? null : Number(ed.trim())
  if (executionDuration !== null && !Number.isFinite(executionDuration)) {
    throw malformed(`<executionDuration> is not a number: "${ed}".`, u)
  }
  const errorNode = job["errorSummary"] as Node
  const errorSummary: ErrorSummary | null =
    errorNode === undefined || isNil(errorNode)
      ? null
      : {
          type: attr(errorNode, "type") ?? "fatal",
          hasDetail: attr(errorNode, "hasDetail") === "true",
          message:
            typeof errorNode === "object" && errorNode !== null ? (optText(errorNode["message"] as Node) ?? "") : ""
        }
  return {
    version: attr(job as Node, "version") ?? "1.0",
    jobId: jobId.trim(),
    runId: optId(job["runId"] as Node),
    ownerId: optId(job["ownerId"] as Node),
    phase: phaseOf(job["phase"] as Node, u),
    quote: date(job["quote"] as Node, "quote", u),
    creationTime: date(job["creationTime"] as Node, "creationTime", u),
    startTime: date(job["startTime"] as Node, "startTime", u),
    endTime: date(job["endTime"] as Node, "endTime", u),
    executionDuration,
    destruction: date(job["destruction"] as Node, "destruction", u),
    parameters: parametersOf(job["parameters"] as Node),
    results: resultsOf(job["results"] as Node, url),
    errorSummary,
    jobInfo: jobInfoOf(job["jobInfo"] as Node)
  }
}

/**
 * Reads a UWS job list (`<jobs>` of `<jobref>`s). Entries without an `xlink:href` get
 * `url + "/" + id`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseJobList = (xml: string, url: string): Omit<JobList, "next"> => {
  const jobs = rootOf(xml, "jobs", url)
  const base = url.replace(/[?#].*$/, "").replace(/\/+$/, "")
  return {
    version: attr(jobs as Node, "version") ?? "1.0",
    url,
    jobs: asArray(jobs["jobref"]).map((ref) => {
      const jobId = attr(ref, "id") ?? ""
      const href = attr(ref, "href")
      const r = (typeof ref === "object" && ref !== null ? ref : {}) as Record<string, Node>
      return {
        jobId,
        url: href === undefined ? `${base}/${encodeURIComponent(jobId)}` : resolve(href, url),
        phase: phaseOf(r["phase"], url),
        runId: optId(r["runId"]),
        ownerId: optId(r["ownerId"]),
        creationTime: date(r["creationTime"], "creationTime", url)
      }
    })
  }
}

/**
 * Reads a UWS `<results>` document.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseResults = (xml: string, url?: string): ReadonlyArray<ResultLink> =>
  resultsOf(rootOf(xml, "results", url ?? "") as Node, url)

/**
 * Reads a UWS `<parameters>` document.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseParameters = (xml: string, url?: string): ReadonlyArray<Parameter> =>
  parametersOf(rootOf(xml, "parameters", url ?? "") as Node)

// ---- HTTP --------------------------------------------------------------------------------

const XML_ACCEPT = "application/xml, text/xml;q=0.9, text/plain;q=0.8"
const TEXT_ACCEPT = "text/plain, application/xml;q=0.5"
const MAX_REDIRECTS = 10
const defaultFinal: ReadonlyArray<Phase> = ["COMPLETED", "ERROR", "ABORTED", "ARCHIVED"]

type Body = URLSearchParams | FormData | undefined

interface Exchange {
  readonly response: Response
  /** The URL the response came from, after redirects. */
  readonly url: string
  /** The first response's status and absolute Location (for POSTs answered with 303). */
  readonly first: { readonly status: number; readonly location: string | undefined }
}

const instant = (d: Date | number) => (typeof d === "number" ? new Date(d) : d).toISOString()

const pairs = (parameters: Parameters | undefined): Array<readonly [string, string]> => {
  if (parameters === undefined) return []
  if (Array.isArray(parameters)) return (parameters as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, v] as const)
  const out: Array<readonly [string, string]> = []
  for (const [k, v] of Object.entries(parameters as Record<string, unknown>)) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, String(one)])
  }
  return out
}

/** A readable message from an error response in any of the usual forms. */
const errorMessage = async (response: Response): Promise<string> => {
  let body = ""
  try {
    body = await response.text()
  } catch {
    // The body is not readable; the status line is all there is.
  }
  const type = response.headers.get("content-type") ?? ""
  let message = body
  if (type.includes("json")) {
    try {
      const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown }
      const m = typeof j.error === "object" ? j.error?.message : (j.error ?? j.message)
      if (typeof m === "string") message = m
    } catch {
      // Not JSON after all: keep the text.
    }
  } else if (type.includes("xml") || type.includes("html")) {
    message = body
      .replace(/<(script|style|head)\b[\s\S]*?<\/\1>/gi, " ")
      .replace(/<[^>]*>/g, " ")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&")
  }
  message = message.replace(/\s+/g, " ").trim()
  const status = `${response.status}${response.statusText === "" ? "" : ` ${response.statusText}`}`
  return message === "" ? status : `${status}: ${message.slice(0, 1000)}`
}

const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted === true) return resolve()
    const t = setTimeout(done, Math.max(0, ms))
    function done() {
      clearTimeout(t)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    signal?.addEventListener("abort", done, { once: true })
  })

/**
 * A client for one job list (`listUrl` is the `/{jobs}` URL, e.g.
 * `http://localhost:8080/uws/echo/jobs`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (listUrl: string, options: ClientOptions = {}): UwsClient => {
  const list = listUrl.replace(/\/+$/, "")
  const send = options.fetch ?? ((request: Request) => fetch(request))
  const mode = options.redirects ?? "manual"
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? delay
  const maxWait = Math.max(1, Math.floor(options.maxWait ?? 60))

  const jobUrl = (job: JobRef): string => {
    if (job instanceof URL) return job.href
    if (typeof job === "object") return job.url
    return /^[a-z][a-z0-9+.-]*:/i.test(job) ? job : `${list}/${encodeURIComponent(job)}`
  }

  const headersFor = async (accept: string): Promise<Headers> => {
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers
    const headers = new Headers(extra)
    if (!headers.has("accept")) headers.set("accept", accept)
    return headers
  }

  /** One request, following redirects: 307/308 repeat the method, the others turn into GET. */
  const exchange = async (
    method: string,
    url: string,
    body: Body,
    accept: string,
    signal?: AbortSignal,
    stopAtFirst = false
  ): Promise<Exchange> => {
    let current = { method, url, body }
    let first: Exchange["first"] | undefined
    for (let hop = 0; ; hop++) {
      const init: RequestInit = {
        method: current.method,
        headers: await headersFor(accept),
        redirect: mode,
        ...(current.body === undefined ? {} : { body: current.body }),
        ...(signal === undefined ? {} : { signal })
      }
      const response = await send(new Request(current.url, init))
      if (response.type === "opaqueredirect") {
        throw new UwsClientError({
          kind: "redirect",
          url: current.url,
          message: `${method} ${url}: this fetch hides redirects (a browser?); make the client with { redirects: "follow" }.`
        })
      }
      const location = response.headers.get("location")
      const isRedirect = response.status >= 300 && response.status < 400 && location !== null
      const finalUrl = mode === "follow" && response.url !== "" ? response.url : current.url
      const absolute = isRedirect ? new URL(location, current.url).href : undefined
      first ??= { status: response.status, location: absolute }
      if (!isRedirect || stopAtFirst) return { response, url: finalUrl, first }
      await response.body?.cancel().catch(() => undefined)
      if (hop >= MAX_REDIRECTS) {
        throw new UwsClientError({ kind: "redirect", url, message: `${method} ${url}: more than ${MAX_REDIRECTS} redirects.` })
      }
      current =
        response.status === 307 || response.status === 308
          ? { method: current.method, url: absolute!, body: current.body }
          : { method: current.method === "HEAD" ? "HEAD" : "GET", url: absolute!, body: undefined }
    }
  }

  const ok = async (ex: Exchange, method: string, what: string): Promise<Exchange> => {
    if (ex.response.ok) return ex
    throw new UwsClientError({
      kind: "http",
      status: ex.response.status,
      url: ex.url,
      message: `${method} ${what}: ${await errorMessage(ex.response)}`
    })
  }

  const readJob = async (ex: Exchange): Promise<RemoteJob> => {
    const xml = await ex.response.text()
    return { ...parseJob(xml, ex.url), url: ex.url }
  }

  const get = async (job: JobRef): Promise<RemoteJob> => {
    const url = jobUrl(job)
    return readJob(await ok(await exchange("GET", url, undefined, XML_ACCEPT), "GET", url))
  }

  /** A state-changing POST; the server normally answers 303 to the job, which is read. */
  const post = async (url: string, body: URLSearchParams | FormData, job: string): Promise<RemoteJob> => {
    const ex = await ok(await exchange("POST", url, body, XML_ACCEPT), "POST", url)
    const type = ex.response.headers.get("content-type") ?? ""
    // A server that answers the POST with the job document itself saves a round trip.
    if (ex.first.location === undefined && type.includes("xml")) {
      const text = await ex.response.text()
      try {
        return { ...parseJob(text, job), url: job }
      } catch {
        return get(job)
      }
    }
    if (ex.first.location !== undefined && ex.url !== job) {
      await ex.response.body?.cancel().catch(() => undefined)
      return get(job)
    }
    return readJob(ex)
  }

  const form = (entries: ReadonlyArray<readonly [string, string]>) => {
    const body = new URLSearchParams()
    for (const [k, v] of entries) body.append(k, v)
    return body
  }

  const create = async (request: CreateOptions = {}): Promise<RemoteJob> => {
    const entries: Array<readonly [string, string]> = pairs(request.parameters)
    if (request.runId !== undefined) entries.push(["RUNID", request.runId])
    if (request.executionDuration !== undefined) entries.push(["EXECUTIONDURATION", String(request.executionDuration)])
    if (request.destruction !== undefined) entries.push(["DESTRUCTION", instant(request.destruction)])
    if (request.run === true) entries.push(["PHASE", "RUN"])
    let body: URLSearchParams | FormData
    if (request.uploads !== undefined && request.uploads.length > 0) {
      const fd = new FormData()
      for (const [k, v] of entries) fd.append(k, v)
      for (const u of request.uploads) {
        const type = u.mimeType ?? "application/octet-stream"
        const blob = u.content instanceof Blob ? u.content : new Blob([u.content as BlobPart], { type })
        fd.append(u.name, blob, u.fileName ?? u.name)
      }
      body = fd
    } else {
      body = form(entries)
    }
    const ex = await ok(await exchange("POST", list, body, XML_ACCEPT), "POST", list)
    if (ex.first.location !== undefined) return readJob(ex)
    // No redirect: a server that answers with the new job's document; its id names its URL.
    const xml = await ex.response.text()
    const summary = parseJob(xml, undefined)
    const url = mode === "follow" && ex.url !== list ? ex.url : `${list}/${encodeURIComponent(summary.jobId)}`
    return { ...parseJob(xml, url), url }
  }

  const readList = async (url: string): Promise<JobList> => {
    const ex = await ok(await exchange("GET", url, undefined, XML_ACCEPT), "GET", url)
    const parsed = parseJobList(await ex.response.text(), ex.url)
    const link = ex.response.headers.get("link")
    const next = link === null ? null : /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link)?.[1]
    return { ...parsed, next: next === null || next === undefined ? null : new URL(next, ex.url).href }
  }

  const listJobs = (filters: ListOptions = {}): Promise<JobList> => {
    const query = new URLSearchParams()
    for (const p of filters.phases ?? []) query.append("PHASE", p)
    if (filters.after !== undefined) query.set("AFTER", instant(filters.after))
    if (filters.last !== undefined) query.set("LAST", String(filters.last))
    if (filters.limit !== undefined) query.set("limit", String(filters.limit))
    const q = query.toString()
    return readList(q === "" ? list : `${list}?${q}`)
  }

  const text = async (url: string): Promise<string> => {
    const ex = await ok(await exchange("GET", url, undefined, TEXT_ACCEPT), "GET", url)
    return ex.response.text()
  }

  const results = async (job: JobRef): Promise<ReadonlyArray<ResultLink>> => {
    const url = `${jobUrl(job)}/results`
    const ex = await ok(await exchange("GET", url, undefined, XML_ACCEPT), "GET", url)
    return parseResults(await ex.response.text(), ex.url)
  }

  const fetchResult = async (job: JobRef, result: string | ResultLink): Promise<Response> => {
    const link = typeof result === "string" ? (await results(job)).find((r) => r.id === result) : result
    if (link === undefined) {
      throw new UwsClientError({ kind: "http", status: 404, url: jobUrl(job), message: `Job ${jobUrl(job)} lists no result "${String(result)}".` })
    }
    const href = link.href === null ? `${jobUrl(job)}/results/${encodeURIComponent(link.id)}` : resolve(link.href, `${jobUrl(job)}/results`)
    return (await ok(await exchange("GET", href, undefined, "*/*"), "GET", href)).response
  }

  const remove = async (job: JobRef): Promise<void> => {
    const url = jobUrl(job)
    // The answer is a redirect to the job list, which there is no need to read.
    let ex = await exchange("DELETE", url, undefined, XML_ACCEPT, undefined, true)
    if (ex.response.status === 405 || ex.response.status === 501) {
      // A server without HTTP DELETE: the form that browsers (and pyvo) use.
      await ex.response.body?.cancel().catch(() => undefined)
      ex = await exchange("POST", url, form([["ACTION", "DELETE"]]), XML_ACCEPT, undefined, true)
    }
    if (ex.response.status >= 300 && ex.response.status < 400) {
      await ex.response.body?.cancel().catch(() => undefined)
      return
    }
    await ok(ex, "DELETE", url)
    await ex.response.body?.cancel().catch(() => undefined)
  }

  const wait = async (job: JobRef, waitOptions: WaitOptions = {}): Promise<RemoteJob> => {
    const url = jobUrl(job)
    const phases = waitOptions.phases ?? defaultFinal
    const deadline =
      waitOptions.deadline !== undefined
        ? typeof waitOptions.deadline === "number"
          ? waitOptions.deadline
          : waitOptions.deadline.getTime()
        : now() + (waitOptions.timeout ?? 600_000)
    const signal = waitOptions.signal
    let backoff = 200
    let current = await get(url)
    let lastXml = ""
    for (;;) {
      if (phases.includes(current.phase)) return current
      if (Phases.isFinal(current.phase)) {
        throw new UwsClientError({
          kind: "ended",
          url,
          job: current,
          message: `Job ${current.jobId} is ${current.phase}, which cannot become ${phases.join(" or ")}.`
        })
      }
      const remaining = deadline - now()
      if (signal?.aborted === true) throw signal.reason ?? new Error("The wait was aborted.")
      if (remaining <= 0) {
        throw new UwsClientError({
          kind: "timeout",
          url,
          job: current,
          message: `Job ${current.jobId} was still ${current.phase} at the deadline (waiting for ${phases.join(" or ")}).`
        })
      }
      const seconds = Math.min(maxWait, Math.floor(remaining / 1000))
      const blocking = seconds > 0 && Number(current.version) >= 1.1
      const query = new URLSearchParams()
      if (blocking) {
        query.set("WAIT", String(seconds))
        // The race guard: block only while the job is still in the phase we last saw.
        if (Phases.isActive(current.phase)) query.set("PHASE", current.phase)
      }
      const started = now()
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), remaining + 1000)
      const onAbort = () => controller.abort()
      signal?.addEventListener("abort", onAbort, { once: true })
      let ex: Exchange
      try {
        const target = blocking ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url
        ex = await ok(await exchange("GET", target, undefined, XML_ACCEPT, controller.signal), "GET", url)
        const xml = await ex.response.text()
        const changed = xml !== lastXml
        lastXml = xml
        current = { ...parseJob(xml, url), url }
        const blockedLongEnough = blocking && now() - started >= seconds * 900
        if (changed) backoff = 200
        else if (!blockedLongEnough) {
          // The server answered at once with nothing new: it does not block (UWS 1.0, a HELD
          // job, or a server that ignores WAIT), so poll, more slowly each time.
          await sleep(Math.min(backoff, Math.max(0, deadline - now())), signal)
          backoff = Math.min(backoff * 1.5, 10_000)
        }
      } catch (e) {
        if (controller.signal.aborted && !(e instanceof UwsClientError)) continue
        throw e
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener("abort", onAbort)
      }
    }
  }

  return {
    listUrl: list,
    jobUrl,
    create,
    get,
    list: listJobs,
    listPage: readList,
    run: (job) => post(`${jobUrl(job)}/phase`, form([["PHASE", "RUN"]]), jobUrl(job)),
    abort: (job) => post(`${jobUrl(job)}/phase`, form([["PHASE", "ABORT"]]), jobUrl(job)),
    setDestruction: (job, destruction) =>
      post(`${jobUrl(job)}/destruction`, form([["DESTRUCTION", instant(destruction)]]), jobUrl(job)),
    setExecutionDuration: (job, seconds) =>
      post(`${jobUrl(job)}/executionduration`, form([["EXECUTIONDURATION", String(seconds)]]), jobUrl(job)),
    updateParameters: (job, parameters) => post(`${jobUrl(job)}/parameters`, form(pairs(parameters)), jobUrl(job)),
    phase: async (job) => {
      const t = (await text(`${jobUrl(job)}/phase`)).trim()
      return Phases.parse(t) ?? "UNKNOWN"
    },
    parameters: async (job) => {
      const url = `${jobUrl(job)}/parameters`
      const ex = await ok(await exchange("GET", url, undefined, XML_ACCEPT), "GET", url)
      return parseParameters(await ex.response.text(), ex.url)
    },
    results,
    fetchResult,
    error: (job) => text(`${jobUrl(job)}/error`),
    wait,
    delete: remove
  }
}
