/**
 * HTML pages for browsers (UWS 1.1 §2.2.2 allows an HTML representation chosen by Accept).
 * Plain server-rendered pages with forms that post to the standard UWS endpoints; no
 * JavaScript framework. (Owned by the HTML/client/demo work; this first version is minimal.)
 *
 * @since 0.1.0
 */
import type { Job } from "@uws-kit/core/Job"

/**
 * @since 0.1.0
 * @category models
 */
export interface JobListView {
  /** The application's name, e.g. "echo". */
  readonly title: string
  /** Absolute URL of the job list (forms post here to create a job). */
  readonly listUrl: string
  readonly jobs: ReadonlyArray<Job>
  readonly jobUrl: (jobId: string) => string
  /** The filters of this listing as a query string ("" when none), to show what is filtered. */
  readonly query: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobView {
  readonly title: string
  readonly listUrl: string
  readonly jobUrl: string
  readonly job: Job
  readonly resultUrl: (resultId: string) => string
  /** Core event types the job accepts now (`JobMachine.acceptedEvents(job.phase)`), to show only forms that can work. */
  readonly acceptedEvents: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorView {
  readonly status: number
  readonly title: string
  readonly message: string
  readonly backUrl?: string
}

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>${body}</body></html>`

/**
 * @since 0.1.0
 * @category pages
 */
export const jobListPage = (view: JobListView): string =>
  page(
    `${view.title} jobs`,
    `<h1>${escape(view.title)} jobs</h1><ul>${view.jobs
      .map((j) => `<li><a href="${escape(view.jobUrl(j.jobId))}">${escape(j.jobId)}</a> ${escape(j.phase)}</li>`)
      .join("")}</ul>`
  )

/**
 * @since 0.1.0
 * @category pages
 */
export const jobPage = (view: JobView): string =>
  page(`Job ${view.job.jobId}`, `<h1>Job ${escape(view.job.jobId)}</h1><p>${escape(view.job.phase)}</p>`)

/**
 * @since 0.1.0
 * @category pages
 */
export const errorPage = (view: ErrorView): string =>
  page(view.title, `<h1>${view.status} ${escape(view.title)}</h1><p>${escape(view.message)}</p>`)
