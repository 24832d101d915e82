/**
 * Where a request is, seen from the client: the origin and mount prefix for absolute URLs, and
 * the path below the mount for routing. Computed per request (never captured from a first
 * request, the bug vollt #95 had), honouring `X-Forwarded-Proto/Host/Prefix` and `Forwarded`.
 *
 * The mount prefix comes from, in order: the configured `basePath` when the path starts with it
 * (hosts that do not strip, like the demo's node:http router); Express's `req.originalUrl` (Express
 * strips the `app.use` path from `req.url`); else `basePath` again, for hosts that strip the mount
 * path and leave no trace of it (Hono `mount`, a Fastify plugin that rewrites `req.url`).
 */
import type { IncomingMessage } from "node:http"
import { PublicOrigin } from "@uws-kit/http"

export interface Location {
  /** `https://host[:port]`, no trailing slash. */
  readonly origin: string
  /** The mount path as the client sees it: `""` or `/a/b`, no trailing slash. */
  readonly prefix: string
  /** Decoded path segments below the mount, or `undefined` when the path is malformed. */
  readonly segments: ReadonlyArray<string> | undefined
  /** The raw query string, without `?`. */
  readonly query: string
}

/** Splits and decodes a path; `undefined` when a segment is not valid percent-encoded UTF-8. */
export const segmentsOf = (path: string): Array<string> | undefined => {
  const out: Array<string> = []
  for (const raw of path.split("/")) {
    if (raw === "") continue
    try {
      out.push(decodeURIComponent(raw))
    } catch {
      return undefined
    }
  }
  return out
}

export const joinSegments = (segments: ReadonlyArray<string>): string =>
  segments.length === 0 ? "" : `/${segments.map(encodeURIComponent).join("/")}`

/** A configured path as segments (`"/uws/echo/"` → `["uws","echo"]`). */
export const normalizePath = (path: string | undefined): Array<string> => (path ?? "").split("/").filter((s) => s !== "")


const startsWith = (segs: ReadonlyArray<string>, head: ReadonlyArray<string>) =>
  head.length <= segs.length && head.every((s, i) => segs[i] === s)

/** What `locate` reads of a request (an `HttpServerRequest`, or a Node request as itself). */
export interface Source {
  readonly url: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly source: unknown
}

const isNode = (u: unknown): u is IncomingMessage & { originalUrl?: string } =>
  typeof u === "object" && u !== null && "socket" in u && typeof (u as IncomingMessage).url === "string"

export const locate = (req: Source, base: ReadonlyArray<string>, trustForwarded: boolean): Location => {
  const q = req.url.indexOf("?")
  const path = q === -1 ? req.url : req.url.slice(0, q)
  const query = q === -1 ? "" : req.url.slice(q + 1)
  const headers = req.headers
  const node = isNode(req.source) ? req.source : undefined

  const { origin, prefix } = PublicOrigin.of({ headers, source: req.source }, trustForwarded)

  // ---- mount and route path
  const segs = segmentsOf(path)
  if (segs === undefined) return { origin, prefix, segments: undefined, query }
  let mount: Array<string> | undefined
  if (node?.originalUrl !== undefined) {
    const oq = node.originalUrl.indexOf("?")
    const originalPath = oq === -1 ? node.originalUrl : node.originalUrl.slice(0, oq)
    if (originalPath !== path) {
      const all = segmentsOf(originalPath)
      if (all !== undefined && all.length >= segs.length && segs.every((s, i) => all[all.length - segs.length + i] === s)) {
        mount = all.slice(0, all.length - segs.length)
      }
    }
  }
  const full = mount === undefined ? segs : [...mount, ...segs]
  if (base.length > 0 && startsWith(full, base)) {
    return { origin, prefix: prefix + joinSegments(base), segments: full.slice(base.length), query }
  }
  return { origin, prefix: prefix + joinSegments(mount ?? base), segments: segs, query }
}
