/**
 * The response headers every HTML page of a binding carries, so that a page cannot be framed
 * (clickjacking), run a script it did not ship (a strict Content-Security-Policy with no inline
 * script), leak its URL (job ids) to other sites, or be sniffed into another type.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * Where a page may load its scripts and styles from; the rest of the policy is fixed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sources {
  /** `script-src` (default `'none'`): `'self'` for a page whose script the binding serves. */
  readonly script?: string
  /** `style-src` (default `'none'`): `'self'`, or `'sha256-…'` hashes of inline styles. */
  readonly style?: string
  /** `connect-src` (default `'none'`): `'self'` for a page whose script reads server-sent events or fetches. */
  readonly connect?: string
  /** `form-action` (default `'self'`). */
  readonly formAction?: string
}

/**
 * The Content-Security-Policy of a page.
 *
 * @since 0.1.0
 * @category headers
 */
export const contentSecurityPolicy = (sources: Sources = {}): string =>
  [
    "default-src 'none'",
    `script-src ${sources.script ?? "'none'"}`,
    `style-src ${sources.style ?? "'none'"}`,
    "img-src 'self' data:",
    ...(sources.connect === undefined ? [] : [`connect-src ${sources.connect}`]),
    `form-action ${sources.formAction ?? "'self'"}`,
    "frame-ancestors 'none'",
    "base-uri 'none'"
  ].join("; ")

/**
 * Every header an HTML page gets (CSP, `X-Frame-Options: DENY` for browsers without
 * `frame-ancestors`, `Referrer-Policy: same-origin`, `X-Content-Type-Options: nosniff`).
 *
 * @since 0.1.0
 * @category headers
 */
export const headers = (sources: Sources = {}): Readonly<Record<string, string>> => ({
  "content-security-policy": contentSecurityPolicy(sources),
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff"
})

/**
 * The CSP source of an inline text (a `<style>` element's content): `'sha256-…'`.
 *
 * @since 0.1.0
 * @category headers
 */
export const hashSource = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

/**
 * The headers of content a user or an application supplied (job results, uploaded parameters):
 * served from the service's own origin, an HTML or SVG result must not run script there (it
 * could then act as the user's own pages), so it is sandboxed and never sniffed.
 *
 * @since 0.1.0
 * @category headers
 */
export const contentHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
  "x-content-type-options": "nosniff"
}
