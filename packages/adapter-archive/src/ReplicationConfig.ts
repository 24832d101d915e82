/**
 * The `Replication` section of `plugin-config.json`: which document storage is replicated to
 * which mirrors, under which policy, and how fixity runs are scheduled and paced.
 *
 * ```json
 * "Replication": {
 *   "Primary": "filesystem_01", "Mirrors": ["filesystem_02"], "Policy": "all",
 *   "Fixity": { "EverySeconds": 86400, "BytesPerSecond": 52428800 }
 * }
 * ```
 *
 * Keys: `Primary` (required; a writable DocumentStorage), `Mirrors` (required; DocumentStorage
 * names, `ReadOnly` ones serve reads and repairs only), `Policy` (`all`, default, or `quorum`),
 * `Quorum` (copies a `quorum` upload needs; default a majority), `VerifyBeforeServingBytes`
 * (default 8 MiB), `Fixity` { `EverySeconds`, `BytesPerSecond`, `ItemsPerInterval` with
 * `IntervalSeconds` } (each optional: no schedule, no pace). Keys are case-insensitive.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import type { PluginEntry } from "./PluginConfig.js"
import { keysOf } from "./PluginConfig.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ReplicationConfig {
  readonly primary: string
  readonly mirrors: ReadonlyArray<string>
  readonly policy: "all" | "quorum"
  readonly quorum?: number
  readonly verifyBeforeServing?: number
  readonly fixity: {
    readonly everySeconds?: number
    readonly bytesPerSecond?: number
    readonly itemsPerInterval?: { readonly items: number; readonly intervalSeconds: number }
  }
}

const positive = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u) && u > 0

/**
 * Validates the section against the storages declared; problems are pushed with their JSON path.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (u: unknown, storages: ReadonlyArray<PluginEntry>, problems: Array<string>): ReplicationConfig | undefined => {
  const where = "Replication"
  if (typeof u !== "object" || u === null || Array.isArray(u)) {
    problems.push(`${where}: must be an object { Primary, Mirrors, Policy, Fixity }`)
    return undefined
  }
  const before = problems.length
  const keys = keysOf(u as Record<string, unknown>, ["Primary", "Mirrors", "Policy", "Quorum", "VerifyBeforeServingBytes", "Fixity"], where, problems)
  const enabled = storages.filter((s) => s.enabled)
  const storage = (name: unknown, at: string) => {
    const s = typeof name === "string" ? enabled.find((e) => e.name.toLowerCase() === name.toLowerCase()) : undefined
    if (s === undefined) problems.push(`${at}: ${JSON.stringify(name)} is not an enabled DocumentStorage (enabled: ${enabled.map((e) => e.name).join(", ") || "none"})`)
    return s
  }
  const primary = storage(keys.get("Primary"), `${where}.Primary`)
  if (primary?.readOnly === true) problems.push(`${where}.Primary: "${primary.name}" is ReadOnly; containers are written to the primary`)
  const rawMirrors = keys.get("Mirrors")
  const mirrors: Array<PluginEntry> = []
  if (!Array.isArray(rawMirrors)) problems.push(`${where}.Mirrors: must be a list of DocumentStorage names`)
  else
    rawMirrors.forEach((m, i) => {
      const s = storage(m, `${where}.Mirrors[${i}]`)
      if (s === undefined) return
      if (s === primary || mirrors.includes(s)) problems.push(`${where}.Mirrors[${i}]: "${s.name}" is named twice`)
      else mirrors.push(s)
    })
  const policy = keys.get("Policy") ?? "all"
  if (policy !== "all" && policy !== "quorum") problems.push(`${where}.Policy: must be "all" or "quorum", not ${JSON.stringify(policy)}`)
  const quorum = keys.get("Quorum")
  const writable = 1 + mirrors.filter((m) => !m.readOnly).length
  if (quorum !== undefined && (!Number.isSafeInteger(quorum) || (quorum as number) < 1 || (quorum as number) > writable)) {
    problems.push(`${where}.Quorum: must be a whole number from 1 to ${writable} (the primary and the writable mirrors)`)
  }
  if (quorum !== undefined && policy !== "quorum") problems.push(`${where}.Quorum: applies to Policy "quorum" only`)
  const verify = keys.get("VerifyBeforeServingBytes")
  if (verify !== undefined && !(typeof verify === "number" && Number.isSafeInteger(verify) && verify >= 0)) {
    problems.push(`${where}.VerifyBeforeServingBytes: must be a whole number of bytes ≥ 0`)
  }
  const fixityRaw = keys.get("Fixity") ?? {}
  let fixity: ReplicationConfig["fixity"] = {}
  if (typeof fixityRaw !== "object" || fixityRaw === null || Array.isArray(fixityRaw)) problems.push(`${where}.Fixity: must be an object`)
  else {
    const f = keysOf(fixityRaw as Record<string, unknown>, ["EverySeconds", "BytesPerSecond", "ItemsPerInterval", "IntervalSeconds"], `${where}.Fixity`, problems)
    for (const k of ["EverySeconds", "BytesPerSecond", "ItemsPerInterval", "IntervalSeconds"]) {
      if (f.has(k) && !positive(f.get(k))) problems.push(`${where}.Fixity.${k}: must be a number > 0`)
    }
    if (f.has("ItemsPerInterval") !== f.has("IntervalSeconds")) problems.push(`${where}.Fixity: ItemsPerInterval and IntervalSeconds go together`)
    const n = (k: string) => f.get(k) as number | undefined
    fixity = {
      ...(n("EverySeconds") === undefined ? {} : { everySeconds: n("EverySeconds")! }),
      ...(n("BytesPerSecond") === undefined ? {} : { bytesPerSecond: n("BytesPerSecond")! }),
      ...(n("ItemsPerInterval") === undefined || n("IntervalSeconds") === undefined
        ? {}
        : { itemsPerInterval: { items: Math.max(1, Math.floor(n("ItemsPerInterval")!)), intervalSeconds: n("IntervalSeconds")! } })
    }
  }
  if (problems.length > before) return undefined
  return {
    primary: primary!.name,
    mirrors: mirrors.map((m) => m.name),
    policy: policy as "all" | "quorum",
    ...(quorum === undefined ? {} : { quorum: quorum as number }),
    ...(verify === undefined ? {} : { verifyBeforeServing: verify as number }),
    fixity
  }
}

/**
 * The archive's `replication` option of a section (give the catalogue and fixity stores of a
 * durable database beside it).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toOptions = (config: ReplicationConfig) => ({
  primary: config.primary,
  mirrors: config.mirrors,
  policy: config.policy,
  ...(config.quorum === undefined ? {} : { quorum: config.quorum }),
  ...(config.verifyBeforeServing === undefined ? {} : { verifyBeforeServing: config.verifyBeforeServing }),
  fixity: {
    ...(config.fixity.everySeconds === undefined ? {} : { every: `${config.fixity.everySeconds} seconds` as Duration.DurationInput }),
    ...(config.fixity.bytesPerSecond === undefined ? {} : { bytesPerSecond: config.fixity.bytesPerSecond }),
    ...(config.fixity.itemsPerInterval === undefined
      ? {}
      : { itemsPerInterval: { items: config.fixity.itemsPerInterval.items, interval: `${config.fixity.itemsPerInterval.intervalSeconds} seconds` as Duration.DurationInput } })
  }
})
