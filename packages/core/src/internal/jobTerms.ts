/**
 * A job's terms — its quote and its termination — beside its phase: what the quote and
 * termination machines make of what happens to the job. Pure: the service calls these between
 * the job machine's decision and the compare-and-set, so the three are stored together.
 */
import { Either } from "effect"
import { InvalidTransition } from "../Errors.js"
import type { Job } from "../Job.js"
import type { JobEvent } from "../JobEvent.js"
import * as QuoteMachine from "../QuoteMachine.js"
import * as TerminationMachine from "../TerminationMachine.js"
import type { Worker } from "../Worker.js"
import { copyJob, withTerms } from "./jobCopy.js"

const iso = (ms: number | null) => (ms === null ? "never" : new Date(ms).toISOString())

/** A refusal by the quote or the termination machine, as the error every adapter already renders. */
const refused = (machine: "quote" | "termination", job: Job, event: string, refusal: { readonly state: string }) =>
  new InvalidTransition({ jobId: job.jobId, event, phase: job.phase, reason: `its ${machine} is ${refusal.state}` })

// One copy of the job, the quote's fields written in it (not a spread of a second object).
const withQuote = (job: Job, decision: QuoteMachine.QuoteDecision): Job => {
  const { quote } = decision
  const next = copyJob(job)
  next.quote = quote.quote
  next.quoteStatus = quote.status
  next.quoteAcceptedAt = quote.acceptedAt
  return next
}

/**
 * The terms after the job machine accepted `event` (`after` is its decision): a parameter
 * update re-estimates an open quote; a new destruction time reschedules the termination and
 * re-classifies an open quote against it (the same estimate may now be met, or not).
 */
export const follow = (
  worker: Pick<Worker, "quote">,
  event: JobEvent,
  after: Job,
  now: number
): Either.Either<Job, InvalidTransition> => {
  if (event.type === "UPDATE_PARAMETERS") {
    const quote = QuoteMachine.ofJob(after)
    if (!QuoteMachine.isOpen(quote)) return Either.right(after)
    return Either.map(QuoteMachine.decide(quote, QuoteMachine.estimate(worker, after, now)), (d) => withQuote(after, d)).pipe(
      Either.mapLeft((r) => refused("quote", after, event.type, r))
    )
  }
  if (event.type === "SET_DESTRUCTION") {
    const termination = TerminationMachine.decide(TerminationMachine.ofJob(after), { type: "RESCHEDULE", destruction: event.destruction })
    if (Either.isLeft(termination)) return Either.left(refused("termination", after, event.type, termination.left))
    const rescheduled: Job = { ...after, ...TerminationMachine.toJob(termination.right.termination) }
    const quote = QuoteMachine.ofJob(rescheduled)
    if (!QuoteMachine.isOpen(quote)) return Either.right(rescheduled)
    return Either.map(QuoteMachine.decide(quote, QuoteMachine.classify(quote.quote, event.destruction)), (d) => withQuote(rescheduled, d)).pipe(
      Either.mapLeft((r) => refused("quote", after, event.type, r))
    )
  }
  return Either.right(after)
}

/**
 * A client's commitment (RUN, POST `/quote`, SOAP `acceptQuote`): the quote is accepted and
 * frozen. A quote past the destruction time is refused with the reason: the job would not be
 * run (UWS 1.1 §2.1.6).
 */
export const accept = (before: Job, after: Job, at: number): Either.Either<Job, InvalidTransition> => {
  const quote = QuoteMachine.ofJob(before)
  const decision = QuoteMachine.decide(quote, { type: "ACCEPT", at })
  if (Either.isRight(decision)) return Either.right(withQuote(after, decision.right))
  return Either.left(
    new InvalidTransition({
      jobId: before.jobId,
      event: "RUN",
      phase: before.phase,
      reason:
        quote.status === "exceeded"
          ? `its quote (${iso(quote.quote)}) is past its destruction time (${iso(before.destruction)}), so it would not be run (UWS 1.1 §2.1.6); change its parameters or its destruction time`
          : `its quote is ${quote.status}`
    })
  )
}

/**
 * The quote and termination of a new job: the termination scheduled, the quote estimated.
 */
export const initial = (worker: Pick<Worker, "quote">, draft: Job, now: number): Job => {
  const estimated = QuoteMachine.decide(QuoteMachine.initial, QuoteMachine.estimate(worker, draft, now))
  // Every estimate is accepted from `unknown`; the fallback only keeps the types honest.
  const quote = Either.isRight(estimated) ? estimated.right.quote : QuoteMachine.initial
  return withTerms(draft, quote.quote, quote.status, quote.acceptedAt, "scheduled")
}
