/**
 * A job's results: the list, and each result (its content, its application's view of it for the
 * URL's query string, or a redirect to where it is).
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type { IncomingMessage } from "node:http"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { BrowserPages, Streamed } from "@uws-kit/http"
import * as ResultView from "@uws-kit/core/ResultView"
import { Content } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import { Effect } from "effect"
import * as Json from "../../Json.js"
import * as Xml from "../../Xml.js"
import { resultHref } from "../links.js"
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
    isStored(resultId) ? getStored(jobId, resultId)(ctx) : getView(jobId, resultId)(ctx)

  const getView = (jobId: string, resultId: string): Handler => (ctx) =>
    Effect.map(
      ResultView.render(service, ctx.caller, { jobId, resultId, query: ctx.query, url: resultHref(ctx.urls.job(jobId), { id: resultId }) }),
      (view) =>
        Streamed.response(ctx.req, Content.toStream(view!.content), {
          contentType: view!.mimeType ?? "application/octet-stream",
          // A view changes with its query string and with nothing a cache could validate.
          headers: { "cache-control": "no-store", ...BrowserPages.contentHeaders }
        })
    )

  const getStored = (jobId: string, resultId: string): Handler => (ctx) => stored(ctx.caller, jobId, resultId, ctx.req)

  /**
   * A stored result's answer (its content, or a redirect to where it lives). The Node listener
   * answers a plain GET of one with it too (`isStored` first): one code path for the rules.
   */
  const stored = (caller: Caller, jobId: string, resultId: string, req: HttpServerRequest.HttpServerRequest | IncomingMessage) =>
    Effect.map(service.result(caller, jobId, resultId), ({ ref, content }) => {
      if (content === undefined) return see(ref.href!)
      const options = {
        contentType: content.mimeType ?? ref.mimeType ?? "application/octet-stream",
        headers: { "cache-control": "no-cache", ...BrowserPages.contentHeaders }
      }
      // Content the store holds in memory goes out in one write: streaming a small result cost
      // ~1 ms of CPU (the stream's machinery), most of a GET's.
      return content.bytes !== undefined
        ? HttpServerResponse.uint8Array(content.bytes, options)
        : Streamed.response(req, content.stream, { ...options, contentLength: content.size })
    })

  /** Whether the result's answer is its stored content (no application view renders it). */
  const isStored = (resultId: string) => ResultView.viewOf(service, resultId) === undefined

  return { getResults, getResult, stored, isStored }
}
