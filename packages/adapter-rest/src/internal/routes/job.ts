/**
 * One job: GET (with WAIT), DELETE, and POST (ACTION=DELETE; an empty POST destroys it in v0.3;
 * anything else updates its parameters).
 */
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Job } from "@uws-kit/core/Job"
import * as JobMachine from "@uws-kit/core/JobMachine"
import { Duration, Effect } from "effect"
import * as Html from "../../Html.js"
import * as Json from "../../Json.js"
import * as Xml from "../../Xml.js"
import { badRequest } from "../errors.js"
import { resultHref } from "../links.js"
import { PAGES, negotiate, type MediaType } from "../negotiate.js"
import * as Params from "../params.js"
import type * as Parameters from "./parameters.js"
import { fromEither, type Ctx, type Deps, type Handler } from "../request.js"
import { representAs, see } from "../respond.js"

/** How many jobs' last renderings are kept (about 1 KiB each). */
const RENDERED_JOBS = 128

interface Rendered {
  readonly version: number
  readonly creationTime: number
  readonly type: MediaType
  readonly jobUrl: string
  readonly response: HttpServerResponse.HttpServerResponse
}

/** `updateParameters`: what a POST with parameters to the job does (the parameters module's). */
export const make = (deps: Deps, updateParameters: Parameters.Update) => {
  const { config, service, formOf, closing } = deps

  /**
   * The last answer rendered for each of the jobs read most recently, reused while the job's
   * version, the negotiated type and the job's URL stay: a job is rendered (its instants
   * formatted, its text escaped) once per version, not once per GET. Bounded, least recently
   * rendered out: what it holds does not grow with the stored jobs.
   */
  const rendered = new Map<string, Rendered>()

  const renderJob = (ctx: Pick<Ctx, "accept" | "browser" | "urls">, job: Job): HttpServerResponse.HttpServerResponse => {
    const jobUrl = ctx.urls.job(job.jobId)
    const type = negotiate(ctx.accept, PAGES, ctx.browser)
    const hit = rendered.get(job.jobId)
    if (hit !== undefined && hit.version === job.version && hit.creationTime === job.creationTime && hit.type === type && hit.jobUrl === jobUrl) {
      return hit.response
    }
    const response = renderAs(ctx, type, job, jobUrl)
    rendered.delete(job.jobId)
    rendered.set(job.jobId, { version: job.version, creationTime: job.creationTime, type, jobUrl, response })
    if (rendered.size > RENDERED_JOBS) rendered.delete(rendered.keys().next().value!)
    return response
  }

  const renderAs = (ctx: Pick<Ctx, "urls">, type: MediaType, job: Job, jobUrl: string) =>
    representAs(type, {
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

  // ---- one job -------------------------------------------------------------------------------

  /** GET of a job, blocking under WAIT (also the Node listener's, app.ts: it needs no request body). */
  const getJob =
    (jobId: string) =>
    (ctx: Pick<Ctx, "query" | "caller" | "accept" | "browser" | "urls">) =>
      Effect.gen(function* () {
        const wait = yield* fromEither(Params.parseWait(Params.values(ctx.query, "wait")))
        const guards = Params.values(ctx.query, "phase")
        if (guards.length > 1) return yield* Effect.fail(badRequest("Give at most one PHASE with WAIT."))
        const phase = guards.length === 0 ? undefined : yield* fromEither(Params.parsePhase(guards[0]!))
        const job =
          wait === undefined
            ? yield* service.get(ctx.caller, jobId)
            : yield* service.waitForChange(ctx.caller, jobId, {
                timeout: wait === "indefinitely" ? "indefinitely" : Duration.seconds(wait),
                ...(phase === undefined ? {} : { phase }),
                until: closing
              })
        return renderJob(ctx, job)
      })

  const deleteJob =
    (jobId: string): Handler =>
    (ctx) =>
      deleteNow(ctx, jobId)

  /** Deletes the job and sends the client to the list (also the Node listener's, app.ts). */
  const deleteNow = (ctx: Pick<Ctx, "caller" | "urls">, jobId: string) => Effect.as(service.delete(ctx.caller, jobId), see(ctx.urls.list))

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

  return { getJob, deleteJob, deleteNow, postJob, renderJob }
}
