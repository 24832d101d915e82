/**
 * What REST offers in each kind of answer; the negotiation itself (browsers alone get HTML, the
 * XML-only clients of v0.3) is `Negotiation` in `@uws-kit/http`.
 */
import { Negotiation } from "@uws-kit/http"

export const { isBrowser, negotiate, onlyXml } = Negotiation

/** Containers (job, job list): XML first, so no Accept or `*\/*` gets XML (UWS 1.1 §2.2.2). */
export const PAGES = ["application/xml", "text/xml", "application/json", "text/html"] as const
/** Documents without an HTML page (results, parameters). */
export const DOCUMENTS = ["application/xml", "text/xml", "application/json"] as const
/** Atomic values (phase, quote, …): text/plain first (UWS 1.1 §2.2.2); XML only for XML-only clients. */
export const ATOMS = ["text/plain", "application/json"] as const
/** Error bodies: text/plain unless the client prefers another of our formats. */
export const ERRORS = ["text/plain", "application/json", "text/html", "application/xml", "text/xml"] as const

export type MediaType = (typeof PAGES)[number] | (typeof ATOMS)[number]
