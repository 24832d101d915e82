/**
 * What a UWS job document says, independent of how it is written: the one model the REST and
 * SOAP bindings (and anything else that shows a job) write their `uws:job`, `uws:jobs`,
 * `uws:results` and `uws:parameters` from.
 *
 * It holds the rules of the standard's data model (UWS 1.1 §2.2 and `UWS-v1.1.xsd`), so no
 * binding keeps its own copy:
 * - the fields of a job summary in the schema's `xs:sequence` order; `runId`, `errorSummary` and
 *   `jobInfo` present only when the job has them (or keeps its quote's and termination's state,
 *   shown inside it as an extension, see {@link Terms}); `ownerId`, `quote`, `startTime`, `endTime` and
 *   `destruction` always present, `null` (written `xsi:nil`) when empty;
 * - which fields exist in which version: `creationTime` (and the `version` attribute) from 1.1;
 * - how a parameter is shown: an inline upload (`param:NAME`) by reference to where the binding
 *   serves its content, a value the writer cannot carry (XML 1.0 and control characters) by
 *   reference to where the binding serves it exactly, anything else as stored;
 * - where a result is: its own `href`, or where the binding serves it.
 *
 * It lives in core, not in `@uws-kit/http`, because it has no HTTP and no XML in it: the URLs come
 * from the binding ({@link Links}), the question "can this value be written inline" too, and
 * what remains are UWS rules about jobs, which every binding must answer the same way.
 *
 * Instants stay epoch milliseconds; the writer formats them.
 *
 * @since 0.1.0
 */
import { type ErrorSummary, type Job, type Parameter, type ResultRef, isUpload } from "./Job.js"
import type { Phase } from "./Phase.js"
import type { QuoteStatus } from "./QuoteMachine.js"
import type { TerminationStatus } from "./TerminationMachine.js"

/**
 * The UWS versions a document can be written for. 1.0 has no `creationTime` and no `version`
 * attribute.
 *
 * @since 0.1.0
 * @category models
 */
export type Version = "1.0" | "1.1"

/**
 * Where the binding serves what a document points to, and what its writer can carry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Links {
  /** Where a result without an `href` of its own is served. */
  readonly result: (resultId: string) => string
  /**
   * Where a parameter's value (or uploaded content) is served; `index` picks one of several
   * values of one name. A binding without such URLs (SOAP jobs have none) leaves it out, and every
   * parameter is then shown as stored.
   */
  readonly parameter?: (name: string, index: number | undefined) => string
  /** Whether the writer can carry a value inline (default: every value). */
  readonly isShowable?: (value: string) => boolean
}

/**
 * A parameter as a document shows it (`uws:parameter`): `value` is the stored value or, when
 * `byReference` says so, a URL.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParameterEntry {
  readonly id: string
  readonly value: string
  readonly byReference: boolean
}

/**
 * A result as a document shows it (`uws:result`): always with a URL.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultEntry {
  readonly id: string
  readonly href: string
  readonly size?: number
  readonly mimeType?: string
}

/**
 * One element of a job summary or job reference. `null` is an empty (nil) element.
 *
 * @since 0.1.0
 * @category models
 */
export type Field =
  | { readonly _tag: "Text"; readonly name: "jobId" | "runId" | "ownerId"; readonly value: string | null }
  | { readonly _tag: "Phase"; readonly name: "phase"; readonly value: Phase }
  | {
      readonly _tag: "Instant"
      readonly name: "quote" | "creationTime" | "startTime" | "endTime" | "destruction"
      readonly value: number | null
    }
  | { readonly _tag: "Int"; readonly name: "executionDuration"; readonly value: number }
  | { readonly _tag: "Parameters"; readonly name: "parameters"; readonly value: ReadonlyArray<ParameterEntry> }
  | { readonly _tag: "Results"; readonly name: "results"; readonly value: ReadonlyArray<ResultEntry> }
  | { readonly _tag: "ErrorSummary"; readonly name: "errorSummary"; readonly value: ErrorSummary }
  | {
      readonly _tag: "JobInfo"
      readonly name: "jobInfo"
      readonly value: ReadonlyArray<readonly [key: string, value: string]>
      /** The job's terms, an extension inside `jobInfo` (the schema's `xs:any`): absent for a job that keeps none. */
      readonly terms?: Terms
    }

/**
 * Where the job's quote and termination stand (`QuoteMachine`, `TerminationMachine`): the v0.3
 * two-phase commit made visible — whether the quote is still an estimate, was accepted (and
 * when), or is past the destruction time (the job will not be run, UWS 1.1 §2.1.6).
 *
 * @since 0.1.0
 * @category models
 */
export interface Terms {
  readonly quote: QuoteStatus
  readonly quoteAcceptedAt: number | null
  readonly termination: TerminationStatus
}

/**
 * A job's terms, or `undefined` for a job stored without them.
 *
 * @since 0.1.0
 * @category documents
 */
export const terms = (job: Job): Terms | undefined =>
  job.quoteStatus === undefined
    ? undefined
    : { quote: job.quoteStatus, quoteAcceptedAt: job.quoteAcceptedAt ?? null, termination: job.terminationStatus ?? "scheduled" }

/**
 * A job summary (`uws:job`): its fields in the schema's order.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobSummary {
  readonly version: Version
  readonly fields: ReadonlyArray<Field>
}

/**
 * A job as the job list shows it (`uws:jobref`): its id and fields in the schema's order.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobRef {
  readonly id: string
  readonly fields: ReadonlyArray<Field>
}

/**
 * A job's results as a document shows them.
 *
 * @since 0.1.0
 * @category documents
 */
export const results = (job: Pick<Job, "results">, links: Pick<Links, "result">): ReadonlyArray<ResultEntry> =>
  job.results.map((r: ResultRef): ResultEntry => {
    const href = r.href ?? links.result(r.id)
    if (r.size === undefined) return r.mimeType === undefined ? { id: r.id, href } : { id: r.id, href, mimeType: r.mimeType }
    return r.mimeType === undefined ? { id: r.id, href, size: r.size } : { id: r.id, href, size: r.size, mimeType: r.mimeType }
  })

/**
 * A job's parameters as a document shows them (see {@link Links}).
 *
 * @since 0.1.0
 * @category documents
 */
export const parameters = (job: Pick<Job, "parameters">, links: Pick<Links, "parameter" | "isShowable">): ReadonlyArray<ParameterEntry> => {
  const asStored = (p: Parameter): ParameterEntry => ({ id: p.name, value: p.value, byReference: p.byReference === true })
  const href = links.parameter
  if (href === undefined) return job.parameters.map(asStored)
  const showable = links.isShowable ?? (() => true)
  let counts: Map<string, number> | undefined
  const seen = new Map<string, number>()
  return job.parameters.map((p) => {
    const index = seen.get(p.name) ?? 0
    seen.set(p.name, index + 1)
    if (isUpload(p)) return { id: p.name, value: href(p.name, undefined), byReference: true }
    if (showable(p.value)) return asStored(p)
    // A name with one value is served at parameters/{name}; one of several needs its index.
    if (counts === undefined) {
      counts = new Map()
      for (const q of job.parameters) counts.set(q.name, (counts.get(q.name) ?? 0) + 1)
    }
    return { id: p.name, value: href(p.name, counts.get(p.name)! > 1 ? index : undefined), byReference: true }
  })
}

/**
 * A job summary (`uws:job`, UWS 1.1 §2.2.2.2 and `JobSummary` in the schema).
 *
 * @example
 * import { JobDocument } from "@uws-kit/core"
 * declare const job: import("@uws-kit/core/Job").Job
 * const summary = JobDocument.jobSummary(job, { result: (id) => `https://example.org/jobs/1/results/${id}` })
 * for (const field of summary.fields) console.log(field.name)
 *
 * @since 0.1.0
 * @category documents
 */
export const jobSummary = (job: Job, links: Links, version: Version = "1.1"): JobSummary => {
  const fields: Array<Field> = [{ _tag: "Text", name: "jobId", value: job.jobId }]
  if (job.runId !== null) fields.push({ _tag: "Text", name: "runId", value: job.runId })
  fields.push(
    { _tag: "Text", name: "ownerId", value: job.ownerId },
    { _tag: "Phase", name: "phase", value: job.phase },
    { _tag: "Instant", name: "quote", value: job.quote }
  )
  if (version !== "1.0") fields.push({ _tag: "Instant", name: "creationTime", value: job.creationTime })
  fields.push(
    { _tag: "Instant", name: "startTime", value: job.startTime },
    { _tag: "Instant", name: "endTime", value: job.endTime },
    { _tag: "Int", name: "executionDuration", value: job.executionDuration },
    { _tag: "Instant", name: "destruction", value: job.destruction },
    { _tag: "Parameters", name: "parameters", value: parameters(job, links) },
    { _tag: "Results", name: "results", value: results(job, links) }
  )
  if (job.errorSummary !== null) fields.push({ _tag: "ErrorSummary", name: "errorSummary", value: job.errorSummary })
  const kept = terms(job)
  if (job.jobInfo !== null || kept !== undefined) {
    const value = job.jobInfo === null ? [] : Object.entries(job.jobInfo)
    fields.push(kept === undefined ? { _tag: "JobInfo", name: "jobInfo", value } : { _tag: "JobInfo", name: "jobInfo", value, terms: kept })
  }
  return { version, fields }
}

/**
 * A job as the job list shows it (`uws:jobref`, `ShortJobDescription` in the schema, UWS 1.1
 * §2.2.2.1): phase, runId when set, ownerId, and from 1.1 the creation time.
 *
 * @since 0.1.0
 * @category documents
 */
export const jobRef = (job: Job, version: Version = "1.1"): JobRef => {
  const fields: Array<Field> = [{ _tag: "Phase", name: "phase", value: job.phase }]
  if (job.runId !== null) fields.push({ _tag: "Text", name: "runId", value: job.runId })
  fields.push({ _tag: "Text", name: "ownerId", value: job.ownerId })
  if (version !== "1.0") fields.push({ _tag: "Instant", name: "creationTime", value: job.creationTime })
  return { id: job.jobId, fields }
}
