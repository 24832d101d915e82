/**
 * A job's atomic resources: phase, executionduration, destruction and the v0.3 termination,
 * quote, owner, error.
 */
import type { Job } from "@uws-kit/core/Job"
import { Iso8601, Xml as XmlReader } from "@uws-kit/http"
import { Effect, Either } from "effect"
import * as Json from "../../Json.js"
import { FORM_TYPES, decodeText, mediaTypeOf, readBytes, unsupportedMediaType } from "../body.js"
import { badRequest } from "../errors.js"
import type * as Form from "../form.js"
import { ATOMS, negotiate } from "../negotiate.js"
import * as Params from "../params.js"
import { fromEither, header, type Ctx, type Deps, type Handler } from "../request.js"
import { atom, daliErrorDocument, represent, see } from "../respond.js"

export const make = (deps: Deps) => {
  const { service, limit, formOf } = deps

  const getPhase = (jobId: string): Handler => (ctx) => Effect.map(service.get(ctx.caller, jobId), (job) => renderPhase(ctx, job))

  /** A job's phase as `/phase` answers it (also the Node listener's, app.ts, for a job in memory). */
  const renderPhase = (ctx: Pick<Ctx, "accept" | "browser">, job: Job) => atom(ctx, "phase", job.phase, job.phase)

  const postPhase = (jobId: string): Handler => (ctx) => Effect.flatMap(formOf(ctx), (form) => changePhase(ctx, jobId, form.params))

  /** PHASE=RUN or ABORT from a form's fields (also the Node listener's, app.ts). */
  const changePhase = (ctx: Pick<Ctx, "caller" | "urls">, jobId: string, params: Form.Pairs) =>
    Effect.gen(function* () {
      const phase = yield* fromEither(Params.single(params, "phase", "PHASE"))
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

  // Under the TAP layout the error document is a DALI VOTable, as TAP clients expect, unless JSON is asked for.
  const tapError = (ctx: Ctx) => deps.config.layout === "tap" && negotiate(ctx.accept, ATOMS, ctx.browser) !== "application/json"

  const getError = (jobId: string): Handler => (ctx) =>
    Effect.map(service.error(ctx.caller, jobId), (summary) =>
      tapError(ctx) ? daliErrorDocument(summary.message, summary.detail) : represent(ctx, ATOMS, {
        text: () => (summary.detail === undefined ? `${summary.message}\n` : `${summary.message}\n\n${summary.detail}\n`),
        json: () => Json.error(summary)
      })
    )

  return { getPhase, renderPhase, postPhase, changePhase, getDuration, postDuration, getDestruction, postDestruction, postTermination, putTermination, getQuote, postQuote, getOwner, getError }
}
