/**
 * The HTTP side of serve-if-stored-else-fetch (`FetchThrough`), mounted by the archive adapter:
 *
 * | route | answer |
 * |---|---|
 * | `GET {base}/fetch/{identifier}` | 200 and the document when stored; else 202, `Location` the fetch's job (a page that waits for it, for a browser); 502 when the fetch failed |
 * | `GET {base}/fetch-status/{id}` | where the fetch of container `id` stands (`?WAIT=s` waits for it to end, up to 55 s) |
 *
 * The identifier is the rest of the path (slashes kept, as in DOIs), percent-decoded (so `%2F`
 * and `/` are the same, and a `%` in an identifier is sent as `%25`).
 * `GET {base}/fetch/{identifier}?WAIT=s` waits up to `s` seconds for a fetch to end before it
 * answers. A fetched document is served with sandboxing headers: what an upstream sent must not
 * run script on this origin.
 *
 * @since 0.2.0
 */
import { IncomingMessage } from "node:http"
import { Readable } from "node:stream"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Identity as CoreIdentity } from "@uws-kit/core"
import { BrowserPages, Negotiation, XmlEscape } from "@uws-kit/http"
import type { Routes } from "@uws-kit/http"
import { Effect, Stream } from "effect"
import type { ArchiveService } from "./Archive.js"
import type { ArchiveError } from "./ArchiveError.js"
import type { Answer, FetchService } from "./FetchThrough.js"
import { RequestProblem } from "./internal/spool.js"

/** What the archive adapter lends its fetch routes. */
export interface Toolkit {
  readonly archive: ArchiveService
  readonly base: string
  readonly caller: Effect.Effect<CoreIdentity.Caller, RequestProblem, HttpServerRequest.HttpServerRequest>
  readonly handle: <E extends ArchiveError | RequestProblem, R>(
    effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpServerRequest.HttpServerRequest>
  /** The URL of a fetch's job (the host's UWS binding of the archive); default: its status route. */
  readonly jobUrl?: (id: string) => string
}

const MAX_WAIT_S = 55

const envelope = (data: unknown, status: number, errorCode: string | null = null, errorDescription: string | null = null, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson({ data, errorCode, errorDescription }, { status, contentType: "application/json; charset=utf-8", headers })

/** The page's script: static (its CSP hash is fixed), it reads its URLs from the page. */
const SCRIPT = `(async () => {
  const page = document.getElementById("fetch");
  const state = document.getElementById("state");
  for (;;) {
    try {
      const r = await fetch(page.dataset.status + "?WAIT=30", { headers: { accept: "application/json" } });
      const body = await r.json();
      const d = body.data;
      if (d && d.state === "stored") { location.replace(page.dataset.document); return; }
      if (!d || d.state === "failed") { state.textContent = "The document could not be fetched: " + ((d && d.reason) || body.errorDescription); return; }
      state.textContent = "Still fetching (" + d.phase + ")…";
    } catch (e) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
})();`

const pageHeaders = {
  ...BrowserPages.headers({ script: BrowserPages.hashSource(SCRIPT) }),
  "content-security-policy": `${BrowserPages.contentSecurityPolicy({ script: BrowserPages.hashSource(SCRIPT) })}; connect-src 'self'`,
  "cache-control": "no-store"
}

const waitingPage = (identifier: string, documentUrl: string, statusUrl: string, jobUrl: string) => {
  const t = XmlEscape.text
  const a = XmlEscape.attribute
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fetching ${t(identifier)}</title>
<noscript><meta http-equiv="refresh" content="5"></noscript></head>
<body><main id="fetch" data-status="${a(statusUrl)}" data-document="${a(documentUrl)}">
<h1>Fetching the document</h1>
<p><code>${t(identifier)}</code> is not in the archive yet: it is being fetched from its upstream sources, and kept.
This page shows it once it is here.</p>
<p id="state" role="status">Waiting for the fetch…</p>
<p><a href="${a(documentUrl)}">Reload</a> · <a href="${a(jobUrl)}">the fetch</a></p>
</main><script>${SCRIPT}</script></body></html>`
}

const waitSeconds = (url: string): number | RequestProblem => {
  const raw = new URL(url, "http://x").searchParams.get("WAIT") ?? new URL(url, "http://x").searchParams.get("wait")
  if (raw === null) return 0
  const n = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(n)) return new RequestProblem({ status: 400, code: "InvalidArgument", reason: `WAIT must be a number of seconds, not "${raw}"` })
  // UWS: a negative WAIT means as long as the service allows.
  return n < 0 ? MAX_WAIT_S : Math.min(n, MAX_WAIT_S)
}

/**
 * The fetch routes, for the archive adapter's route table (none when fetching is off).
 *
 * @since 0.2.0
 * @category constructors
 */
export const routes = (kit: Toolkit): ReadonlyArray<Routes.Route<void, never, HttpServerRequest.HttpServerRequest>> => {
  const fetcher = kit.archive.fetch
  if (fetcher === undefined) return []
  const { base } = kit
  const statusUrl = (id: string) => `${base}/fetch-status/${encodeURIComponent(id)}`
  const documentUrl = (identifier: string) => `${base}/fetch/${identifier.split("/").map(encodeURIComponent).join("/")}`
  const jobUrl = kit.jobUrl ?? statusUrl

  const describe = (answer: Answer, identifier?: string) =>
    answer._tag === "Stored"
      ? { id: answer.container.id, state: "stored", phase: answer.container.phase, saveType: answer.container.saveType, archiveUntilDate: answer.container.archiveUntil === null ? null : new Date(answer.container.archiveUntil).toISOString(), document: documentUrl(answer.container.name), container: `${base}/document/${answer.container.id}` }
      : answer._tag === "Fetching"
        ? { id: answer.id, state: "fetching", phase: answer.job.phase, ...(identifier === undefined ? {} : { document: documentUrl(identifier) }), job: jobUrl(answer.id) }
        : { id: answer.id, state: "failed", reason: answer.reason, retryAt: answer.retryAt === 0 ? null : new Date(answer.retryAt).toISOString() }

  const serve = (f: FetchService, answer: Extract<Answer, { _tag: "Stored" }>) =>
    Effect.gen(function* () {
      const c = answer.container
      const etag = `"${c.document.sha256}"`
      const request = yield* HttpServerRequest.HttpServerRequest
      const headers = {
        ...BrowserPages.contentHeaders,
        etag,
        "x-container-id": c.id,
        link: `<${base}/document/${c.id}>; rel="describedby"`,
        "cache-control": "private, no-cache"
      }
      const inm = request.headers["if-none-match"]
      if (inm !== undefined && inm.split(",").some((x) => x.trim() === etag || x.trim() === "*")) return HttpServerResponse.empty({ status: 304, headers })
      // Sent by Node from the storage's stream (its backpressure, no per-chunk Effect step), as the
      // document route sends it; the fetch route has decided already that this caller may read it.
      const { read } = yield* kit.archive.document({ id: null, admin: true }, c.id)
      const readout = yield* read
      const name = c.document.fileName
      const body = request.source instanceof IncomingMessage ? readout.readable : Readable.toWeb(readout.readable)
      return HttpServerResponse.raw(body, {
        contentType: c.document.mimeType,
        contentLength: c.document.size,
        headers: {
          ...headers,
          "content-disposition": `inline; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(name)}`
        }
      })
    })

  const failed = (answer: Extract<Answer, { _tag: "Failed" }>, t: number) =>
    envelope(null, 502, "FetchFailed", answer.reason, { "retry-after": String(Math.max(0, Math.ceil((answer.retryAt - t) / 1000))) })

  const get = (raw: string) =>
    kit.handle(
      Effect.gen(function* () {
        const who = yield* kit.caller
        const request = yield* HttpServerRequest.HttpServerRequest
        const wait = waitSeconds(request.url)
        if (wait instanceof RequestProblem) return yield* Effect.fail(wait)
        // The router has percent-decoded it already.
        const identifier = raw
        let answer = yield* fetcher.request(who, identifier)
        if (answer._tag === "Fetching" && wait > 0) answer = yield* fetcher.status(answer.id, wait * 1000)
        const t = yield* kit.archive.now
        if (answer._tag === "Stored") return yield* serve(fetcher, answer)
        if (answer._tag === "Failed") return failed(answer, t)
        const location = jobUrl(answer.id)
        const common = { location, "retry-after": "2", "cache-control": "no-store" }
        if (Negotiation.isBrowser(request.headers["accept"], request.headers["sec-fetch-dest"])) {
          return HttpServerResponse.text(waitingPage(identifier, documentUrl(identifier), statusUrl(answer.id), location), {
            status: 202,
            contentType: "text/html; charset=utf-8",
            headers: { ...pageHeaders, ...common }
          })
        }
        return envelope(describe(answer, identifier), 202, null, null, common)
      })
    )

  const status = (id: string) =>
    kit.handle(
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const wait = waitSeconds(request.url)
        if (wait instanceof RequestProblem) return yield* Effect.fail(wait)
        const answer = yield* fetcher.status(id, wait * 1000).pipe(
          Effect.catchTag("JobNotFound", () =>
            Effect.fail(new RequestProblem({ status: 404, code: "DocumentNotFound", reason: `no document is fetched or kept as "${id}"; ask for it by its identifier (GET ${base}/fetch/{identifier})` }))
          )
        )
        return envelope(describe(answer), 200, null, null, { "cache-control": "no-store" })
      })
    )

  return [
    { path: `${base}/fetch/*` as Routes.PathInput, methods: { GET: (p) => get(p["*"] ?? "") } },
    { path: `${base}/fetch/` as Routes.PathInput, methods: { GET: () => get("") } },
    { path: `${base}/fetch-status/:id` as Routes.PathInput, methods: { GET: (p) => status(p["id"] ?? "") } }
  ]
}
