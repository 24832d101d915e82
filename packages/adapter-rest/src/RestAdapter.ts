/**
 * The UWS 1.1 REST binding of one job list, with the v0.3 aliases and the synchronous facade,
 * as a web-standard handler and a Node listener built from one @effect/platform app.
 *
 * ## Resources (below `basePath`; `{jobs}` = `jobsPath`, default `jobs`)
 *
 * | resource | methods |
 * |---|---|
 * | `/{jobs}` | GET the list (`PHASE` repeatable = union, `AFTER`, `LAST`; extension paging `limit` + `cursor`, next page in `Link: <…>; rel="next"`); POST creates → 303 to the job (`PHASE=RUN` runs it), from a form or, with `jobDescription`, from a job description document |
 * | `/{jobs}/{id}` | GET (blocking `WAIT=n` seconds or `-1`, with the `PHASE` guard); DELETE, or POST `ACTION=DELETE` → 303 to the list; POST `name=value` updates parameters (PENDING) → 303 to the job |
 * | `…/phase` | GET text; POST `PHASE=RUN` or `PHASE=ABORT` → 303 to the job |
 * | `…/executionduration`, `…/destruction` | GET text (destruction empty when none); POST `EXECUTIONDURATION=` / `DESTRUCTION=` → 303 (the policy clamps) |
 * | `…/quote`, `…/owner` | GET text (empty when none / anonymous) |
 * | `…/error` | GET the error message (+ detail) as text; 404 when the job has no error |
 * | `…/results`, `…/results/{id}` | GET the list; GET the content (stored results; for a result the application has a view of, `Worker.views`, what the view makes of it and the query string) or 303 to where it lives |
 * | `…/parameters`, `…/parameters/{name}` | GET; POST updates (multipart uploads become `param:` parameters); GET the value or uploaded content; PUT a value (text/plain) or content (any other type) |
 * | `…/termination` (v0.3) | GET = destruction; PUT the instant (text or a one-element XML document) or POST `TIME=` |
 * | POST `…/quote` (v0.3) | accepts the quote: commits the job (= `PHASE=RUN`) |
 * | `/{sync}` | GET or POST creates and runs → 303 to `/{sync}/{id}`, which blocks until the job is over → 303 to its result (`result`, else the first), or to `…/error` (TAP layout: a job in ERROR answers a DALI VOTable error, 400). HEAD is refused (405, `Allow: GET, POST, OPTIONS`): it must not create a job |
 * | `…/events` | GET the job's changes as server-sent events (`job` events with the page's snapshot, heartbeat comments; ends at a final phase), for the live HTML page; owner only, like the job |
 * | `…/delete` (HTML) | GET the page asking whether to delete the job (its form POSTs `ACTION=DELETE`) |
 * | `/availability`, `/capabilities` | GET the IVOA VOSI 1.0 documents (option `vosi`, default on) |
 * | `/uws-assets/{name}` | the HTML pages' stylesheet and script (versioned names, cached for ever) |
 *
 * HEAD is answered like GET without a body everywhere else, and changes nothing.
 *
 * ## Blocking
 * `WAIT` blocks only while the job is PENDING, QUEUED or EXECUTING (and, with `PHASE=p`, only
 * while it is in `p`), ends when the phase changes (progress reports do not end it), and is capped by the service's
 * `maxWait` (`Uws` option, default 55 s: under common proxy time-outs of 60–100 s and pyvo's
 * 600 s read time-out); at the cap it answers the job as it is. `/{sync}/{id}` blocks at most
 * `maxWait` per request too, then redirects to itself.
 *
 * ## Status codes (one table)
 * 303 after every change; 400 malformed input (bad dates, numbers, phases, non-UTF-8, control
 * characters in names); 401 when `identify` throws; 403 an action the job's phase or owner
 * forbids, a refused creation (quota), or a change sent by another site's page (CSRF; see
 * `allowedOrigins`); 404 unknown jobs, results, parameters, routes, and
 * `/error` of a job without an error; 405 (with `Allow`); 409 a change lost to concurrent ones;
 * 413 a body over `maxBodyBytes` or a request over one of the policy's size limits (`LimitExceeded`,
 * naming the limit); 415 a body of a type the resource does not take; 500 a plugin
 * or the binding failed; 503 storage failed, or the adapter is disposed.
 *
 * ## Representations
 * XML (UWS-v1.1.xsd) by default and for `*\/*` and Java's default Accept; JSON on
 * `Accept: application/json` (see the `Json` module for the shape); HTML pages for browsers only
 * (an Accept listing `application/xhtml+xml`, or `Sec-Fetch-Dest: document`; the `Html` module);
 * text/plain atoms, or a one-element UWS document (`<uws:phase>`) for a client accepting only XML.
 * Errors come as text/plain, or JSON `{ "error": { status, tag, message } }`, an HTML page, or
 * a DALI-style VOTable error document when the client prefers XML. HTML pages carry a strict
 * Content-Security-Policy (no inline script or style), `X-Frame-Options: DENY`,
 * `Referrer-Policy: same-origin` and `X-Content-Type-Options: nosniff`.
 *
 * ## Mounting
 * Location URLs are absolute and built per request from the request itself, or, with
 * `trustForwarded`, from `X-Forwarded-Proto`/`-Host`/`-Prefix` (or `Forwarded`). Give `basePath` = the path the service is mounted
 * at: requests that still carry it (node:http routing without stripping, Fastify's raw URL) are
 * routed below it, and requests whose host stripped it (Hono `mount`) get it back in their
 * URLs. Under Express, `req.originalUrl` reveals the mount path without `basePath`. Mount the
 * listener before any body parser of the host.
 *
 * @since 0.1.0
 */
import type { UwsService } from "@uws-kit/core/Uws"
import type { Parameter } from "@uws-kit/core/Job"
import type { Result } from "@uws-kit/core/Result"
import { CrossSite, Edge, type Identity, Vosi } from "@uws-kit/http"
import { tmpdir } from "node:os"
import { makeApp } from "./internal/app.js"
import { joinSegments, normalizePath } from "./internal/urls.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RestOptions extends Identity.Options, Edge.HostOptions {
  /** The job list this binding serves. */
  readonly service: UwsService
  /** Path the service is mounted at, as clients see it (e.g. `/uws/echo`); default `""`. */
  readonly basePath?: string
  /**
   * `tap`: the layout of a TAP service (job list at `async`, facade at `sync` unless given), and
   * the errors a TAP client parses are DALI VOTable documents (`<INFO name="QUERY_STATUS"
   * value="ERROR">`): a sync job ending in ERROR answers one with status 400 (pyvo's
   * `run_sync` raises `DALQueryError` with its message), an unknown job one with 404 (pyvo's
   * `get_job`); a job's `/error` is one too (status 200; JSON on request). Default `uws`: the
   * job list at `jobs`, errors as text/plain.
   */
  readonly layout?: "uws" | "tap"
  /** Path of the job list below `basePath`; default `jobs` (`async` for the TAP layout). */
  readonly jobsPath?: string
  /** Path of the synchronous facade below `basePath`; default `sync`. */
  readonly syncPath?: string
  /*
   * Who is calling (`identify`, `identifyNode`, and the host's `context` or per-request caller):
   * the contract of `Identity` in `@uws-kit/http`; default anonymous. A refusal answers 401 with
   * its message. A job belongs to whoever created it.
   */
  /** Largest request body in bytes, uploads included (default 16 MiB); larger → 413. */
  readonly maxBodyBytes?: number
  /** The application's name on HTML pages (default the worker's name). */
  readonly title?: string
  /**
   * Whether `X-Forwarded-*`/`Forwarded` headers are believed (default `false`: a client that
   * reaches the service directly could forge them and change Location URLs). Turn it on behind
   * a proxy that sets (or strips) them.
   */
  readonly trustForwarded?: boolean
  /**
   * Other sites whose pages may change jobs here (POST, PUT, DELETE), e.g.
   * `["https://portal.example"]`. Any other site's page is refused with 403 (CSRF defence, from
   * `Sec-Fetch-Site` and `Origin`; see `CrossSite` in `@uws-kit/http`). Clients that are not
   * browsers send neither header and are never refused. Default: none.
   */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** Where uploads are spooled while a request is read (default: the OS temporary folder). */
  readonly spoolDirectory?: string
  /**
   * A job description language (UWS 0.3 §3.4: "a document in this JDL is posted to the UWS … in
   * its native MIME-type"): a POST to the job list whose Content-Type is one of its
   * `mediaTypes` creates a job from the parameters `parse` reads from the body. Forms keep
   * working beside it. Default: none (such a POST is refused with 415).
   */
  readonly jobDescription?: JobDescription
  /**
   * IVOA VOSI service metadata at `{basePath}/availability` and `{basePath}/capabilities`
   * (`Vosi` of `@uws-kit/http`): the job list as a UWS 1.1 capability, the two VOSI
   * capabilities, and with the TAP layout a TAP capability (`tr:TableAccess`, ADQL 2.0 and VOTable
   * unless `tableAccess` says). Default on; `false` leaves both paths to the binding (404).
   */
  readonly vosi?: boolean | VosiOptions
}

/**
 * @since 0.1.0
 * @category models
 */
export interface VosiOptions {
  /** The TAP layout's `tr:TableAccess` (languages, output formats). */
  readonly tableAccess?: Vosi.TableAccess
  /** More capabilities to declare, from the service's root URL (e.g. a second layout of the same jobs). */
  readonly capabilities?: (root: string) => ReadonlyArray<Vosi.Capability>
}

/**
 * How a job list reads job descriptions POSTed in their own media type. The query string still
 * carries job control (`PHASE=RUN`, `RUNID`, `EXECUTIONDURATION`, `DESTRUCTION`); the
 * description gives the parameters. A `Left` is answered 400 with its message and creates
 * nothing; a throw is answered 500. The body is decoded as text (its `charset`, default UTF-8)
 * and bounded by `maxBodyBytes`.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobDescription {
  /** Media types, lower case without parameters, e.g. `["application/xml", "text/xml"]`. */
  readonly mediaTypes: ReadonlyArray<string>
  readonly parse: (text: string) => Result<string, ReadonlyArray<Parameter>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RestAdapter extends Edge.Edge {
  /**
   * Stops taking requests (503) and ends blocked `WAIT`s at once with the job as it is, so that
   * a server can close. The service itself is closed by its owner.
   */
  readonly dispose: () => Promise<void>
}

/**
 * The default `maxBodyBytes`: 16 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBodyBytes = 16 * 1024 * 1024

/**
 * Builds the binding.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { createServer } from "node:http"
 * import { Uws, Worker } from "@uws-kit/core"
 * import { RestAdapter } from "@uws-kit/adapter-rest"
 * const { service } = await Uws.start({ worker: Worker.noop })
 * const rest = RestAdapter.makeRestAdapter({ service, basePath: "/uws" })
 * createServer(rest.listener).listen(8080)
 */
export const makeRestAdapter = (options: RestOptions): RestAdapter => {
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) throw new Error("maxBodyBytes must be a whole number of bytes ≥ 0.")
  const layout = options.layout ?? "uws"
  const jobs = normalizePath(options.jobsPath ?? (layout === "tap" ? "async" : "jobs"))
  const sync = normalizePath(options.syncPath ?? "sync")
  if (sync.length === jobs.length && sync.every((s, i) => jobs[i] === s)) throw new Error("jobsPath and syncPath must differ.")
  const shutdown = Edge.makeShutdown()
  const { app, fast } = makeApp({
    service: options.service,
    base: normalizePath(options.basePath),
    jobs,
    sync,
    identify: options.identify,
    identifyNode: options.identifyNode,
    maxBodyBytes,
    title: options.title ?? options.service.worker.name,
    trustForwarded: options.trustForwarded ?? false,
    layout,
    closing: shutdown.closing,
    isClosed: shutdown.isClosed,
    crossSite: CrossSite.make(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
    spoolDirectory: options.spoolDirectory ?? tmpdir(),
    jobDescription: options.jobDescription
  })
  const vosi = options.vosi ?? true
  const basePath = joinSegments(normalizePath(options.basePath))
  const served =
    vosi === false
      ? app
      : Vosi.serve(app, {
          basePath,
          trustForwarded: options.trustForwarded ?? false,
          isAvailable: () => !shutdown.isClosed(),
          upSince: Date.now(),
          capabilities: (root) => [
            Vosi.uwsCapability(root + joinSegments(jobs)),
            ...(layout === "tap" ? [Vosi.tapCapability(root, vosi === true ? undefined : vosi.tableAccess)] : []),
            ...(vosi === true || vosi.capabilities === undefined ? [] : vosi.capabilities(root)),
            ...Vosi.vosiCapabilities(root)
          ]
        })
  return Edge.make(served, { mount: options.basePath ?? "", runtime: options.runtime, context: options.context, dispose: shutdown.close, fast })
}
