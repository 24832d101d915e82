/**
 * A job's results: the list, and each result (its content, or a redirect to where it is).
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { BrowserPages } from "@uws-kit/http"
import { Effect } from "effect"
import * as Json from "../../Json.js"
import * as Xml from "../../Xml.js"
import { DOCUMENTS } from "../negotiate.js"
import { type Deps, type Handler } from "../request.js"
import { represent, see } from "../respond.js"

export const make = (deps: Deps) => {
  const { service } = deps

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

  return { getResults, getResult }
}
