/**
 * Cross-site request forgery defence for every binding: whether a state-changing request (any
 * method but GET, HEAD and OPTIONS) was sent by a browser on behalf of another site — a form on
 * `http://evil.example` posting `PHASE=RUN` to a job, say.
 *
 * The browser says so itself: Fetch Metadata's `Sec-Fetch-Site` (Chromium 76+, Firefox 90+,
 * Safari 16.4+), which page scripts cannot set. Where it is absent (older browsers) the `Origin`
 * header is compared with the request's public origin (see `PublicOrigin`, so a proxy's
 * `X-Forwarded-Host` counts). A request with neither header does not come from a browser page
 * (curl, pyvo, zeep, Java clients) and is never refused here. This is the algorithm of Go's
 * `http.CrossOriginProtection` (Filippo Valsorda, 2025).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Other origins whose pages may change things here, e.g. a portal at `https://portal.example`
   * that posts to this service's job list. Exact origins (scheme, host, port), no paths.
   */
  readonly allowedOrigins?: ReadonlyArray<string>
}

/**
 * What a request must show: its method and headers (lower-case names, as Node and
 * @effect/platform give them).
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestLike {
  readonly method: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
}

/**
 * `undefined` when the request may go on; otherwise why it is refused, in words for the caller.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = string | undefined

/**
 * Methods that change nothing and are never refused.
 *
 * @since 0.1.0
 * @category checking
 */
export const isSafeMethod = (method: string): boolean => {
  const m = method.toUpperCase()
  return m === "GET" || m === "HEAD" || m === "OPTIONS"
}

const one = (v: string | ReadonlyArray<string> | undefined): string | undefined => {
  const s = Array.isArray(v) ? v[0] : (v as string | undefined)
  return s === undefined ? undefined : s.trim()
}

/**
 * An origin in its one spelling (`https://host[:port]`, lower case, no default port, no slash),
 * or `undefined` when the text is not an origin.
 *
 * @since 0.1.0
 * @category checking
 */
export const normalizeOrigin = (text: string): string | undefined => {
  if (!/^https?:\/\/[^/?#]+\/?$/i.test(text.trim())) return undefined
  try {
    return new URL(text.trim()).origin
  } catch {
    return undefined
  }
}

/**
 * Builds the check once from the host's options (throws on an allowed origin that is not one,
 * so a typo is seen at start-up): `(request, publicOrigin) => Verdict`.
 *
 * @since 0.1.0
 * @category checking
 * @example
 * import { CrossSite } from "@uws-kit/http"
 * const check = CrossSite.make({ allowedOrigins: ["https://portal.example"] })
 * check({ method: "POST", headers: { "sec-fetch-site": "cross-site", origin: "http://evil.example" } }, "https://uws.example")
 * // → "This request comes from the page of another site (http://evil.example); …"
 */
export const make = (options: Options = {}): ((request: RequestLike, publicOrigin: string) => Verdict) => {
  const allowed = new Set<string>()
  for (const o of options.allowedOrigins ?? []) {
    const n = normalizeOrigin(o)
    if (n === undefined) throw new Error(`allowedOrigins: "${o}" is not an origin (scheme://host[:port]).`)
    allowed.add(n)
  }
  return (request, publicOrigin) => {
    if (isSafeMethod(request.method)) return undefined
    const site = one(request.headers["sec-fetch-site"])?.toLowerCase()
    const originText = one(request.headers["origin"])
    const origin = originText === undefined ? undefined : (normalizeOrigin(originText) ?? originText)
    const refused = () =>
      `This request comes from the page of another site (${origin ?? site ?? "unknown"}); ` +
      `a ${request.method.toUpperCase()} is accepted only from this service's own pages` +
      (allowed.size === 0 ? "." : ` or from ${[...allowed].join(", ")}.`)
    if (site !== undefined && site !== "") {
      // "none": the user's own action (address bar, bookmark); "same-origin": this service's pages.
      if (site === "same-origin" || site === "none") return undefined
      return origin !== undefined && allowed.has(origin) ? undefined : refused()
    }
    if (origin === undefined) return undefined
    const own = normalizeOrigin(publicOrigin) ?? publicOrigin
    return origin === own || allowed.has(origin) ? undefined : refused()
  }
}
