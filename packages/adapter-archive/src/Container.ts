/**
 * A container is a job of the "archive" UWS application. This module is the translation between
 * the two, pure and in one place:
 *
 * - the container's metadata are the job's parameters (`ContainerName`, `SaveType`, …) and its
 *   stored parts (document, signatures: storage and locator each) a `Manifest` parameter;
 * - the background step's findings (hashes, next time-stamp date, upgrade, post-processing) are
 *   the job's jobInfo;
 * - its status is the status of its stage in the container lifecycle (`ContainerLifecycle`):
 *   the stage the background step last wrote (jobInfo `stage`), moved on by what the job's phase
 *   says happened since (put back in the queue, completed, failed) and by time (a temporary
 *   container past its archive date, which is the job's destruction time: the job is then
 *   ARCHIVED and its documents deleted).
 *
 * @since 0.1.0
 */
import { Iso8601 } from "@uws-kit/http"
import type { Job, Phase } from "@uws-kit/core"
import { Either } from "effect"
import * as Lifecycle from "./ContainerLifecycle.js"
import type { Stage, StageEventType } from "./ContainerLifecycle.js"
import type { UpgradeState } from "./SignatureUpgrader.js"

/**
 * Kept until the archive date (and then deleted), kept for good, or kept as a cache for a time
 * to live (see `Retention`).
 *
 * @since 0.1.0
 * @category models
 */
export type SaveType = "Temporary" | "Permanent" | "Cache"

/**
 * The numbers of the seed's `saveType` (its example: 1 = Temporary; Permanent is never shown
 * there, so 2 is ours; so is 3, Cache).
 *
 * @since 0.1.0
 * @category constants
 */
export const saveTypeCodes: Readonly<Record<SaveType, number>> = { Temporary: 1, Permanent: 2, Cache: 3 }

/**
 * Reads a save type as sent (`Temporary`, `permanent`, or its number).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseSaveType = (text: string): SaveType | undefined => {
  const v = text.trim().toLowerCase()
  return v === "temporary" || v === "1" ? "Temporary" : v === "permanent" || v === "2" ? "Permanent" : v === "cache" || v === "3" ? "Cache" : undefined
}

/**
 * An entry of the statuses dictionary (`GET /api/dictionary/statuses`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  readonly id: number
  readonly code: string
  readonly name: string
  readonly description: string
  /** The UWS phases the status stands for. */
  readonly phases: ReadonlyArray<Phase.Phase>
}

/**
 * The status numbers (defined with the lifecycle whose stages show them).
 *
 * @since 0.1.0
 * @category constants
 */
export const StatusCode = Lifecycle.StatusCode

/**
 * @since 0.1.0
 * @category constants
 */
export const statuses: ReadonlyArray<Status> = [
  {
    id: StatusCode.Accepted,
    code: "Accepted",
    name: "Accepted",
    description: "Stored in its document storage; waiting for the background step (verification, hashes, time-stamp date, post-processing).",
    phases: ["PENDING", "QUEUED", "HELD"]
  },
  {
    id: StatusCode.Processing,
    code: "Processing",
    name: "Processing",
    description: "The background step is running.",
    phases: ["EXECUTING", "SUSPENDED"]
  },
  {
    id: StatusCode.Failed,
    code: "Failed",
    name: "Failed",
    description: "The background step failed; the documents stay stored and the reason is in the container's error.",
    phases: ["ERROR", "ABORTED", "UNKNOWN"]
  },
  {
    id: StatusCode.Archived,
    code: "Archived",
    name: "Archival storage",
    description: "Verified and kept; hashes recorded and the next archive time-stamp scheduled (see `upgrade` for whether signatures were upgraded).",
    phases: ["COMPLETED"]
  },
  {
    id: StatusCode.StorageEnded,
    code: "StorageEnded",
    name: "Storage ended",
    description: "A temporary container past its archive date: its documents are deleted from every writable storage; its record is kept.",
    phases: ["ARCHIVED"]
  }
]

/**
 * A stored part of a container.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartRecord {
  /** `document`, `signature-1`, `signature-2`, … */
  readonly name: string
  readonly fileName: string
  readonly mimeType: string
  readonly size: number
  /** SHA-256 of the bytes received, lowercase hex. */
  readonly sha256: string
  /** The document storage (its `PluginName`) and the locator it answered. */
  readonly storage: string
  readonly locator: string
}

/**
 * The stored parts, kept as the job's `Manifest` parameter.
 *
 * @since 0.1.0
 * @category models
 */
export interface Manifest {
  readonly version: 1
  readonly document: PartRecord
  readonly signatures: ReadonlyArray<PartRecord>
}

/**
 * A digest with its algorithm and encoding (the seed's bare base64 strings leave the algorithm
 * to guessing; ours never do).
 *
 * @since 0.1.0
 * @category models
 */
export interface Hash {
  /** What was hashed: `document`, `signature-1`, … */
  readonly of: string
  readonly algorithm: "SHA-256"
  readonly encoding: "base64"
  readonly value: string
}

/**
 * One post-processor's outcome on a container.
 *
 * @since 0.1.0
 * @category models
 */
export interface PostProcessing {
  readonly plugin: string
  readonly outcome: "ok" | "failed"
  readonly message?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Upgrade {
  readonly state: UpgradeState
  /** The upgrader's name, when one ran. */
  readonly by?: string
  readonly profile?: string
  readonly message?: string
}

/**
 * A container, as read from its job at an instant.
 *
 * @since 0.1.0
 * @category models
 */
export interface Container {
  readonly id: string
  readonly name: string
  readonly structureName: string | null
  readonly saveType: SaveType
  readonly storageId: number
  /** The source system: the identity that uploaded it. */
  readonly ownerId: string | null
  readonly useArchiveCa: boolean
  /** The `ArchiveCaPluginName` asked for, if any. */
  readonly pluginName: string | null
  /** When it entered this archive's catalogue. */
  readonly createdAt: number
  /** When it was first created (another archive's date for a container restored from a dump). */
  readonly originalCreatedAt: number
  /** The dump a restored container came from. */
  readonly restoredFrom: string | null
  readonly modifiedAt: number
  /** The archive date (Temporary) or the end of its time to live (Cache): the job's destruction time. */
  readonly archiveUntil: number | null
  readonly signatureUpdateDate: number | null
  readonly phase: Phase.Phase
  /** Where it is in its lifecycle; its status is this stage's. */
  readonly stage: Stage
  readonly status: number
  readonly isArchived: boolean
  /** Whether its documents are kept (false once a temporary container's storage ended). */
  readonly isAvailable: boolean
  /** A temporary (or cache) container past its archive date (for Temporary: the seed's `isArchived=false` filter). */
  readonly storageEnded: boolean
  readonly document: PartRecord
  /** The signatures as kept now: upgraded ones replace the uploaded ones. */
  readonly signatures: ReadonlyArray<PartRecord>
  /** The signatures as uploaded. */
  readonly uploadedSignatures: ReadonlyArray<PartRecord>
  readonly hashes: ReadonlyArray<Hash>
  readonly upgrade: Upgrade
  readonly postProcessing: ReadonlyArray<PostProcessing>
  /** Why the background step failed, when it did. */
  readonly error: string | null
}

/**
 * The job parameters of a container.
 *
 * @since 0.1.0
 * @category constants
 */
export const Param = {
  ContainerName: "ContainerName",
  StructureName: "StructureName",
  SaveType: "SaveType",
  StorageId: "StorageId",
  ArchiveDate: "ArchiveDate",
  UseArchiveCa: "UseArchiveCa",
  ArchiveCaPluginName: "ArchiveCaPluginName",
  Manifest: "Manifest"
} as const

/**
 * The jobInfo keys the background step writes.
 *
 * @since 0.1.0
 * @category constants
 */
export const Info = {
  /** The lifecycle stage the step last reached (`ContainerLifecycle.Stage`). */
  stage: "stage",
  hash: (part: string) => `hash.${part}`,
  signatureUpdateDate: "signatureUpdateDate",
  upgrade: "upgrade",
  upgradeBy: "upgrade.by",
  upgradeProfile: "upgrade.profile",
  upgradeMessage: "upgrade.message",
  upgraded: (part: string) => `upgraded.${part}`,
  postProcessors: "postProcessors",
  postProcessor: (name: string) => `postProcessor.${name}`,
  /** A fetched document's manifest (`FetchThrough`), written once it is stored. */
  fetchedManifest: "fetch.manifest",
  /** A container restored from a dump: its creation date in its first archive, and the bag. */
  restoredCreateDate: "restored.createDate",
  restoredFrom: "restored.from"
} as const

const isPart = (u: unknown): u is PartRecord => {
  if (typeof u !== "object" || u === null) return false
  const p = u as Record<string, unknown>
  return (
    typeof p["name"] === "string" &&
    typeof p["fileName"] === "string" &&
    typeof p["mimeType"] === "string" &&
    typeof p["size"] === "number" &&
    typeof p["sha256"] === "string" &&
    typeof p["storage"] === "string" &&
    typeof p["locator"] === "string"
  )
}

/**
 * Reads a `Manifest` parameter; `undefined` when it is not one.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseManifest = (text: string | undefined): Manifest | undefined => {
  if (text === undefined) return undefined
  try {
    const m = JSON.parse(text) as Partial<Manifest>
    return m.version === 1 && isPart(m.document) && Array.isArray(m.signatures) && m.signatures.every(isPart)
      ? (m as Manifest)
      : undefined
  } catch {
    return undefined
  }
}

const parameter = (job: Job.Job, name: string): string | undefined => {
  const key = name.toLowerCase()
  return job.parameters.find((p) => p.name.toLowerCase() === key)?.value
}

const info = (job: Job.Job, key: string): string | undefined => job.jobInfo?.[key] ?? undefined

const hexToBase64 = (hex: string) => Buffer.from(hex, "hex").toString("base64")

/** The stages the step writes, and what the step key of earlier versions meant in them. */
const written: ReadonlyArray<Stage> = ["stored", "verifying", "verified", "postProcessed"]
const legacySteps: Readonly<Record<string, Stage>> = {
  verifying: "verifying",
  upgrading: "verified",
  "post-processing": "verified",
  done: "postProcessed",
  failed: "postProcessed"
}

/** The stage the phase implies on its own, for a record whose stage does not lead to its phase. */
const stageOfPhase = (job: Job.Job, verified: boolean): Stage => {
  switch (job.phase) {
    case "PENDING":
    case "QUEUED":
    case "HELD":
      return "stored"
    case "EXECUTING":
    case "SUSPENDED":
      return "verifying"
    case "COMPLETED":
      return "archived"
    case "ARCHIVED":
      return job.errorSummary === null && verified ? "archived" : "failed"
    default:
      return "failed"
  }
}

/** What the job's phase says happened since the step last wrote its stage. */
const observed = (job: Job.Job, stage: Stage, verified: boolean): StageEventType | undefined => {
  switch (job.phase) {
    case "PENDING":
    case "QUEUED":
    case "HELD":
      return stage === "stored" ? undefined : "REQUEUE"
    case "EXECUTING":
    case "SUSPENDED":
      return stage === "stored" ? "START" : undefined
    case "COMPLETED":
      return "COMPLETE"
    case "ARCHIVED":
      // A permanent container is ARCHIVED only by a host's own policy: as it stood then.
      return job.errorSummary === null && verified ? "COMPLETE" : "FAIL"
    default:
      return "FAIL"
  }
}

/**
 * The lifecycle stage of a job: the stage its step wrote (or, in a record of an earlier version,
 * the one its `step` key meant; none: stored), then the phase's event, then `EXPIRE` when its
 * storage ended. `consistent` is false when the stage written does not lead to the phase (a record
 * not written by this archive): the phase is the authority on the job, so its stage is taken.
 */
const resolveStage = (job: Job.Job, verified: boolean, storageEnded: boolean): { readonly stage: Stage; readonly consistent: boolean } => {
  const kept = info(job, Info.stage)
  const legacy = info(job, "step")
  const base: Stage =
    kept !== undefined && Lifecycle.isStage(kept) && written.includes(kept)
      ? kept
      : legacy !== undefined && legacySteps[legacy] !== undefined
        ? legacySteps[legacy]
        : "stored"
  const event = observed(job, base, verified)
  const moved = event === undefined ? Either.right(base) : Lifecycle.decide(job.jobId, base, { type: event })
  const settled = Either.getOrElse(moved, () => stageOfPhase(job, verified))
  const stage = storageEnded ? Either.getOrElse(Lifecycle.decide(job.jobId, settled, { type: "EXPIRE" }), () => "storageEnded" as const) : settled
  return { stage, consistent: Either.isRight(moved) }
}

/**
 * The lifecycle stage of a container's job at instant `now`, and whether its record is
 * consistent (its written stage leads to its phase); `undefined` when the job is not a container.
 *
 * @since 0.1.0
 * @category accessors
 */
export const lifecycleOf = (job: Job.Job, now: number): { readonly stage: Stage; readonly consistent: boolean } | undefined => {
  const container = fromJob(job, now)
  if (container === undefined) return undefined
  return resolveStage(job, container.hashes.length === 1 + container.uploadedSignatures.length, container.storageEnded)
}

/**
 * The container a job is at instant `now`; `undefined` when the job is not a container (no
 * valid manifest, e.g. created through another adapter).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJob = (job: Job.Job, now: number): Container | undefined => {
  // A fetched document's manifest is written by its fetch, once the document is stored.
  const manifest = parseManifest(parameter(job, Param.Manifest) ?? info(job, Info.fetchedManifest))
  const saveType = parseSaveType(parameter(job, Param.SaveType) ?? "")
  const storageId = Number(parameter(job, Param.StorageId))
  if (manifest === undefined || saveType === undefined || !Number.isSafeInteger(storageId)) return undefined

  const archiveUntil = saveType !== "Permanent" ? job.destruction : null
  const storageEnded = saveType !== "Permanent" && (job.phase === "ARCHIVED" || (archiveUntil !== null && archiveUntil <= now))
  const parts = [manifest.document, ...manifest.signatures]
  const hashes: Array<Hash> = []
  for (const part of parts) {
    const value = info(job, Info.hash(part.name))
    if (value !== undefined) hashes.push({ of: part.name, algorithm: "SHA-256", encoding: "base64", value })
  }
  const signatures = manifest.signatures.map((s) => {
    const upgraded = info(job, Info.upgraded(s.name))
    if (upgraded === undefined) return s
    try {
      const p = JSON.parse(upgraded) as unknown
      return isPart(p) ? p : s
    } catch {
      return s
    }
  })
  const verified = hashes.length === parts.length
  const { stage } = resolveStage(job, verified, storageEnded)
  const status = Lifecycle.statusOf(stage)
  const upgradeState = info(job, Info.upgrade) as UpgradeState | undefined
  const postProcessorNames = (() => {
    try {
      const names = JSON.parse(info(job, Info.postProcessors) ?? "[]") as unknown
      return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : []
    } catch {
      return []
    }
  })()
  const postProcessing = postProcessorNames.flatMap((plugin): Array<PostProcessing> => {
    const outcome = info(job, Info.postProcessor(plugin))
    if (outcome === undefined) return []
    return outcome === "ok" ? [{ plugin, outcome: "ok" }] : [{ plugin, outcome: "failed", message: outcome.replace(/^failed: /, "") }]
  })
  const updateDate = info(job, Info.signatureUpdateDate)
  const by = info(job, Info.upgradeBy)
  const profile = info(job, Info.upgradeProfile)
  const message = info(job, Info.upgradeMessage)
  return {
    id: job.jobId,
    name: parameter(job, Param.ContainerName) ?? "",
    structureName: parameter(job, Param.StructureName) ?? null,
    saveType,
    storageId,
    ownerId: job.ownerId,
    useArchiveCa: (parameter(job, Param.UseArchiveCa) ?? "false").toLowerCase() === "true",
    pluginName: parameter(job, Param.ArchiveCaPluginName) ?? null,
    createdAt: job.creationTime,
    originalCreatedAt: (() => {
      const restored = info(job, Info.restoredCreateDate)
      const t = restored === undefined ? Number.NaN : Date.parse(restored)
      return Number.isFinite(t) ? t : job.creationTime
    })(),
    restoredFrom: info(job, Info.restoredFrom) ?? null,
    modifiedAt: Math.max(job.creationTime, job.startTime ?? 0, job.endTime ?? 0),
    archiveUntil,
    signatureUpdateDate: updateDate === undefined ? null : Either.getOrNull(Iso8601.parse(updateDate)),
    phase: job.phase,
    stage,
    status,
    isArchived: status === StatusCode.Archived,
    isAvailable: !storageEnded,
    storageEnded,
    document: manifest.document,
    signatures,
    uploadedSignatures: manifest.signatures,
    hashes,
    upgrade: {
      state: upgradeState ?? "pending",
      ...(by === undefined ? {} : { by }),
      ...(profile === undefined ? {} : { profile }),
      ...(message === undefined ? {} : { message })
    },
    postProcessing,
    error: job.errorSummary?.message ?? null
  }
}

/**
 * The seed's base64 form of a lowercase hex digest.
 *
 * @since 0.1.0
 * @category formatting
 */
export const base64OfHex = hexToBase64

/**
 * The status entry of a status number.
 *
 * @since 0.1.0
 * @category accessors
 */
export const statusOf = (id: number): Status | undefined => statuses.find((s) => s.id === id)

/**
 * Every part a container holds in storage: document, uploaded signatures and upgraded ones.
 *
 * @since 0.1.0
 * @category accessors
 */
export const storedParts = (container: Container): ReadonlyArray<PartRecord> => {
  const all = [container.document, ...container.uploadedSignatures, ...container.signatures]
  const seen = new Set<string>()
  return all.filter((p) => {
    const key = `${p.storage}\u0000${p.locator}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
