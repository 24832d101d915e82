/**
 * One job: GET (with WAIT), DELETE, and POST (ACTION=DELETE; an empty POST destroys it in v0.3;
 * anything else updates its parameters).
 */
import type { Job } from "@uws-kit/core/Job"
import * as JobMachine from "@uws-kit/core/JobMachine"
import { Duration, Effect } from "effect"
import * as Html from "../../Html.js"
import * as Json from "../../Json.js"
import * as Xml from "../../Xml.js"
import { badRequest } from "../errors.js"
import { resultHref } from "../links.js"
import { PAGES } from "../negotiate.js"
import * as Params from "../params.js"
import type * as Parameters from "./parameters.js"
import { fromEither, type Ctx, type Deps, type Handler } from "../request.js"
import { represent, see } from "../respond.js"

/** `updateParameters`: what a POST with parameters to the job does (the parameters module's). */
export const make = (deps: Deps, updateParameters: Parameters.Update) => {
  const { config, service, formOf, raceClosing } = deps

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

  return { getJob, deleteJob, postJob }
}
