/**
 * What only browsers use: the pages' stylesheet and script, and the page that asks before a delete.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import * as Html from "../../Html.js"
import { type Deps, type Handler } from "../request.js"
import { body } from "../respond.js"

export const ASSETS_SEGMENT = "uws-assets"

/** The pages' stylesheet and script, served under the base path, cacheable for ever (versioned names). */
export const ASSETS: Readonly<Record<string, { readonly type: string; readonly text: string }>> = {
  [Html.assetName.stylesheet]: { type: "text/css; charset=utf-8", text: Html.stylesheet },
  [Html.assetName.script]: { type: "text/javascript; charset=utf-8", text: Html.script }
}

export const asset = (name: string) => {
  const found = ASSETS[name]
  return found === undefined
    ? undefined
    : HttpServerResponse.text(found.text, {
        contentType: found.type,
        headers: { "cache-control": "public, max-age=31536000, immutable", "x-content-type-options": "nosniff" }
      })
}

export const make = (deps: Deps) => {
  const { config, service } = deps

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

  return { confirmDelete }
}
