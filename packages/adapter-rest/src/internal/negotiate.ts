/**
 * Content negotiation over the `Accept` header with `negotiator`, cached per (Accept, offers):
 * clients send the same few Accept strings over and over.
 *
 * HTML goes to browsers only. Java's `HttpURLConnection` (TOPCAT, STILTS, every Java UWS client)
 * sends `text/html, image/gif, image/jpeg, *; q=.2, *\/*; q=.2` by default, which ranks HTML
 * first; UWS 1.1 §2.2.2 wants XML "in preference to the HTML representation". A browser is a
 * request whose Accept lists `application/xhtml+xml` (Chromium, Firefox, Safari) or that says
 * `Sec-Fetch-Dest: document` (a navigation).
 */
import Negotiator from "negotiator"

/** Containers (job, job list): XML first, so no Accept or `*\/*` gets XML (UWS 1.1 §2.2.2). */
export const PAGES = ["application/xml", "text/xml", "application/json", "text/html"] as const
/** Documents without an HTML page (results, parameters). */
export const DOCUMENTS = ["application/xml", "text/xml", "application/json"] as const
/** Atomic values (phase, quote, …): text/plain first (UWS 1.1 §2.2.2); XML only for XML-only clients. */
export const ATOMS = ["text/plain", "application/json"] as const
/** Error bodies: text/plain unless the client prefers another of our formats. */
export const ERRORS = ["text/plain", "application/json", "text/html", "application/xml", "text/xml"] as const

export type MediaType = (typeof PAGES)[number] | (typeof ATOMS)[number]

/** Whether a request comes from a browser (the only client that gets HTML). */
export const isBrowser = (accept: string | undefined, secFetchDest: string | undefined): boolean =>
  secFetchDest?.trim().toLowerCase() === "document" || (accept !== undefined && /application\/xhtml\+xml/i.test(accept))

const cache = new Map<string, MediaType>()
const MAX_CACHE = 256

/**
 * The best of `offers` for `accept`; `text/html` only for a browser. A client that accepts none
 * of them still gets the first (rather than a 406).
 */
export const negotiate = <const O extends ReadonlyArray<MediaType>>(
  accept: string | undefined,
  offers: O,
  browser = false
): O[number] => {
  if (accept === undefined || accept === "" || accept === "*/*") return offers[0]!
  const key = `${browser ? "b" : ""}${offers.join(",")}|${accept}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const usable = browser ? offers : offers.filter((o) => o !== "text/html")
  let chosen: MediaType
  try {
    chosen = (new Negotiator({ headers: { accept } }).mediaType(usable as unknown as Array<string>) as MediaType | undefined) ?? offers[0]!
  } catch {
    chosen = offers[0]!
  }
  if (cache.size >= MAX_CACHE) cache.clear()
  cache.set(key, chosen)
  return chosen
}

/**
 * The XML type a client asks for when XML is all it accepts (`Accept: application/xml`, or
 * `text/xml`), else `undefined`. The v0.3 draft: "for a client that accepts only
 * application/xml, a UWS must return XML representations" — of the atoms too.
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
