/**
 * The life of a container, as an xstate v5 machine: the one definition of which stage follows
 * which, and of the status number each stage shows in the archive API.
 *
 * ```
 * uploaded ─STORED→ stored ─START→ verifying ─VERIFIED→ verified ─POST_PROCESSED→ postProcessed ─COMPLETE→ archived
 *                       ▲              │  └──────────POST_PROCESSED──────────────────────▲                        │
 *                       └──REQUEUE─────┘ (a run put back in the queue starts over)        FAIL (any live stage) → failed
 *                                                            EXPIRE (past the archive date) → storageEnded
 * ```
 *
 * The step of the archive sends the events it brings about (START, VERIFIED, POST_PROCESSED) and
 * keeps the stage in the job's jobInfo; the job's phase, which only the core's job machine sets,
 * supplies the rest (REQUEUE, COMPLETE, FAIL) and time supplies EXPIRE. `Container.fromJob`
 * puts the two together; this module only decides.
 *
 * Decisions are pure: {@link decide} reads a table derived from the machine at start-up (a
 * container's status is computed for every container of a search page and of an index rebuild;
 * xstate's `transition()` builds an actor per call); {@link decideWithXState} is the same decision
 * through `transition()`, and a property test proves the two agree.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"
import { setup, transition } from "xstate"
import * as table from "./internal/stageTable.js"

/**
 * The status numbers. 4 is the seed's "archival storage" (Архивное хранение); the seed prints
 * no other, so the rest are ours.
 *
 * @since 0.1.0
 * @category constants
 */
export const StatusCode = { Accepted: 1, Processing: 2, Failed: 3, Archived: 4, StorageEnded: 5 } as const

/**
 * @since 0.1.0
 * @category models
 */
export type Stage = "uploaded" | "stored" | "verifying" | "verified" | "postProcessed" | "archived" | "failed" | "storageEnded"

/**
 * @since 0.1.0
 * @category constants
 */
export const stages: ReadonlyArray<Stage> = ["uploaded", "stored", "verifying", "verified", "postProcessed", "archived", "failed", "storageEnded"]

/**
 * - `STORED`: every part is in its document storage and the job is created.
 * - `START`: the background step starts (or starts over, after a crash or a hold).
 * - `VERIFIED`: every stored part read back matches what was received.
 * - `POST_PROCESSED`: the post-processors ran (they run whatever the step's outcome).
 * - `REQUEUE`: the run was put back in the queue (held, recovered).
 * - `COMPLETE` / `FAIL`: the job completed / failed, was aborted or timed out.
 * - `EXPIRE`: a temporary container reached its archive date.
 *
 * @since 0.1.0
 * @category models
 */
export type StageEventType = "STORED" | "START" | "VERIFIED" | "POST_PROCESSED" | "REQUEUE" | "COMPLETE" | "FAIL" | "EXPIRE"

/**
 * @since 0.1.0
 * @category constants
 */
export const eventTypes: ReadonlyArray<StageEventType> = ["STORED", "START", "VERIFIED", "POST_PROCESSED", "REQUEUE", "COMPLETE", "FAIL", "EXPIRE"]

/**
 * @since 0.1.0
 * @category models
 */
export interface StageEvent {
  readonly type: StageEventType
}

/**
 * An event the current stage does not accept, naming both.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidStageTransition extends Data.TaggedError("InvalidStageTransition")<{
  readonly containerId: string
  readonly event: StageEventType
  readonly stage: Stage
}> {
  override get message() {
    return `${this.event} is not allowed in ${this.stage} (container "${this.containerId}").`
  }
}

const live = { FAIL: "failed", EXPIRE: "storageEnded" } as const
const running = { ...live, START: "verifying", REQUEUE: "stored" } as const

/**
 * The machine. Each state's `meta.status` is the status number the archive API shows in it.
 *
 * @since 0.1.0
 * @category machine
 */
export const lifecycleMachine = setup({
  types: {} as { events: StageEvent }
}).createMachine({
  id: "container",
  initial: "uploaded",
  states: {
    uploaded: { meta: { status: StatusCode.Accepted }, on: { STORED: "stored", FAIL: "failed" } },
    stored: { meta: { status: StatusCode.Accepted }, on: { ...live, START: "verifying" } },
    verifying: { meta: { status: StatusCode.Processing }, on: { ...running, VERIFIED: "verified", POST_PROCESSED: "postProcessed" } },
    verified: { meta: { status: StatusCode.Processing }, on: { ...running, POST_PROCESSED: "postProcessed" } },
    postProcessed: { meta: { status: StatusCode.Processing }, on: { ...running, COMPLETE: "archived" } },
    archived: { meta: { status: StatusCode.Archived }, on: { EXPIRE: "storageEnded" } },
    failed: { meta: { status: StatusCode.Failed }, on: { EXPIRE: "storageEnded" } },
    storageEnded: { meta: { status: StatusCode.StorageEnded }, type: "final" }
  }
})

const compiled = table.compile<Stage, StageEventType>(lifecycleMachine)

/**
 * The stage an event leads to, or `InvalidStageTransition`.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decide = (containerId: string, stage: Stage, event: StageEvent): Either.Either<Stage, InvalidStageTransition> => {
  const target = compiled.next.get(stage)?.get(event.type)
  return target === undefined ? Either.left(new InvalidStageTransition({ containerId, event: event.type, stage })) : Either.right(target)
}

/**
 * The same decision as {@link decide} through xstate's pure `transition()`: the reference the
 * table is tested against.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decideWithXState = (containerId: string, stage: Stage, event: StageEvent): Either.Either<Stage, InvalidStageTransition> => {
  const snapshot = lifecycleMachine.resolveState({ value: stage })
  // A rejected event answers the same snapshot, and so would an accepted self-transition: ask.
  if (!snapshot.can(event)) return Either.left(new InvalidStageTransition({ containerId, event: event.type, stage }))
  const [next] = transition(lifecycleMachine, snapshot, event)
  return Either.right(next.value as Stage)
}

/**
 * The status number a stage shows, from the machine's `meta.status`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const statusOf = (stage: Stage): number => compiled.status.get(stage)!

/**
 * The events a stage accepts.
 *
 * @since 0.1.0
 * @category decisions
 */
export const acceptedEvents = (stage: Stage): ReadonlyArray<StageEventType> => [...(compiled.next.get(stage)?.keys() ?? [])]

/**
 * Whether a text is a stage name.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isStage = (u: unknown): u is Stage => typeof u === "string" && (stages as ReadonlyArray<string>).includes(u)
