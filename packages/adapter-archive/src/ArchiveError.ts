/**
 * Errors of the archive beyond the core's: each adapter renders them with the core's in one table.
 *
 * @since 0.1.0
 */
import type { Errors } from "@uws-kit/core"
import { Data } from "effect"

/**
 * A temporary container past its archive date: its documents are (being) deleted.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageEnded extends Data.TaggedError("StorageEnded")<{ readonly id: string; readonly at: number }> {
  override get message() {
    return `The storage of container "${this.id}" ended on ${new Date(this.at).toISOString()}; its documents are deleted.`
  }
}

/**
 * Every error an archive operation can answer.
 *
 * @since 0.1.0
 * @category errors
 */
export type ArchiveError = Errors.UwsError | StorageEnded
