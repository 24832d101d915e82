/**
 * The REST binding as one @effect/platform HTTP app: route → identify → parse → call the Uws
 * service → render. The handlers live in `routes/` (one module per group of resources); here
 * they are wired to the declared routes. The web handler and the Node listener are both built
 * from it.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type { Caller } from "@uws-kit/core/Identity"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Header, Identity, Routes } from "@uws-kit/http"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Effect, Either, Exit, type Scope, Stream } from "effect"
import * as Html from "../Html.js"
import { mediaTypeOf, unreadableBody, urlencodedForm } from "./body.js"
import { RestError, badRequest, type AnyError } from "./errors.js"
import * as Form from "./form.js"
import { isBrowser } from "./negotiate.js"
import { makeDeps, type Config, type Ctx, type Handler, type Method, type Urls } from "./request.js"
import { errorResponse, see } from "./respond.js"
import * as Events from "./routes/events.js"
import * as Job from "./routes/job.js"
import * as JobList from "./routes/jobList.js"
import * as JobResources from "./routes/jobResources.js"
import * as Pages from "./routes/pages.js"
import * as Parameters from "./routes/parameters.js"
import * as Results from "./routes/results.js"
import * as Sync from "./routes/sync.js"
import { joinSegments, locate, type Location, type Source } from "./urls.js"

export type { Config } from "./request.js"

const { ASSETS, ASSETS_SEGMENT, asset } = Pages

/** The largest form body the Node listener reads itself to create a job (larger ones go to the app). */
const FAST_BODY_BYTES = 64 * 1024

export const makeApp = (config: Config) => {
  const deps = makeDeps(config)
  const { listJobs, create, createJob } = JobList.make(deps)
  const { getParameters, getParameter, postParameters, putParameter, updateParameters } = Parameters.make(deps)
  const { getJob, deleteJob, deleteNow, postJob, renderJob } = Job.make(deps, updateParameters)
  const { confirmDelete } = Pages.make(deps)
  const { getPhase, renderPhase, postPhase, changePhase, getDuration, postDuration, getDestruction, postDestruction, postTermination, putTermination, getQuote, postQuote, getOwner, getError } =
    JobResources.make(deps)
  const { getResults, getResult, stored: storedResult, isStored } = Results.make(deps)
  const { createSync, waitSync } = Sync.make(deps, create)
  const { events } = Events.make(deps, Events.makeFeeds(config.service))

  // ---- routing -------------------------------------------------------------------------------

  /** What the app knows of a request before routing it; a route's handler adds the rest. */
  type Found = Pick<Ctx, "req" | "method" | "accept" | "browser" | "loc" | "urls">

  /**
   * A route's handler: refuses other sites' changes, reads the query and the caller, then runs
   * `handler` with the route's parameters (decoded path segments).
   */
  const handle =
    (handler: (params: Routes.Params) => Handler): Routes.Handler<Found, AnyError, Scope.Scope> =>
    (params, found) => {
      // Plain checks, one effect: this runs on every request (an Effect.gen here costs a GET ~2 µs).
      const refused = config.crossSite(found.req, found.loc.origin)
      if (refused !== undefined) return Effect.fail(new RestError({ kind: "CrossSiteRequest", message: refused }))
      const query = Form.parse(found.loc.query)
      if (Either.isLeft(query)) return Effect.fail(badRequest(`Bad query string: ${query.left}`))
      const { req, method, accept, browser, loc, urls } = found
      return Effect.flatMap(identify(req, loc), (caller) => handler(params)({ req, method, accept, browser, loc, urls, query: query.right, caller }))
    }
  const id = (f: (jobId: string) => Handler) => handle((p) => f(p["id"]!))

  const jobsAt = joinSegments(config.jobs)
  const syncAt = joinSegments(config.sync)
  const at = (path: string): Routes.PathInput => (path === "" ? "/" : `/${path.replace(/^\//, "")}`)
  const job = `${jobsAt}/:id`

  /** Every resource of the binding, once: routing, 405s and `Allow` all come from here. */
  const routes: ReadonlyArray<Routes.Route<Found, AnyError, Scope.Scope>> = [
    ...Object.keys(ASSETS).map((name) => ({ path: at(`/${ASSETS_SEGMENT}/${encodeURIComponent(name)}`), methods: { GET: handle(() => () => Effect.succeed(asset(name)!)) } })),
    // The sync facade's GET creates and runs a job: HEAD must not repeat it.
    { path: at(syncAt), methods: { GET: handle(() => createSync), POST: handle(() => createSync) }, effectfulGet: true },
    { path: at(`${syncAt}/:id`), methods: { GET: id(waitSync) } },
    { path: at(jobsAt), methods: { GET: handle(() => listJobs), POST: handle(() => createJob) } },
    { path: at(job), methods: { GET: id(getJob), POST: id(postJob), DELETE: id(deleteJob) } },
    { path: at(`${job}/phase`), methods: { GET: id(getPhase), POST: id(postPhase) } },
    { path: at(`${job}/executionduration`), methods: { GET: id(getDuration), POST: id(postDuration) } },
    { path: at(`${job}/destruction`), methods: { GET: id(getDestruction("destruction")), POST: id(postDestruction) } },
    { path: at(`${job}/termination`), methods: { GET: id(getDestruction("termination")), POST: id(postTermination), PUT: id(putTermination) } },
    { path: at(`${job}/quote`), methods: { GET: id(getQuote), POST: id(postQuote) } },
    { path: at(`${job}/error`), methods: { GET: id(getError) } },
    { path: at(`${job}/results`), methods: { GET: id(getResults) } },
    { path: at(`${job}/results/:result`), methods: { GET: handle((p) => getResult(p["id"]!, p["result"]!)) } },
    { path: at(`${job}/parameters`), methods: { GET: id(getParameters), POST: id(postParameters) } },
    { path: at(`${job}/parameters/:name`), methods: { GET: handle((p) => getParameter(p["id"]!, p["name"]!)), PUT: handle((p) => putParameter(p["id"]!, p["name"]!)) } },
    { path: at(`${job}/owner`), methods: { GET: id(getOwner) } },
    { path: at(`${job}/delete`), methods: { GET: id(confirmDelete) } },
    { path: at(`${job}/events`), methods: { GET: id(events) } }
  ]

  const router = Routes.make(routes, {
    methodNotAllowed: (method, allow) =>
      Effect.fail(new RestError({ kind: "MethodNotAllowed", message: `${method} is not allowed here; use ${allow}.`, headers: { allow } }))
  })

  /** A job's sub-resource names are matched in any case (`/jobs/1/PHASE`), as clients send them. */
  const SUBRESOURCES = new Set(["phase", "executionduration", "destruction", "termination", "quote", "error", "results", "parameters", "owner", "delete", "events"])
  const startsWith = (segs: ReadonlyArray<string>, head: ReadonlyArray<string>) =>
    head.length <= segs.length && head.every((s, i) => segs[i] === s)

  /** The path the router sees: the segments below the mount, re-encoded, sub-resource names in lower case. */
  const routedPath = (segs: ReadonlyArray<string>): string => {
    const n = config.jobs.length
    const isSync = startsWith(segs, config.sync) && segs.length <= config.sync.length + 1
    if (!isSync && segs.length > n + 1 && startsWith(segs, config.jobs)) {
      const part = segs[n + 1]!.toLowerCase()
      if (part !== segs[n + 1] && SUBRESOURCES.has(part)) return joinSegments([...segs.slice(0, n + 1), part, ...segs.slice(n + 2)]) || "/"
    }
    return joinSegments(segs) || "/"
  }

  // ---- identity ------------------------------------------------------------------------------

  const refusals: Identity.Refusals<RestError> = {
    unauthorized: (e) =>
      new RestError({ kind: "Unauthorized", message: `Who you are could not be established: ${e instanceof Error ? e.message : String(e)}` }),
    notACaller: () => new RestError({ kind: "InternalError", message: "The host's identify function returned no caller." })
  }

  /** Where the request is, as the client sees it: the URL of the Request `identify` gets under Node. */
  const identifyUrl = (loc: Location, url: string, originalUrl: string | undefined) => {
    const original = originalUrl ?? url
    return `${loc.origin}${original.startsWith("/") ? original : `/${original}`}`
  }

  const identify = (req: HttpServerRequest.HttpServerRequest, loc: Location): Effect.Effect<Caller, RestError> =>
    Identity.resolve(req, config, refusals, () => identifyUrl(loc, req.url, (req.source as { originalUrl?: string }).originalUrl))

  /** Where an HTML error page links back to: the job the request was about, else the list. */
  const backUrl = (segs: ReadonlyArray<string> | undefined, urls: Urls): string =>
    segs !== undefined && segs.length > config.jobs.length && startsWith(segs, config.jobs) && !startsWith(segs, config.sync)
      ? urls.job(segs[config.jobs.length]!)
      : urls.list

  // ---- the app -------------------------------------------------------------------------------

  /** A URL below `base` by id; returned, not bound to a name (no `__name` per request under tsx). */
  const below = (base: string) => (id: string) => `${base}/${encodeURIComponent(id)}`

  /** What every answer starts from: the negotiated preferences and the public URLs. */
  const seen = (req: Source) => {
    const accept = Header.get(req.headers, "accept")
    const browser = isBrowser(accept, Header.get(req.headers, "sec-fetch-dest"))
    const loc = locate(req, config.base, config.trustForwarded)
    const root = `${loc.origin}${loc.prefix}`
    const list = root + jobsAt
    const sync = root + syncAt
    const urls: Urls = {
      list,
      job: below(list),
      sync,
      syncJob: below(sync),
      assets: {
        stylesheet: `${root}/${ASSETS_SEGMENT}/${Html.assetName.stylesheet}`,
        script: `${root}/${ASSETS_SEGMENT}/${Html.assetName.script}`
      }
    }
    return { accept, browser, loc, urls }
  }

  const jobRoute = at(job)
  const phaseRoute = at(`${job}/phase`)
  const resultRoute = at(`${job}/results/:result`)

  /**
   * A plain GET of a job or its phase the store holds in memory, answered without an effect (a
   * client polling its job is the hottest request: pyvo reads the job, TOPCAT its phase): the
   * same route, caller, rules (`service.peek`) and rendering as the app's; anything else — an
   * error, a job only the store's read can give — is left to the app. A GET of a job with a
   * query (WAIT), and a plain GET of a stored result, are run by the listener through the app's
   * own handlers.
   */
  const fast = (req: IncomingMessage, res: ServerResponse, hostCaller: Caller | undefined): boolean => {
    const url = req.url
    if (req.method !== "GET" || url === undefined || config.isClosed()) return false
    const { accept, browser, loc, urls } = seen({ url, headers: req.headers, source: req })
    if (loc.segments === undefined) return false
    const matched = router.match(routedPath(loc.segments))
    if (matched === undefined) return false
    const route = matched.route
    if (route !== jobRoute && route !== phaseRoute && route !== resultRoute) return false
    const resultId = matched.params["result"]
    // Only a body-less GET: anything else may be answered another way by the platform.
    if (route === phaseRoute && url.includes("?")) return false
    if (resultId !== undefined && (url.includes("?") || hasBody(req) || !isStored(resultId))) return false
    const caller = Identity.resolveNow(req, config, hostCaller, () => identifyUrl(loc, url, (req as { originalUrl?: string }).originalUrl))
    if (caller === undefined) return false
    const jobId = matched.params["id"]!
    if (resultId !== undefined) {
      runAnswer(res, answered(storedResult(caller, jobId, resultId, req), accept, browser, loc.segments, urls))
      return true
    }
    if (url.includes("?")) return waitFast(req, res, caller, jobId, { accept, browser, loc, urls })
    const peeked = config.service.peek(caller, jobId)
    if (peeked === undefined || Either.isLeft(peeked)) return false
    const response = route === phaseRoute ? renderPhase({ accept, browser }, peeked.right) : renderJob({ accept, browser, urls }, peeked.right)
    if (response.body._tag !== "Uint8Array") return false
    res.writeHead(response.status, response.headers)
    res.end(response.body.body)
    return true
  }

  const hasBody = (req: IncomingMessage) => req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined

  /**
   * A GET of a job with a query (WAIT, PHASE), as the app's `getJob` answers it, run by the
   * listener (no platform request: the handler reads no body). A client that hangs up ends its
   * wait, as the platform does for the app. A query the app would refuse is left to it.
   */
  const waitFast = (req: IncomingMessage, res: ServerResponse, caller: Caller, jobId: string, found: Pick<Ctx, "accept" | "browser" | "loc" | "urls">): boolean => {
    if (hasBody(req)) return false
    const query = Form.parse(found.loc.query)
    if (Either.isLeft(query)) return false
    const { accept, browser, loc, urls } = found
    runAnswer(res, answered(getJob(jobId)({ query: query.right, caller, accept, browser, urls }), accept, browser, loc.segments, urls))
    return true
  }

  // The two helpers below make no named closure per request: under tsx (`npm start`) each one
  // costs a `__name` call (defineProperty), ~5% of a creation's CPU in all.

  /**
   * Runs a listener-answered request's work and writes its answer; a client that hangs up first
   * interrupts the work, as the platform does for the app.
   */
  const runAnswer = (res: ServerResponse, work: Effect.Effect<HttpServerResponse.HttpServerResponse>) => {
    let finished = false
    const cancel = Effect.runCallback(work, {
      onExit: (exit) => {
        finished = true
        if (Exit.isSuccess(exit)) writeNode(res, exit.value)
        else res.destroy()
      }
    })
    if (!finished) res.once("close", () => finished || cancel())
  }

  /** Reads a request's (small) body, then calls `then` once: its bytes, or undefined if it was cut off. */
  const readBody = (req: IncomingMessage, then: (body: Uint8Array | undefined) => void) => {
    const chunks: Array<Buffer> = []
    let done = false
    req
      .on("data", (chunk: Buffer) => void chunks.push(chunk))
      .on("end", () => {
        if (done) return
        done = true
        then(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
      })
      .on("error", () => {
        if (done) return
        done = true
        then(undefined)
      })
      .on("close", () => {
        if (done) return
        done = true
        then(req.complete ? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)) : undefined)
      })
  }

  const jobsRoute = at(jobsAt)

  /**
   * The commonest changes answered without the platform's request and router: a job creation
   * from a small urlencoded form, PHASE=RUN/ABORT from one, a DELETE of a job. The same route,
   * cross-site check, caller, form reading (`urlencodedForm`), service calls (`JobList.create`,
   * `changePhase`, `deleteNow`, so the same quotas and rules) and answers (303 and Location, or
   * the app's own error answers) as the app. Whatever could go another way before the body is
   * read — another route, a query string, a chunked or large body, another media type, a body on
   * a DELETE, a refused site, a caller not known at once — is left to the app;
   * test/FastCreate.test.ts compares both paths on generated requests. A client that hangs up
   * before its answer interrupts the work, as the platform does for the app.
   */
  const fastChange = (req: IncomingMessage, res: ServerResponse, hostCaller: Caller | undefined): boolean => {
    const url = req.url
    const method = req.method
    if ((method !== "POST" && method !== "DELETE") || url === undefined || url.includes("?") || config.isClosed()) return false
    // A host's body parser got the body first: the app says so (Body.check), the fast path cannot.
    const source = req as IncomingMessage & { _body?: unknown }
    if (source._body === true || req.readableEnded) return false
    const lengthText = req.headers["content-length"]
    if (req.headers["transfer-encoding"] !== undefined) return false
    if (method === "POST") {
      if (config.jobDescription !== undefined || lengthText === undefined || !/^\d+$/.test(lengthText)) return false
      const length = Number(lengthText)
      if (length > deps.limit || length > FAST_BODY_BYTES) return false
      const mt = mediaTypeOf(Header.get(req.headers, "content-type"))
      const charset = mt.params["charset"]?.toLowerCase()
      if (mt.type !== "application/x-www-form-urlencoded" || (charset !== undefined && charset !== "utf-8" && charset !== "utf8")) return false
    } else if (lengthText !== undefined && lengthText !== "0") return false
    const found = seen({ url, headers: req.headers, source: req })
    const { accept, browser, loc, urls } = found
    if (loc.segments === undefined) return false
    const matched = router.match(routedPath(loc.segments))
    if (matched === undefined) return false
    const route = matched.route
    const jobId = matched.params["id"]
    const change: ((caller: Caller, body: Uint8Array) => Effect.Effect<HttpServerResponse.HttpServerResponse, AnyError>) | undefined =
      method === "DELETE"
        ? route === jobRoute
          ? (caller) => deleteNow({ caller, urls }, jobId!)
          : undefined
        : route === jobsRoute
          ? (caller, body) =>
              Effect.flatMap(urlencodedForm(body, deps.pairLimit), (form) => Effect.map(create({ caller }, form.params, [], false), (made) => see(urls.job(made.jobId))))
          : route === phaseRoute
            ? (caller, body) => Effect.flatMap(urlencodedForm(body, deps.pairLimit), (form) => changePhase({ caller, urls }, jobId!, form.params))
            : undefined
    if (change === undefined) return false
    if (config.crossSite(req as { method: string; headers: IncomingMessage["headers"] }, loc.origin) !== undefined) return false
    const caller = Identity.resolveNow(req, config, hostCaller, () => identifyUrl(loc, url, (req as { originalUrl?: string }).originalUrl))
    if (caller === undefined) return false
    const segments = loc.segments
    readBody(req, (body) =>
      runAnswer(res, answered(body === undefined ? Effect.fail(unreadableBody(deps.limit)) : change(caller, body), accept, browser, segments, urls))
    )
    return true
  }

  /** A response as the platform's Node handler writes it (no cookies here; a body in memory, streamed, or none). */
  const writeNode = (res: ServerResponse, response: HttpServerResponse.HttpServerResponse) => {
    const body = response.body
    if (body._tag !== "Empty" && body._tag !== "Uint8Array" && body._tag !== "Stream") return void res.destroy()
    res.writeHead(response.status, response.headers)
    if (body._tag === "Empty") res.end()
    else if (body._tag === "Uint8Array") res.end(body.body)
    else writeStream(res, body.stream)
  }

  /**
   * A streamed body, written as the client takes it (waiting for `drain`). A client that hangs up
   * stops the stream; a stream that fails after the headers cuts the connection, so that the
   * client sees a broken answer, not a short one.
   */
  const writeStream = (res: ServerResponse, stream: Stream.Stream<Uint8Array, unknown>) => {
    let finished = false
    const cancel = Effect.runCallback(
      Stream.runForEachChunk(stream, (chunk) => {
        let full = false
        for (const bytes of chunk) full = !res.write(bytes)
        return full ? drained(res) : Effect.void
      }),
      {
        onExit: (exit) => {
          finished = true
          if (Exit.isSuccess(exit)) res.end()
          else res.destroy()
        }
      }
    )
    if (!finished) res.once("close", () => finished || cancel())
  }

  const drained = (res: ServerResponse) =>
    Effect.async<void>((resume) => {
      const go = () => resume(Effect.void)
      res.once("drain", go)
      return Effect.sync(() => void res.off("drain", go))
    })

  /** A failure's answer, or a defect's (logged), as every request of the app gets them. */
  const answered = <R>(
    work: Effect.Effect<HttpServerResponse.HttpServerResponse, AnyError, R>,
    accept: string | undefined,
    browser: boolean,
    segments: ReadonlyArray<string> | undefined,
    urls: Urls
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
    work.pipe(
      Effect.catchAll((e) =>
        Effect.succeed(
          errorResponse(accept, browser, e, e._tag === "JobNotFound" ? urls.list : backUrl(segments, urls), urls.assets, e._tag === "JobNotFound" && config.layout === "tap")
        )
      ),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logError("uws-kit REST: unexpected failure", cause).pipe(
              Effect.as(
                errorResponse(
                  accept,
                  browser,
                  new RestError({ kind: "InternalError", message: "The service failed unexpectedly; the failure was logged." }),
                  urls.list
                )
              )
            )
      )
    ) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>

  // The platform runs an app uninterruptibly (so that a response is always finished); the work
  // inside must stay interruptible, or a race (a blocking WAIT against its wake-up) could never
  // cancel its loser and a client that hangs up could not stop its request.
  const app = Effect.interruptible(Effect.gen(function* () {
    const req = yield* HttpServerRequest.HttpServerRequest
    const { accept, browser, loc, urls } = seen(req as never)
    return yield* answered(Effect.gen(function* () {
      if (config.isClosed()) {
        return yield* Effect.fail(new RestError({ kind: "ServiceUnavailable", message: "The service is shutting down.", headers: { "retry-after": "5" } }))
      }
      if (loc.segments === undefined) return yield* Effect.fail(badRequest("The request path is not valid percent-encoded UTF-8."))
      const method = (req.method === "HEAD" ? "GET" : req.method) as Method
      const routed = router(req.method, routedPath(loc.segments), { req, method, accept, browser, loc, urls })
      return yield* routed ?? Effect.fail(new RestError({ kind: "NotFound", message: `There is no UWS resource at ${req.url.split("?")[0]}.` }))
    }), accept, browser, loc.segments, urls)
  }))
  return { app, fast: (req: IncomingMessage, res: ServerResponse, hostCaller: Caller | undefined) => fast(req, res, hostCaller) || fastChange(req, res, hostCaller) }
}
