/**
 * The errors of the UWS core, as tagged values. Each carries a message fit to show a user;
 * every adapter maps the tags to its protocol in one table.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { Phase } from "./Phase.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class JobNotFound extends Data.TaggedError("JobNotFound")<{ readonly jobId: string }> {
  override get message() {
    return `No job with id "${this.jobId}".`
  }
}

/**
 * A resource of an existing job that does not exist (a result id, a parameter name, an error
 * document of a job without an error).
 *
 * @since 0.1.0
 * @category errors
 */
export class ResourceNotFound extends Data.TaggedError("ResourceNotFound")<{
  readonly jobId: string
  readonly resource: string
}> {
  override get message() {
    return `Job "${this.jobId}" has no ${this.resource}.`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends Data.TaggedError("Forbidden")<{ readonly jobId: string; readonly reason: string }> {
  override get message() {
    return `Access to job "${this.jobId}" is forbidden: ${this.reason}`
  }
}

/**
 * An event that the job machine does not accept in the job's current phase.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Data.TaggedError("InvalidTransition")<{
  readonly jobId: string
  readonly event: string
  readonly phase: Phase
  /** Why, when the phase alone does not say (e.g. the job's quote is past its destruction time). */
  readonly reason?: string
}> {
  override get message() {
    return `${this.event} is not allowed in ${this.phase} (job "${this.jobId}")${this.reason === undefined ? "" : `: ${this.reason}`}.`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InvalidParameter extends Data.TaggedError("InvalidParameter")<{
  readonly name: string
  readonly reason: string
}> {
  override get message() {
    return `Invalid ${this.name}: ${this.reason}`
  }
}

/**
 * A compare-and-set lost to a concurrent change that could not be reconciled.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Data.TaggedError("Conflict")<{ readonly jobId: string; readonly reason: string }> {
  override get message() {
    return `Job "${this.jobId}" changed concurrently: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class QuotaExceeded extends Data.TaggedError("QuotaExceeded")<{ readonly reason: string }> {
  override get message() {
    return `Quota exceeded: ${this.reason}`
  }
}

/**
 * A request larger than one of the service's size limits (parameters per job, bytes of a value,
 * of a job's parameters, of an upload): refused whole, nothing changed. `limit` is the
 * `Policy` field, `description` says it with its value ("at most 1000 parameters per job").
 *
 * @since 0.1.0
 * @category errors
 */
export class LimitExceeded extends Data.TaggedError("LimitExceeded")<{
  readonly limit: string
  readonly description: string
  readonly actual?: string
}> {
  override get message() {
    return `Request too large: this service takes ${this.description}${this.actual === undefined ? "" : ` (got ${this.actual})`}.`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class StorageFailure extends Data.TaggedError("StorageFailure")<{
  readonly operation: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `Storage failed during ${this.operation}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class PluginFailure extends Data.TaggedError("PluginFailure")<{
  readonly plugin: string
  readonly operation: string
  readonly reason: string
}> {
  override get message() {
    return `Plugin "${this.plugin}" failed in ${this.operation}: ${this.reason}`
  }
}

/**
 * Every error the core can return.
 *
 * @since 0.1.0
 * @category errors
 */
export type UwsError =
  | JobNotFound
  | ResourceNotFound
  | Forbidden
  | InvalidTransition
  | InvalidParameter
  | Conflict
  | QuotaExceeded
  | LimitExceeded
  | StorageFailure
  | PluginFailure

/**
 * The tags of {@link UwsError}, for adapters' mapping tables.
 *
 * @since 0.1.0
 * @category errors
 */
export type UwsErrorTag = UwsError["_tag"]
