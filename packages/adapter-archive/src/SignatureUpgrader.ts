/**
 * The cryptographic upgrade of signatures (the seed's `signature-updater`: CAdES-A archive
 * time-stamps), as a pluggable step of the background process.
 *
 * The archive ships no upgrader: a real RFC 3161 time-stamping upgrader is separate work. When
 * none is configured, every container says so (`upgrade: "not-configured"`) and keeps the
 * signatures as uploaded; nothing pretends they were upgraded.
 *
 * @since 0.1.0
 */
import type { Plugin, Result } from "@uws-kit/core"
import type { ContainerPart } from "./PostProcessor.js"

/**
 * What an upgrader gets: the document and the signatures as stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpgradeInput {
  readonly containerId: string
  readonly document: ContainerPart
  readonly signatures: ReadonlyArray<ContainerPart>
}

/**
 * An upgraded signature, replacing the stored one at the same index (0-based).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpgradedSignature {
  readonly index: number
  readonly content: Uint8Array | AsyncIterable<Uint8Array>
  readonly size?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Upgraded {
  /** Replacements; signatures not listed stay as they are. */
  readonly signatures?: ReadonlyArray<UpgradedSignature>
  /** When the next archive time-stamp is due (epoch ms); default: the archive's interval. */
  readonly nextUpdate?: number
  /** What was done, for the container's record, e.g. `"cades-a-structural, unvalidated"`. */
  readonly profile?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SignatureUpgrader extends Plugin.Lifecycle {
  readonly name: string
  readonly upgrade: (input: UpgradeInput) => Result.Outcome<string, Upgraded>
}

/**
 * How a container's upgrade went: not configured (the state of this release unless a host
 * supplies an upgrader), done, or failed.
 *
 * @since 0.1.0
 * @category models
 */
export type UpgradeState = "not-configured" | "pending" | "upgraded" | "failed"
