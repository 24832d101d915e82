/**
 * The cryptographic upgrade of signatures (the seed's `signature-updater`: CAdES-A archive
 * time-stamps), as a pluggable step of the background process.
 *
 * The archive's own upgrader is `TimeStampUpgrader` (RFC 3161 time-stamps from a configured TSA,
 * kept beside the signatures). When none is configured, every container says so
 * (`upgrade: "not-configured"`) and keeps the signatures as uploaded; nothing pretends they were
 * upgraded.
 *
 * An upgrader runs in a container's background step, and again in a renewal run: a UWS job of
 * its own (parameters {@link RenewalParam}) that `ArchiveService.upgradeSignatures` starts for an
 * archived container.
 *
 * @since 0.1.0
 */
import type { Plugin, Result } from "@uws-kit/core"
import type { PartRecord } from "./Container.js"
import type { ContainerPart } from "./PostProcessor.js"

/**
 * A file an upgrader asks the archive to keep beside a container's signatures (e.g. a
 * time-stamp token).
 *
 * @since 0.1.0
 * @category models
 */
export interface EvidenceFile {
  /** Part name, unique within the container, e.g. `signature-1.timestamp-2`. */
  readonly name: string
  readonly fileName: string
  readonly mimeType: string
  readonly content: Uint8Array
}

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
  /** The archive's clock, now (epoch ms). */
  readonly now?: number
  /** Keeps a file in the document storage of the container's signatures; answers its record. */
  readonly keep?: (file: EvidenceFile) => Promise<Result.Result<string, PartRecord>>
  /** Reads a part the archive keeps (e.g. evidence kept by an earlier run). */
  readonly read?: (part: PartRecord) => AsyncIterable<Uint8Array>
  /** `initial` in a container's background step, `renewal` in a renewal run. */
  readonly run?: "initial" | "renewal"
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
  /**
   * `pending`: nothing was upgraded this time (e.g. the TSA is unreachable) and nothing kept;
   * try again at `nextUpdate`. A container's step records it and archives the container; a
   * renewal run ends in ERROR with `message`. Default `upgraded`.
   */
  readonly state?: "upgraded" | "pending"
  readonly message?: string
  /** Per signature, in order: until when its evidence can be verified (epoch ms), if known. */
  readonly expires?: ReadonlyArray<number | null>
  /** Entries for the run's record (jobInfo, each key prefixed with `upgrader.`). */
  readonly records?: Readonly<Record<string, string>>
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

/**
 * The parameters of a renewal run (a UWS job of the archive application that runs the upgrader
 * on an archived container again).
 *
 * @since 0.1.0
 * @category constants
 */
export const RenewalParam = { Action: "Action", Container: "Container" } as const

/**
 * The `Action` parameter's value of a renewal run.
 *
 * @since 0.1.0
 * @category constants
 */
export const renewalAction = "UpgradeSignatures"

/**
 * The jobInfo prefix of an upgrader's `records`.
 *
 * @since 0.1.0
 * @category constants
 */
export const recordPrefix = "upgrader."
