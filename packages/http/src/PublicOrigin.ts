/**
 * Where a request came from, as the client sees it: the public origin and the mount prefix a
 * proxy announces. Computed per request, never captured from a first request (the bug vollt #95
 * had). Forwarding headers (`X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-Prefix`, RFC 7239
 * `Forwarded`) are believed only when the host says its proxy sets them, and only when they are
 * well-formed. Every binding that writes absolute URLs (REST, SOAP) uses this one reading.
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/
const PREFIX = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/

const first = (value: string | ReadonlyArray<string> | undefined): string | undefined => {
  const s = Array.isArray(value) ? value[0] : (value as string | undefined)
  if (s === undefined) return undefined
  const comma = s.indexOf(",")
  const v = (comma === -1 ? s : s.slice(0, comma)).trim()
  return v === "" ? undefined : v
}

/** `proto` and `host` of the first element of an RFC 7239 `Forwarded` header. */
const forwarded = (header: string | undefined): { proto?: string; host?: string } => {
  const element = first(header)
  if (element === undefined) return {}
  const out: { proto?: string; host?: string } = {}
  for (const pair of element.split(";")) {
    const eq = pair.indexOf("=")
    if (eq === -1) continue
    const key = pair.slice(0, eq).trim().toLowerCase()
    const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1")
    if (key === "proto") out.proto = value.toLowerCase()
    else if (key === "host") out.host = value
  }
  return out
}

const normalizePrefix = (prefix: string | undefined): string => {
  if (prefix === undefined || !PREFIX.test(prefix)) return ""
  const segs = prefix.split("/").filter((s) => s !== "")
  return segs.length === 0 ? "" : `/${segs.join("/")}`
}

const isNode = (u: unknown): u is IncomingMessage =>
  typeof u === "object" && u !== null && "socket" in u && typeof (u as IncomingMessage).url === "string"

/**
 * @since 0.1.0
 * @category models
 */
export interface PublicOrigin {
  /** `https://host[:port]`, no trailing slash. */
  readonly origin: string
  /** The prefix a proxy announced (`X-Forwarded-Prefix`): `""` or `/a/b`, no trailing slash. */
  readonly prefix: string
}

/**
 * The public origin of a request: its headers, and its source (a Node `IncomingMessage`, whose
 * socket says whether it came over TLS, or a web `Request`, which carries its absolute URL).
 *
 * @since 0.1.0
 * @category reading
 */
export const of = (
  request: { readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>; readonly source: unknown },
  trustForwarded: boolean
): PublicOrigin => {
  const headers = request.headers
  const node = isNode(request.source) ? request.source : undefined
  let proto: string | undefined
  let host: string | undefined
  let prefix = ""
  if (trustForwarded) {
    const fwd = forwarded(first(headers["forwarded"]))
    proto = first(headers["x-forwarded-proto"])?.toLowerCase() ?? fwd.proto
    host = first(headers["x-forwarded-host"]) ?? fwd.host
    prefix = normalizePrefix(first(headers["x-forwarded-prefix"]))
  }
  if (proto !== "http" && proto !== "https") proto = undefined
  if (host !== undefined && !HOST.test(host)) host = undefined
  if (proto === undefined || host === undefined) {
    const url = (request.source as { readonly url?: unknown } | undefined)?.url
    if (node === undefined && typeof url === "string" && /^https?:\/\//i.test(url)) {
      // A web Request carries its absolute URL (and no Host header of its own).
      try {
        const u = new URL(url)
        proto ??= u.protocol.slice(0, -1)
        host ??= u.host
      } catch {
        // keep the fallbacks below
      }
    }
    proto ??= (node?.socket as { readonly encrypted?: boolean } | undefined)?.encrypted === true ? "https" : "http"
    const h = first(headers["host"])
    host ??= h !== undefined && HOST.test(h) ? h : "localhost"
  }
  return { origin: `${proto}://${host}`, prefix }
}
