/**
 * The job list: GET lists (PHASE, AFTER, LAST filters; `limit`/`cursor` pages), POST creates.
 */
import type * as Phase from "@uws-kit/core/Phase"
import type { Upload } from "@uws-kit/core/Uws"
import { Iso8601 } from "@uws-kit/http"
import { Effect, Either } from "effect"
import * as Html from "../../Html.js"
import * as Json from "../../Json.js"
import * as Xml from "../../Xml.js"
import { badRequest } from "../errors.js"
import * as Form from "../form.js"
import { PAGES } from "../negotiate.js"
import * as Params from "../params.js"
import { fromEither, header, type Ctx, type Deps, type Handler } from "../request.js"
import { decodeText, mediaTypeOf, readBytes } from "../body.js"
import type { JobDescription } from "../../RestAdapter.js"
import { represent, see } from "../respond.js"

/** Creates a job from a form (and runs it when `forceRun`). */
export type Create = ReturnType<typeof make>["create"]

export const make = (deps: Deps) => {
  const { config, service, formOf } = deps

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

  // A chain, not Effect.gen: every creation passes here.
  const create = (ctx: Pick<Ctx, "caller">, pairs: Form.Pairs, uploads: ReadonlyArray<Upload>, forceRun: boolean) =>
    Effect.flatMap(fromEither(Params.creation(pairs)), (request) =>
      service.create(ctx.caller, {
        ...request,
        ...(uploads.length === 0 ? {} : { uploads }),
        ...(forceRun ? { run: true } : {})
      })
    )

  /** A job description document (RestOptions.jobDescription): job control from the query, parameters from `parse`. */
  const describedJob = (ctx: Ctx, description: JobDescription, charset: string | undefined) =>
    Effect.gen(function* () {
      const bytes = yield* readBytes(ctx.req, deps.limit)
      const text = yield* fromEither(Either.mapLeft(decodeText(bytes, charset), (e) => `Bad job description: ${e}`))
      const parsed = description.parse(text)
      if (parsed._tag === "Left") return yield* Effect.fail(badRequest(`Bad job description: ${parsed.left}`))
      const control = yield* fromEither(Params.creation(ctx.query))
      if (control.parameters.length > 0) {
        return yield* Effect.fail(badRequest(`With a job description, the query string carries job control only, not ${control.parameters[0]!.name}.`))
      }
      return yield* service.create(ctx.caller, { ...control, parameters: parsed.right })
    })

  const createJob: Handler = (ctx) =>
    Effect.gen(function* () {
      const description = config.jobDescription
      if (description !== undefined) {
        const mt = mediaTypeOf(header(ctx.req, "content-type"))
        if (description.mediaTypes.includes(mt.type)) {
          const job = yield* describedJob(ctx, description, mt.params["charset"])
          return see(ctx.urls.job(job.jobId))
        }
      }
      const form = yield* formOf(ctx)
      const job = yield* create(ctx, form.params, form.uploads, false)
      return see(ctx.urls.job(job.jobId))
    })

  return { listJobs, create, createJob }
}
