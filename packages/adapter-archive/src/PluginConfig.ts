/**
 * `plugin-config.json`, in the seed's shape:
 *
 * ```json
 * { "Plugins": {
 *     "DocumentStorage": [ { "IsEnabled": true, "ReadOnly": false, "PluginName": "filesystem_01",
 *                            "AssemblyName": "filesystem", "Parameters": { "DocumentsFolderPath": "/srv/docs" } } ],
 *     "SanConnector":    [ { "IsEnabled": true, "PluginName": "SanConnector_01",
 *                            "AssemblyName": "./san-connector.mjs", "Parameters": { "Folder": "/srv/san" } } ],
 *     "SignatureUpgrader": [ { "IsEnabled": true, "PluginName": "tsa_01", "AssemblyName": "rfc3161",
 *                            "Parameters": { "TsaUrl": "http://tsa.example/", "TrustAnchors": "/srv/tsa-ca.pem" } } ],
 *     "Upstream":        [ { "IsEnabled": true, "PluginName": "mirror_01", "AssemblyName": "http",
 *                            "Parameters": { "UrlTemplate": "https://mirror.example/{path}" } } ] } }
 * ```
 *
 * `SignatureUpgrader` (ours, not the seed's) declares the signature upgrader; at most one may be
 * enabled.
 *
 * `AssemblyName` is a built-in's name (`filesystem`, `memory`) or an ES module specifier resolved
 * from the plugins folder (the folder of the file). Keys are matched case-insensitively, as .NET's
 * configuration binder does, but a key given twice in different case, an unknown key, `ReadOnly` on
 * a SanConnector or an Upstream, an empty or repeated `PluginName` are errors. `Upstream` (ours) lists
 * the upstream sources of `FetchThrough`. The file is validated as a whole:
 * every problem is listed in one message, with its JSON path.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Data, Effect, Either } from "effect"
import * as ReplicationConfigs from "./ReplicationConfig.js"
import type { ReplicationConfig } from "./ReplicationConfig.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Section = "DocumentStorage" | "SanConnector" | "SignatureUpgrader" | "Upstream"

/**
 * One plugin declaration.
 *
 * @since 0.1.0
 * @category models
 */
export interface PluginEntry {
  readonly section: Section
  /** Where it is in the file, e.g. `Plugins.DocumentStorage[0]`. */
  readonly path: string
  readonly enabled: boolean
  /** DocumentStorage only: serve reads, never write. */
  readonly readOnly: boolean
  readonly name: string
  readonly assembly: string
  readonly parameters: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PluginConfig {
  readonly documentStorage: ReadonlyArray<PluginEntry>
  /** Post-processors, in the order they are called. */
  readonly sanConnector: ReadonlyArray<PluginEntry>
  /** The signature upgrader (at most one enabled); absent when the file has no such section. */
  readonly signatureUpgrader?: ReadonlyArray<PluginEntry>
  /** Upstream sources (`UpstreamSource`) documents not stored are fetched from, in the order asked. */
  readonly upstream?: ReadonlyArray<PluginEntry>
  /** Mirrors of a storage and fixity (the root's `Replication` section), when configured. */
  readonly replication?: ReplicationConfig
}

/**
 * An invalid configuration, with every problem found.
 *
 * @since 0.1.0
 * @category errors
 */
export class PluginConfigError extends Data.TaggedError("PluginConfigError")<{
  readonly source: string
  readonly problems: ReadonlyArray<string>
}> {
  override get message() {
    const n = this.problems.length
    return `${this.source} is invalid (${n} problem${n === 1 ? "" : "s"}):\n${this.problems.map((p) => `  - ${p}`).join("\n")}`
  }
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Case-insensitive lookup of the known keys of an object; unknown and doubled keys are problems.
 *
 * @since 0.1.0
 * @category parsing
 */
export const keysOf = (object: Record<string, unknown>, known: ReadonlyArray<string>, where: string, problems: Array<string>) => {
  const found = new Map<string, unknown>()
  const spelled = new Map<string, string>()
  for (const [key, value] of Object.entries(object)) {
    const match = known.find((k) => k.toLowerCase() === key.toLowerCase())
    if (match === undefined) {
      problems.push(`${where}.${key}: unknown key (expected ${known.join(", ")})`)
    } else if (found.has(match)) {
      problems.push(`${where}: "${spelled.get(match)}" and "${key}" are the same key in different case`)
    } else {
      found.set(match, value)
      spelled.set(match, key)
    }
  }
  return found
}

const ENTRY_KEYS: Record<Section, ReadonlyArray<string>> = {
  DocumentStorage: ["IsEnabled", "ReadOnly", "PluginName", "AssemblyName", "Parameters"],
  SanConnector: ["IsEnabled", "PluginName", "AssemblyName", "Parameters"],
  SignatureUpgrader: ["IsEnabled", "PluginName", "AssemblyName", "Parameters"],
  Upstream: ["IsEnabled", "PluginName", "AssemblyName", "Parameters"]
}

const parseEntry = (section: Section, u: unknown, where: string, problems: Array<string>): PluginEntry | undefined => {
  if (!isObject(u)) {
    problems.push(`${where}: must be an object { IsEnabled, PluginName, AssemblyName, Parameters }`)
    return undefined
  }
  const before = problems.length
  const known = section === "DocumentStorage" ? ENTRY_KEYS.DocumentStorage : [...ENTRY_KEYS[section], "ReadOnly"]
  const keys = keysOf(u, known, where, problems)
  if (section !== "DocumentStorage" && keys.has("ReadOnly")) {
    problems.push(`${where}.ReadOnly: applies to DocumentStorage plugins only`)
  }
  const enabled = keys.get("IsEnabled") ?? true
  if (typeof enabled !== "boolean") problems.push(`${where}.IsEnabled: must be true or false`)
  const readOnly = keys.get("ReadOnly") ?? false
  if (section === "DocumentStorage" && typeof readOnly !== "boolean") problems.push(`${where}.ReadOnly: must be true or false`)
  const name = keys.get("PluginName")
  if (typeof name !== "string" || name.trim().length === 0) problems.push(`${where}.PluginName: must be a non-empty string`)
  else if (name !== name.trim() || /[\u0000-\u001f]/.test(name)) problems.push(`${where}.PluginName: "${name}" has surrounding spaces or control characters`)
  const assembly = keys.get("AssemblyName")
  if (typeof assembly !== "string" || assembly.trim().length === 0) {
    problems.push(`${where}.AssemblyName: must be a built-in's name (filesystem, memory) or a module path in the plugins folder`)
  }
  const parameters: Record<string, string> = {}
  const params = keys.get("Parameters") ?? {}
  if (!isObject(params)) problems.push(`${where}.Parameters: must be an object of names to values`)
  else {
    const seen = new Map<string, string>()
    for (const [key, value] of Object.entries(params)) {
      const lower = key.toLowerCase()
      if (seen.has(lower)) problems.push(`${where}.Parameters: "${seen.get(lower)}" and "${key}" are the same parameter in different case`)
      seen.set(lower, key)
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") parameters[key] = String(value)
      else problems.push(`${where}.Parameters.${key}: must be a string, number or boolean`)
    }
  }
  if (problems.length > before) return undefined
  return {
    section,
    path: where,
    enabled: enabled as boolean,
    readOnly: section === "DocumentStorage" && (readOnly as boolean),
    name: name as string,
    assembly: (assembly as string).trim(),
    parameters
  }
}

/**
 * Validates a parsed `plugin-config.json`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (json: unknown, source = "plugin-config.json"): Either.Either<PluginConfig, PluginConfigError> => {
  const problems: Array<string> = []
  const sections: Record<Section, Array<PluginEntry>> = { DocumentStorage: [], SanConnector: [], SignatureUpgrader: [], Upstream: [] }
  let hasUpgraderSection = false
  let replication: ReplicationConfig | undefined
  if (!isObject(json)) {
    problems.push('the file must hold a JSON object { "Plugins": { "DocumentStorage": [...], "SanConnector": [...] } }')
  } else {
    const root = keysOf(json, ["Plugins", "Replication", "$schema"], "(root)", problems)
    const plugins = root.get("Plugins")
    if (plugins === undefined) problems.push('Plugins: missing (expected { "DocumentStorage": [...], "SanConnector": [...] })')
    else if (!isObject(plugins)) problems.push("Plugins: must be an object with DocumentStorage and SanConnector lists")
    else {
      const lists = keysOf(plugins, ["DocumentStorage", "SanConnector", "SignatureUpgrader", "Upstream"], "Plugins", problems)
      for (const section of ["DocumentStorage", "SanConnector", "SignatureUpgrader", "Upstream"] as const) {
        const list = lists.get(section)
        if (list === undefined || list === null) continue
        if (section === "SignatureUpgrader") hasUpgraderSection = true
        if (!Array.isArray(list)) {
          problems.push(`Plugins.${section}: must be a list`)
          continue
        }
        const names = new Map<string, string>()
        list.forEach((u, i) => {
          const where = `Plugins.${section}[${i}]`
          const entry = parseEntry(section, u, where, problems)
          if (entry === undefined) return
          const key = entry.name.toLowerCase()
          const first = names.get(key)
          if (first !== undefined) problems.push(`${where}.PluginName: "${entry.name}" is already used by ${first} (names must be unique)`)
          else names.set(key, where)
          sections[section].push(entry)
        })
      }
      const upgraders = sections.SignatureUpgrader.filter((e) => e.enabled)
      if (upgraders.length > 1) {
        problems.push(`Plugins.SignatureUpgrader: at most one may be enabled (enabled: ${upgraders.map((e) => e.name).join(", ")})`)
      }
    }
    if (root.has("Replication")) replication = ReplicationConfigs.parse(root.get("Replication"), sections.DocumentStorage, problems)
  }
  return problems.length > 0
    ? Either.left(new PluginConfigError({ source, problems }))
    : Either.right({
        documentStorage: sections.DocumentStorage,
        sanConnector: sections.SanConnector,
        ...(hasUpgraderSection ? { signatureUpgrader: sections.SignatureUpgrader } : {}),
        ...(sections.Upstream.length === 0 ? {} : { upstream: sections.Upstream }),
        ...(replication === undefined ? {} : { replication })
      })
}

/**
 * Validates the text of a `plugin-config.json`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseText = (text: string, source = "plugin-config.json"): Either.Either<PluginConfig, PluginConfigError> => {
  let json: unknown
  try {
    // A BOM is common in files written on Windows, where the seed's service runs.
    json = JSON.parse(text.replace(/^\uFEFF/, ""))
  } catch (e) {
    return Either.left(new PluginConfigError({ source, problems: [`not valid JSON: ${e instanceof Error ? e.message : String(e)}`] }))
  }
  return parse(json, source)
}

/**
 * A configuration read from a file, with the plugins folder it is resolved against.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadedConfig extends PluginConfig {
  readonly file: string
  /** The plugins folder: the file's folder. */
  readonly directory: string
}

/**
 * Reads and validates a `plugin-config.json` file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (file: string): Effect.Effect<LoadedConfig, PluginConfigError> => {
  const absolute = path.resolve(file)
  return Effect.tryPromise({
    try: () => fs.readFile(absolute, "utf8"),
    catch: (e) => new PluginConfigError({ source: absolute, problems: [`cannot be read: ${e instanceof Error ? e.message : String(e)}`] })
  }).pipe(
    Effect.flatMap((text) => parseText(text, absolute)),
    Effect.map((config) => ({ ...config, file: absolute, directory: path.dirname(absolute) }))
  )
}
