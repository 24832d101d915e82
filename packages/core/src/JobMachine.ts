/**
 * The job state machine: the one definition of which event may move a job from which phase,
 * what it changes in the job, and which side effects the service must carry out.
 *
 * The machine is an xstate v5 machine with one state per UWS phase and no guards. Decisions
 * are pure: {@link decide} computes the next job and the effects (as data) from a stored job and
 * an event. It uses a transition table derived from this machine at start-up, because xstate's
 * own `transition()` builds a throw-away actor per call (~30 µs); {@link decideWithXState} is the
 * same decision through `transition()`, and a property test proves the two agree.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { assign, setup, transition } from "xstate"
import { InvalidTransition } from "./Errors.js"
import type { Job, JobData } from "./Job.js"
import type { JobEvent, JobEventType } from "./JobEvent.js"
import type { Phase } from "./Phase.js"
import * as flat from "./internal/flatMachine.js"
import { updates } from "./internal/jobUpdates.js"
import { copyJob } from "./internal/jobCopy.js"

/**
 * A side effect the service carries out after a decision has been stored.
 *
 * - `dispatch`: hand the job to the queue.
 * - `cancel`: interrupt the application's run.
 * - `deleteResults`: delete the job's stored results.
 * - `forget`: the job record itself is deleted (DELETE / DESTROY).
 * - `notify`: the job changed; wake blocked `WAIT`s and subscribers.
 *
 * @since 0.1.0
 * @category models
 */
export type JobEffect = "dispatch" | "cancel" | "deleteResults" | "forget" | "notify"

/**
 * @since 0.1.0
 * @category constants
 */
export const effects: ReadonlyArray<JobEffect> = ["dispatch", "cancel", "deleteResults", "forget", "notify"]

/**
 * The outcome of an accepted event.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision {
  /** The job after the event, its version bumped. */
  readonly job: Job
  readonly effects: ReadonlyArray<JobEffect>
}

const noop = () => {}
const update = <K extends keyof typeof updates>(name: K) =>
  assign<JobData, JobEvent, undefined, JobEvent, never>(({ context, event }) => updates[name](context, event as never))

const deleteTransition = { actions: ["deleteResults", "forget", "notify"] } as const
const deleteRunning = { actions: ["cancel", "deleteResults", "forget", "notify"] } as const
const setDestruction = { actions: ["setDestruction", "notify"] } as const
const setExecutionDuration = { actions: ["setExecutionDuration", "notify"] } as const
const archive = { target: "ARCHIVED", actions: ["dropResults", "deleteResults", "notify"] } as const
const progress = { actions: ["mergeJobInfo", "notify"] } as const
const publish = { actions: ["publishResult", "notify"] } as const

/**
 * The machine. Its context is the job's data; its state value is the job's phase.
 *
 * @since 0.1.0
 * @category machine
 */
export const jobMachine = setup({
  types: {} as { context: JobData; events: JobEvent; input: JobData },
  actions: {
    markStart: update("markStart"),
    markEnd: update("markEnd"),
    storeResults: update("storeResults"),
    storeError: update("storeError"),
    storeTimeoutError: update("storeTimeoutError"),
    updateParameters: update("updateParameters"),
    setDestruction: update("setDestruction"),
    setExecutionDuration: update("setExecutionDuration"),
    mergeJobInfo: update("mergeJobInfo"),
    publishResult: update("publishResult"),
    dropResults: update("dropResults"),
    // Effects: declared by name, returned by the pure transition, carried out by the service.
    dispatch: noop,
    cancel: noop,
    deleteResults: noop,
    forget: noop,
    notify: noop
  }
}).createMachine({
  id: "uwsJob",
  initial: "PENDING",
  context: ({ input }) => input,
  states: {
    PENDING: {
      on: {
        RUN: { target: "QUEUED", actions: ["dispatch", "notify"] },
        ABORT: { target: "ABORTED", actions: ["markEnd", "notify"] },
        HOLD: { target: "HELD", actions: ["notify"] },
        FAIL: { target: "ERROR", actions: ["storeError", "markEnd", "notify"] },
        UPDATE_PARAMETERS: { actions: ["updateParameters", "notify"] },
        SET_DESTRUCTION: setDestruction,
        SET_EXECUTION_DURATION: setExecutionDuration,
        DELETE: deleteTransition,
        DESTROY: deleteTransition
      }
    },
    QUEUED: {
      on: {
        START: { target: "EXECUTING", actions: ["markStart", "notify"] },
        ABORT: { target: "ABORTED", actions: ["markEnd", "notify"] },
        HOLD: { target: "HELD", actions: ["notify"] },
        FAIL: { target: "ERROR", actions: ["storeError", "markEnd", "notify"] },
        SET_DESTRUCTION: setDestruction,
        SET_EXECUTION_DURATION: setExecutionDuration,
        DELETE: deleteTransition,
        DESTROY: deleteTransition
      }
    },
    EXECUTING: {
      on: {
        COMPLETE: { target: "COMPLETED", actions: ["storeResults", "markEnd", "notify"] },
        FAIL: { target: "ERROR", actions: ["cancel", "storeError", "markEnd", "notify"] },
        ABORT: { target: "ABORTED", actions: ["cancel", "markEnd", "notify"] },
        TIMEOUT: { target: "ABORTED", actions: ["cancel", "storeTimeoutError", "markEnd", "notify"] },
        HOLD: { target: "HELD", actions: ["cancel", "notify"] },
        SUSPEND: { target: "SUSPENDED", actions: ["notify"] },
        PROGRESS: progress,
        PUBLISH_RESULT: publish,
        SET_DESTRUCTION: setDestruction,
        DELETE: deleteRunning,
        DESTROY: deleteRunning
      }
    },
    SUSPENDED: {
      on: {
        RESUME: { target: "EXECUTING", actions: ["notify"] },
        FAIL: { target: "ERROR", actions: ["cancel", "storeError", "markEnd", "notify"] },
        ABORT: { target: "ABORTED", actions: ["cancel", "markEnd", "notify"] },
        TIMEOUT: { target: "ABORTED", actions: ["cancel", "storeTimeoutError", "markEnd", "notify"] },
        PROGRESS: progress,
        PUBLISH_RESULT: publish,
        SET_DESTRUCTION: setDestruction,
        DELETE: deleteRunning,
        DESTROY: deleteRunning
      }
    },
    HELD: {
      on: {
        RUN: { target: "QUEUED", actions: ["dispatch", "notify"] },
        ABORT: { target: "ABORTED", actions: ["markEnd", "notify"] },
        SET_DESTRUCTION: setDestruction,
        SET_EXECUTION_DURATION: setExecutionDuration,
        DELETE: deleteTransition,
        DESTROY: deleteTransition
      }
    },
    COMPLETED: {
      on: { ARCHIVE: archive, SET_DESTRUCTION: setDestruction, DELETE: deleteTransition, DESTROY: deleteTransition }
    },
    ERROR: {
      on: { ARCHIVE: archive, SET_DESTRUCTION: setDestruction, DELETE: deleteTransition, DESTROY: deleteTransition }
    },
    ABORTED: {
      on: { ARCHIVE: archive, SET_DESTRUCTION: setDestruction, DELETE: deleteTransition, DESTROY: deleteTransition }
    },
    // Nothing moves a job into UNKNOWN; a store may still hold one (e.g. written by another
    // implementation), and it must be possible to get rid of it.
    UNKNOWN: {
      on: {
        ABORT: { target: "ABORTED", actions: ["markEnd", "notify"] },
        ARCHIVE: archive,
        SET_DESTRUCTION: setDestruction,
        DELETE: deleteTransition,
        DESTROY: deleteTransition
      }
    },
    ARCHIVED: { on: { DELETE: deleteTransition, DESTROY: deleteTransition } }
  }
})

const compiled = flat.compile<Phase, JobEventType, JobEffect>(jobMachine, Object.keys(updates))

/**
 * Decides an event against a job: the next job (version bumped) and the effects to carry out,
 * or `InvalidTransition` naming the event and the phase.
 *
 * @since 0.1.0
 * @category decisions
 * @example
 * import { JobMachine } from "@uws-kit/core"
 * declare const job: import("@uws-kit/core").Job.Job
 * const next = JobMachine.decide(job, { type: "RUN", at: Date.now() })
 */
export const decide = (job: Job, event: JobEvent): Either.Either<Decision, InvalidTransition> => {
  const entry = compiled.get(job.phase)?.get(event.type)
  if (entry === undefined) {
    return Either.left(new InvalidTransition({ jobId: job.jobId, event: event.type, phase: job.phase }))
  }
  const next = copyJob(job)
  next.phase = entry.target
  next.version = job.version + 1
  for (const name of entry.updates) Object.assign(next, updates[name as keyof typeof updates](next, event as never))
  return Either.right({ job: next, effects: entry.effects })
}

/**
 * The same decision as {@link decide}, computed with xstate's pure `transition()` over a snapshot
 * rehydrated from the job. Slower; it is the reference the fast path is tested against.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decideWithXState = (job: Job, event: JobEvent): Either.Either<Decision, InvalidTransition> => {
  const { phase, version, ...context } = job
  const snapshot = jobMachine.resolveState({ value: phase, context })
  if (!snapshot.can(event)) {
    return Either.left(new InvalidTransition({ jobId: job.jobId, event: event.type, phase }))
  }
  const [next, actions] = transition(jobMachine, snapshot, event)
  return Either.right({
    job: { ...next.context, phase: next.value as Phase, version: version + 1 },
    effects: actions.map((a) => a.type as JobEffect)
  })
}

/**
 * The events the machine accepts in a phase, for "allowed actions" in user interfaces and for
 * error messages.
 *
 * @since 0.1.0
 * @category decisions
 */
export const acceptedEvents = (phase: Phase): ReadonlyArray<JobEventType> => [...(compiled.get(phase)?.keys() ?? [])]

/**
 * The phase an event leads to from a phase, or `undefined` when the event is not accepted.
 *
 * @since 0.1.0
 * @category decisions
 */
export const targetOf = (phase: Phase, event: JobEventType): Phase | undefined => compiled.get(phase)?.get(event)?.target
