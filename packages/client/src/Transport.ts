/**
 * The transport: one HTTP exchange with a UWS server over `fetch`, redirects followed by the
 * client itself (a relative `Location` resolved against the request; 307/308 repeat the method,
 * the others turn into GET), the caller's headers on every request, and error statuses turned
 * into a {@link UwsClientError} carrying the status and the server's own message, whatever form
 * it came in (text, JSON, XML, HTML). It knows nothing of UWS documents.
 *
 * @since 0.1.0
 */
import { UwsClientError } from "./UwsClientError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
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
}

/**
 * What a call sends.
 *
 * @since 0.1.0
 * @category models
 */
export type Body = URLSearchParams | FormData | undefined

/**
 * @since 0.1.0
 * @category models
 */
export interface Call {
  readonly method: string
  readonly url: string
  readonly body?: Body
  /** The `Accept` header, unless the caller's headers set one. */
  readonly accept: string
  readonly signal?: AbortSignal
  /** Answer the first response even when it redirects (its Location is in `first`). */
  readonly stopAtFirst?: boolean
}

/**
 * A response, where it came from after redirects, and what the first response said.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  readonly response: Response
  /** The URL the response came from, after redirects. */
  readonly url: string
  /** The first response's status and absolute Location (for POSTs answered with 303). */
  readonly first: { readonly status: number; readonly location: string | undefined }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  readonly redirects: "manual" | "follow"
  /** One request, following redirects unless `stopAtFirst`; any status is answered. */
  readonly exchange: (call: Call) => Promise<Exchange>
  /** {@link exchange}, then an `http` error unless the final status is 2xx. */
  readonly send: (call: Call) => Promise<Exchange>
}

/**
 * `Accept` for UWS documents, with text/plain for servers that answer atoms as text.
 *
 * @since 0.1.0
 * @category constants
 */
export const xmlAccept = "application/xml, text/xml;q=0.9, text/plain;q=0.8"

/**
 * `Accept` for the text/plain atoms (phase, error).
 *
 * @since 0.1.0
 * @category constants
 */
export const textAccept = "text/plain, application/xml;q=0.5"

/**
 * More redirects than this in one exchange fail with `redirect`.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRedirects = 10

/**
 * Drops a response's body unread, so the connection can be reused.
 *
 * @since 0.1.0
 * @category utils
 */
export const discard = async (response: Response): Promise<void> => {
  await response.body?.cancel().catch(() => undefined)
}

/**
 * A readable message from an error response in any of the usual forms: the status line, then
 * the JSON `error.message` (or `message`), or the text of an XML/HTML body without its markup,
 * or the plain text, cut at 1,000 characters.
 *
 * @since 0.1.0
 * @category utils
 */
export const errorMessage = async (response: Response): Promise<string> => {
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
    // Only the words are wanted, for a message: markup is dropped, not parsed.
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

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Transport => {
  const fetchOne = options.fetch ?? ((request: Request) => fetch(request))
  const mode = options.redirects ?? "manual"

  const headersFor = async (accept: string): Promise<Headers> => {
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers
    const headers = new Headers(extra)
    if (!headers.has("accept")) headers.set("accept", accept)
    return headers
  }

  const exchange = async (call: Call): Promise<Exchange> => {
    const { method, url, accept, signal } = call
    let current = { method, url, body: call.body }
    let first: Exchange["first"] | undefined
    for (let hop = 0; ; hop++) {
      const init: RequestInit = {
        method: current.method,
        headers: await headersFor(accept),
        redirect: mode,
        ...(current.body === undefined ? {} : { body: current.body }),
        ...(signal === undefined ? {} : { signal })
      }
      const response = await fetchOne(new Request(current.url, init))
      if (response.type === "opaqueredirect") {
        throw new UwsClientError({
          kind: "redirect",
          url: current.url,
          message: `${method} ${url}: this fetch hides redirects (a browser?); make the client with { redirects: "follow" }.`
        })
      }
      const location = response.headers.get("location")
      const finalUrl = mode === "follow" && response.url !== "" ? response.url : current.url
      const target = response.status >= 300 && response.status < 400 && location !== null ? new URL(location, current.url).href : undefined
      first ??= { status: response.status, location: target }
      if (target === undefined || call.stopAtFirst === true) return { response, url: finalUrl, first }
      await discard(response)
      if (hop >= maxRedirects) {
        throw new UwsClientError({ kind: "redirect", url, message: `${method} ${url}: more than ${maxRedirects} redirects.` })
      }
      current =
        response.status === 307 || response.status === 308
          ? { method: current.method, url: target, body: current.body }
          : { method: current.method === "HEAD" ? "HEAD" : "GET", url: target, body: undefined }
    }
  }

  const send = async (call: Call): Promise<Exchange> => {
    const ex = await exchange(call)
    if (ex.response.ok) return ex
    throw new UwsClientError({
      kind: "http",
      status: ex.response.status,
      url: ex.url,
      message: `${call.method} ${call.url}: ${await errorMessage(ex.response)}`
    })
  }

  return { redirects: mode, exchange, send }
}
