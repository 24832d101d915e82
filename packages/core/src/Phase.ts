/**
 * The UWS execution phases (UWS 1.1 §2.1.3) and the groups the standard reasons with.
 *
 * @since 0.1.0
 */

/**
 * All ten phases, in the order of the `ExecutionPhase` enumeration of `UWS-v1.1.xsd`.
 *
 * @since 0.1.0
 * @category constants
 */
export const all = [
  "PENDING",
  "QUEUED",
  "EXECUTING",
  "COMPLETED",
  "ERROR",
  "UNKNOWN",
  "HELD",
  "SUSPENDED",
  "ABORTED",
  "ARCHIVED"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type Phase = (typeof all)[number]

/**
 * Phases in which a job still has work ahead of it; the only phases in which a `WAIT` may block
 * (UWS 1.1 §2.2.1.2) and the ones counted against an owner's active-job quota.
 *
 * @since 0.1.0
 * @category constants
 */
export const active: ReadonlySet<Phase> = new Set<Phase>(["PENDING", "QUEUED", "EXECUTING"])

/**
 * Phases a job never leaves except by archiving or destruction.
 *
 * @since 0.1.0
 * @category constants
 */
export const final: ReadonlySet<Phase> = new Set<Phase>(["COMPLETED", "ERROR", "ABORTED", "ARCHIVED"])

/**
 * Phases in which the application's `run` is (or may be) in progress.
 *
 * @since 0.1.0
 * @category constants
 */
export const running: ReadonlySet<Phase> = new Set<Phase>(["EXECUTING", "SUSPENDED"])

const byName: ReadonlyMap<string, Phase> = new Map(all.map((p) => [p, p]))

/**
 * @since 0.1.0
 * @category guards
 */
export const isPhase = (value: unknown): value is Phase => typeof value === "string" && byName.has(value)

/**
 * Reads a phase name as clients send it. UWS phase names are upper case; we accept any case,
 * as VOLLT and DaCHS do, because `PHASE=executing` has only one sensible meaning.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (value: string): Phase | undefined => byName.get(value.trim().toUpperCase())

/**
 * @since 0.1.0
 * @category predicates
 */
export const isActive = (phase: Phase): boolean => active.has(phase)

/**
 * @since 0.1.0
 * @category predicates
 */
export const isFinal = (phase: Phase): boolean => final.has(phase)
