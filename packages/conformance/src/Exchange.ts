/**
 * One recorded HTTP exchange with the server under test: what was asked, what came back, how
 * long it took, and the request as a curl line that replays it. The checks talk HTTP directly
 * (redirects not followed) because the status codes and headers are what they judge.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  readonly method: string
  readonly url: string
  /** The form body sent, `application/x-www-form-urlencoded`. */
  readonly form: ReadonlyArray<readonly [string, string]> | undefined
  readonly status: number
  readonly contentType: string
  readonly location: string | undefined
  readonly body: string
  /** Milliseconds from sending the request to reading the whole body. */
  readonly millis: number
  /** Epoch milliseconds when the response was complete. */
  readonly at: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly method: "GET" | "POST" | "DELETE"
  readonly url: string
  readonly form?: ReadonlyArray<readonly [string, string]>
}

/**
 * Sends requests and keeps every exchange, so that a failure can show the requests that led to
 * it and the XML documents can be schema-checked at the end.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorder {
  readonly send: (request: Request) => Promise<Exchange>
  readonly exchanges: () => ReadonlyArray<Exchange>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RecorderOptions {
  readonly fetch?: (request: globalThis.Request) => Promise<Response>
  readonly headers?: Readonly<Record<string, string>>
  /** Longest a single request may take (ms); blocking WAITs are asked for less than this. */
  readonly requestTimeout?: number
}

const accept = "application/xml, text/xml;q=0.9, text/plain;q=0.8, */*;q=0.1"

/**
 * @since 0.1.0
 * @category constructors
 */
export const recorder = (options: RecorderOptions = {}): Recorder => {
  const doFetch = options.fetch ?? ((r: globalThis.Request) => fetch(r))
  const log: Array<Exchange> = []
  const send = async (request: Request): Promise<Exchange> => {
    const headers = new Headers({ accept, ...options.headers })
    let body: URLSearchParams | undefined
    if (request.form !== undefined) {
      body = new URLSearchParams()
      for (const [k, v] of request.form) body.append(k, v)
    }
    const started = Date.now()
    let response: Response
    let text: string
    try {
      response = await doFetch(
        new globalThis.Request(request.url, {
          method: request.method,
          headers,
          redirect: "manual",
          signal: AbortSignal.timeout(options.requestTimeout ?? 30_000),
          ...(body === undefined ? {} : { body })
        })
      )
      text = await response.text()
    } catch (e) {
      // fetch says only "fetch failed"; the reason (refused, unknown host, time-out) is its cause.
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e)
      throw new Error(`${request.method} ${request.url}: ${cause}`)
    }
    const at = Date.now()
    const location = response.headers.get("location")
    const exchange: Exchange = {
      method: request.method,
      url: request.url,
      form: request.form,
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      location: location === null ? undefined : new URL(location, request.url).href,
      body: text,
      millis: at - started,
      at
    }
    log.push(exchange)
    return exchange
  }
  return { send, exchanges: () => log }
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/**
 * The request as a curl command line.
 *
 * @since 0.1.0
 * @category utils
 */
export const curl = (e: Pick<Exchange, "method" | "url" | "form">): string => {
  const parts = ["curl", "-sS", "-i"]
  // curl POSTs when given fields; otherwise the method is named.
  if (e.method !== "GET" && !(e.method === "POST" && (e.form?.length ?? 0) > 0)) parts.push("-X", e.method)
  for (const [k, v] of e.form ?? []) parts.push("--data-urlencode", shellQuote(`${k}=${v}`))
  parts.push(shellQuote(e.url))
  return parts.join(" ")
}

/**
 * The exchange, as a report shows it: the curl line, the status and the start of the body.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (e: Exchange, bodyChars = 600): string => {
  const head = `${e.status}${e.location === undefined ? "" : ` Location: ${e.location}`}${e.contentType === "" ? "" : ` (${e.contentType})`} in ${e.millis} ms`
  const body = e.body.length > bodyChars ? `${e.body.slice(0, bodyChars)}…` : e.body
  return `${curl(e)}\n→ ${head}${body.trim() === "" ? "" : `\n${body.trim()}`}`
}

/**
 * Whether the response is an XML document (by media type, or by its first characters when the
 * server labels it otherwise).
 *
 * @since 0.1.0
 * @category utils
 */
export const isXml = (e: Exchange): boolean => /[/+]xml\b/.test(e.contentType) || /^\s*<\?xml/.test(e.body)
