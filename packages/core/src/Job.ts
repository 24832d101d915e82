/**
 * The job record: what a UWS job is, independent of any wire format.
 *
 * Times are epoch milliseconds (UTC), which keeps a stored job compact and makes every
 * comparison exact; adapters render them as ISO 8601 with a `Z`.
 *
 * @since 0.1.0
 */
import type { Phase } from "./Phase.js"
import type { QuoteStatus } from "./QuoteMachine.js"
import type { TerminationStatus } from "./TerminationMachine.js"

/**
 * One parameter value. A name may occur several times (UWS parameters are multi-valued);
 * order is kept as sent. The service stores names in lower case ({@link canonicalName}). `byReference` marks a value that is a URI (for inline uploads a
 * `param:` URI whose content the host serves at `/parameters/{name}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Parameter {
  readonly name: string
  readonly value: string
  readonly byReference?: boolean
}

/**
 * A result of a job. `href` is set only for results that live elsewhere; results kept by the
 * `ResultStore` are addressed by the adapter (`…/results/{id}`), so the record stays small.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultRef {
  readonly id: string
  readonly href?: string
  readonly mimeType?: string
  readonly size?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorSummary {
  readonly type: "transient" | "fatal"
  readonly message: string
  /** Whether `/error` has more than the message (a detail document). */
  readonly hasDetail: boolean
  readonly detail?: string
}

/**
 * Free-form information about a job: application progress reports land here.
 *
 * @since 0.1.0
 * @category models
 */
export type JobInfo = Readonly<Record<string, string>>

/**
 * Everything of a job except its phase and version: the xstate machine's context.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobData {
  readonly jobId: string
  readonly runId: string | null
  readonly ownerId: string | null
  /** Predicted completion instant; `null` = unknown. Frozen once the quote is accepted. */
  readonly quote: number | null
  /** Where the quote stands (see `QuoteMachine`); absent in jobs stored before it was kept. */
  readonly quoteStatus?: QuoteStatus
  /** When the client accepted the quote (RUN, POST `/quote`, `acceptQuote`); `null` until then. */
  readonly quoteAcceptedAt?: number | null
  readonly creationTime: number
  readonly startTime: number | null
  readonly endTime: number | null
  /** Seconds of wall-clock execution allowed; 0 = unlimited. */
  readonly executionDuration: number
  /** Instant at which the job is destroyed (or archived); `null` = never. */
  readonly destruction: number | null
  /** Where the termination stands (see `TerminationMachine`); absent = scheduled. */
  readonly terminationStatus?: TerminationStatus
  readonly parameters: ReadonlyArray<Parameter>
  readonly results: ReadonlyArray<ResultRef>
  readonly errorSummary: ErrorSummary | null
  readonly jobInfo: JobInfo | null
  /**
   * Whom the job counts against for quotas when that is not its owner: the creating caller's
   * `quotaKey` (e.g. an anonymous client's address). Kept for counting only; never rendered.
   */
  readonly quotaKey?: string
}

/**
 * A stored job: its data, its phase, and a version bumped on every change so that stores can
 * compare-and-set.
 *
 * @since 0.1.0
 * @category models
 */
export interface Job extends JobData {
  readonly phase: Phase
  readonly version: number
}

/**
 * The name a parameter is stored and shown under: its lower-case form. Parameter names are
 * case-insensitive (UWS 1.1, DALI), so `QUERY` and `query` are one parameter; documents show
 * the lower-case name, as DaCHS does and as pyvo's accessors (`job.query`) expect.
 *
 * @since 0.1.0
 * @category accessors
 */
export const canonicalName = (name: string): string => name.toLowerCase()

const UPLOAD_SCHEME = "param:"

/**
 * The parameter an inline upload becomes (UWS 1.1 §2.2.3.1.1): `name` = `param:name`, by
 * reference; the service keeps the content and every binding serves it at `parameters/{name}`.
 *
 * @since 0.1.0
 * @category uploads
 */
export const uploadParameter = (name: string): Parameter => ({ name, value: `${UPLOAD_SCHEME}${name}`, byReference: true })

/**
 * The name of the upload a parameter refers to (`param:NAME`, by reference), or `undefined`
 * when the parameter is not an upload. The one reading of the `param:` rule: the service, the
 * bindings and the policy all ask here.
 *
 * @since 0.1.0
 * @category uploads
 */
export const uploadName = (p: Parameter): string | undefined =>
  p.byReference === true && p.value.startsWith(UPLOAD_SCHEME) ? p.value.slice(UPLOAD_SCHEME.length) : undefined

/**
 * Whether a parameter is an inline upload (see {@link uploadName}).
 *
 * @since 0.1.0
 * @category uploads
 */
export const isUpload = (p: Parameter): boolean => uploadName(p) !== undefined

/**
 * Parameters with their names in canonical form (see {@link canonicalName}).
 *
 * @since 0.1.0
 * @category accessors
 */
export const canonicalParameters = (parameters: ReadonlyArray<Parameter>): ReadonlyArray<Parameter> =>
  parameters.every((p) => typeof p.name !== "string" || p.name === canonicalName(p.name))
    ? parameters
    : parameters.map((p) => (typeof p.name !== "string" || p.name === canonicalName(p.name) ? p : { ...p, name: canonicalName(p.name) }))

/**
 * All values of a parameter, matched case-insensitively (UWS/DALI parameter names are).
 *
 * @since 0.1.0
 * @category accessors
 */
export const parameterValues = (job: Pick<JobData, "parameters">, name: string): ReadonlyArray<string> => {
  const key = name.toLowerCase()
  return job.parameters.filter((p) => p.name.toLowerCase() === key).map((p) => p.value)
}

/**
 * The first value of a parameter, matched case-insensitively.
 *
 * @since 0.1.0
 * @category accessors
 */
export const parameter = (job: Pick<JobData, "parameters">, name: string): string | undefined =>
  parameterValues(job, name)[0]

/**
 * The key a job counts against for quotas: its `quotaKey`, else its owner.
 *
 * @since 0.1.0
 * @category accessors
 */
export const quotaKeyOf = (job: Pick<JobData, "ownerId" | "quotaKey">): string | null => job.quotaKey ?? job.ownerId

/**
 * The deadline the execution-duration watchdog enforces, if any.
 *
 * @since 0.1.0
 * @category accessors
 */
export const executionDeadline = (job: Job): number | null =>
  (job.phase === "EXECUTING" || job.phase === "SUSPENDED") && job.executionDuration > 0 && job.startTime !== null
    ? job.startTime + job.executionDuration * 1000
    : null
