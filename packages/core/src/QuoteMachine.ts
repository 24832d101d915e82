/**
 * The quote machine: the UWS v0.3 two-phase commit made explicit. While a job is PENDING the
 * quote is the service's current prediction for the job as it stands, so every parameter
 * change re-estimates it; accepting it (RUN, POST `{job}/quote`, SOAP `acceptQuote`) commits the
 * job and freezes the prediction the client accepted.
 *
 * ```
 *   unknown ⇄ estimated(t) ⇄ exceeded(t)        (ESTIMATE / ESTIMATE_UNKNOWN / ESTIMATE_EXCEEDED)
 *      └──────────┴── ACCEPT ──► accepted(t, at)   (effect: commit)
 * ```
 *
 * `exceeded` is a quote past the job's destruction time: the job will not be run (UWS 1.1
 * §2.1.6), so ACCEPT is refused there. `accepted` takes no estimate any more; a second ACCEPT is
 * accepted and changes nothing (a client retrying its POST `/quote` is not an error).
 *
 * Like the job machine, the machine is flat and guard-free: which estimate event to send is the
 * pure choice {@link classify}, and decisions go through a table derived from the definition
 * ({@link decide}), proven equal to xstate's `transition()` ({@link decideWithXState}).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { assign, setup } from "xstate"
import type { Job } from "./Job.js"
import * as Quote from "./Quote.js"
import type { Worker } from "./Worker.js"
import * as flat from "./internal/flatMachine.js"

/**
 * @since 0.1.0
 * @category models
 */
export type QuoteStatus = "unknown" | "estimated" | "accepted" | "exceeded"

/**
 * Every status, in the order a quote usually moves through them.
 *
 * @since 0.1.0
 * @category constants
 */
export const statuses: ReadonlyArray<QuoteStatus> = ["unknown", "estimated", "exceeded", "accepted"]

/**
 * The machine's context.
 *
 * @since 0.1.0
 * @category models
 */
export interface QuoteData {
  /** The predicted completion instant (epoch ms), `null` when unknown; frozen once accepted. */
  readonly quote: number | null
  /** When the client accepted the quote, `null` until it does. */
  readonly acceptedAt: number | null
}

/**
 * A quote as it is kept with its job: status and data.
 *
 * @since 0.1.0
 * @category models
 */
export interface QuoteState extends QuoteData {
  readonly status: QuoteStatus
}

/** @since 0.1.0 @category events */
export interface Estimate { readonly type: "ESTIMATE"; readonly quote: number }
/** @since 0.1.0 @category events */
export interface EstimateUnknown { readonly type: "ESTIMATE_UNKNOWN" }
/** @since 0.1.0 @category events */
export interface EstimateExceeded { readonly type: "ESTIMATE_EXCEEDED"; readonly quote: number }
/** @since 0.1.0 @category events */
export interface Accept { readonly type: "ACCEPT"; readonly at: number }

/**
 * @since 0.1.0
 * @category models
 */
export type QuoteEvent = Estimate | EstimateUnknown | EstimateExceeded | Accept

/**
 * @since 0.1.0
 * @category models
 */
export type QuoteEventType = QuoteEvent["type"]

/**
 * @since 0.1.0
 * @category constants
 */
export const eventTypes: ReadonlyArray<QuoteEventType> = ["ESTIMATE", "ESTIMATE_UNKNOWN", "ESTIMATE_EXCEEDED", "ACCEPT"]

/**
 * The side effect of a first acceptance: the job is committed for execution (the service sends
 * it RUN).
 *
 * @since 0.1.0
 * @category models
 */
export type QuoteEffect = "commit"

/**
 * @since 0.1.0
 * @category models
 */
export interface QuoteDecision {
  readonly quote: QuoteState
  readonly effects: ReadonlyArray<QuoteEffect>
}

/**
 * An event the machine does not take in the quote's status.
 *
 * @since 0.1.0
 * @category models
 */
export type QuoteRefusal = flat.Refusal<QuoteStatus, QuoteEventType>

const updates = {
  setEstimate: (_data: QuoteData, event: Estimate | EstimateExceeded): Partial<QuoteData> => ({ quote: event.quote }),
  clearEstimate: (): Partial<QuoteData> => ({ quote: null }),
  recordAcceptance: (_data: QuoteData, event: Accept): Partial<QuoteData> => ({ acceptedAt: event.at })
} as const

const update = <K extends keyof typeof updates>(name: K) =>
  assign<QuoteData, QuoteEvent, undefined, QuoteEvent, never>(({ context, event }) => updates[name](context, event as never))

const reestimate = {
  ESTIMATE: { target: "estimated", actions: ["setEstimate"] },
  ESTIMATE_UNKNOWN: { target: "unknown", actions: ["clearEstimate"] },
  ESTIMATE_EXCEEDED: { target: "exceeded", actions: ["setEstimate"] }
} as const
const accept = { target: "accepted", actions: ["recordAcceptance", "commit"] } as const

/**
 * The machine. Its context is the quote's data; its state value the quote's status.
 *
 * @since 0.1.0
 * @category machine
 */
export const quoteMachine = setup({
  types: {} as { context: QuoteData; events: QuoteEvent; input: QuoteData },
  actions: {
    setEstimate: update("setEstimate"),
    clearEstimate: update("clearEstimate"),
    recordAcceptance: update("recordAcceptance"),
    // Effect: declared by name, returned by the pure transition, carried out by the service.
    commit: () => {}
  }
}).createMachine({
  id: "uwsQuote",
  initial: "unknown",
  context: ({ input }) => input,
  states: {
    unknown: { on: { ...reestimate, ACCEPT: accept } },
    estimated: { on: { ...reestimate, ACCEPT: accept } },
    // Past the destruction time: only a new estimate (other parameters, a later destruction) helps.
    exceeded: { on: reestimate },
    // Frozen: what the client accepted stays what it accepted. The repeated ACCEPT names its
    // target because xstate's can() counts a transition without target or actions as refused.
    accepted: { on: { ACCEPT: { target: "accepted" } } }
  }
})

const table = flat.compile<QuoteStatus, QuoteEventType, QuoteEffect>(quoteMachine, Object.keys(updates))

const toDecision = (
  outcome: Either.Either<flat.Outcome<QuoteStatus, QuoteData, QuoteEffect>, QuoteRefusal>
): Either.Either<QuoteDecision, QuoteRefusal> =>
  Either.map(outcome, ({ state, context, effects }) => ({ quote: { status: state, ...context }, effects }))

const dataOf = ({ quote, acceptedAt }: QuoteState): QuoteData => ({ quote, acceptedAt })

/**
 * The quote of a job before any estimate.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial: QuoteState = { status: "unknown", quote: null, acceptedAt: null }

/**
 * Decides an event against a quote: the next quote and the effects, or the refusal.
 *
 * @since 0.1.0
 * @category decisions
 * @example
 * import { QuoteMachine } from "@uws-kit/core"
 * const estimated = QuoteMachine.decide(QuoteMachine.initial, { type: "ESTIMATE", quote: 60_000 })
 */
export const decide = (quote: QuoteState, event: QuoteEvent): Either.Either<QuoteDecision, QuoteRefusal> =>
  toDecision(flat.decide(table, updates as Readonly<Record<string, flat.Update<QuoteData, QuoteEvent>>>, quote.status, dataOf(quote), event))

/**
 * The same decision through xstate's `transition()`; the reference {@link decide} is tested against.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decideWithXState = (quote: QuoteState, event: QuoteEvent): Either.Either<QuoteDecision, QuoteRefusal> =>
  toDecision(flat.decideWithXState(quoteMachine, quote.status, dataOf(quote), event))

/**
 * The events a status accepts.
 *
 * @since 0.1.0
 * @category decisions
 */
export const acceptedEvents = (status: QuoteStatus): ReadonlyArray<QuoteEventType> => [...(table.get(status)?.keys() ?? [])]

/**
 * Which estimate event a prediction is: unknown, within the destruction time, or past it.
 *
 * @since 0.1.0
 * @category decisions
 */
export const classify = (
  estimate: number | null,
  destruction: number | null
): Estimate | EstimateUnknown | EstimateExceeded =>
  estimate === null
    ? { type: "ESTIMATE_UNKNOWN" }
    : destruction !== null && estimate > destruction
      ? { type: "ESTIMATE_EXCEEDED", quote: estimate }
      : { type: "ESTIMATE", quote: estimate }

/**
 * The estimate event for a job as it stands: the application's prediction from now
 * (`Quote.forJob`), classified against the job's destruction time.
 *
 * @since 0.1.0
 * @category decisions
 */
export const estimate = (
  worker: Pick<Worker, "quote">,
  job: Job,
  now: number
): Estimate | EstimateUnknown | EstimateExceeded => classify(Quote.forJob(worker, job, now), job.destruction)

/**
 * Whether the quote still follows the job's parameters (it is not frozen by acceptance).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOpen = (quote: Pick<QuoteState, "status">): boolean => quote.status !== "accepted"

/**
 * How a job keeps its quote: the predicted instant in `quote` (as UWS documents show it), the
 * status and the acceptance time beside it. A job stored before quotes were machines has no
 * status; it reads as its estimate classified against its destruction time.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredQuote {
  readonly quote: number | null
  readonly quoteStatus?: QuoteStatus
  readonly quoteAcceptedAt?: number | null
}

/**
 * The quote a job holds.
 *
 * @since 0.1.0
 * @category accessors
 */
export const ofJob = (job: StoredQuote & { readonly destruction: number | null }): QuoteState => ({
  status: job.quoteStatus ?? statusOf(classify(job.quote, job.destruction)),
  quote: job.quote,
  acceptedAt: job.quoteAcceptedAt ?? null
})

const statusOf = (event: Estimate | EstimateUnknown | EstimateExceeded): QuoteStatus =>
  event.type === "ESTIMATE" ? "estimated" : event.type === "ESTIMATE_UNKNOWN" ? "unknown" : "exceeded"

/**
 * The fields a job keeps of a quote.
 *
 * @since 0.1.0
 * @category accessors
 */
export const toJob = (quote: QuoteState): Required<StoredQuote> => ({
  quote: quote.quote,
  quoteStatus: quote.status,
  quoteAcceptedAt: quote.acceptedAt
})
