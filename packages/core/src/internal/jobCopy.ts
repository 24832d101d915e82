/**
 * Copies of a job as one object literal with its fields in one order, so that the jobs the
 * service makes share one hidden class (two: with and without `quotaKey`). Spreads of jobs made
 * at different sites (`{ ...job }` in creation, decision and quote) left V8's object-clone cache
 * megamorphic: a runtime call of microseconds per copy, measured as the larger part of creating
 * a job.
 */
import type { Job } from "../Job.js"
import type { QuoteStatus } from "../QuoteMachine.js"
import type { TerminationStatus } from "../TerminationMachine.js"

export type MutableJob = { -readonly [K in keyof Job]: Job[K] }

/** The fields of a job of this version without `quotaKey`. */
const FIELDS = 18

/** The job with the given terms, its other fields copied (not its unknown ones: see `copyJob`). */
export const withTerms = (
  job: Job,
  quote: number | null,
  quoteStatus: QuoteStatus,
  quoteAcceptedAt: number | null,
  terminationStatus: TerminationStatus
): MutableJob =>
  job.quotaKey === undefined
    ? {
        jobId: job.jobId,
        runId: job.runId,
        ownerId: job.ownerId,
        quote,
        creationTime: job.creationTime,
        startTime: job.startTime,
        endTime: job.endTime,
        executionDuration: job.executionDuration,
        destruction: job.destruction,
        parameters: job.parameters,
        results: job.results,
        errorSummary: job.errorSummary,
        jobInfo: job.jobInfo,
        phase: job.phase,
        version: job.version,
        quoteStatus,
        quoteAcceptedAt,
        terminationStatus
      }
    : {
        jobId: job.jobId,
        runId: job.runId,
        ownerId: job.ownerId,
        quote,
        creationTime: job.creationTime,
        startTime: job.startTime,
        endTime: job.endTime,
        executionDuration: job.executionDuration,
        destruction: job.destruction,
        parameters: job.parameters,
        results: job.results,
        errorSummary: job.errorSummary,
        jobInfo: job.jobInfo,
        quotaKey: job.quotaKey,
        phase: job.phase,
        version: job.version,
        quoteStatus,
        quoteAcceptedAt,
        terminationStatus
      }

/**
 * A copy to change. A job of another shape (stored by an earlier version without its terms, or
 * carrying fields this version does not know) is spread, so that nothing of it is lost.
 */
export const copyJob = (job: Job): MutableJob =>
  job.quoteStatus === undefined ||
  job.quoteAcceptedAt === undefined ||
  job.terminationStatus === undefined ||
  Object.keys(job).length !== (job.quotaKey === undefined ? FIELDS : FIELDS + 1)
    ? { ...job }
    : withTerms(job, job.quote, job.quoteStatus, job.quoteAcceptedAt, job.terminationStatus)
