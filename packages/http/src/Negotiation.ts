/**
 * Content negotiation over the `Accept` header with `negotiator`, cached per (Accept, offers):
 * clients send the same few Accept strings over and over.
 *
 * HTML goes to browsers only. Java's `HttpURLConnection` (TOPCAT, STILTS, every Java UWS client)
 * sends `text/html, image/gif, image/jpeg, *; q=.2, *\/*; q=.2` by default, which ranks HTML
 * first; UWS 1.1 §2.2.2 wants XML "in preference to the HTML representation". A browser is a
 * request whose Accept lists `application/xhtml+xml` (Chromium, Firefox, Safari) or that says
 * `Sec-Fetch-Dest: document` (a navigation).
 *
 * @since 0.1.0
 */
import Negotiator from "negotiator"

/**
 * Whether a request comes from a browser (the only client that gets HTML).
 *
 * @since 0.1.0
 * @category negotiation
 */
export const isBrowser = (accept: string | undefined, secFetchDest: string | undefined): boolean =>
  secFetchDest?.trim().toLowerCase() === "document" || (accept !== undefined && /application\/xhtml\+xml/i.test(accept))

const cache = new Map<string, string>()
const MAX_CACHE = 256

/**
 * The best of `offers` for `accept`; `text/html` only for a browser. A client that accepts none
 * of them still gets the first (rather than a 406).
 *
 * @since 0.1.0
 * @category negotiation
 * @example
 * import { Negotiation } from "@uws-kit/http"
 * Negotiation.negotiate("application/json", ["application/xml", "application/json"]) // "application/json"
 */
export const negotiate = <const O extends ReadonlyArray<string>>(accept: string | undefined, offers: O, browser = false): O[number] => {
  if (accept === undefined || accept === "" || accept === "*/*") return offers[0]!
  const key = `${browser ? "b" : ""}${offers.join(",")}|${accept}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const usable = browser ? offers : offers.filter((o) => o !== "text/html")
  let chosen: O[number]
  try {
    chosen = (new Negotiator({ headers: { accept } }).mediaType([...usable]) as O[number] | undefined) ?? offers[0]!
  } catch {
    chosen = offers[0]!
  }
  if (cache.size >= MAX_CACHE) cache.clear()
  cache.set(key, chosen)
  return chosen
}

/**
 * The XML type a client asks for when XML is all it accepts (`Accept: application/xml`, or
 * `text/xml`), else `undefined`. The UWS v0.3 draft: "for a client that accepts only
 * application/xml, a UWS must return XML representations" — of the atoms too.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const onlyXml = (accept: string | undefined): "application/xml" | "text/xml" | undefined => {
  if (accept === undefined) return undefined
  let first: "application/xml" | "text/xml" | undefined
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((s) => s.trim().toLowerCase())
    if (type === undefined || type === "") continue
    const q = params.find((p) => p.startsWith("q="))
    if (q !== undefined && Number(q.slice(2)) === 0) continue
    if (type !== "application/xml" && type !== "text/xml") return undefined
    first ??= type
  }
  return first
}
