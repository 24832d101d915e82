/**
 * The built-in upstream source `http`: fetches `UrlTemplate` with the identifier put in.
 *
 * Parameters (besides the host's, see `Upstream`):
 * - `UrlTemplate` (required): an http(s) URL where `{id}` is the identifier, percent-encoded
 *   whole, and `{path}` the identifier with its `/` kept (for DOI-like keys), e.g.
 *   `https://mirror.example/files/{path}`;
 * - `Headers`: extra request headers as JSON, e.g. `{"Authorization":"Bearer …"}`.
 *
 * 404 and 410 mean "not here" (the next upstream is asked); any other status but 2xx, and a
 * server that cannot be reached, are failures with the reason. The announced length
 * (Content-Length) and digest (`Repr-Digest: sha-256=:…:`, RFC 9530, or `Digest: SHA-256=…`,
 * RFC 3230) are passed on to the host, which checks the bytes against them. The body is asked
 * for without content coding, so the length announced is the length of the bytes.
 *
 * @since 0.2.0
 */
import type { Plugin } from "@uws-kit/core"
import type { UpstreamDocument, UpstreamRequest, UpstreamSource } from "./UpstreamSource.js"

/**
 * @since 0.2.0
 * @category constants
 */
export const builtinName = "http"

type Answer<A> = { readonly _tag: "Left"; readonly left: string } | { readonly _tag: "Right"; readonly right: A }
const left = <A>(reason: string): Answer<A> => ({ _tag: "Left", left: reason })
const right = <A>(value: A): Answer<A> => ({ _tag: "Right", right: value })

/**
 * The URL of an identifier.
 *
 * @since 0.2.0
 * @category formatting
 */
export const urlOf = (template: string, identifier: string): string =>
  template
    .replaceAll("{id}", encodeURIComponent(identifier))
    .replaceAll("{path}", identifier.split("/").map(encodeURIComponent).join("/"))

/** The SHA-256 an answer announces, as lowercase hex. */
const announcedSha256 = (headers: Headers): string | undefined => {
  const repr = headers.get("repr-digest")
  const fromRepr = repr === null ? undefined : /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/i.exec(repr)?.[1]
  const digest = headers.get("digest")
  const fromDigest = digest === null ? undefined : /(?:^|,)\s*sha-256=([A-Za-z0-9+/=]+)/i.exec(digest)?.[1]
  const b64 = fromRepr ?? fromDigest
  if (b64 === undefined) return undefined
  const bytes = Buffer.from(b64, "base64")
  return bytes.length === 32 ? bytes.toString("hex") : "(a malformed SHA-256)"
}

const fileNameOf = (headers: Headers): string | undefined => {
  const cd = headers.get("content-disposition")
  if (cd === null) return undefined
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(cd)?.[1]
  if (star !== undefined) {
    try {
      return decodeURIComponent(star.trim())
    } catch {
      // fall through to the plain form
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(cd)?.[1]?.trim()
}

const describe = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e)
  const cause = (e as { cause?: unknown }).cause
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" ? `${e.message} (${code})` : cause instanceof Error ? `${e.message}: ${cause.message}` : e.message
}

/**
 * A fresh `http` upstream source.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (): UpstreamSource => {
  let template = ""
  let headers: Record<string, string> = {}
  return {
    initialize: (parameters: Plugin.PluginParameters) => {
      const t = parameters.require("UrlTemplate")
      if (t._tag === "Left") return t
      if (!t.right.includes("{id}") && !t.right.includes("{path}")) return left(`UrlTemplate "${t.right}" has no {id} or {path} to put the identifier in`)
      let url: URL
      try {
        url = new URL(urlOf(t.right, "x"))
      } catch {
        return left(`UrlTemplate "${t.right}" is not a URL`)
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") return left(`UrlTemplate must be an http or https URL, not ${url.protocol}`)
      const extra = parameters.get("Headers")
      if (extra !== undefined && extra.trim() !== "") {
        try {
          const parsed = JSON.parse(extra) as unknown
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) {
            return left("Headers must be a JSON object of header names to strings")
          }
          headers = parsed as Record<string, string>
        } catch (e) {
          return left(`Headers is not JSON: ${describe(e)}`)
        }
      }
      template = t.right
      return right(undefined)
    },
    open: async (request: UpstreamRequest): Promise<Answer<UpstreamDocument | null>> => {
      const url = urlOf(template, request.identifier)
      let response: Response
      try {
        response = await fetch(url, { headers: { ...headers, "accept-encoding": "identity" }, signal: request.signal, redirect: "follow" })
      } catch (e) {
        return left(`${new URL(url).host} cannot be reached: ${describe(e)}`)
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel().catch(() => {})
        return right(null)
      }
      if (response.status < 200 || response.status > 299 || response.body === null) {
        await response.body?.cancel().catch(() => {})
        return left(`${new URL(url).host} answered HTTP ${response.status} ${response.statusText}`.trim())
      }
      const length = response.headers.get("content-length")
      const size = length === null || !/^\d+$/.test(length.trim()) ? undefined : Number(length)
      const encoded = (response.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity"
      const sha256 = announcedSha256(response.headers)
      const mimeType = response.headers.get("content-type") ?? undefined
      const fileName = fileNameOf(response.headers)
      return right({
        content: response.body,
        ...(size === undefined || encoded ? {} : { size }),
        ...(sha256 === undefined ? {} : { sha256 }),
        ...(mimeType === undefined ? {} : { mimeType }),
        ...(fileName === undefined ? {} : { fileName })
      })
    }
  }
}
