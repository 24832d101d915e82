/**
 * Content negotiation over the `Accept` header with `negotiator`, cached per (Accept, offers):
 * clients send the same few Accept strings over and over.
 */
import Negotiator from "negotiator"

/** Containers (job, job list): XML first, so no Accept or `*\/*` gets XML (UWS 1.1 §2.2.2). */
export const PAGES = ["application/xml", "text/xml", "application/json", "text/html"] as const
/** Documents without an HTML page (results, parameters). */
export const DOCUMENTS = ["application/xml", "text/xml", "application/json"] as const
/** Atomic values (phase, quote, …): text/plain first (UWS 1.1 §2.2.2). */
export const ATOMS = ["text/plain", "application/json"] as const
/** Error bodies: text/plain unless the client prefers another of our formats. */
export const ERRORS = ["text/plain", "application/json", "text/html", "application/xml", "text/xml"] as const

export type MediaType = (typeof PAGES)[number] | (typeof ATOMS)[number]

const cache = new Map<string, MediaType>()
const MAX_CACHE = 256

/**
 * The best of `offers` for `accept`. A client that accepts none of them still gets the first
 * (rather than a 406): UWS clients that ask for `application/xml` only want an atom as text.
 */
export const negotiate = <const O extends ReadonlyArray<MediaType>>(accept: string | undefined, offers: O): O[number] => {
  if (accept === undefined || accept === "" || accept === "*/*") return offers[0]!
  const key = `${offers.join(",")}|${accept}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  let chosen: MediaType
  try {
    chosen = (new Negotiator({ headers: { accept } }).mediaType(offers as unknown as Array<string>) as MediaType | undefined) ?? offers[0]!
  } catch {
    chosen = offers[0]!
  }
  if (cache.size >= MAX_CACHE) cache.clear()
  cache.set(key, chosen)
  return chosen
}
