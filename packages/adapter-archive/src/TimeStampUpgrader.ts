/**
 * The archive's signature upgrader: an RFC 3161 time-stamp token over each signature of a
 * container, from the time-stamping authority (TSA) configured in `plugin-config.json`, verified
 * (`Rfc3161.verifyResponse`) before it is kept beside the signatures, and renewed before the TSA
 * certificate expires: a renewal token's imprint covers the signature and the previous token, so
 * the chain of tokens keeps proving the first time.
 *
 * ```json
 * "SignatureUpgrader": [ { "IsEnabled": true, "PluginName": "tsa_01", "AssemblyName": "rfc3161",
 *   "Parameters": { "TsaUrl": "http://tsa.example/tsr", "TrustAnchors": "/etc/archive/tsa-ca.pem",
 *                   "RenewBeforeDays": 30, "RetryMinutes": 60, "TimeoutSeconds": 10, "CheckIntervalMinutes": 60 } } ]
 * ```
 *
 * What this is not: CAdES-A. The tokens are kept as separate files, not embedded as
 * archive-time-stamp attributes, and nothing validates the signers' certificate chains or
 * gathers revocation data; the time-stamps prove the signatures' bytes existed at the stamp time.
 *
 * A failure (TSA unreachable, garbage, a token over other data, an expired or untrusted TSA
 * certificate) keeps nothing and answers `pending` with the reason: the container is archived
 * all the same, and a renewal run tries again after `RetryMinutes`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import type { Plugin } from "@uws-kit/core"
import { Result } from "@uws-kit/core"
import { Either } from "effect"
import type * as pkijs from "pkijs"
import type { PartRecord } from "./Container.js"
import * as Rfc3161 from "./Rfc3161.js"
import type { SignatureUpgrader, Upgraded, UpgradeInput } from "./SignatureUpgrader.js"
import * as Catalogue from "./TimeStampCatalogue.js"
import type { Stamp, TimeStampCatalogue } from "./TimeStampCatalogue.js"
import * as TsaClient from "./TsaClient.js"

/**
 * The `AssemblyName` of the built-in.
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinName = "rfc3161"

/**
 * What the container's record says was done.
 *
 * @since 0.1.0
 * @category constants
 */
export const profile = "rfc3161-timestamps (tokens kept beside the signatures; signers' chains not validated; not CAdES-A)"

/**
 * The MIME type a token is kept with (a CMS SignedData ContentInfo).
 *
 * @since 0.1.0
 * @category constants
 */
export const tokenMimeType = "application/pkcs7-mime"

/**
 * @since 0.1.0
 * @category models
 */
export interface Settings extends Catalogue.Settings {
  readonly tsaUrl: string
  readonly trustAnchors: ReadonlyArray<pkijs.Certificate>
  /** ms */
  readonly timeout: number
  /** How often renewals due are looked for (ms). */
  readonly checkInterval: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TimeStampUpgrader extends SignatureUpgrader {
  /** What the stamps are and when each container's next run is due. */
  readonly catalogue: TimeStampCatalogue
  /** The configuration once initialised. */
  readonly settings: () => Settings | undefined
}

/**
 * Whether an upgrader is this one (the host then follows its renewals).
 *
 * @since 0.1.0
 * @category guards
 */
export const isTimeStampUpgrader = (u: unknown): u is TimeStampUpgrader =>
  typeof u === "object" && u !== null && "catalogue" in u && "settings" in u && typeof (u as TimeStampUpgrader).upgrade === "function"

const MINUTE = 60_000
/** TSA requests of one run at once. */
const PARALLEL = 4
const DAY = 86_400_000

const positive = (params: Plugin.PluginParameters, key: string, fallback: number, unit: number, problems: Array<string>) => {
  const text = params.get(key)
  if (text === undefined || text.trim() === "") return fallback * unit
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) {
    problems.push(`${key} must be a positive number (got "${text}")`)
    return fallback * unit
  }
  return n * unit
}

/** Reads the settings from the plugin's parameters; every problem at once. */
export const parseSettings = (params: Plugin.PluginParameters): Either.Either<Settings, string> => {
  const problems: Array<string> = []
  const url = params.get("TsaUrl") ?? ""
  try {
    const u = new URL(url)
    if (u.protocol !== "http:" && u.protocol !== "https:") problems.push(`TsaUrl must be an http or https URL (got "${url}")`)
  } catch {
    problems.push(url === "" ? "TsaUrl is required (the time-stamping authority's URL)" : `TsaUrl is not a URL ("${url}")`)
  }
  let trustAnchors: ReadonlyArray<pkijs.Certificate> = []
  const anchors = params.get("TrustAnchors") ?? ""
  if (anchors === "") problems.push("TrustAnchors is required (a PEM file of the CA certificates the TSA's certificate must chain to)")
  else {
    try {
      const read = Rfc3161.certificatesOfPem(readFileSync(anchors, "utf8"))
      if (Either.isLeft(read)) problems.push(`TrustAnchors ${anchors} ${read.left}`)
      else trustAnchors = read.right
    } catch (e) {
      problems.push(`TrustAnchors ${anchors} cannot be read: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  const renewBefore = positive(params, "RenewBeforeDays", 30, DAY, problems)
  const retryAfter = positive(params, "RetryMinutes", 60, MINUTE, problems)
  const timeout = positive(params, "TimeoutSeconds", 10, 1000, problems)
  const checkInterval = positive(params, "CheckIntervalMinutes", 60, MINUTE, problems)
  return problems.length > 0 ? Either.left(problems.join("; ")) : Either.right({ tsaUrl: url, trustAnchors, renewBefore, retryAfter, timeout, checkInterval })
}

const readAll = async (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for await (const chunk of source) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * A new upgrader (not initialised: the host calls `initialize` with its parameters).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): TimeStampUpgrader => {
  const catalogue = Catalogue.make()
  let settings: Settings | undefined

  const upgrade = async (input: UpgradeInput): Promise<Result.Result<string, Upgraded>> => {
    const s = settings
    if (s === undefined) return Result.left("the time-stamp upgrader is not initialised")
    if (input.keep === undefined || input.read === undefined) return Result.left("this archive cannot keep time-stamp tokens (no keep/read in the upgrade input)")
    const now = input.now ?? Date.now()
    const pending = (message: string): Result.Result<string, Upgraded> =>
      Result.right({ state: "pending", message, nextUpdate: now + s.retryAfter, profile })
    if (input.signatures.length === 0) return Result.right({ profile, message: "no signatures to time-stamp" })

    // Every token is obtained and verified before any is kept: a run keeps all or nothing.
    type Part = (typeof input.signatures)[number]
    const obtain = async (part: Part): Promise<Either.Either<{ readonly part: Part; readonly verified: Rfc3161.Verified; readonly generation: number }, string>> => {
      let data: Uint8Array
      const previous = catalogue.latest(input.containerId, part.name)
      try {
        const signature = await readAll(part.open())
        if (previous === undefined) data = signature
        else {
          const token = await readAll(input.read!(previous.token))
          if (createHash("sha256").update(token).digest("hex") !== previous.token.sha256) {
            return Either.left(`the kept time-stamp token ${previous.token.name} no longer matches its SHA-256; it is not renewed over`)
          }
          data = new Uint8Array(Buffer.concat([signature, token]))
        }
      } catch (e) {
        return Either.left(`${part.name} could not be read: ${describe(e)}`)
      }
      const request = Rfc3161.request(data)
      const answer = await TsaClient.post(s.tsaUrl, request.der, { timeout: s.timeout })
      if (Either.isLeft(answer)) return Either.left(answer.left)
      const verified = await Rfc3161.verifyResponse(answer.right, { request, data, trustAnchors: s.trustAnchors, now })
      if (Either.isLeft(verified)) return Either.left(`the time-stamp of ${part.name} from ${s.tsaUrl} was refused: ${verified.left}`)
      return Either.right({ part, verified: verified.right, generation: (previous?.generation ?? 0) + 1 })
    }
    // A few requests at once: a container of many signatures stays well inside the call's time limit.
    const results: Array<Awaited<ReturnType<typeof obtain>>> = new Array(input.signatures.length)
    let next = 0
    const lane = async () => {
      while (next < input.signatures.length) {
        const i = next++
        results[i] = await obtain(input.signatures[i]!)
        if (Either.isLeft(results[i]!)) next = input.signatures.length // stop early: nothing will be kept
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, input.signatures.length) }, lane))
    const failed = results.find((r) => r !== undefined && Either.isLeft(r))
    if (failed !== undefined && Either.isLeft(failed)) return pending(failed.left)
    const obtained = results.map((r) => Either.getOrThrow(r!))

    const records: Record<string, string> = {}
    const stamps: Array<Stamp> = []
    for (const { part, verified, generation } of obtained) {
      const kept = await input.keep({
        name: `${part.name}.timestamp-${generation}`,
        fileName: `${part.fileName}.timestamp-${generation}.tst`,
        mimeType: tokenMimeType,
        content: verified.token
      })
      if (kept._tag === "Left") return pending(`the time-stamp token of ${part.name} could not be kept: ${kept.left}`)
      const token: PartRecord = kept.right
      const stamp: Stamp = {
        signature: part.name,
        generation,
        token,
        tsa: verified.tsa,
        tsaUrl: s.tsaUrl,
        serial: verified.serial,
        stampedAt: verified.genTime,
        expires: verified.tsaCertificateNotAfter
      }
      stamps.push(stamp)
      records[Catalogue.recordKey(part.name)] = JSON.stringify(stamp)
    }
    const earliest = Math.min(...stamps.map((x) => x.expires))
    return Result.right({
      profile,
      records,
      expires: stamps.map((x) => x.expires),
      nextUpdate: Math.max(earliest - s.renewBefore, now + s.retryAfter),
      message: `${stamps.length} signature${stamps.length === 1 ? "" : "s"} time-stamped by ${stamps[0]!.tsa}; tokens verifiable until ${new Date(earliest).toISOString()}`
    })
  }

  return {
    name: builtinName,
    catalogue,
    settings: () => settings,
    initialize: (params) => {
      const parsed = parseSettings(params)
      if (Either.isLeft(parsed)) return Result.left(parsed.left)
      settings = parsed.right
      return Result.right(undefined)
    },
    upgrade
  }
}
