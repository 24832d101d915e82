/**
 * A job's parameters: the list, one parameter (its values or its upload), POST to add or replace,
 * PUT of one value or content (UWS 1.1 §2.1.11).
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Parameter } from "@uws-kit/core/Job"
import type { Upload } from "@uws-kit/core/Uws"
import { BrowserPages, Streamed } from "@uws-kit/http"
import { Effect, Either } from "effect"
import * as Json from "../../Json.js"
import * as Xml from "../../Xml.js"
import { FORM_TYPES, decodeText, mediaTypeOf, readBytes, spoolBody } from "../body.js"
import { RestError, badRequest } from "../errors.js"
import * as Form from "../form.js"
import { isUpload } from "../links.js"
import { DOCUMENTS } from "../negotiate.js"
import * as Params from "../params.js"
import { fromEither, header, type Ctx, type Deps, type Handler } from "../request.js"
import { represent, see } from "../respond.js"

/** Adds or replaces parameters (and uploads) of a PENDING job; RUNID sets its runId. */
export type Update = ReturnType<typeof make>["updateParameters"]

export const make = (deps: Deps) => {
  const { config, service, limit, formOf } = deps

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
        return Streamed.response(ctx.req, content.stream, {
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

  return { getParameters, getParameter, postParameters, putParameter, updateParameters }
}
