/**
 * The operation table: every operation of the binding, its request and response fields and
 * what it asks of the core. The WSDL is written from this table and requests are dispatched on
 * it, so the served contract and the handler cannot drift apart.
 */
import { Effect } from "effect"
import { InvalidParameter, type UwsError } from "@uws-kit/core/Errors"
import type { Caller } from "@uws-kit/core/Identity"
import type { Job, ResultRef } from "@uws-kit/core/Job"
import * as QuoteMachine from "@uws-kit/core/QuoteMachine"
import type { UwsService } from "@uws-kit/core/Uws"
import * as F from "./fields.js"
import * as Render from "./render.js"

/** What an operation runs with. */
export interface OperationContext {
  readonly service: UwsService
  readonly caller: Caller
  /** The job named by the `ResourceIdentifier` header (job-specific operations only). */
  readonly jobId: string
  /** The endpoint's absolute URL (the address of endpoint references). */
  readonly endpoint: string
  /** Completes when the adapter is disposed: blocking operations end then. */
  readonly closing: Effect.Effect<void>
}

/** One operation of the binding. */
export interface Operation<Req extends ReadonlyArray<F.Part> = ReadonlyArray<F.Part>, Res extends ReadonlyArray<F.Part> = ReadonlyArray<F.Part>> {
  readonly name: string
  readonly documentation: string
  /** Needs the `ResourceIdentifier` header, and echoes it. */
  readonly jobSpecific: boolean
  /** Where the operation comes from: the v0.3 draft, or an extension (named in the 2008 template). */
  readonly origin: "draft-0.3" | "extension"
  readonly request: Req
  readonly response: Res
  readonly run: (ctx: OperationContext, input: F.Values<Req>) => Effect.Effect<F.Values<Res>, UwsError>
  /** The job a successful run is about, for the response's ResourceIdentifier (createJob: the new job). */
  readonly resourceOf?: (output: F.Values<Res>) => string
}

/** Builds a table entry; a function so that the fields' types flow into `run`. */
const operation = <const Req extends ReadonlyArray<F.Part>, const Res extends ReadonlyArray<F.Part>>(
  op: Operation<Req, Res>
): Operation<Req, Res> => op

const phaseField = F.one("phase", F.phase, "The job's execution phase after the operation.")

const terminationTime = F.nillable(
  "terminationTime",
  F.dateTime,
  "The instant at which the job is destroyed (UWS 1.1: its destruction time); nil: never."
)

const jobsRef = F.ref<"jobs", ReadonlyArray<Job>>("jobs", "uws:jobs", (jobs) => Render.jobs(jobs), "The caller's jobs, newest first (UWS 1.1 job list).")

interface ResultsValue {
  readonly jobId: string
  readonly results: ReadonlyArray<ResultRef>
}

const resultsRef = F.ref<"results", ResultsValue>(
  "results",
  "uws:results",
  (v, ctx) => Render.results(v.jobId, v.results, ctx),
  "All the job's results in one document: each result's id, size, media type and where to fetch it."
)

const jobRef = F.ref<"job", Job>("job", "uws:job", (job, ctx) => Render.job(job, ctx), "The whole job (UWS 1.1 JobSummary).")

interface Reference {
  readonly address: string
  readonly resourceId: string
}

const endpointReference = F.ref<"endpointReference", Reference>(
  "endpointReference",
  "wsa:EndpointReference",
  (r) => Render.endpointReference(r.address, r.resourceId),
  "The job's endpoint reference: this endpoint's address, with the job's ResourceIdentifier as a reference parameter. Send that ResourceIdentifier as a SOAP header with every request about the job."
)

const quoteState = [
  F.nillable("quote", F.dateTime, "The predicted completion instant; nil: unknown."),
  F.one("status", F.string, "unknown, estimated, accepted or exceeded (past the termination time: the job will not be run)."),
  F.optional("acceptedAt", F.dateTime, "When the quote was accepted; absent until it is.")
] as const

const quoteStateOf = (job: Job) => {
  const quote = QuoteMachine.ofJob(job)
  return { quote: quote.quote, status: quote.status, acceptedAt: quote.acceptedAt ?? undefined }
}

const get = <A>(ctx: OperationContext, f: (job: Job) => A) => Effect.map(ctx.service.get(ctx.caller, ctx.jobId), f)

/** The operations, in the order the WSDL lists them. */
export const operations = [
  operation({
    name: "createJob",
    documentation:
      "Creates a job from its parameters (and files) and answers its identity: an endpoint reference carrying the job's ResourceIdentifier. The job is PENDING until acceptQuote, unless run is true.",
    jobSpecific: false,
    origin: "draft-0.3",
    request: [
      F.optional("runId", F.string, "A client-chosen label for the job."),
      F.many("parameter", F.parameter, "A job parameter: id is its name, the content its value (byReference: the value is a URL)."),
      F.many("upload", F.upload, "A file for the job, base64-encoded; it becomes the by-reference parameter {name} = param:{name}."),
      F.optional("executionDuration", F.int, "Seconds of execution allowed (0 = unlimited); the service may lower it to its limit."),
      F.optionalNillable("terminationTime", F.dateTime, "When to destroy the job; nil: as late as the service allows. Absent: the service's default."),
      F.optional("run", F.boolean, "Commit the job at once, as acceptQuote would (UWS 1.1 PHASE=RUN at creation).")
    ],
    response: [
      F.one("jobId", F.jobId, "The job's identifier (the same as its ResourceIdentifier)."),
      endpointReference,
      phaseField
    ],
    run: (ctx, input) =>
      Effect.map(
        ctx.service.create(ctx.caller, {
          parameters: input.parameter,
          uploads: input.upload.map((u) => (u.mimeType === undefined ? { name: u.name, content: u.content } : { name: u.name, content: u.content, mimeType: u.mimeType })),
          ...(input.runId === undefined ? {} : { runId: input.runId }),
          ...(input.executionDuration === undefined ? {} : { executionDuration: input.executionDuration }),
          ...(input.terminationTime === undefined ? {} : { destruction: input.terminationTime }),
          ...(input.run === undefined ? {} : { run: input.run })
        }),
        (job) => ({ jobId: job.jobId, endpointReference: { address: ctx.endpoint, resourceId: job.jobId }, phase: job.phase })
      ),
    resourceOf: (output) => output.jobId
  }),
  operation({
    name: "getJobs",
    documentation:
      "Lists the caller's jobs, newest first, with the UWS 1.1 filters: phase (repeatable, a union; by default every phase but ARCHIVED), after (created strictly after) and last (the most recent n).",
    jobSpecific: false,
    origin: "draft-0.3",
    request: [
      F.many("phase", F.phase, "Only jobs in one of these phases."),
      F.optional("after", F.dateTime, "Only jobs created strictly after this instant."),
      F.optional("last", F.int, "Only the most recently created n jobs (n > 0).")
    ],
    response: [jobsRef],
    run: (ctx, input) =>
      Effect.map(
        ctx.service.list(ctx.caller, {
          phases: input.phase,
          ...(input.after === undefined ? {} : { after: input.after }),
          ...(input.last === undefined ? {} : { last: input.last })
        }),
        (page) => ({ jobs: page.jobs })
      )
  }),
  operation({
    name: "getPhase",
    documentation:
      "Answers the job's execution phase. With wait (seconds; -1: as long as the service allows), blocks while the job is PENDING, QUEUED or EXECUTING until its phase changes or the time is up (UWS 1.1 WAIT).",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [F.optional("wait", F.int, "Seconds to block for a change of an active job (-1: up to the service's maximum).")],
    response: [phaseField],
    run: (ctx, input) => {
      const wait = input.wait
      if (wait === undefined || wait === 0) return get(ctx, (job) => ({ phase: job.phase }))
      if (wait < -1) return Effect.fail(new InvalidParameter({ name: "wait", reason: "must be -1 (as long as allowed) or a number of seconds ≥ 0." }))
      // A disposed adapter ends the wait at once, with the job as it is. The platform runs a
      // request uninterruptibly; only this wait is made interruptible, so that the race can
      // cancel its loser and a client that hangs up stops waiting, while every change to a job
      // still runs to its end.
      return Effect.interruptible(
        Effect.raceFirst(
          ctx.service.waitForChange(ctx.caller, ctx.jobId, { timeout: wait === -1 ? "indefinitely" : `${wait} seconds` }),
          Effect.zipRight(ctx.closing, ctx.service.get(ctx.caller, ctx.jobId))
        )
      ).pipe(Effect.map((job) => ({ phase: job.phase })))
    }
  }),
  operation({
    name: "getQuote",
    documentation: "Answers when the service expects the job to be complete; nil when it cannot tell.",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [],
    response: [F.nillable("quote", F.dateTime, "The predicted completion instant; nil: unknown.")],
    run: (ctx) => get(ctx, (job) => ({ quote: job.quote }))
  }),
  operation({
    name: "getTerminationTime",
    documentation: "Answers when the job will be destroyed (UWS 1.1: its destruction time); nil: never.",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [],
    response: [terminationTime],
    run: (ctx) => get(ctx, (job) => ({ terminationTime: job.destruction }))
  }),
  operation({
    name: "getResults",
    documentation: "Answers all the job's results packed in one document (uws:results).",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [],
    response: [resultsRef],
    run: (ctx) => Effect.map(ctx.service.results(ctx.caller, ctx.jobId), (results) => ({ results: { jobId: ctx.jobId, results } }))
  }),
  operation({
    name: "setTerminationTime",
    documentation:
      "Asks for a new termination (destruction) time; the service brings it within its limits and answers the time it set. A time in the past is refused: destroy the job instead.",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [F.nillable("terminationTime", F.dateTime, "The requested instant; nil: as late as the service allows.")],
    response: [terminationTime],
    run: (ctx, input) =>
      Effect.map(ctx.service.setDestruction(ctx.caller, ctx.jobId, input.terminationTime), (job) => ({ terminationTime: job.destruction }))
  }),
  operation({
    name: "acceptQuote",
    documentation: "Accepts the quote and commits the job for execution (UWS 1.1 PHASE=RUN). Answers the phase it moved to (QUEUED, or HELD when the queue is full).",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [],
    response: [phaseField],
    run: (ctx) => Effect.map(ctx.service.run(ctx.caller, ctx.jobId), (job) => ({ phase: job.phase }))
  }),
  operation({
    name: "destroy",
    documentation: "Destroys the job: aborts it if it is running, deletes its results and forgets it.",
    jobSpecific: true,
    origin: "draft-0.3",
    request: [],
    response: [F.one("success", F.boolean, "Always true: a job that cannot be destroyed gives a fault.")],
    run: (ctx) => Effect.as(ctx.service.delete(ctx.caller, ctx.jobId), { success: true })
  }),
  operation({
    name: "getSummary",
    documentation: "Answers the whole job (uws:job), as the UWS 1.1 REST binding does at /{jobs}/{job-id}.",
    jobSpecific: true,
    origin: "extension",
    request: [],
    response: [jobRef],
    run: (ctx) => get(ctx, (job) => ({ job }))
  }),
  operation({
    name: "abort",
    documentation: "Aborts the job (UWS 1.1 PHASE=ABORT); its results so far are kept. Answers the phase (ABORTED).",
    jobSpecific: true,
    origin: "extension",
    request: [],
    response: [phaseField],
    run: (ctx) => Effect.map(ctx.service.abort(ctx.caller, ctx.jobId), (job) => ({ phase: job.phase }))
  }),
  operation({
    name: "getExecutionDuration",
    documentation: "Answers the seconds of execution the job is allowed (0 = unlimited).",
    jobSpecific: true,
    origin: "extension",
    request: [],
    response: [F.one("executionDuration", F.int, "Seconds (0 = unlimited).")],
    run: (ctx) => get(ctx, (job) => ({ executionDuration: job.executionDuration }))
  }),
  operation({
    name: "setExecutionDuration",
    documentation: "Asks for a new execution duration (before the job runs); the service brings it within its limits and answers the value it set.",
    jobSpecific: true,
    origin: "extension",
    request: [F.one("executionDuration", F.int, "Seconds (0 = unlimited).")],
    response: [F.one("executionDuration", F.int, "The execution duration the job now has.")],
    run: (ctx, input) =>
      Effect.map(ctx.service.setExecutionDuration(ctx.caller, ctx.jobId, input.executionDuration), (job) => ({
        executionDuration: job.executionDuration
      }))
  }),
  operation({
    name: "setParameters",
    documentation:
      "Replaces the values of the named parameters of a PENDING job and adds new ones (UWS 1.1 POST {job}/parameters); the quote is re-estimated for the job as it now stands. Answers the quote as getQuoteState does.",
    jobSpecific: true,
    origin: "extension",
    request: [F.many("parameter", F.parameter, "A job parameter: id is its name, the content its value; every value sent for a name replaces that name's values.")],
    response: quoteState,
    run: (ctx, input) => Effect.map(ctx.service.updateParameters(ctx.caller, ctx.jobId, input.parameter), quoteStateOf)
  }),
  operation({
    name: "getQuoteState",
    documentation:
      "Answers where the job's quote stands in the two-phase commit: the predicted completion instant, whether it is still an estimate (re-estimated on every parameter change), accepted by acceptQuote (then frozen, with when), or past the termination time (the job will not be run), or unknown.",
    jobSpecific: true,
    origin: "extension",
    request: [],
    response: quoteState,
    run: (ctx) => get(ctx, quoteStateOf)
  }),
  operation({
    name: "getError",
    documentation: "Answers the job's error summary (and its detail when there is one); a job without an error gives a ResourceNotFound fault.",
    jobSpecific: true,
    origin: "extension",
    request: [],
    response: [
      F.one("errorSummary", F.errorSummary, "The UWS error summary."),
      F.optional("detail", F.string, "The detailed error, when the application gave one.")
    ],
    run: (ctx) =>
      Effect.map(ctx.service.error(ctx.caller, ctx.jobId), (e) => ({ errorSummary: e, detail: e.detail }))
  })
] as const

/** Any operation of the table. */
export type AnyOperation = (typeof operations)[number]

/** Operations by the local name of their request element. */
export const byName: ReadonlyMap<string, Operation> = new Map(operations.map((op) => [op.name, op as unknown as Operation]))
