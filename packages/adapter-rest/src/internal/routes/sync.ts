/**
 * The synchronous facade: GET or POST creates and runs a job, then the client is sent on to its
 * result (or error) once the job is over.
 */
import type { Job } from "@uws-kit/core/Job"
import { Effect } from "effect"
import { discardBody } from "../body.js"
import { resultHref } from "../links.js"
import { type Ctx, type Deps, type Handler } from "../request.js"
import type * as JobList from "./jobList.js"
import { daliError, see } from "../respond.js"

/** `create`: the job list's, here always with RUN. */
export const make = (deps: Deps, create: JobList.Create) => {
  const { config, service, limit, formOf, closing } = deps

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
      const later = yield* service.waitForChange(ctx.caller, jobId, { timeout: "indefinitely", untilFinal: true, until: closing })
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

  return { createSync, waitSync }
}
