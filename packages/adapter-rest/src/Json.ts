/**
 * The JSON representations, served on `Accept: application/json` (an extension: UWS 1.1 defines
 * XML only). The shape mirrors the XML element for element, with camelCase names, so a client can
 * switch formats without relearning the model. Absent values are `null`, never missing; instants
 * are ISO 8601 UTC strings with milliseconds and `Z`; URLs are absolute.
 *
 * ```jsonc
 * // GET {jobs}/{id}
 * { "version": "1.1", "jobId": "…", "href": "https://…/jobs/…",
 *   "runId": null, "ownerId": null, "phase": "PENDING",
 *   "quote": null, "creationTime": "2026-01-31T12:00:00.000Z", "startTime": null, "endTime": null,
 *   "executionDuration": 3600, "destruction": "2026-02-07T12:00:00.000Z",
 *   "parameters": [{ "id": "QUERY", "value": "…", "byReference": false }],
 *   "results": [{ "id": "result", "href": "https://…/results/result", "mimeType": "text/plain", "size": 12 }],
 *   "errorSummary": null,            // or { "type": "fatal", "hasDetail": false, "message": "…" }
 *   "jobInfo": null,                 // or { "progress": "50%" }
 *   "terms": { "quote": "estimated", "quoteAcceptedAt": null, "termination": "scheduled" } }
 * // GET {jobs}
 * { "version": "1.1", "jobs": [{ "id": "…", "href": "…", "phase": "…", "runId": null, "ownerId": null,
 *   "creationTime": "…" }], "next": null }   // next: URL of the next page (cursor paging) or null
 * // GET …/results → { "results": [...] }   GET …/parameters → { "parameters": [...] }
 * // atoms: { "phase": "…" } { "executionDuration": 0 } { "destruction": null } { "quote": null }
 * //        { "ownerId": null } { "runId": null }
 * // …/error → { "type": "fatal", "hasDetail": true, "message": "…", "detail": "…" }
 * // any error → { "error": { "status": 404, "tag": "JobNotFound", "message": "…" } }
 * ```
 *
 * Parameter values are exact in JSON (JSON can carry any string); inline uploads show the URL of
 * their content, with `byReference: true`. `mimeType` and `size` of a result are `null` when
 * unknown.
 *
 * @since 0.1.0
 */
import type { ErrorSummary, Job, ResultRef } from "@uws-kit/core/Job"
import * as JobDocument from "@uws-kit/core/JobDocument"
import type { Phase } from "@uws-kit/core/Phase"
import type { QuoteStatus } from "@uws-kit/core/QuoteMachine"
import type { TerminationStatus } from "@uws-kit/core/TerminationMachine"
import { Iso8601 } from "@uws-kit/http"
import { parameterHref, resultHref } from "./internal/links.js"

const { format } = Iso8601

/**
 * @since 0.1.0
 * @category models
 */
export type ParameterJson = JobDocument.ParameterEntry

/**
 * @since 0.1.0
 * @category models
 */
export interface ResultJson {
  readonly id: string
  readonly href: string
  readonly mimeType: string | null
  readonly size: number | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorSummaryJson {
  readonly type: ErrorSummary["type"]
  readonly hasDetail: boolean
  readonly message: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobJson {
  readonly version: "1.1"
  readonly jobId: string
  readonly href: string
  readonly runId: string | null
  readonly ownerId: string | null
  readonly phase: Phase
  readonly quote: string | null
  readonly creationTime: string
  readonly startTime: string | null
  readonly endTime: string | null
  readonly executionDuration: number
  readonly destruction: string | null
  readonly parameters: ReadonlyArray<ParameterJson>
  readonly results: ReadonlyArray<ResultJson>
  readonly errorSummary: ErrorSummaryJson | null
  readonly jobInfo: Readonly<Record<string, string>> | null
  /**
   * Where the quote and the termination stand (the XML shows them inside `jobInfo`); `null` for
   * a job stored without them.
   */
  readonly terms: TermsJson | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TermsJson {
  readonly quote: QuoteStatus
  /** When the client accepted the quote; `null` until it does. */
  readonly quoteAcceptedAt: string | null
  readonly termination: TerminationStatus
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobRefJson {
  readonly id: string
  readonly href: string
  readonly phase: Phase
  readonly runId: string | null
  readonly ownerId: string | null
  readonly creationTime: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobListJson {
  readonly version: "1.1"
  readonly jobs: ReadonlyArray<JobRefJson>
  /** URL of the next page when the listing was paged (`limit`) and more jobs match. */
  readonly next: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorJson {
  readonly error: { readonly status: number; readonly tag: string; readonly message: string }
}

const time = (t: number | null) => (t === null ? null : format(t))

/**
 * @since 0.1.0
 * @category encoding
 */
export const parameters = (job: Job, jobUrl: string): ReadonlyArray<ParameterJson> =>
  // JSON carries any value, so only uploads are shown by reference (as in the XML, by the one model).
  JobDocument.parameters(job, { parameter: (name, index) => parameterHref(jobUrl, name, index) })

/**
 * @since 0.1.0
 * @category encoding
 */
export const result = (jobUrl: string, r: ResultRef): ResultJson => ({
  id: r.id,
  href: resultHref(jobUrl, r),
  mimeType: r.mimeType ?? null,
  size: r.size ?? null
})

/**
 * @since 0.1.0
 * @category encoding
 */
export const job = (job: Job, jobUrl: string): JobJson => ({
  version: "1.1",
  jobId: job.jobId,
  href: jobUrl,
  runId: job.runId,
  ownerId: job.ownerId,
  phase: job.phase,
  quote: time(job.quote),
  creationTime: format(job.creationTime),
  startTime: time(job.startTime),
  endTime: time(job.endTime),
  executionDuration: job.executionDuration,
  destruction: time(job.destruction),
  parameters: parameters(job, jobUrl),
  results: job.results.map((r) => result(jobUrl, r)),
  errorSummary:
    job.errorSummary === null
      ? null
      : { type: job.errorSummary.type, hasDetail: job.errorSummary.hasDetail, message: job.errorSummary.message },
  jobInfo: job.jobInfo,
  terms: termsJson(JobDocument.terms(job))
})

const termsJson = (terms: JobDocument.Terms | undefined): TermsJson | null =>
  terms === undefined ? null : { quote: terms.quote, quoteAcceptedAt: time(terms.quoteAcceptedAt), termination: terms.termination }

/**
 * @since 0.1.0
 * @category encoding
 */
export const jobList = (jobs: ReadonlyArray<Job>, jobUrl: (jobId: string) => string, next: string | null): JobListJson => ({
  version: "1.1",
  jobs: jobs.map((j) => ({
    id: j.jobId,
    href: jobUrl(j.jobId),
    phase: j.phase,
    runId: j.runId,
    ownerId: j.ownerId,
    creationTime: format(j.creationTime)
  })),
  next
})

/**
 * The `/error` resource in JSON: the summary plus its detail when there is one.
 *
 * @since 0.1.0
 * @category encoding
 */
export const error = (summary: ErrorSummary): ErrorSummaryJson & { readonly detail?: string } => ({
  type: summary.type,
  hasDetail: summary.hasDetail,
  message: summary.message,
  ...(summary.detail === undefined ? {} : { detail: summary.detail })
})
