/**
 * The configuration of the service `npm start` runs (issue 15): one JSON file
 * (`uws-kit.config.json` in the working folder, or `--config PATH`, or `UWS_CONFIG`), checked
 * with `effect/Schema`, then environment variables over it (an operator's or a container's
 * last word). A missing default file means the defaults below; a missing named file is an error.
 *
 * Every mistake is reported with its key path (`policy.maxExecutionDuration`), what was
 * expected, and, for an unknown key, the nearest known one; JSON syntax errors with their line
 * and column; an environment variable's mistake with its name. `toDemoOptions` turns the result
 * into `startDemo`'s options, so each key changes what the server does.
 */
import { readFileSync } from "node:fs"
import { isIP } from "node:net"
import * as path from "node:path"
import { Command as CliCommand, Options as CliOptions } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Exit, Option, ParseResult, Schema, SchemaAST } from "effect"
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser"
import { archivePaths, defaultPaths, type ApplicationPaths, type PathName } from "./mount.js"
import type { DemoOptions } from "./server.js"

/** The file read when neither `--config` nor `UWS_CONFIG` names one. */
export const defaultConfigFile = "uws-kit.config.json"

const WholeAtLeast = (min: number, what = `a whole number ≥ ${min}`) =>
  Schema.Number.pipe(Schema.filter((n) => (Number.isSafeInteger(n) && n >= min) || `expected ${what}, got ${JSON.stringify(n)}`))
/** A whole number ≥ 0, or `null` for no limit (the core's `Policy` convention). */
const Limit = Schema.NullOr(Schema.Number).pipe(
  Schema.filter((n) => n === null || (Number.isSafeInteger(n) && n >= 0) || `expected a whole number ≥ 0 or null (no limit), got ${JSON.stringify(n)}`)
)
const Port = WholeAtLeast(0).pipe(Schema.filter((n) => n <= 65535 || `expected a port number 0-65535, got ${n}`))
const NonEmpty = Schema.String.pipe(Schema.filter((s) => s.trim() !== "" || "expected a non-empty string"))

const isHttpUrl = (s: string) => {
  try {
    const u = new URL(s)
    return (u.protocol === "http:" || u.protocol === "https:") && u.search === "" && u.hash === ""
  } catch {
    return false
  }
}
const PublicBaseUrl = Schema.String.pipe(
  Schema.filter((s) => isHttpUrl(s) || `expected an http(s) URL without query, e.g. "https://uws.example.org", got ${JSON.stringify(s)}`)
)
const Origin = Schema.String.pipe(
  Schema.filter((s) => (isHttpUrl(s) && new URL(s).origin === s) || `expected an origin (scheme://host[:port], no path), got ${JSON.stringify(s)}`)
)
/** An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export const isAddressOrBlock = (s: string): boolean => {
  const [address, bits, ...rest] = s.split("/")
  const family = isIP(address ?? "")
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}
const Proxy = Schema.String.pipe(
  Schema.filter((s) => isAddressOrBlock(s) || `expected an IP address or CIDR block (e.g. "10.0.0.0/8"), got ${JSON.stringify(s)}`)
)
// No `.` or `..` segment: a URL's path is normalised before it is routed, so none would be reached.
const MountPath = Schema.String.pipe(
  Schema.filter((s) => (/^(\/[A-Za-z0-9._~-]+)+$/.test(s) && !/\/\.{1,2}(?=\/|$)/.test(s)) || `expected an absolute path of plain segments (e.g. "/uws/echo"), got ${JSON.stringify(s)}`)
)

// Exact: an absent key is absent, never `undefined` (the options are exactOptionalPropertyTypes).
/**
 * One of these words: checked as a string first so that the message lists them all (a literal
 * union reports each member apart), then typed as the literal union.
 */
const OneOf = <const L extends ReadonlyArray<string>>(...words: L) =>
  Schema.compose(
    Schema.String.pipe(Schema.filter((s) => words.includes(s) || `expected one of ${words.map((w) => JSON.stringify(w)).join(", ")}, got ${JSON.stringify(s)}`)),
    Schema.Literal(...words),
    { strict: false }
  )
const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })
const Toggle = Schema.Struct({ enabled: opt(Schema.Boolean) })
const App = Schema.Struct({ enabled: opt(Schema.Boolean), path: opt(MountPath) })
// The space has three mounts: its REST job list (`path`), its SOAP endpoint and its files.
const SpaceApp = Schema.Struct({ enabled: opt(Schema.Boolean), path: opt(MountPath), soapPath: opt(MountPath), filesPath: opt(MountPath) })

/** The names of what the demo mounts, and what `enabled: false` leaves out. */
export const applicationNames = ["echo", "sleep", "soap", "adql", "archive", "cea", "image", "space"] as const
export type ApplicationName = (typeof applicationNames)[number]

/**
 * Each movable mount: the application, its key under `applications.<app>`, its name in
 * `defaultPaths` (examples/mount.ts) and its environment variable. The archive has none: its
 * API's paths (`/api/...`) are the seed's curl contract.
 */
export const pathKeys = [
  ["echo", "path", "echo", "UWS_ECHO_PATH"],
  ["sleep", "path", "sleep", "UWS_SLEEP_PATH"],
  ["soap", "path", "soap", "UWS_SOAP_PATH"],
  ["adql", "path", "adql", "UWS_ADQL_PATH"],
  ["cea", "path", "cea", "UWS_CEA_PATH"],
  ["image", "path", "image", "UWS_IMAGE_PATH"],
  ["space", "path", "space", "UWS_SPACE_PATH"],
  ["space", "soapPath", "spaceSoap", "UWS_SPACE_SOAP_PATH"],
  ["space", "filesPath", "spaceFiles", "UWS_SPACE_FILES_PATH"]
] as const satisfies ReadonlyArray<readonly [ApplicationName, string, PathName, string]>

type AppsConfig = { readonly [A in ApplicationName]?: { readonly enabled?: boolean; readonly path?: string; readonly soapPath?: string; readonly filesPath?: string } }

const pathOf = (apps: AppsConfig, app: ApplicationName, field: string): string | undefined => (apps[app] as Record<string, unknown> | undefined)?.[field] as string | undefined

/**
 * No two mounts at one path (one would never be reached), nor at the server's own `/health`,
 * `/ready`, `/metrics` or the archive's fixed paths. A path the configuration set is blamed
 * before a default one.
 */
const distinctPaths = (apps: AppsConfig): ReadonlyArray<Schema.FilterIssue> => {
  const taken = new Map<string, string>(["/health", "/ready", "/metrics"].map((p) => [p, `the server's own ${p}`]))
  if (apps.archive?.enabled !== false) for (const p of archivePaths) taken.set(p, "the archive (its paths are fixed)")
  const issues: Array<Schema.FilterIssue> = []
  const on = pathKeys.filter(([app]) => apps[app]?.enabled !== false)
  const ordered = [...on.filter(([app, field]) => pathOf(apps, app, field) === undefined), ...on.filter(([app, field]) => pathOf(apps, app, field) !== undefined)]
  for (const [app, field, name] of ordered) {
    const base = pathOf(apps, app, field) ?? defaultPaths[name]
    // SOAP's path is a base: its endpoints are below it.
    const prefixes = app === "soap" ? (["echo", "sleep"] as const).map((n) => [`${base}/${n}`, ` puts its ${n} endpoint at ${base}/${n},`] as const) : [[base, " is"] as const]
    for (const [prefix, what] of prefixes) {
      const holder = taken.get(prefix)
      if (holder !== undefined) issues.push({ path: [app, field], message: `${JSON.stringify(base)}${what} taken by ${holder}` })
      else taken.set(prefix, `applications.${app}.${field}`)
    }
  }
  return issues
}

const PolicySchema = Schema.Struct({
  defaultExecutionDuration: opt(WholeAtLeast(0)),
  maxExecutionDuration: opt(WholeAtLeast(0)),
  defaultDestructionLifetime: opt(Limit),
  maxDestructionLifetime: opt(Limit),
  overLimit: opt(OneOf("clamp", "refuse")),
  concurrency: opt(WholeAtLeast(1)),
  maxQueuedJobs: opt(Limit),
  maxStoredJobs: opt(Limit),
  maxActiveJobsPerOwner: opt(Limit),
  maxParametersPerJob: opt(Limit),
  maxUploadBytes: opt(Limit),
  maxListedJobs: opt(Limit)
})

/** The configuration file's shape (every key optional: absent = its default). */
export const ConfigSchema = Schema.Struct({
  listen: opt(Schema.Struct({ host: opt(NonEmpty), port: opt(Port) })),
  publicBaseUrl: opt(PublicBaseUrl),
  dataDir: opt(NonEmpty),
  databaseUrl: opt(NonEmpty),
  instanceName: opt(NonEmpty),
  applications: opt(
    Schema.Struct({
      echo: opt(App),
      sleep: opt(App),
      soap: opt(App),
      adql: opt(App),
      archive: opt(Toggle),
      cea: opt(App),
      image: opt(App),
      space: opt(SpaceApp)
    }).pipe(Schema.filter(distinctPaths))
  ),
  policy: opt(PolicySchema),
  maxWait: opt(WholeAtLeast(1, "a whole number of milliseconds ≥ 1")),
  archive: opt(Schema.Struct({ pluginConfig: opt(NonEmpty) })),
  trustForwarded: opt(Schema.Boolean),
  trustedProxies: opt(Schema.Array(Proxy)),
  allowedOrigins: opt(Schema.Array(Origin)),
  limits: opt(
    Schema.Struct({
      headersTimeout: opt(WholeAtLeast(1)),
      requestTimeout: opt(WholeAtLeast(1)),
      keepAliveTimeout: opt(WholeAtLeast(1)),
      maxConnectionsPerIp: opt(WholeAtLeast(1)),
      maxConnections: opt(WholeAtLeast(1))
    })
  ),
  runLog: opt(NonEmpty),
  leaseMillis: opt(WholeAtLeast(1)),
  logFormat: opt(OneOf("logfmt", "json", "off")),
  logLevel: opt(OneOf("debug", "info", "warning", "error")),
  metrics: opt(Schema.Boolean),
  sqliteSynchronous: opt(OneOf("normal", "full"))
})
export type Config = Schema.Schema.Type<typeof ConfigSchema>

/** What `npm start` uses where neither the file nor the environment says (the README's table). */
export const defaults = {
  listen: { host: "127.0.0.1", port: 8080 },
  dataDir: "./data",
  maxWait: 55_000,
  logFormat: "logfmt",
  logLevel: "info",
  metrics: true,
  sqliteSynchronous: "normal"
} as const

type Kind = "string" | "word" | "port" | "whole" | "limit" | "boolean" | "list"

/** Each environment variable, the key it sets, and how its text is read. */
export const environment: ReadonlyArray<readonly [name: string, key: string, kind: Kind]> = [
  ["HOST", "listen.host", "string"],
  ["PORT", "listen.port", "port"],
  ["UWS_PUBLIC_BASE_URL", "publicBaseUrl", "string"],
  ["UWS_DATA_DIR", "dataDir", "string"],
  ["DATABASE_URL", "databaseUrl", "string"],
  ["UWS_INSTANCE", "instanceName", "string"],
  ["UWS_MAX_STORED_JOBS", "policy.maxStoredJobs", "limit"],
  ["UWS_MAX_ACTIVE_JOBS_PER_OWNER", "policy.maxActiveJobsPerOwner", "limit"],
  ["UWS_MAX_WAIT_MS", "maxWait", "whole"],
  ["UWS_ARCHIVE_PLUGIN_CONFIG", "archive.pluginConfig", "string"],
  ["UWS_TRUST_FORWARDED", "trustForwarded", "boolean"],
  ["UWS_TRUSTED_PROXIES", "trustedProxies", "list"],
  ["UWS_ALLOWED_ORIGINS", "allowedOrigins", "list"],
  ["UWS_HEADERS_TIMEOUT_MS", "limits.headersTimeout", "whole"],
  ["UWS_REQUEST_TIMEOUT_MS", "limits.requestTimeout", "whole"],
  ["UWS_KEEP_ALIVE_TIMEOUT_MS", "limits.keepAliveTimeout", "whole"],
  ["UWS_MAX_CONNECTIONS_PER_IP", "limits.maxConnectionsPerIp", "whole"],
  ["UWS_MAX_CONNECTIONS", "limits.maxConnections", "whole"],
  ["UWS_RUN_LOG", "runLog", "string"],
  ["UWS_LEASE_MS", "leaseMillis", "whole"],
  ["UWS_LOG_FORMAT", "logFormat", "word"],
  ["UWS_LOG_LEVEL", "logLevel", "word"],
  ["UWS_METRICS", "metrics", "boolean"],
  ["UWS_SQLITE_SYNC", "sqliteSynchronous", "word"],
  ...applicationNames.map((a) => [`UWS_${a.toUpperCase()}_ENABLED`, `applications.${a}.enabled`, "boolean"] as const),
  ...pathKeys.map(([app, field, , name]) => [name, `applications.${app}.${field}`, "string"] as const)
]

/** An environment variable's text as the JSON value its key takes; `Left` = what was expected. */
const readEnv = (kind: Kind, text: string): Either.Either<unknown, string> => {
  const t = text.trim()
  switch (kind) {
    case "string":
      return Either.right(t)
    case "word":
      // Effect's own level names (Info, Warning) and any other case read as the file's words.
      return Either.right(t.toLowerCase())
    case "boolean":
      return t === "1" || t === "true" ? Either.right(true) : t === "0" || t === "false" ? Either.right(false) : Either.left("1 (on) or 0 (off)")
    case "list":
      return Either.right(t.split(",").map((s) => s.trim()).filter((s) => s !== ""))
    case "limit":
    case "whole":
    case "port":
      if (kind === "limit" && t === "none") return Either.right(null)
      return /^\d+$/.test(t) && Number.isSafeInteger(Number(t))
        ? Either.right(Number(t))
        : Either.left(kind === "limit" ? "a whole number ≥ 0 or none" : kind === "port" ? "a port number 0-65535" : "a whole number")
  }
}

/** Levenshtein distance, for did-you-mean. */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/** The nearest of `known` to `key`, when near enough to be a likely typo. */
export const suggest = (key: string, known: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const d = distance(key, k)
    if (d < bestD) [best, bestD] = [k, d]
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/** The keys a struct in the schema has at `at` (through optional/null/refinement wrappers). */
const keysAt = (ast: SchemaAST.AST, at: ReadonlyArray<PropertyKey>): ReadonlyArray<string> => {
  const unwrap = (a: SchemaAST.AST): SchemaAST.TypeLiteral | undefined => {
    if (SchemaAST.isTypeLiteral(a)) return a
    if (SchemaAST.isRefinement(a)) return unwrap(a.from)
    if (SchemaAST.isTransformation(a)) return unwrap(a.to)
    if (SchemaAST.isUnion(a)) for (const m of a.types) { const t = unwrap(m); if (t !== undefined) return t }
    return undefined
  }
  let node: SchemaAST.TypeLiteral | undefined = unwrap(ast)
  for (const key of at) {
    const p = node?.propertySignatures.find((s) => s.name === key)
    node = p === undefined ? undefined : unwrap(p.type)
  }
  return node?.propertySignatures.map((s) => String(s.name)) ?? []
}

/** Every key's path (`policy.concurrency`), leaves only, as the example file and README list them. */
export const allKeys = (ast: SchemaAST.AST = ConfigSchema.ast, at: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  const struct = keysAt(ast, at)
  return struct.length === 0 ? [at.join(".")] : struct.flatMap((k) => allKeys(ast, [...at, k]))
}

export type Source = { readonly file?: string; readonly env: Readonly<Record<string, string | undefined>> }

/** A loaded configuration: the checked values, and where the file was (if one was read). */
export interface Loaded {
  readonly config: Config
  readonly file: string | undefined
}

const positionOf = (text: string, offset: number) => {
  const before = text.slice(0, offset).split("\n")
  return { line: before.length, column: before[before.length - 1]!.length + 1 }
}

const setPath = (target: Record<string, unknown>, key: string, value: unknown) => {
  const parts = key.split(".")
  let node = target
  for (const p of parts.slice(0, -1)) {
    const next = node[p]
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[p] = {}
    node = node[p] as Record<string, unknown>
  }
  node[parts[parts.length - 1]!] = value
}

/**
 * Reads and checks the configuration: the file (`source.file`, else `UWS_CONFIG`, else
 * `uws-kit.config.json` in `cwd` if it exists), then the environment over it. `Left` = every
 * problem found, one line each.
 */
export const load = (source: Source, cwd = process.cwd()): Either.Either<Loaded, ReadonlyArray<string>> => {
  const named = source.file ?? (source.env["UWS_CONFIG"] === "" ? undefined : source.env["UWS_CONFIG"])
  const file = path.resolve(cwd, named ?? defaultConfigFile)
  let text: string | undefined
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    const code = (e as { code?: string }).code
    if (named !== undefined || code !== "ENOENT") return Either.left([`${file}: cannot read the configuration file (${code ?? String(e)}).`])
  }
  const problems: Array<string> = []
  let raw: unknown = {}
  if (text !== undefined) {
    const errors: Array<ParseError> = []
    raw = parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false })
    // The first error only: the parser's later ones follow from it.
    const first = errors[0]
    if (first !== undefined) {
      const { line, column } = positionOf(text, first.offset)
      return Either.left([`${file}:${line}:${column}: JSON syntax error: ${printParseErrorCode(first.error)}.`])
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return Either.left([`${file}: expected a JSON object at the top level.`])
  }
  // The environment over the file; remember which keys it set, to name it in a problem.
  const merged = structuredClone(raw) as Record<string, unknown>
  const fromEnv = new Map<string, string>()
  for (const [name, key, kind] of environment) {
    const value = source.env[name]
    if (value === undefined || value.trim() === "") continue
    const read = readEnv(kind, value)
    if (Either.isLeft(read)) problems.push(`${name} (${key}): expected ${read.left}, got ${JSON.stringify(value)}.`)
    else {
      setPath(merged, key, read.right)
      fromEnv.set(key, name)
    }
  }
  // The file's own mistakes too, so that one run lists everything.
  const decoded = Schema.decodeUnknownEither(ConfigSchema, { errors: "all", onExcessProperty: "error" })(merged)
  if (Either.isRight(decoded) && problems.length === 0) return Either.right({ config: decoded.right, file: text === undefined ? undefined : file })
  for (const issue of Either.isLeft(decoded) ? ParseResult.ArrayFormatter.formatErrorSync(decoded.left) : []) {
    const at = issue.path.map(String)
    const key = at.join(".")
    // Name the variable when it set this key (or the list this element is in).
    const env = fromEnv.get(key) ?? fromEnv.get(at.slice(0, -1).join("."))
    const where = env === undefined ? key : `${key} (from ${env})`
    if (issue._tag === "Unexpected") {
      const near = suggest(at[at.length - 1] ?? "", keysAt(ConfigSchema.ast, at.slice(0, -1)))
      problems.push(`${where}: unknown key${near === undefined ? "" : `; did you mean "${[...at.slice(0, -1), near].join(".")}"?`}`)
    } else problems.push(`${where}: ${issue.message.replace(/^Expected (.*), actual /, "expected $1, got ")}`)
  }
  // A union's members each report the same annotated message: once is enough.
  return Either.left([...new Set(problems)])
}

/** `startDemo`'s options from a checked configuration, defaults filled in. */
export const toDemoOptions = (config: Config, cwd = process.cwd()): DemoOptions => {
  const apps = config.applications ?? {}
  const enabled = applicationNames.filter((n) => apps[n]?.enabled !== false)
  const paths: ApplicationPaths = Object.fromEntries(pathKeys.flatMap(([app, field, name]) => {
    const p = pathOf(apps, app, field)
    return p === undefined ? [] : [[name, p]]
  }))
  const some = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }))
  return {
    host: config.listen?.host ?? defaults.listen.host,
    port: config.listen?.port ?? defaults.listen.port,
    dataDir: path.resolve(cwd, config.dataDir ?? defaults.dataDir),
    maxWait: config.maxWait ?? defaults.maxWait,
    applications: enabled,
    applicationPaths: paths,
    trustForwarded: config.trustForwarded ?? false,
    logFormat: config.logFormat ?? defaults.logFormat,
    logLevel: config.logLevel ?? defaults.logLevel,
    metrics: config.metrics ?? defaults.metrics,
    sqliteSynchronous: config.sqliteSynchronous ?? defaults.sqliteSynchronous,
    ...some("policy", config.policy),
    ...some("publicBaseUrl", config.publicBaseUrl?.replace(/\/+$/, "")),
    ...some("databaseUrl", config.databaseUrl),
    ...some("instanceName", config.instanceName),
    ...some("archivePluginConfig", config.archive?.pluginConfig === undefined ? undefined : path.resolve(cwd, config.archive.pluginConfig)),
    ...some("trustedProxies", config.trustedProxies),
    ...some("allowedOrigins", config.allowedOrigins),
    ...some("runLog", config.runLog),
    ...some("leaseMillis", config.leaseMillis),
    ...config.limits
  }
}

/** The configuration as it takes effect, defaults filled in: what `--print-config` shows (itself a valid file). */
export const effective = (config: Config, cwd = process.cwd()): Config => {
  const o = toDemoOptions(config, cwd)
  const apps = Object.fromEntries(
    applicationNames.map((a) => [
      a,
      {
        enabled: o.applications!.includes(a),
        ...Object.fromEntries(pathKeys.filter(([app]) => app === a).map(([, field, name]) => [field, o.applicationPaths?.[name] ?? defaultPaths[name]]))
      }
    ])
  )
  return Schema.decodeUnknownSync(ConfigSchema)({
    ...config,
    listen: { host: o.host, port: o.port },
    dataDir: o.dataDir,
    applications: apps,
    // Keys not set stay out: each application has its own defaults (sleep: 600 s / 3600 s).
    policy: config.policy ?? {},
    maxWait: o.maxWait,
    trustForwarded: o.trustForwarded,
    trustedProxies: config.trustedProxies ?? [],
    allowedOrigins: config.allowedOrigins ?? [],
    limits: { ...serverLimits, ...config.limits },
    logFormat: o.logFormat,
    logLevel: o.logLevel,
    metrics: o.metrics,
    sqliteSynchronous: o.sqliteSynchronous
  })
}

/** The server's connection limits when not configured (examples/server.ts `defaultLimits`). */
const serverLimits = { headersTimeout: 15_000, requestTimeout: 300_000, keepAliveTimeout: 5_000, maxConnectionsPerIp: 64, maxConnections: 4096 }

/** What the command line asks for: run the server, or exit with this code (after printing). */
export type Command =
  | { readonly _tag: "run"; readonly options: DemoOptions; readonly loaded: Loaded }
  | { readonly _tag: "exit"; readonly code: number }

const cli = CliCommand.make(
  "uws-kit-demo",
  {
    config: CliOptions.text("config").pipe(
      CliOptions.optional,
      CliOptions.withDescription(`The configuration file (default: UWS_CONFIG, else ./${defaultConfigFile} if present).`)
    ),
    printConfig: CliOptions.boolean("print-config").pipe(CliOptions.withDescription("Print the effective configuration as JSON and exit."))
  },
  () => Effect.void
).pipe(CliCommand.withDescription("The uws-kit demo service (what npm start runs)."))

/**
 * Reads the command line (`argv` as `process.argv`) and the configuration. Mistakes are written
 * to `err` and answered with exit code 2; `--print-config` and `--help` with 0.
 */
export const fromCommandLine = async (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: { readonly out: (s: string) => void; readonly err: (s: string) => void } = { out: (s) => console.log(s), err: (s) => console.error(s) },
  cwd = process.cwd()
): Promise<Command> => {
  let asked: { readonly config: Option.Option<string>; readonly printConfig: boolean } | undefined
  const run = CliCommand.run(
    cli.pipe(CliCommand.withHandler((a) => Effect.sync(() => (asked = a)))),
    { name: "uws-kit demo", version: "0.1.0" }
  )
  const exit = await Effect.runPromiseExit(run(argv).pipe(Effect.provide(NodeContext.layer)))
  // @effect/cli has already printed what was wrong with the arguments.
  if (Exit.isFailure(exit)) return { _tag: "exit", code: 2 }
  if (asked === undefined) return { _tag: "exit", code: 0 } // --help, --version, --wizard
  const file = Option.getOrUndefined(asked.config)
  const loaded = load(file === undefined ? { env } : { file, env }, cwd)
  if (Either.isLeft(loaded)) {
    io.err(`The configuration has ${loaded.left.length === 1 ? "a mistake" : `${loaded.left.length} mistakes`}:\n${loaded.left.map((p) => `  ${p}`).join("\n")}`)
    return { _tag: "exit", code: 2 }
  }
  if (asked.printConfig) {
    io.out(JSON.stringify(effective(loaded.right.config, cwd), null, 2))
    return { _tag: "exit", code: 0 }
  }
  return { _tag: "run", options: toDemoOptions(loaded.right.config, cwd), loaded: loaded.right }
}
