/**
 * The quote: when the service predicts the job will be complete (UWS 1.1 §2.1.6). Either a
 * prediction from the application or unknown (`null`, rendered empty / `xsi:nil`).
 *
 * @since 0.1.0
 */
import type { Job } from "./Job.js"
import type { Worker } from "./Worker.js"

/**
 * The quote of a new job: now plus the application's estimate, or unknown when the application
 * gives none (or gives nonsense; a bad estimate must not stop a job being created).
 *
 * @since 0.1.0
 * @category constructors
 */
export const forJob = (worker: Pick<Worker, "quote">, job: Job, now: number): number | null => {
  if (worker.quote === undefined) return null
  let seconds: number | null | undefined
  try {
    seconds = worker.quote(job)
  } catch {
    return null
  }
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? now + Math.round(seconds * 1000) : null
}

/**
 * Whether the quote says the job cannot finish before it is destroyed (UWS 1.1 §2.1.6: a quote
 * past the destruction time signals the job will not be run).
 *
 * @since 0.1.0
 * @category predicates
 */
export const exceedsDestruction = (job: Pick<Job, "quote" | "destruction">): boolean =>
  job.quote !== null && job.destruction !== null && job.quote > job.destruction
