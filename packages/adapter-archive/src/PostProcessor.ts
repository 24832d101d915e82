/**
 * Post-processing plugins (the seed's `ISanConnectorPlugin`): called after the background step of
 * every container, also when it failed, in the order `plugin-config.json` declares them (the seed
 * leaves the order open; we fix it). A post-processor's failure is recorded on the container and
 * undoes nothing: the documents stay stored.
 *
 * @since 0.1.0
 */
import type { Plugin, Result } from "@uws-kit/core"
import type { Hash, SaveType } from "./Container.js"

/**
 * A stored part of a container, readable by a plugin.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerPart {
  /** `document`, `signature-1`, … */
  readonly name: string
  readonly fileName: string
  readonly mimeType: string
  readonly size: number
  /** Streams the stored bytes (from the storage that holds them); fails like any read may. */
  readonly open: () => AsyncIterable<Uint8Array>
  /**
   * A signature's expiration date (epoch ms): until when its newest time-stamp can be verified
   * (its TSA certificate's notAfter), when the upgrader says; the seed's `Signature.Expires`.
   */
  readonly expires?: number | null
}

/**
 * The container as a post-processor sees it, after the background step.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessedContainer {
  readonly id: string
  readonly name: string
  readonly saveType: SaveType
  /** Whether the background step succeeded (the container reached archival storage). */
  readonly succeeded: boolean
  /** The status code and name the container ends the step with. */
  readonly status: number
  readonly statusName: string
  /** Why the step failed, when it did. */
  readonly failure: string | null
  readonly document: ContainerPart
  /** The signatures as they are now kept (upgraded ones when an upgrader replaced them). */
  readonly signatures: ReadonlyArray<ContainerPart>
  readonly hashes: ReadonlyArray<Hash>
  /** Date of the next archive time-stamp (epoch ms), when set. */
  readonly signatureUpdateDate: number | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PostProcessor extends Plugin.Lifecycle {
  /** Handles a container; a `Left` is recorded on the container as this processor's failure. */
  readonly process: (container: ProcessedContainer) => Result.Outcome<string, void>
}

/**
 * Whether a value has the operation of a post-processor (checked when a plugin is loaded).
 *
 * @since 0.1.0
 * @category guards
 */
export const isPostProcessor = (u: unknown): u is PostProcessor =>
  typeof u === "object" && u !== null && typeof (u as Record<string, unknown>)["process"] === "function"
