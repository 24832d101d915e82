/**
 * The REST binding as one @effect/platform HTTP app: route → identify → parse → call the Uws
 * service → render. The web handler and the Node listener are both built from it.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { LimitExceeded } from "@uws-kit/core/Errors"
import type { Caller } from "@uws-kit/core/Identity"
import type { Job, Parameter } from "@uws-kit/core/Job"
import * as JobMachine from "@uws-kit/core/JobMachine"
import * as Phase from "@uws-kit/core/Phase"
import * as Policy from "@uws-kit/core/Policy"
import type { Upload, UwsService } from "@uws-kit/core/Uws"
import { BrowserPages, type CrossSite, Header, Identity, Iso8601, Routes, Xml as XmlReader } from "@uws-kit/http"
import { Cause, Deferred, Duration, Effect, Either, type Scope } from "effect"
import * as Html from "../Html.js"
import * as Json from "../Json.js"
import * as Xml from "../Xml.js"
import {
  FORM_TYPES,
  decodeText,
  discardBody,
  mediaTypeOf,
  readBytes,
  readForm,
  spoolBody,
  unsupportedMediaType
} from "./body.js"
import { REASON, RestError, badRequest, headersOf, statusOf, tagOf, type AnyError } from "./errors.js"
import * as Form from "./form.js"
import { isUpload, resultHref } from "./links.js"
import { ATOMS, DOCUMENTS, ERRORS, PAGES, isBrowser, negotiate, onlyXml, type MediaType } from "./negotiate.js"
import * as Params from "./params.js"
import { joinSegments, locate, type Location } from "./urls.js"

export interface Config extends Identity.Options {
  readonly service: UwsService
  readonly base: ReadonlyArray<string>
  readonly jobs: ReadonlyArray<string>
  readonly sync: ReadonlyArray<string>
  readonly maxBodyBytes: number
  readonly title: string
  readonly trustForwarded: boolean
  /** `tap`: errors a TAP client parses (sync job in ERROR, unknown job) are DALI VOTable documents. */
  readonly layout: "uws" | "tap"
  readonly closing: Deferred.Deferred<void>
  readonly isClosed: () => boolean
  /** Refuses state-changing requests from other sites' pages (CSRF). */
  readonly crossSite: ReturnType<typeof CrossSite.make>
  /** Where uploads are spooled while a request is read. */
  readonly spoolDirectory: string
}

type Method = "GET" | "POST" | "PUT" | "DELETE"

interface Urls {
  readonly list: string
  readonly job: (jobId: string) => string
  readonly sync: string
  readonly syncJob: (jobId: string) => string
  readonly assets: Html.Assets
}

interface Ctx {
  readonly req: HttpServerRequest.HttpServerRequest
  readonly method: Method
  readonly accept: string | undefined
  /** Only browsers get HTML (see negotiate.ts). */
  readonly browser: boolean
  readonly loc: Location
  readonly urls: Urls
  readonly query: Form.Pairs
  readonly caller: Caller
}

type Handler = (ctx: Ctx) => Effect.Effect<HttpServerResponse.HttpServerResponse, AnyError, Scope.Scope>

// ---- responses -------------------------------------------------------------------------------

const CONTENT_TYPE: Record<MediaType, string> = {
  "application/xml": "application/xml; charset=utf-8",
  "text/xml": "text/xml; charset=utf-8",
  "application/json": "application/json; charset=utf-8",
  "text/html": "text/html; charset=utf-8",
  "text/plain": "text/plain; charset=utf-8"
}

const NEGOTIATED = { vary: "Accept", "cache-control": "no-cache" } as const

const see = (location: string) => HttpServerResponse.empty({ status: 303, headers: { location } })

// HTML pages load their stylesheet and script from this binding (same origin), nothing inline.
const PAGE_HEADERS = BrowserPages.headers({ script: "'self'", style: "'self'" })

const body = (type: MediaType, text: string, headers: Readonly<Record<string, string>> = {}, status = 200) =>
  HttpServerResponse.text(text, {
    status,
    contentType: CONTENT_TYPE[type],
    headers: type === "text/html" ? { ...NEGOTIATED, ...PAGE_HEADERS, ...headers } : { ...NEGOTIATED, ...headers }
  })

const ASSETS_SEGMENT = "uws-assets"

/** The pages' stylesheet and script, served under the base path, cacheable for ever (versioned names). */
const ASSETS: Readonly<Record<string, { readonly type: string; readonly text: string }>> = {
  [Html.assetName.stylesheet]: { type: "text/css; charset=utf-8", text: Html.stylesheet },
  [Html.assetName.script]: { type: "text/javascript; charset=utf-8", text: Html.script }
}

const asset = (name: string) => {
  const found = ASSETS[name]
  return found === undefined
    ? undefined
    : HttpServerResponse.text(found.text, {
        contentType: found.type,
        headers: { "cache-control": "public, max-age=31536000, immutable", "x-content-type-options": "nosniff" }
      })
}

interface Renderings {
  readonly xml?: () => string
  readonly json?: () => unknown
  readonly html?: () => string
  readonly text?: () => string
}

const represent = (
  ctx: Ctx,
  offers: ReadonlyArray<MediaType>,
  r: Renderings,
  headers: Readonly<Record<string, string>> = {}
): HttpServerResponse.HttpServerResponse => {
  const type = negotiate(ctx.accept, offers, ctx.browser)
  switch (type) {
    case "application/xml":
    case "text/xml":
      return body(type, r.xml!(), headers)
    case "application/json":
      return body(type, JSON.stringify(r.json!()), headers)
    case "text/html":
      return body(type, r.html!(), headers)
    case "text/plain":
      return body(type, r.text!(), headers)
  }
}

const escapeXml = Xml.escapeText

/** A DALI error document: what IVOA tools (pyvo, TOPCAT) already know how to read and show. */
const daliError = (type: "application/xml" | "text/xml", message: string, status: number, tag: string, headers: Readonly<Record<string, string>>) =>
  body(
    type,
    `<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n  <RESOURCE type="results">\n    <INFO name="QUERY_STATUS" value="ERROR">${escapeXml(message)}</INFO>\n    <INFO name="HTTP_STATUS" value="${status}"/>\n    <INFO name="ERROR_TAG" value="${tag}"/>\n  </RESOURCE>\n</VOTABLE>\n`,
    headers,
    status
  )

const errorResponse = (
  accept: string | undefined,
  browser: boolean,
  error: AnyError,
  backUrl: string | undefined,
  assets?: Html.Assets,
  dali = false
): HttpServerResponse.HttpServerResponse => {
  const status = statusOf(error)
  const tag = tagOf(error)
  const message = error.message
  const title = REASON[status] ?? "Error"
  const headers = { ...headersOf(error), "cache-control": "no-store" }
  const type = negotiate(accept, ERRORS, browser)
  // A TAP client (pyvo's get_job) parses whatever an error answers as VOTable.
  if (dali && (type === "text/plain" || type === "text/html")) return daliError("application/xml", message, status, tag, headers)
  switch (type) {
    case "text/plain":
      return body(type, `${message}\n`, headers, status)
    case "application/json":
      return body(type, JSON.stringify({ error: { status, tag, message } } satisfies Json.ErrorJson), headers, status)
    case "text/html":
      return body(type, Html.errorPage({ status, title, message, ...(backUrl === undefined ? {} : { backUrl }), ...(assets === undefined ? {} : { assets }) }), headers, status)
    case "application/xml":
    case "text/xml":
      return daliError(type, message, status, tag, headers)
  }
}

// ---- helpers ---------------------------------------------------------------------------------

const fromEither = <A>(e: Either.Either<A, string>): Effect.Effect<A, RestError> =>
  Either.isRight(e) ? Effect.succeed(e.right) : Effect.fail(badRequest(e.left))

const header = (req: HttpServerRequest.HttpServerRequest, name: string): string | undefined => Header.get(req.headers, name)

// ---- the app ---------------------------------------------------------------------------------

export const makeApp = (config: Config) => {
  const { service } = config
  const limit = config.maxBodyBytes

  const raceClosing = <A, E>(wait: Effect.Effect<A, E>, instead: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.raceFirst(wait, Deferred.await(config.closing).pipe(Effect.zipRight(instead)))

  const maxParameters = service.policy.maxParametersPerJob
  const pairLimit =
    maxParameters === null
      ? undefined
      : {
          maxPairs: maxParameters + 16,
          error: new LimitExceeded({
            limit: "maxParametersPerJob",
            description: Policy.describeLimit("maxParametersPerJob", maxParameters),
            actual: `more than ${maxParameters + 16} form fields`
          })
        }

  /** The form pairs of a POST: query string first, then the body. */
  const formOf = (ctx: Ctx) =>
    Effect.map(readForm(ctx.req, limit, config.spoolDirectory, pairLimit), (b) => ({ params: [...ctx.query, ...b.params] as Form.Pairs, uploads: b.uploads }))

  const renderJob = (ctx: Ctx, job: Job) => {
    const jobUrl = ctx.urls.job(job.jobId)
    return represent(ctx, PAGES, {
      xml: () => Xml.jobDocument(job, jobUrl),
      json: () => Json.job(job, jobUrl),
      html: () =>
        Html.jobPage({
          assets: ctx.urls.assets,
          title: config.title,
          listUrl: ctx.urls.list,
          jobUrl,
          job,
          resultUrl: (id) => {
            const ref = job.results.find((r) => r.id === id)
            return ref === undefined ? `${jobUrl}/results/${encodeURIComponent(id)}` : resultHref(jobUrl, ref)
          },
          acceptedEvents: JobMachine.acceptedEvents(job.phase)
        })
    })
  }

  /** An atom: text/plain, JSON on request, or a one-element UWS document for XML-only clients (v0.3). */
  const atom = (ctx: Ctx, key: string, text: string, value: unknown) => {
    const xml = onlyXml(ctx.accept)
    return xml === undefined
      ? represent(ctx, ATOMS, { text: () => text, json: () => ({ [key]: value }) })
      : body(xml, Xml.atomDocument(key, value === null ? null : text))
  }

  // ---- job list ------------------------------------------------------------------------------

  const listJobs: Handler = (ctx) =>
    Effect.gen(function* () {
      const q = ctx.query
      const phases: Array<Phase.Phase> = []
      for (const v of Params.values(q, "phase")) phases.push(yield* fromEither(Params.parsePhase(v)))
      let after: number | undefined
      for (const v of Params.values(q, "after")) {
        const t = yield* fromEither(Either.mapLeft(Iso8601.parse(v), (r) => `AFTER: ${r}`))
        after = after === undefined ? t : Math.max(after, t)
      }
      const last = yield* fromEither(Params.parseLast(Params.values(q, "last")))
      const limitText = yield* fromEither(Params.single(q, "limit", "limit"))
      let pageSize: number | undefined
      if (limitText !== undefined) {
        if (!/^\d+$/.test(limitText.trim()) || Number(limitText) < 1) {
          return yield* Effect.fail(badRequest(`limit=${limitText} is not a whole number greater than 0.`))
        }
        pageSize = Number(limitText)
      }
      const cursor = yield* fromEither(Params.single(q, "cursor", "cursor"))
      const page = yield* service.list(ctx.caller, {
        ...(phases.length === 0 ? {} : { phases }),
        ...(after === undefined ? {} : { after }),
        ...(last === undefined ? {} : { last }),
        ...(pageSize === undefined ? {} : { limit: pageSize }),
        ...(cursor === undefined ? {} : { cursor })
      })
      const filters: Array<readonly [string, string]> = [
        ...phases.map((p) => ["PHASE", p] as const),
        ...(after === undefined ? [] : [["AFTER", Iso8601.format(after)] as const]),
        ...(last === undefined ? [] : [["LAST", String(last)] as const])
      ]
      const next =
        page.next === null || pageSize === undefined
          ? null
          : `${ctx.urls.list}?${Form.stringify([...filters, ["limit", String(pageSize)], ["cursor", page.next]])}`
      return represent(
        ctx,
        PAGES,
        {
          xml: () => Xml.jobListDocument(page.jobs, ctx.urls.job),
          json: () => Json.jobList(page.jobs, ctx.urls.job, next),
          html: () =>
            Html.jobListPage({ assets: ctx.urls.assets, title: config.title, listUrl: ctx.urls.list, jobs: page.jobs, jobUrl: ctx.urls.job, query: Form.stringify(filters) })
        },
        next === null ? {} : { link: `<${next}>; rel="next"` }
      )
    })

  const create = (ctx: Ctx, pairs: Form.Pairs, uploads: ReadonlyArray<Upload>, forceRun: boolean) =>
    Effect.gen(function* () {
      const request = yield* fromEither(Params.creation(pairs))
      return yield* service.create(ctx.caller, {
        ...request,
        ...(uploads.length === 0 ? {} : { uploads }),
        ...(forceRun ? { run: true } : {})
      })
    })

  const createJob: Handler = (ctx) =>
    Effect.gen(function* () {
      const form = yield* formOf(ctx)
      const job = yield* create(ctx, form.params, form.uploads, false)
      return see(ctx.urls.job(job.jobId))
    })

  // ---- one job -------------------------------------------------------------------------------

  const getJob =
    (jobId: string): Handler =>
    (ctx) =>
      Effect.gen(function* () {
        const wait = yield* fromEither(Params.parseWait(Params.values(ctx.query, "wait")))
        const guards = Params.values(ctx.query, "phase")
        if (guards.length > 1) return yield* Effect.fail(badRequest("Give at most one PHASE with WAIT."))
        const phase = guards.length === 0 ? undefined : yield* fromEither(Params.parsePhase(guards[0]!))
        const job =
          wait === undefined
            ? yield* service.get(ctx.caller, jobId)
            : yield* raceClosing(
                service.waitForChange(ctx.caller, jobId, {
                  timeout: wait === "indefinitely" ? "indefinitely" : Duration.seconds(wait),
                  ...(phase === undefined ? {} : { phase })
                }),
                service.get(ctx.caller, jobId)
              )
        return renderJob(ctx, job)
      })

  const deleteJob =
    (jobId: string): Handler =>
    (ctx) =>
      Effect.as(service.delete(ctx.caller, jobId), see(ctx.urls.list))

  /** The HTML page that asks before a delete (the job page's Delete button leads here). */
  const confirmDelete =
    (jobId: string): Handler =>
    (ctx) =>
      Effect.map(service.get(ctx.caller, jobId), (job) =>
        body(
          "text/html",
          Html.deleteConfirmationPage({ assets: ctx.urls.assets, title: config.title, listUrl: ctx.urls.list, jobUrl: ctx.urls.job(jobId), job }),
          { "cache-control": "no-store" }
        )
      )

  const postJob =
    (jobId: string): Handler =>
    (ctx) =>
      Effect.gen(function* () {
        const form = yield* formOf(ctx)
        const actions = Params.values(form.params, "action")
        if (actions.length > 0) {
          if (!actions.every((a) => a.trim().toUpperCase() === "DELETE")) {
            return yield* Effect.fail(badRequest(`ACTION=${actions.find((a) => a.trim().toUpperCase() !== "DELETE")} is not known; the only action is ACTION=DELETE.`))
          }
          yield* service.delete(ctx.caller, jobId)
          return see(ctx.urls.list)
        }
        // UWS v0.3: "Posting a request to the Job also destroys the job" (one with nothing in it).
        if (form.params.length === 0 && form.uploads.length === 0) {
          yield* service.delete(ctx.caller, jobId)
          return see(ctx.urls.list)
        }
        return yield* updateParameters(ctx, jobId, form.params, form.uploads)
      })

  const updateParameters = (
    ctx: Ctx,
    jobId: string,
    pairs: Form.Pairs,
    uploads: ReadonlyArray<Upload>
  ) =>
    Effect.gen(function* () {
      yield* fromEither(Params.checkNames(pairs))
      const control = pairs.find(([n]) => Params.isControl(n) && n.toLowerCase() !== "runid")
      if (control !== undefined) {
        return yield* Effect.fail(
          badRequest(`${control[0]} is not a job parameter; POST it to ${ctx.urls.job(jobId)}/${control[0].toLowerCase()}.`)
        )
      }
      // RUNID among the parameters of a PENDING job sets its runId (pyvo, TOPCAT send it so).
      const runId = yield* fromEither(Params.single(pairs, "runid", "RUNID"))
      const parameters: Array<Parameter> = pairs.filter(([n]) => !Params.isControl(n)).map(([name, value]) => ({ name, value }))
      if (parameters.length === 0 && uploads.length === 0 && runId === undefined) {
        return yield* Effect.fail(
          badRequest("Nothing to do: POST name=value pairs (or uploads) to add or replace parameters of a PENDING job.")
        )
      }
      yield* service.updateParameters(ctx.caller, jobId, parameters, uploads, runId === undefined ? {} : { runId })
      return see(ctx.urls.job(jobId))
    })

  // ---- atoms ---------------------------------------------------------------------------------

  const getPhase = (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) => atom(ctx, "phase", job.phase, job.phase))

  const postPhase = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const form = yield* formOf(ctx)
      const phase = yield* fromEither(Params.single(form.params, "phase", "PHASE"))
      if (phase === undefined) return yield* Effect.fail(badRequest("Send PHASE=RUN to start the job or PHASE=ABORT to abort it."))
      const p = phase.trim().toUpperCase()
      if (p === "RUN") yield* service.run(ctx.caller, jobId)
      else if (p === "ABORT") yield* service.abort(ctx.caller, jobId)
      else return yield* Effect.fail(badRequest(`PHASE=${phase} cannot be requested; send PHASE=RUN or PHASE=ABORT.`))
      return see(ctx.urls.job(jobId))
    })

  const getDuration = (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) => atom(ctx, "executionDuration", String(job.executionDuration), job.executionDuration))

  const postDuration = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const form = yield* formOf(ctx)
      const text = yield* fromEither(Params.single(form.params, "executionduration", "EXECUTIONDURATION"))
      if (text === undefined) return yield* Effect.fail(badRequest("Send EXECUTIONDURATION=<whole seconds, 0 = unlimited>."))
      const seconds = yield* fromEither(Params.parseDuration(text))
      yield* service.setExecutionDuration(ctx.caller, jobId, seconds)
      return see(ctx.urls.job(jobId))
    })

  const getDestruction = (key: string) => (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) =>
      atom(ctx, key, Iso8601.formatOrEmpty(job.destruction), job.destruction === null ? null : Iso8601.format(job.destruction))
    )

  const setDestruction = (ctx: Ctx, jobId: string, name: string, text: string) =>
    Effect.gen(function* () {
      const destruction = yield* fromEither(Params.parseDestruction(name, text))
      yield* service.setDestruction(ctx.caller, jobId, destruction)
      return see(ctx.urls.job(jobId))
    })

  const postDestruction = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const form = yield* formOf(ctx)
      const text = yield* fromEither(Params.single(form.params, "destruction", "DESTRUCTION"))
      if (text === undefined) return yield* Effect.fail(badRequest("Send DESTRUCTION=<ISO 8601 instant, e.g. 2026-01-31T12:00:00Z>."))
      return yield* setDestruction(ctx, jobId, "DESTRUCTION", text)
    })

  /** UWS 0.3: POST TIME= (DESTRUCTION= is accepted too). */
  const postTermination = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const form = yield* formOf(ctx)
      const time = yield* fromEither(Params.single(form.params, "time", "TIME"))
      const text = time ?? (yield* fromEither(Params.single(form.params, "destruction", "DESTRUCTION")))
      if (text === undefined) return yield* Effect.fail(badRequest("Send TIME=<ISO 8601 instant, e.g. 2026-01-31T12:00:00Z>."))
      return yield* setDestruction(ctx, jobId, "TIME", text)
    })

  /** UWS 0.3: PUT a replacement termination document (the instant as text, or in one XML element). */
  const putTermination = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const mt = mediaTypeOf(header(ctx.req, "content-type"))
      if (FORM_TYPES.includes(mt.type as (typeof FORM_TYPES)[number])) return yield* postTermination(jobId)(ctx)
      const accepted = ["text/plain", "application/xml", "text/xml", ...FORM_TYPES]
      if (mt.type !== "" && !accepted.includes(mt.type)) return yield* Effect.fail(unsupportedMediaType(mt.type, accepted))
      const bytes = yield* readBytes(ctx.req, limit)
      const text = yield* fromEither(Either.mapLeft(decodeText(bytes, mt.params["charset"]), (e) => `Bad termination document: ${e}`))
      let instant = text.trim()
      if (instant.startsWith("<")) {
        // The one safe reader: no DTD (so no entity is ever expanded into the instant), limits.
        const doc = XmlReader.read(instant, { maxTextLength: limit })
        if ("problem" in doc) return yield* Effect.fail(badRequest(`The termination document is refused: ${doc.problem.message}`))
        const found: Array<string> = []
        const collect = (e: XmlReader.Element) => {
          if (e.text.trim() !== "") found.push(e.text.trim())
          for (const c of e.children) collect(c)
        }
        collect(doc.root)
        if (found.length !== 1) return yield* Effect.fail(badRequest("The termination document must hold exactly one instant."))
        instant = found[0]!
      }
      if (instant === "") return yield* Effect.fail(badRequest("The termination document is empty; send an ISO 8601 instant."))
      return yield* setDestruction(ctx, jobId, "termination", instant)
    })

  const getQuote = (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) =>
      atom(ctx, "quote", Iso8601.formatOrEmpty(job.quote), job.quote === null ? null : Iso8601.format(job.quote))
    )

  /** UWS 0.3: POST to the quote accepts it, which commits the job (= PHASE=RUN). */
  const postQuote = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      yield* formOf(ctx)
      yield* service.run(ctx.caller, jobId)
      return see(ctx.urls.job(jobId))
    })

  const getOwner = (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) => atom(ctx, "ownerId", job.ownerId ?? "", job.ownerId))

  const getError = (jobId: string): Handler => (ctx) =>
    Effect.map(service.error(ctx.caller, jobId), (summary) =>
      represent(ctx, ATOMS, {
        text: () => (summary.detail === undefined ? `${summary.message}\n` : `${summary.message}\n\n${summary.detail}\n`),
        json: () => Json.error(summary)
      })
    )

  // ---- results and parameters ----------------------------------------------------------------

  const getResults = (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) => {
      const jobUrl = ctx.urls.job(jobId)
      return represent(ctx, DOCUMENTS, {
        xml: () => Xml.resultsDocument(job, jobUrl),
        json: () => ({ results: job.results.map((r) => Json.result(jobUrl, r)) })
      })
    })

  const getResult = (jobId: string, resultId: string): Handler => (ctx) =>
    Effect.map(service.result(ctx.caller, jobId, resultId), ({ ref, content }) =>
      content === undefined
        ? see(ref.href!)
        : HttpServerResponse.stream(content.stream, {
            contentType: content.mimeType ?? ref.mimeType ?? "application/octet-stream",
            contentLength: content.size,
            headers: { "cache-control": "no-cache", ...BrowserPages.contentHeaders }
          })
    )

  const getParameters = (jobId: string): Handler => (ctx) =>
    Effect.map(service.get(ctx.caller, jobId), (job) => {
      const jobUrl = ctx.urls.job(jobId)
      return represent(ctx, DOCUMENTS, {
        xml: () => Xml.parametersDocument(job, jobUrl),
        json: () => ({ parameters: Json.parameters(job, jobUrl) })
      })
    })

  const getParameter = (jobId: string, name: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const job = yield* service.get(ctx.caller, jobId)
      const key = name.toLowerCase()
      const matching = job.parameters.filter((p) => p.name.toLowerCase() === key)
      const upload = matching.find(isUpload)
      if (upload !== undefined) {
        const content = yield* service.upload(ctx.caller, jobId, upload.name)
        return HttpServerResponse.stream(content.stream, {
          contentType: content.mimeType ?? "application/octet-stream",
          contentLength: content.size,
          headers: { "cache-control": "no-cache", ...BrowserPages.contentHeaders }
        })
      }
      const notFound = () => Effect.fail(badNotFound(jobId, name))
      if (matching.length === 0) return yield* notFound()
      const indexText = Params.values(ctx.query, "index")[0]
      let values = matching.map((p) => p.value)
      if (indexText !== undefined) {
        const i = Number(indexText)
        if (!/^\d+$/.test(indexText) || i >= values.length) return yield* notFound()
        values = [values[i]!]
      }
      return HttpServerResponse.text(values.join("\n"), {
        contentType: "text/plain; charset=utf-8",
        headers: { "cache-control": "no-cache" }
      })
    })

  const badNotFound = (jobId: string, name: string) =>
    new RestError({ kind: "NotFound", message: `Job "${jobId}" has no parameter "${name}".` })

  const postParameters = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const form = yield* formOf(ctx)
      return yield* updateParameters(ctx, jobId, form.params, form.uploads)
    })

  /** UWS 1.1 §2.1.11: PUT a parameter's value (text/plain), or its content (any other type: an upload). */
  const putParameter = (jobId: string, name: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const mt = mediaTypeOf(header(ctx.req, "content-type"))
      if (mt.type === "" || mt.type === "text/plain") {
        const bytes = yield* readBytes(ctx.req, limit)
        const value = yield* fromEither(Either.mapLeft(decodeText(bytes, mt.params["charset"]), (e) => `Bad value of ${name}: ${e}`))
        return yield* updateParameters(ctx, jobId, [[name, value]], [])
      }
      if (FORM_TYPES.includes(mt.type as (typeof FORM_TYPES)[number])) {
        return yield* Effect.fail(
          new RestError({
            kind: "UnsupportedMediaType",
            message: `PUT the value as text/plain (or the content with its own type); to send a form, POST it to ${ctx.urls.job(jobId)}/parameters.`
          })
        )
      }
      const upload = yield* spoolBody(ctx.req, name, header(ctx.req, "content-type"), limit, config.spoolDirectory)
      return yield* updateParameters(ctx, jobId, [], [upload])
    })

  // ---- sync facade ---------------------------------------------------------------------------

  const createSync: Handler = (ctx) =>
    Effect.gen(function* () {
      // A GET's body means nothing here, but the job is created only once the request is whole.
      const form = ctx.method === "POST" ? yield* formOf(ctx) : yield* Effect.as(discardBody(ctx.req, limit), { params: ctx.query, uploads: [] })
      const job = yield* create(ctx, form.params, form.uploads, true)
      return see(ctx.urls.syncJob(job.jobId))
    })

  /** Where a sync request goes once the job's phase says so; `undefined` = keep waiting. */
  const syncTarget = (ctx: Ctx, job: Job): string | undefined => {
    const jobUrl = ctx.urls.job(job.jobId)
    switch (job.phase) {
      case "COMPLETED": {
        const main = job.results.find((r) => r.id === "result") ?? job.results[0]
        return main === undefined ? `${jobUrl}/results` : resultHref(jobUrl, main)
      }
      case "ERROR":
      case "ABORTED":
        return job.errorSummary === null ? jobUrl : `${jobUrl}/error`
      case "QUEUED":
      case "EXECUTING":
      case "SUSPENDED":
        return undefined
      default:
        // PENDING, HELD, UNKNOWN, ARCHIVED: nothing more will happen by itself.
        return jobUrl
    }
  }

  /**
   * Blocks until the job is over, at most the service's `maxWait` per request, then sends the
   * client to the result (or the error). When the job is still running at the cap, it sends the
   * client back to this same URL: every response stays under proxy time-outs, and HTTP clients
   * following redirects keep waiting.
   */
  const waitSync = (jobId: string): Handler => (ctx) =>
    Effect.gen(function* () {
      const job = yield* service.get(ctx.caller, jobId)
      const now = syncTarget(ctx, job)
      if (now !== undefined) return syncAnswer(job, now)
      if (config.isClosed()) return see(ctx.urls.syncJob(jobId))
      const later = yield* raceClosing(
        service.waitForChange(ctx.caller, jobId, { timeout: "indefinitely", untilFinal: true }),
        Effect.succeed(job)
      )
      const target = syncTarget(ctx, later)
      return target === undefined ? see(ctx.urls.syncJob(jobId)) : syncAnswer(later, target)
    })

  /**
   * A finished sync job sends the client on to its outcome; under the TAP layout a job in ERROR
   * answers the DALI error document itself (TAP clients parse a sync answer as VOTable).
   */
  const syncAnswer = (job: Job, target: string) =>
    config.layout === "tap" && job.phase === "ERROR" && job.errorSummary !== null
      ? daliError("application/xml", job.errorSummary.message, 400, "JobFailed", { "cache-control": "no-store" })
      : see(target)

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
      return Effect.flatMap(identify(found.req, found.loc), (caller) => handler(params)({ ...found, query: query.right, caller }))
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
    { path: at(`${job}/delete`), methods: { GET: id(confirmDelete) } }
  ]

  const router = Routes.make(routes, {
    methodNotAllowed: (method, allow) =>
      Effect.fail(new RestError({ kind: "MethodNotAllowed", message: `${method} is not allowed here; use ${allow}.`, headers: { allow } }))
  })

  /** A job's sub-resource names are matched in any case (`/jobs/1/PHASE`), as clients send them. */
  const SUBRESOURCES = new Set(["phase", "executionduration", "destruction", "termination", "quote", "error", "results", "parameters", "owner", "delete"])
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

  const identify = (req: HttpServerRequest.HttpServerRequest, loc: Location): Effect.Effect<Caller, RestError> =>
    Identity.resolve(req, config, refusals, () => {
      const original = (req.source as { originalUrl?: string }).originalUrl ?? req.url
      return `${loc.origin}${original.startsWith("/") ? original : `/${original}`}`
    })

  /** Where an HTML error page links back to: the job the request was about, else the list. */
  const backUrl = (segs: ReadonlyArray<string> | undefined, urls: Urls): string =>
    segs !== undefined && segs.length > config.jobs.length && startsWith(segs, config.jobs) && !startsWith(segs, config.sync)
      ? urls.job(segs[config.jobs.length]!)
      : urls.list

  // ---- the app -------------------------------------------------------------------------------

  // The platform runs an app uninterruptibly (so that a response is always finished); the work
  // inside must stay interruptible, or a race (a blocking WAIT against its wake-up) could never
  // cancel its loser and a client that hangs up could not stop its request.
  return Effect.interruptible(Effect.gen(function* () {
    const req = yield* HttpServerRequest.HttpServerRequest
    const accept = header(req, "accept")
    const browser = isBrowser(accept, header(req, "sec-fetch-dest"))
    const loc = locate(req as never, config.base, config.trustForwarded)
    const root = `${loc.origin}${loc.prefix}`
    const list = root + joinSegments(config.jobs)
    const sync = root + joinSegments(config.sync)
    const urls: Urls = {
      list,
      job: (id) => `${list}/${encodeURIComponent(id)}`,
      sync,
      syncJob: (id) => `${sync}/${encodeURIComponent(id)}`,
      assets: {
        stylesheet: `${root}/${ASSETS_SEGMENT}/${Html.assetName.stylesheet}`,
        script: `${root}/${ASSETS_SEGMENT}/${Html.assetName.script}`
      }
    }
    return yield* Effect.gen(function* () {
      if (config.isClosed()) {
        return yield* Effect.fail(new RestError({ kind: "ServiceUnavailable", message: "The service is shutting down.", headers: { "retry-after": "5" } }))
      }
      if (loc.segments === undefined) return yield* Effect.fail(badRequest("The request path is not valid percent-encoded UTF-8."))
      const method = (req.method === "HEAD" ? "GET" : req.method) as Method
      const routed = router(req.method, routedPath(loc.segments), { req, method, accept, browser, loc, urls })
      return yield* routed ?? Effect.fail(new RestError({ kind: "NotFound", message: `There is no UWS resource at ${req.url.split("?")[0]}.` }))
    }).pipe(
      Effect.catchAll((e) =>
        Effect.succeed(
          errorResponse(accept, browser, e, e._tag === "JobNotFound" ? list : backUrl(loc.segments, urls), urls.assets, e._tag === "JobNotFound" && config.layout === "tap")
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
                  list
                )
              )
            )
      )
    )
  }))
}
