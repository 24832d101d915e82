/**
 * Loading the plugins of a `plugin-config.json`: built-ins by name, others with dynamic
 * `import()` from the plugins folder; each one instantiated, hosted and initialised by the core
 * plugin host. A plugin that cannot be imported, is not a plugin or fails to initialise is marked
 * `failed` with its reason and reported; the others keep working. Disabled plugins are reported
 * and not loaded.
 *
 * A module may export (as `default`, `plugin`, `createPlugin` or `make`) a plugin object, a
 * factory function returning one (or a promise of one), or a class with a parameterless
 * constructor (the seed's convention). Modules must live inside the plugins folder, unless the
 * host allows otherwise: a configuration file must not be able to load arbitrary code.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Errors, Plugin, Result } from "@uws-kit/core"
import { Duration, Effect } from "effect"
import type { Scope } from "effect"
import * as FilesystemStorage from "./FilesystemStorage.js"
import * as MemoryStorage from "./MemoryStorage.js"
import { PluginConfigError, type LoadedConfig, type PluginConfig, type PluginEntry, type Section } from "./PluginConfig.js"
import * as PluginConfigs from "./PluginConfig.js"
import * as PluginLifecycle from "./PluginLifecycle.js"
import type { PluginLifecycleError } from "./PluginLifecycle.js"
import { isPostProcessor, type PostProcessor, type ProcessedContainer } from "./PostProcessor.js"
import * as Storages from "./Storage.js"
import type { Storage, StorageOptions } from "./Storage.js"
import type { SignatureUpgrader } from "./SignatureUpgrader.js"
import { isStoragePlugin, type StoragePlugin } from "./StoragePlugin.js"
import * as TimeStampUpgrader from "./TimeStampUpgrader.js"

/**
 * The signature upgrader under the host's protection.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostedUpgrader extends Omit<Plugin.Hosted<SignatureUpgrader>, "dispose"> {
  /** The plugin object (e.g. a `TimeStampUpgrader`, whose renewals the host follows). */
  readonly plugin: SignatureUpgrader
  readonly dispose: Effect.Effect<void, PluginLifecycleError>
}
import * as HttpUpstream from "./HttpUpstream.js"
import * as Upstreams from "./Upstream.js"
import type { Upstream } from "./Upstream.js"
import { isUpstreamSource, type UpstreamSource } from "./UpstreamSource.js"

/**
 * A post-processor under the host's protection.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostedPostProcessor {
  readonly name: string
  readonly state: () => Plugin.PluginState
  readonly failure: () => string | null
  readonly process: (container: ProcessedContainer) => Effect.Effect<void, Errors.PluginFailure>
  /** Disposes the plugin once; a second dispose is refused (and logged). */
  readonly dispose: Effect.Effect<void, PluginLifecycleError>
}

/**
 * How a plugin fared, for the start-up report and `GET /api/plugins`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PluginReport {
  readonly section: Section
  readonly name: string
  readonly assembly: string
  readonly enabled: boolean
  readonly readOnly: boolean
  readonly state: Plugin.PluginState | "disabled"
  readonly failure: string | null
}

/**
 * The plugins an archive runs with.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadedPlugins {
  /** Enabled document storages, in declared order (failed ones included: they are reported). */
  readonly storages: ReadonlyArray<Storage>
  /** Enabled post-processors, in the order they are called. */
  readonly postProcessors: ReadonlyArray<HostedPostProcessor>
  /** The enabled `SignatureUpgrader`, when the configuration declares one. */
  readonly upgrader?: HostedUpgrader
  readonly report: () => ReadonlyArray<PluginReport>
  /** Enabled upstream sources, in declared order (failed ones included: they are reported). */
  readonly upstreams?: ReadonlyArray<Upstream>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions extends StorageOptions {
  /** Where `AssemblyName` module paths are resolved (default: the configuration file's folder). */
  readonly directory?: string
  /** Built-in storages by `AssemblyName` (default: `filesystem`, `memory`). */
  readonly storageBuiltins?: Readonly<Record<string, () => StoragePlugin>>
  /** Built-in post-processors by `AssemblyName` (default: none). */
  readonly postProcessorBuiltins?: Readonly<Record<string, () => PostProcessor>>
  /** Built-in signature upgraders by `AssemblyName` (default: `rfc3161`). */
  readonly upgraderBuiltins?: Readonly<Record<string, () => SignatureUpgrader>>
  /** Built-in upstream sources by `AssemblyName` (default: `http`). */
  readonly upstreamBuiltins?: Readonly<Record<string, () => UpstreamSource>>
  /** Allow modules outside the plugins folder (default `false`). */
  readonly allowOutsideDirectory?: boolean
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultStorageBuiltins: Readonly<Record<string, () => StoragePlugin>> = {
  [FilesystemStorage.builtinName]: FilesystemStorage.make,
  [MemoryStorage.builtinName]: MemoryStorage.make
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultUpgraderBuiltins: Readonly<Record<string, () => SignatureUpgrader>> = {
  [TimeStampUpgrader.builtinName]: TimeStampUpgrader.make
}

const isSignatureUpgrader = (u: unknown): u is SignatureUpgrader =>
  typeof u === "object" && u !== null && typeof (u as Record<string, unknown>)["upgrade"] === "function"

/**
 * Hosts a signature upgrader with its parameters.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hostUpgrader = (
  name: string,
  plugin: SignatureUpgrader,
  parameters: Readonly<Record<string, string>> = {},
  options: { readonly timeout?: Duration.DurationInput } = {}
): Effect.Effect<HostedUpgrader> =>
  Plugin.host(name, plugin, parameters, options.timeout === undefined ? {} : { timeout: options.timeout }).pipe(
    Effect.map((hosted) => ({ ...hosted, plugin, dispose: PluginLifecycle.dispose(hosted) }))
  )

/**
 * The built-in upstream sources by `AssemblyName`.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultUpstreamBuiltins: Readonly<Record<string, () => UpstreamSource>> = {
  [HttpUpstream.builtinName]: HttpUpstream.make
}

const EXPORTS = ["default", "plugin", "createPlugin", "make"] as const

const isClass = (f: Function) => /^class[\s{]/.test(Function.prototype.toString.call(f))

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))
/** A guard failure, without the "threw: rejected:" of the generic wording. */
const plainly = <E>(f: Result.Failure<E>) => (f._tag === "Threw" ? f.message.replace(/^rejected: /, "") : Result.describeFailure(f))

const within = (directory: string, file: string) => {
  const relative = path.relative(directory, file)
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative)
}

/** Resolves an `AssemblyName` to a module URL, or says why it cannot be loaded. */
const resolveModule = (assembly: string, directory: string, allowOutside: boolean): Result.Result<string, string> => {
  if (/\.dll$/i.test(assembly)) {
    return Result.left(`"${assembly}" is a .NET assembly; use a built-in or an ES module (.js, .mjs) in the plugins folder ${directory}`)
  }
  let file: string
  if (assembly.startsWith("file:")) file = new URL(assembly).pathname
  else if (path.isAbsolute(assembly) || assembly.startsWith(".") || /\.(m?js|cjs)$/.test(assembly)) file = path.resolve(directory, assembly)
  else {
    try {
      file = createRequire(path.join(directory, "plugin-config.json")).resolve(assembly)
    } catch (e) {
      return Result.left(`module "${assembly}" is not found from the plugins folder ${directory}: ${describe(e)}`)
    }
  }
  if (!allowOutside && !within(directory, file)) {
    return Result.left(`"${assembly}" resolves to ${file}, outside the plugins folder ${directory}`)
  }
  return Result.right(pathToFileURL(file).href)
}

/** Imports and instantiates a plugin; every failure is a message, never a throw. */
const instantiate = <P>(
  entry: PluginEntry,
  builtins: Readonly<Record<string, () => P>>,
  isPlugin: (u: unknown) => u is P,
  what: string,
  options: LoadOptions & { readonly directory: string }
): Effect.Effect<P, string> => {
  const builtin = Object.entries(builtins).find(([name]) => name.toLowerCase() === entry.assembly.toLowerCase())?.[1]
  const timeout = options.timeout ?? Duration.seconds(30)
  const load: Effect.Effect<unknown, string> =
    builtin !== undefined
      ? Effect.sync(() => builtin())
      : Effect.gen(function* () {
          const url = resolveModule(entry.assembly, options.directory, options.allowOutsideDirectory === true)
          if (url._tag === "Left") return yield* Effect.fail(url.left)
          const module = yield* Result.guard(
            () => import(url.right).then((m: Record<string, unknown>) => Result.right(m)),
            { timeout }
          ).pipe(Effect.mapError((f) => `cannot import ${entry.assembly}: ${plainly(f)}`))
          const exported = EXPORTS.map((k) => module[k]).find((v) => v !== undefined)
          if (exported === undefined) {
            return yield* Effect.fail(`${entry.assembly} exports none of ${EXPORTS.join(", ")}`)
          }
          if (typeof exported !== "function") return exported
          return yield* Result.guard(
            () => {
              const made: unknown = isClass(exported) ? new (exported as new () => unknown)() : (exported as () => unknown)()
              return Promise.resolve(made).then((p) => Result.right(p))
            },
            { timeout }
          ).pipe(Effect.mapError((f) => `cannot construct the plugin of ${entry.assembly}: ${plainly(f)}`))
        })
  return load.pipe(
    Effect.catchAllDefect((d) => Effect.fail(`cannot load ${entry.assembly}: ${describe(d)}`)),
    Effect.flatMap((p) =>
      isPlugin(p) ? Effect.succeed(p) : Effect.fail(`${entry.assembly} does not provide a ${what} (missing operations)`)
    )
  )
}

/**
 * Hosts a post-processor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hostPostProcessor = (
  name: string,
  plugin: PostProcessor,
  parameters: Readonly<Record<string, string>> = {},
  options: { readonly timeout?: Duration.DurationInput } = {}
): Effect.Effect<HostedPostProcessor> =>
  Plugin.host(name, plugin, parameters, options.timeout === undefined ? {} : { timeout: options.timeout }).pipe(
    Effect.map((hosted) => ({
      name,
      state: hosted.state,
      failure: hosted.failure,
      process: (container: ProcessedContainer) => Effect.asVoid(hosted.call("process", (p) => p.process(container))),
      dispose: PluginLifecycle.dispose(hosted)
    }))
  )

const failedPostProcessor = (name: string, reason: string) =>
  hostPostProcessor(name, {
    initialize: () => Result.left(reason),
    process: () => Result.left(reason)
  })

/**
 * Loads the enabled plugins of a configuration. Each is hosted for the life of the scope
 * (`PluginLifecycle.acquire`): closing it disposes every plugin hosted, exactly once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (
  config: PluginConfig | LoadedConfig,
  options: LoadOptions = {}
): Effect.Effect<LoadedPlugins, never, Scope.Scope> =>
  Effect.gen(function* () {
    const directory = path.resolve(options.directory ?? ("directory" in config ? config.directory : process.cwd()))
    const opts = { ...options, directory }
    const storageBuiltins = options.storageBuiltins ?? defaultStorageBuiltins
    const postBuiltins = options.postProcessorBuiltins ?? {}

    const storages: Array<Storage> = []
    for (const entry of config.documentStorage.filter((e) => e.enabled)) {
      const storageOptions: StorageOptions = { ...options, readOnly: entry.readOnly }
      const made = yield* Effect.either(instantiate(entry, storageBuiltins, isStoragePlugin, "document storage (save, get, stat, delete)", opts))
      const storage = yield* PluginLifecycle.acquire(
        made._tag === "Right"
          ? Storages.host(entry.name, made.right, entry.parameters, storageOptions)
          : Storages.failed(entry.name, made.left, storageOptions)
      )
      storages.push(storage)
    }
    const postProcessors: Array<HostedPostProcessor> = []
    for (const entry of config.sanConnector.filter((e) => e.enabled)) {
      const made = yield* Effect.either(instantiate(entry, postBuiltins, isPostProcessor, "post-processor (process)", opts))
      const hosted = yield* PluginLifecycle.acquire(
        made._tag === "Right"
          ? hostPostProcessor(entry.name, made.right, entry.parameters, options.timeout === undefined ? {} : { timeout: options.timeout })
          : failedPostProcessor(entry.name, made.left)
      )
      postProcessors.push(hosted)
    }
    let upgrader: HostedUpgrader | undefined
    const upgraderEntry = (config.signatureUpgrader ?? []).find((e) => e.enabled)
    if (upgraderEntry !== undefined) {
      const made = yield* Effect.either(
        instantiate(upgraderEntry, options.upgraderBuiltins ?? defaultUpgraderBuiltins, isSignatureUpgrader, "signature upgrader (upgrade)", opts)
      )
      const timeout = options.timeout === undefined ? {} : { timeout: options.timeout }
      upgrader = yield* PluginLifecycle.acquire(
        made._tag === "Right"
          ? hostUpgrader(upgraderEntry.name, made.right, upgraderEntry.parameters, timeout)
          : hostUpgrader(upgraderEntry.name, { name: upgraderEntry.name, initialize: () => Result.left(made.left), upgrade: () => Result.left(made.left) }, {}, timeout)
      )
    }

    const upstreams: Array<Upstream> = []
    for (const entry of (config.upstream ?? []).filter((e) => e.enabled)) {
      const made = yield* Effect.either(instantiate(entry, options.upstreamBuiltins ?? defaultUpstreamBuiltins, isUpstreamSource, "upstream source (open)", opts))
      upstreams.push(
        yield* PluginLifecycle.acquire(made._tag === "Right" ? Upstreams.host(entry.name, made.right, entry.parameters) : Upstreams.failed(entry.name, made.left))
      )
    }

    // One line of the report: a configured entry and the plugin hosted for it, if it was.
    const line = (
      e: PluginEntry,
      hosted: { readonly state: () => Plugin.PluginState; readonly failure: () => string | null } | undefined,
      readOnly = false
    ): PluginReport => ({
      section: e.section,
      name: e.name,
      assembly: e.assembly,
      enabled: e.enabled,
      readOnly,
      state: hosted === undefined ? ("disabled" as const) : hosted.state(),
      failure: hosted?.failure() ?? null
    })
    const report = (): ReadonlyArray<PluginReport> => [
      ...config.documentStorage.map((e) => line(e, storages.find((x) => x.name === e.name), e.readOnly)),
      ...config.sanConnector.map((e) => line(e, postProcessors.find((x) => x.name === e.name))),
      ...(config.signatureUpgrader ?? []).map((e) => line(e, upgrader !== undefined && upgrader.name === e.name ? upgrader : undefined)),
      ...(config.upstream ?? []).map((e) => line(e, upstreams.find((x) => x.name === e.name)))
    ]
    for (const r of report()) {
      if (r.state === "failed") yield* Effect.logWarning(`plugin ${r.section} "${r.name}" (${r.assembly}) failed: ${r.failure}`)
    }
    return { storages, postProcessors, ...(upgrader === undefined ? {} : { upgrader }), report, upstreams }
  })

/**
 * Reads, validates and loads a `plugin-config.json`; an invalid file fails with every problem.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadFile = (
  file: string,
  options: LoadOptions = {}
): Effect.Effect<LoadedPlugins, PluginConfigError, Scope.Scope> =>
  Effect.flatMap(PluginConfigs.load(file), (config) => load(config, options))

/**
 * Plugins given as objects (for hosts and tests that do not use a configuration file), hosted
 * for the life of the scope like {@link load}'s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromObjects = (
  spec: {
    readonly storages: ReadonlyArray<{
      readonly name: string
      readonly plugin: StoragePlugin
      readonly parameters?: Readonly<Record<string, string>>
      readonly readOnly?: boolean
    }>
    readonly postProcessors?: ReadonlyArray<{
      readonly name: string
      readonly plugin: PostProcessor
      readonly parameters?: Readonly<Record<string, string>>
    }>
    readonly upstreams?: ReadonlyArray<{
      readonly name: string
      readonly plugin: UpstreamSource
      readonly parameters?: Readonly<Record<string, string>>
    }>
  },
  options: StorageOptions = {}
): Effect.Effect<LoadedPlugins, PluginConfigError, Scope.Scope> => {
  const names = [...spec.storages.map((s) => s.name), ...(spec.postProcessors ?? []).map((p) => p.name), ...(spec.upstreams ?? []).map((u) => u.name)]
  const problems = [
    ...names.filter((n) => n.trim() === "").map(() => "a plugin has an empty name"),
    ...names.filter((n, i) => names.indexOf(n) !== i).map((n) => `the name "${n}" is used twice`)
  ]
  if (problems.length > 0) return Effect.fail(new PluginConfigError({ source: "plugins", problems }))
  return Effect.gen(function* () {
    const storages: Array<Storage> = []
    for (const s of spec.storages) {
      storages.push(yield* PluginLifecycle.acquire(Storages.host(s.name, s.plugin, s.parameters ?? {}, { ...options, readOnly: s.readOnly === true })))
    }
    const postProcessors: Array<HostedPostProcessor> = []
    for (const p of spec.postProcessors ?? []) {
      postProcessors.push(
        yield* PluginLifecycle.acquire(hostPostProcessor(p.name, p.plugin, p.parameters ?? {}, options.timeout === undefined ? {} : { timeout: options.timeout }))
      )
    }
    const upstreams: Array<Upstream> = []
    for (const u of spec.upstreams ?? []) upstreams.push(yield* PluginLifecycle.acquire(Upstreams.host(u.name, u.plugin, u.parameters ?? {})))
    const report = (): ReadonlyArray<PluginReport> => [
      ...storages.map((s) => ({
        section: "DocumentStorage" as const,
        name: s.name,
        assembly: "(object)",
        enabled: true,
        readOnly: s.readOnly,
        state: s.state(),
        failure: s.failure()
      })),
      ...postProcessors.map((p) => ({
        section: "SanConnector" as const,
        name: p.name,
        assembly: "(object)",
        enabled: true,
        readOnly: false,
        state: p.state(),
        failure: p.failure()
      })),
      ...upstreams.map((u) => ({
        section: "Upstream" as const,
        name: u.name,
        assembly: "(object)",
        enabled: true,
        readOnly: false,
        state: u.state(),
        failure: u.failure()
      }))
    ]
    return { storages, postProcessors, report, upstreams }
  })
}
