/**
 * The time-stamp state of every archived container: which token covers each signature now
 * (stamped at, by which TSA, until when it can be verified: the TSA certificate's notAfter),
 * whether the last run failed and why, and when the next renewal is due.
 *
 * The jobs are the record: a container's background step and each renewal run write their
 * stamps in their jobInfo (`upgrader.timestamp.<signature>`), so the catalogue is derived from
 * the job store (at start) and kept up by the job changes that follow; it is rebuilt, never
 * migrated. It is held in memory (one small entry per container).
 *
 * @since 0.1.0
 */
import type { Job } from "@uws-kit/core"
import { Phase } from "@uws-kit/core"
import type { PartRecord } from "./Container.js"
import * as Containers from "./Container.js"
import * as Upgraders from "./SignatureUpgrader.js"

/**
 * One time-stamp token over a signature, as kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stamp {
  /** The signature's part name, `signature-1`, … */
  readonly signature: string
  /** 1 for the first stamp; n > 1 for a renewal, whose imprint covers the signature and token n-1. */
  readonly generation: number
  /** The stored token (DER `TimeStampToken`). */
  readonly token: PartRecord
  /** The TSA certificate's subject. */
  readonly tsa: string
  readonly tsaUrl: string
  readonly serial: string
  /** The TSA's time of the stamp (epoch ms). */
  readonly stampedAt: number
  /** The TSA certificate's notAfter (epoch ms). */
  readonly expires: number
}

/**
 * @since 0.1.0
 * @category models
 */
export type State = "stamped" | "pending" | "failed" | "running"

/**
 * A container's time-stamp state.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly containerId: string
  readonly state: State
  /** The newest stamp of each signature, in signature order (fewer than the signatures: some are not stamped yet). */
  readonly stamps: ReadonlyArray<Stamp>
  readonly signatures: ReadonlyArray<string>
  /** Why the last run stamped nothing, when it did not. */
  readonly message: string | null
  /** When the next run is due (epoch ms); `null`: never (no signatures). */
  readonly renewAt: number | null
  /** The renewal run under way, if any. */
  readonly running: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** Renew this long before the earliest TSA certificate expires (ms). */
  readonly renewBefore: number
  /**
   * Try again this long after a run stamped nothing (ms); doubled for each further failure since
   * the last success, up to a day (or `retryAfter`, if longer): a TSA down for days costs a
   * handful of runs per container, not one per retry period.
   */
  readonly retryAfter: number
}

const DAY = 86_400_000

/**
 * The wait after `failures` failed runs in a row (≥ 1).
 *
 * @since 0.1.0
 * @category accessors
 */
export const retryDelay = (settings: Settings, failures: number): number =>
  Math.min(settings.retryAfter * 2 ** Math.min(Math.max(failures - 1, 0), 40), Math.max(settings.retryAfter, DAY))

/**
 * The jobInfo key (under the upgrader's record prefix) of a signature's stamp.
 *
 * @since 0.1.0
 * @category constants
 */
export const recordKey = (signature: string) => `timestamp.${signature}`

interface Mutable {
  containerId: string
  signatures: ReadonlyArray<string>
  stamps: Map<string, Stamp>
  /** A container's step left it pending until then. */
  pendingUntil: number | null
  lastSuccessAt: number
  lastFailureAt: number
  /** End times of the failed runs (those after the last success count for the back-off). */
  failures: Array<number>
  message: string | null
  running: string | null
  /** The container completed its step (renewal runs may be seen before it). */
  known: boolean
}

const parseStamp = (text: string): Stamp | undefined => {
  try {
    const s = JSON.parse(text) as Partial<Stamp>
    return typeof s.signature === "string" &&
      typeof s.generation === "number" &&
      typeof s.tsa === "string" &&
      typeof s.stampedAt === "number" &&
      typeof s.expires === "number" &&
      typeof s.token === "object" &&
      s.token !== null &&
      typeof s.token.locator === "string"
      ? (s as Stamp)
      : undefined
  } catch {
    return undefined
  }
}

const stampsOf = (job: Job.Job): ReadonlyArray<Stamp> => {
  const prefix = `${Upgraders.recordPrefix}timestamp.`
  return Object.entries(job.jobInfo ?? {}).flatMap(([k, v]) => (k.startsWith(prefix) && typeof v === "string" ? (parseStamp(v) ?? []) : []))
}

const parameter = (job: Job.Job, name: string) => job.parameters.find((p) => p.name.toLowerCase() === name.toLowerCase())?.value

/**
 * The catalogue: fed with jobs ({@link TimeStampCatalogue.apply}), asked what is due.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimeStampCatalogue {
  /** Takes a job (a container's or a renewal run's) into account; other jobs are ignored. */
  readonly apply: (job: Job.Job) => void
  /** Forgets a deleted job. */
  readonly remove: (job: Job.Job) => void
  readonly get: (containerId: string, settings: Settings) => Entry | undefined
  /** The newest stamp of a signature. */
  readonly latest: (containerId: string, signature: string) => Stamp | undefined
  /** Renewal runs under way. */
  readonly running: () => number
  /** Containers whose run is due at `now`, earliest first, at most `limit`. */
  readonly due: (now: number, settings: Settings, limit: number) => ReadonlyArray<string>
  readonly size: () => number
}

/**
 * An empty catalogue.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): TimeStampCatalogue => {
  const entries = new Map<string, Mutable>()
  const entry = (containerId: string): Mutable => {
    let e = entries.get(containerId)
    if (e === undefined) {
      e = { containerId, signatures: [], stamps: new Map(), pendingUntil: null, lastSuccessAt: 0, lastFailureAt: 0, failures: [], message: null, running: null, known: false }
      entries.set(containerId, e)
    }
    return e
  }
  const merge = (e: Mutable, stamps: ReadonlyArray<Stamp>) => {
    for (const s of stamps) {
      const had = e.stamps.get(s.signature)
      if (had === undefined || s.generation > had.generation || (s.generation === had.generation && s.stampedAt > had.stampedAt)) e.stamps.set(s.signature, s)
    }
  }

  const renewAt = (e: Mutable, settings: Settings): number | null => {
    if (e.signatures.length === 0) return null
    const complete = e.signatures.every((s) => e.stamps.has(s))
    const inARow = e.failures.filter((t) => t > e.lastSuccessAt).length
    const retry = e.lastFailureAt > e.lastSuccessAt ? e.lastFailureAt + retryDelay(settings, inARow) : 0
    if (!complete) return Math.max(retry, e.pendingUntil ?? 0, e.lastSuccessAt > 0 ? e.lastSuccessAt + settings.retryAfter : 0)
    const earliest = Math.min(...e.signatures.map((s) => e.stamps.get(s)!.expires))
    // A TSA whose certificate expires within the margin would be asked again at once: wait the retry.
    return Math.max(earliest - settings.renewBefore, retry, e.lastSuccessAt + settings.retryAfter)
  }

  const view = (e: Mutable, settings: Settings): Entry => {
    const complete = e.signatures.every((s) => e.stamps.has(s))
    const failed = e.lastFailureAt > e.lastSuccessAt
    return {
      containerId: e.containerId,
      state: e.running !== null ? "running" : failed ? "failed" : complete ? "stamped" : "pending",
      stamps: e.signatures.flatMap((s) => e.stamps.get(s) ?? []),
      signatures: e.signatures,
      message: e.message,
      renewAt: renewAt(e, settings),
      running: e.running
    }
  }

  return {
    apply: (job) => {
      const action = parameter(job, Upgraders.RenewalParam.Action)
      if (action !== undefined) {
        if (action !== Upgraders.renewalAction) return
        const e = entry(parameter(job, Upgraders.RenewalParam.Container) ?? "")
        if (!Phase.isFinal(job.phase)) {
          e.running = job.jobId
          return
        }
        if (e.running === job.jobId) e.running = null
        const at = job.endTime ?? job.creationTime
        if (job.phase === "COMPLETED") {
          merge(e, stampsOf(job))
          if (at >= e.lastSuccessAt) e.lastSuccessAt = at
          if (e.lastSuccessAt >= e.lastFailureAt) e.message = null
          // Failures before the newest success never count again.
          e.failures = e.failures.filter((t) => t > e.lastSuccessAt)
        } else {
          if (at > e.lastSuccessAt && !e.failures.includes(at)) e.failures.push(at)
          if (at >= e.lastFailureAt && at >= e.lastSuccessAt) {
            e.lastFailureAt = at
            e.message = job.errorSummary?.message ?? `the run ended ${job.phase}`
          }
        }
        return
      }
      const container = Containers.fromJob(job, Number.NEGATIVE_INFINITY)
      if (container === undefined) return
      if (job.phase === "ARCHIVED" || container.saveType === "Temporary" && container.storageEnded) {
        entries.delete(job.jobId)
        return
      }
      if (job.phase !== "COMPLETED") return
      const e = entry(job.jobId)
      e.known = true
      e.signatures = container.signatures.map((s) => s.name)
      const stamps = stampsOf(job)
      merge(e, stamps)
      const at = job.endTime ?? job.creationTime
      if (stamps.length > 0 && at > e.lastSuccessAt) e.lastSuccessAt = at
      if (container.upgrade.state === "pending" && stamps.length === 0) {
        e.pendingUntil = container.signatureUpdateDate
        if (e.lastFailureAt === 0 && e.lastSuccessAt === 0) e.message = container.upgrade.message ?? null
      }
    },
    remove: (job) => {
      if (parameter(job, Upgraders.RenewalParam.Action) === undefined) entries.delete(job.jobId)
      else {
        const e = entries.get(parameter(job, Upgraders.RenewalParam.Container) ?? "")
        if (e?.running === job.jobId) e.running = null
      }
    },
    get: (containerId, settings) => {
      const e = entries.get(containerId)
      return e === undefined || !e.known ? undefined : view(e, settings)
    },
    latest: (containerId, signature) => entries.get(containerId)?.stamps.get(signature),
    due: (now, settings, limit) => {
      const due: Array<{ id: string; at: number }> = []
      for (const e of entries.values()) {
        if (!e.known || e.running !== null) continue
        const at = renewAt(e, settings)
        if (at !== null && at <= now) due.push({ id: e.containerId, at })
      }
      return due.sort((a, b) => a.at - b.at).slice(0, limit).map((d) => d.id)
    },
    running: () => {
      let n = 0
      for (const e of entries.values()) if (e.running !== null) n++
      return n
    },
    size: () => entries.size
  }
}
