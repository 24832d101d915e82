/**
 * One access-log line a request (method, path, status, bytes, duration, caller, job id) through
 * Effect's `Logger`, and the HTTP metrics (`uws_http_requests_total{route,method,status}`,
 * `uws_http_request_duration_seconds{route}`), both by wrapping a Node request listener. Metrics
 * are labelled by route template (`/uws/{service}/jobs/{id}`), never the raw path: a client
 * sending random paths must not create a series each.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Effect, Metric, MetricBoundaries, MetricKey, MetricLabel } from "effect"

/**
 * What one request did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly method: string
  readonly path: string
  /** The path's template (the metrics label). */
  readonly route: string
  readonly status: number
  /** Body bytes sent. */
  readonly bytes: number
  readonly durationMs: number
  readonly caller?: string
  readonly jobId?: string
}

/**
 * A path's template and the job it names, if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface Route {
  readonly template: string
  readonly jobId?: string
}

// Segments that are part of the protocols' paths (UWS 1.1, TAP, the archive and dump APIs);
// any other segment is a name the client chose.
const WORDS = new Set([
  "jobs", "async", "sync", "phase", "results", "result", "parameters", "error", "quote", "executionduration",
  "destruction", "owner", "runid", "jobinfo", "applications", "fetch", "chunks", "index.json", "export", "import",
  "capabilities", "availability", "tables", "openapi.json", "docs", "pages", "document", "content", "search",
  "status", "sign", "wsdl", "upload", "uploads", "files", "health", "ready", "metrics"
])
const JOB_LISTS = new Set(["jobs", "async", "sync"])
// Bounds on the labels clients can make (see routeTemplates).
const MAX_DEPTH = 8
const MAX_TEMPLATES = 256

/**
 * Templates paths by the mounts' prefixes: the longest prefix matching on whole segments, its
 * second segment as `{service}` (`/uws/echo` → `/uws/{service}`); after it, protocol words are
 * kept, a segment after a job list is the `{id}` (and the entry's job id), one after `results`
 * the `{result}`, any other a `{name}`. A path under no prefix is `/{unmatched}`. Segments past
 * the eighth are one `{more}`, and once 256 templates are known, new ones are `/{other}`.
 *
 * @since 0.1.0
 * @category routes
 */
export const routeTemplates = (prefixes: ReadonlyArray<string>): ((path: string) => Route) => {
  const sorted = [...prefixes].filter((p) => p !== "/").sort((a, b) => b.length - a.length)
  const template = (path: string): Route => {
    if (path === "/" && prefixes.includes("/")) return { template: "/" }
    const prefix = sorted.find((p) => path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`))
    if (prefix === undefined) return { template: "/{unmatched}" }
    const head = prefix.split("/").filter((s) => s !== "")
    const parts = head.length >= 2 ? [head[0]!, "{service}", ...head.slice(2).map(() => "{name}")] : head
    let jobId: string | undefined
    let previous = head[head.length - 1] ?? ""
    for (const raw of path.slice(prefix.length).split("/")) {
      if (raw === "") continue
      // No protocol path is this deep: the rest is one label, not a new one per extra segment.
      if (parts.length >= MAX_DEPTH) {
        parts.push("{more}")
        break
      }
      let segment: string
      try {
        segment = decodeURIComponent(raw)
      } catch {
        segment = raw
      }
      const word = segment.toLowerCase()
      if (WORDS.has(word)) parts.push(word)
      else if (JOB_LISTS.has(previous) && jobId === undefined) {
        jobId = segment
        parts.push("{id}")
      } else parts.push(previous === "results" ? "{result}" : "{name}")
      previous = WORDS.has(word) ? word : ""
    }
    let name = `/${parts.join("/")}`
    // Protocol words in any order still make new templates: past MAX_TEMPLATES the new ones share
    // one label, so no client can grow the metrics without bound (a service has a few dozen).
    if (!templates.has(name)) {
      if (templates.size >= MAX_TEMPLATES) name = "/{other}"
      else templates.add(name)
    }
    return { template: name, ...(jobId === undefined ? {} : { jobId }) }
  }
  const templates = new Set<string>()
  // Templating is a split and a decode a segment: the paths seen lately are remembered, at most
  // ROUTE_CACHE of them (the oldest goes first), so random paths cannot grow the map.
  const seen = new Map<string, Route>()
  return (path) => {
    let route = seen.get(path)
    if (route === undefined) {
      route = template(path)
      if (seen.size >= ROUTE_CACHE) seen.delete(seen.keys().next().value!)
      seen.set(path, route)
    }
    return route
  }
}
const ROUTE_CACHE = 1024

/**
 * The log line of one request: `request` at Info, annotated with the entry's fields.
 *
 * @since 0.1.0
 * @category logging
 */
export const log = (entry: Entry): Effect.Effect<void> =>
  Effect.annotateLogs(Effect.logInfo("request"), {
    method: entry.method,
    path: entry.path,
    status: entry.status,
    bytes: entry.bytes,
    durationMs: entry.durationMs,
    ...(entry.caller === undefined ? {} : { caller: entry.caller }),
    ...(entry.jobId === undefined ? {} : { jobId: entry.jobId })
  })

/**
 * @since 0.1.0
 * @category metrics
 */
const requestsKey = MetricKey.counter("uws_http_requests_total", { description: "HTTP requests by route template, method and status." })
const durationKey = MetricKey.histogram(
  "uws_http_request_duration_seconds",
  MetricBoundaries.fromIterable([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]),
  "HTTP request duration by route template."
)
export const metrics = {
  requests: Metric.fromMetricKey(requestsKey),
  duration: Metric.fromMetricKey(durationKey)
} as const

// Methods outside this list become "other": a client must not mint label values.
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])

/**
 * The metrics' update for one request, as an effect (`count`, run when the effect is).
 *
 * @since 0.1.0
 * @category metrics
 */
export const record = (entry: Entry): Effect.Effect<void> => Effect.sync(() => count(entry.route, entry.method, entry.status, entry.durationMs))

// Each series a metric on its full key: its registry hook is looked up once
// and then updated in place, with no fiber and no tag arrays built a request.
const NO_TAGS: ReadonlyArray<MetricLabel.MetricLabel> = []
const requestSeries = new Map<string, Metric.Metric.Counter<number>>()
const durationSeries = new Map<string, Metric.Metric.Histogram<number>>()

/**
 * The metrics' update for one request, done now (outside a fiber: the
 * fiber's metric labels are not added).
 *
 * @since 0.1.0
 * @category metrics
 */
export const count = (route: string, method: string, status: number, durationMs: number): void => {
  const m = METHODS.has(method) ? method : "other"
  const key = `${route} ${m} ${status}`
  let requests = requestSeries.get(key)
  if (requests === undefined) {
    const labels = [MetricLabel.make("route", route), MetricLabel.make("method", m), MetricLabel.make("status", String(status))]
    requestSeries.set(key, (requests = Metric.fromMetricKey(MetricKey.taggedWithLabels(requestsKey, labels))))
  }
  let duration = durationSeries.get(route)
  if (duration === undefined) {
    durationSeries.set(route, (duration = Metric.fromMetricKey(MetricKey.taggedWithLabels(durationKey, [MetricLabel.make("route", route)]))))
  }
  requests.unsafeUpdate(1, NO_TAGS)
  duration.unsafeUpdate(durationMs / 1000, NO_TAGS)
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly route: (path: string) => Route
  /** Who called (e.g. the client's address); absent = not logged. */
  readonly caller?: (req: IncomingMessage) => string | undefined
  /** Write the log line (default true). */
  readonly log?: boolean
  /** Keep the HTTP metrics (default true). */
  readonly metrics?: boolean
  /** Runs the log line's effect (the host's runtime, carrying its Logger); metrics are counted without it. */
  readonly run: (effect: Effect.Effect<void>) => void
}

/**
 * A wrapped listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface Observed {
  (req: IncomingMessage, res: ServerResponse): void
  /**
   * Logs the lines still held, now, and drops any later one (the metrics are still counted):
   * call it once the server is closed and before disposing what `run` runs on.
   */
  readonly close: () => void
}

// Lines held at most before they are logged at once (a burst's memory is bounded).
const HELD = 1024

/**
 * The listener, observed: when the response is done (or the connection dropped), it is counted
 * at once and its log line is held until the end of the event loop's turn, then the held lines
 * are logged in one `run` (a runtime fiber a turn, not a request), or at `close`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const wrap = (
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  options: Options
): Observed => {
  const logging = options.log !== false
  const counting = options.metrics !== false
  if (!logging && !counting) return Object.assign((req: IncomingMessage, res: ServerResponse) => listener(req, res), { close: () => {} })
  let held: Array<Entry> = []
  let flushing: NodeJS.Immediate | undefined
  let closed = false
  const flush = () => {
    if (flushing !== undefined) clearImmediate(flushing)
    flushing = undefined
    if (held.length === 0) return
    const entries = held
    held = []
    options.run(Effect.forEach(entries, log, { discard: true }))
  }
  const hold = (entry: Entry) => {
    if (closed) return
    held.push(entry)
    if (held.length >= HELD) flush()
    else flushing ??= setImmediate(flush)
  }
  const observed = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now()
    let bytes = 0
    // Bytes are only logged: without the log line, write and end stay Node's own.
    if (logging) {
      const write = res.write
      const end = res.end
      const tally = (chunk: unknown, encoding: unknown) => {
        if (typeof chunk === "string") bytes += Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        else if (chunk instanceof Uint8Array) bytes += chunk.byteLength
      }
      res.write = function(this: ServerResponse, chunk: unknown, ...rest: Array<unknown>) {
        tally(chunk, rest[0])
        return (write as (...a: Array<unknown>) => boolean).call(this, chunk, ...rest)
      } as typeof res.write
      res.end = function(this: ServerResponse, chunk?: unknown, ...rest: Array<unknown>) {
        if (typeof chunk !== "function") tally(chunk, rest[0])
        return (end as (...a: Array<unknown>) => ServerResponse).call(this, chunk, ...rest)
      } as typeof res.end
    }
    res.once("close", () => {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000
      const url = req.url ?? "/"
      const query = url.indexOf("?")
      const path = query === -1 ? url : url.slice(0, query)
      const route = options.route(path)
      const method = req.method ?? "GET"
      // A response never finished (the client went away) is logged as 499, nginx's convention.
      const status = res.writableFinished ? res.statusCode : 499
      if (counting) count(route.template, method, status, durationMs)
      if (!logging) return
      const caller = options.caller?.(req)
      hold({
        method,
        path,
        route: route.template,
        status,
        bytes,
        durationMs,
        ...(caller === undefined ? {} : { caller }),
        ...(route.jobId === undefined ? {} : { jobId: route.jobId })
      })
    })
    listener(req, res)
  }
  return Object.assign(observed, {
    close: () => {
      flush()
      closed = true
    }
  })
}
