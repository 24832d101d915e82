/**
 * The host's side of an upstream source: the plugin hosted by the core's plugin host (its
 * lifecycle, its time limit on opening), plus what the archive reads from its parameters.
 *
 * Host settings, read from the plugin's `Parameters` (case-insensitively) beside the plugin's own:
 * - `Retention`: `Permanent` (default) or `Cache`: the tier of the documents fetched from it;
 * - `CacheTtlSeconds`: a `Cache` document's time to live (default 21600, 6 h);
 * - `MaxBytes`: the largest document taken (default 1 GiB);
 * - `TimeoutSeconds`: longest wait for the answer, and longest silence while reading it (default 30).
 *
 * @since 0.2.0
 */
import { Errors, Plugin } from "@uws-kit/core"
import { Duration, Effect } from "effect"
import type { SaveType } from "./Container.js"
import * as PluginLifecycle from "./PluginLifecycle.js"
import type { PluginLifecycleError } from "./PluginLifecycle.js"
import * as Retention from "./Retention.js"
import type { UpstreamDocument, UpstreamSource } from "./UpstreamSource.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Settings {
  readonly retention: Extract<SaveType, "Permanent" | "Cache">
  readonly cacheTtl: number
  readonly maxBytes: number
  readonly timeout: number
}

/**
 * An upstream source under the host's protection.
 *
 * @since 0.2.0
 * @category models
 */
export interface Upstream {
  readonly name: string
  readonly settings: Settings
  readonly state: () => Plugin.PluginState
  readonly failure: () => string | null
  /** Opens the document; `null` when the upstream does not have it. */
  readonly open: (identifier: string, signal: AbortSignal) => Effect.Effect<UpstreamDocument | null, Errors.PluginFailure>
  /** Disposes the plugin once; a second dispose is refused (and logged). */
  readonly dispose: Effect.Effect<void, PluginLifecycleError>
}

const positive = (text: string | undefined, fallback: number, what: string): number | string => {
  if (text === undefined || text.trim() === "") return fallback
  const n = Number(text)
  return Number.isFinite(n) && n > 0 ? n : `${what} must be a positive number, not "${text}"`
}

/**
 * Reads the host settings from a plugin's parameters; a `string` is what is wrong.
 *
 * @since 0.2.0
 * @category parsing
 */
export const settingsOf = (parameters: Readonly<Record<string, string>>): Settings | string => {
  const p = new Plugin.PluginParameters(parameters)
  const tier = (p.get("Retention") ?? "Permanent").trim().toLowerCase()
  if (tier !== "permanent" && tier !== "cache") return `Retention must be Permanent or Cache, not "${p.get("Retention")}"`
  const ttl = positive(p.get("CacheTtlSeconds"), Retention.defaultCacheTtl / 1000, "CacheTtlSeconds")
  const maxBytes = positive(p.get("MaxBytes"), 1024 * 1024 * 1024, "MaxBytes")
  const timeout = positive(p.get("TimeoutSeconds"), 30, "TimeoutSeconds")
  for (const v of [ttl, maxBytes, timeout]) if (typeof v === "string") return v
  return {
    retention: tier === "cache" ? "Cache" : "Permanent",
    cacheTtl: (ttl as number) * 1000,
    maxBytes: Math.floor(maxBytes as number),
    timeout: (timeout as number) * 1000
  }
}

/**
 * Hosts an upstream source; a plugin whose settings are wrong is hosted `failed`, with the reason.
 *
 * @since 0.2.0
 * @category constructors
 */
export const host = (name: string, plugin: UpstreamSource, parameters: Readonly<Record<string, string>> = {}): Effect.Effect<Upstream> => {
  const settings = settingsOf(parameters)
  const guarded: UpstreamSource =
    typeof settings === "string" ? { initialize: () => ({ _tag: "Left", left: settings }), open: () => ({ _tag: "Left", left: settings }) } : plugin
  const s = typeof settings === "string" ? settingsOf({})  as Settings : settings
  return Effect.map(Plugin.host(name, guarded, parameters, { timeout: Duration.millis(s.timeout) }), (hosted) => ({
    name,
    settings: s,
    state: hosted.state,
    failure: hosted.failure,
    open: (identifier, signal) => hosted.call("open", (p) => p.open({ identifier, signal })),
    dispose: PluginLifecycle.dispose(hosted)
  }))
}

/**
 * An upstream that could not be loaded: reported `failed`, never asked.
 *
 * @since 0.2.0
 * @category constructors
 */
export const failed = (name: string, reason: string): Effect.Effect<Upstream> =>
  host(name, { initialize: () => ({ _tag: "Left", left: reason }), open: () => ({ _tag: "Left", left: reason }) })
