/**
 * The termination machine: a job's destruction time has a life of its own. It is scheduled at
 * creation, may be moved by the client within the policy's bounds, and ends either when it is
 * reached (the service destroys or archives the job, per policy) or when the job is deleted.
 *
 * ```
 *   scheduled(t) ── RESCHEDULE ──► rescheduled(t') ⟲ RESCHEDULE
 *        └──────────────┴── REACH_DESTROY / REACH_ARCHIVE ──► reached   (effect: destroy / archive)
 *        └──────────────┴── CANCEL ──► cancelled                       (the job was deleted)
 * ```
 *
 * A `null` destruction time means "kept until deleted": such a termination is never due.
 * Clamping and refusing requested times is the policy's pure rule (`Policy.destruction`); the
 * machine takes the time the policy allows ({@link reschedule}). Flat and guard-free, decided
 * through a table derived from the definition ({@link decide}) and proven equal to xstate's
 * `transition()` ({@link decideWithXState}).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { assign, setup } from "xstate"
import type { InvalidParameter } from "./Errors.js"
import * as Policies from "./Policy.js"
import type { Policy } from "./Policy.js"
import * as flat from "./internal/flatMachine.js"

/**
 * @since 0.1.0
 * @category models
 */
export type TerminationStatus = "scheduled" | "rescheduled" | "reached" | "cancelled"

/**
 * @since 0.1.0
 * @category constants
 */
export const statuses: ReadonlyArray<TerminationStatus> = ["scheduled", "rescheduled", "reached", "cancelled"]

/**
 * The machine's context.
 *
 * @since 0.1.0
 * @category models
 */
export interface TerminationData {
  /** The instant (epoch ms) at which the job is destroyed or archived; `null` = never. */
  readonly destruction: number | null
}

/**
 * A termination as it is kept with its job.
 *
 * @since 0.1.0
 * @category models
 */
export interface TerminationState extends TerminationData {
  readonly status: TerminationStatus
}

/** A new destruction time, already reconciled with the policy. @since 0.1.0 @category events */
export interface Reschedule { readonly type: "RESCHEDULE"; readonly destruction: number | null }
/** @since 0.1.0 @category events */
export interface ReachDestroy { readonly type: "REACH_DESTROY"; readonly at: number }
/** @since 0.1.0 @category events */
export interface ReachArchive { readonly type: "REACH_ARCHIVE"; readonly at: number }
/** @since 0.1.0 @category events */
export interface Cancel { readonly type: "CANCEL"; readonly at: number }

/**
 * @since 0.1.0
 * @category models
 */
export type TerminationEvent = Reschedule | ReachDestroy | ReachArchive | Cancel

/**
 * @since 0.1.0
 * @category models
 */
export type TerminationEventType = TerminationEvent["type"]

/**
 * @since 0.1.0
 * @category constants
 */
export const eventTypes: ReadonlyArray<TerminationEventType> = ["RESCHEDULE", "REACH_DESTROY", "REACH_ARCHIVE", "CANCEL"]

/**
 * What the service does when the time is reached: destroy the job (DESTROY) or archive it
 * (ARCHIVE), both events of the job machine.
 *
 * @since 0.1.0
 * @category models
 */
export type TerminationEffect = "destroy" | "archive"

/**
 * @since 0.1.0
 * @category models
 */
export interface TerminationDecision {
  readonly termination: TerminationState
  readonly effects: ReadonlyArray<TerminationEffect>
}

/**
 * @since 0.1.0
 * @category models
 */
export type TerminationRefusal = flat.Refusal<TerminationStatus, TerminationEventType>

const updates = {
  setDestruction: (_data: TerminationData, event: Reschedule): Partial<TerminationData> => ({ destruction: event.destruction })
} as const

const live = {
  RESCHEDULE: { target: "rescheduled", actions: ["setDestruction"] },
  REACH_DESTROY: { target: "reached", actions: ["destroy"] },
  REACH_ARCHIVE: { target: "reached", actions: ["archive"] },
  CANCEL: { target: "cancelled" }
} as const

/**
 * The machine. Its context is the destruction time; its state value the termination's status.
 *
 * @since 0.1.0
 * @category machine
 */
export const terminationMachine = setup({
  types: {} as { context: TerminationData; events: TerminationEvent; input: TerminationData },
  actions: {
    setDestruction: assign<TerminationData, TerminationEvent, undefined, TerminationEvent, never>(({ context, event }) =>
      updates.setDestruction(context, event as Reschedule)
    ),
    // Effects: declared by name, returned by the pure transition, carried out by the service.
    destroy: () => {},
    archive: () => {}
  }
}).createMachine({
  id: "uwsTermination",
  initial: "scheduled",
  context: ({ input }) => input,
  states: {
    scheduled: { on: live },
    rescheduled: { on: live },
    // Final: the job is gone or archived; its time can no longer move.
    reached: {},
    cancelled: {}
  }
})

const table = flat.compile<TerminationStatus, TerminationEventType, TerminationEffect>(terminationMachine, Object.keys(updates))

const toDecision = (
  outcome: Either.Either<flat.Outcome<TerminationStatus, TerminationData, TerminationEffect>, TerminationRefusal>
): Either.Either<TerminationDecision, TerminationRefusal> =>
  Either.map(outcome, ({ state, context, effects }) => ({ termination: { status: state, ...context }, effects }))

/**
 * Decides an event against a termination: the next termination and the effects, or the refusal.
 *
 * @since 0.1.0
 * @category decisions
 * @example
 * import { TerminationMachine } from "@uws-kit/core"
 * const moved = TerminationMachine.decide({ status: "scheduled", destruction: 1 }, { type: "RESCHEDULE", destruction: 2 })
 */
export const decide = (
  termination: TerminationState,
  event: TerminationEvent
): Either.Either<TerminationDecision, TerminationRefusal> =>
  toDecision(
    flat.decide(
      table,
      updates as Readonly<Record<string, flat.Update<TerminationData, TerminationEvent>>>,
      termination.status,
      { destruction: termination.destruction },
      event
    )
  )

/**
 * The same decision through xstate's `transition()`; the reference {@link decide} is tested against.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decideWithXState = (
  termination: TerminationState,
  event: TerminationEvent
): Either.Either<TerminationDecision, TerminationRefusal> =>
  toDecision(flat.decideWithXState(terminationMachine, termination.status, { destruction: termination.destruction }, event))

/**
 * The events a status accepts.
 *
 * @since 0.1.0
 * @category decisions
 */
export const acceptedEvents = (status: TerminationStatus): ReadonlyArray<TerminationEventType> => [
  ...(table.get(status)?.keys() ?? [])
]

/**
 * The termination of a new job: the requested time reconciled with the policy, else the
 * policy's default lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule = (
  policy: Policy,
  creationTime: number,
  requested?: number | null
): Either.Either<TerminationState, InvalidParameter> =>
  Either.map(
    requested === undefined
      ? Either.right(Policies.initialDestruction(policy, creationTime))
      : Policies.destruction(policy, creationTime, creationTime, requested),
    (destruction): TerminationState => ({ status: "scheduled", destruction })
  )

/**
 * The RESCHEDULE event for a client's request: a past time is refused, a time past the limit
 * clamped or refused as the policy says (`Policy.destruction`).
 *
 * @since 0.1.0
 * @category decisions
 */
export const reschedule = (
  policy: Policy,
  creationTime: number,
  now: number,
  requested: number | null
): Either.Either<Reschedule, InvalidParameter> =>
  Either.map(Policies.destruction(policy, creationTime, now, requested), (destruction) => ({ type: "RESCHEDULE", destruction }))

/**
 * The event the reaper sends when the time is reached: destroy or archive, per policy.
 *
 * @since 0.1.0
 * @category decisions
 */
export const reach = (policy: Pick<Policy, "onDestruction">, at: number): ReachDestroy | ReachArchive =>
  policy.onDestruction === "archive" ? { type: "REACH_ARCHIVE", at } : { type: "REACH_DESTROY", at }

/**
 * Whether the termination can still be reached or moved (scheduled or rescheduled).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLive = (termination: Pick<TerminationState, "status">): boolean =>
  termination.status === "scheduled" || termination.status === "rescheduled"

/**
 * Whether the termination is due at `now`: still live, with a time at or before `now`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDue = (termination: TerminationState, now: number): boolean =>
  isLive(termination) && termination.destruction !== null && termination.destruction <= now

/**
 * How a job keeps its termination: the instant in `destruction` (as UWS documents show it) and
 * the status beside it; a job stored without a status reads as scheduled.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredTermination {
  readonly destruction: number | null
  readonly terminationStatus?: TerminationStatus
}

/**
 * The termination a job holds.
 *
 * @since 0.1.0
 * @category accessors
 */
export const ofJob = (job: StoredTermination): TerminationState => ({
  status: job.terminationStatus ?? "scheduled",
  destruction: job.destruction
})

/**
 * The fields a job keeps of a termination.
 *
 * @since 0.1.0
 * @category accessors
 */
export const toJob = (termination: TerminationState): Required<StoredTermination> => ({
  destruction: termination.destruction,
  terminationStatus: termination.status
})
