/**
 * The demo service that `npm start` runs: the `echo` and `sleep` applications (examples/apps.ts)
 * served by every protocol adapter (REST, SOAP, archive) through the mount contract of
 * examples/mount.ts, plus a landing page at `/` linking them all.
 *
 *     PORT=8080 HOST=127.0.0.1 UWS_DATA_DIR=./data npm start
 *
 * `npm start` keeps everything under a data folder (`./data`, or `UWS_DATA_DIR`): jobs, results
 * and the archive's catalogue in an SQLite file (`uws.sqlite`), archive documents in the
 * archive's filesystem storage. Stop it, start it: everything is there. `DATABASE_URL=postgres://…`
 * keeps the jobs in PostgreSQL instead.
 *
 * Slow clients cannot hold connections for ever (issue #8): the server stops waiting for a
 * request's headers after `UWS_HEADERS_TIMEOUT_MS` (default 15 s) and for the whole request
 * after `UWS_REQUEST_TIMEOUT_MS` (default 300 s, room for large archive uploads), answering 408
 * and closing; Node's request timeout covers receiving the request only, so a blocking `WAIT`
 * (a response that takes its time) is not cut. Idle keep-alive connections close after
 * `UWS_KEEP_ALIVE_TIMEOUT_MS` (default 5 s). One address may hold at most
 * `UWS_MAX_CONNECTIONS_PER_IP` connections (default 64); more are closed at once. The server
 * holds at most `UWS_MAX_CONNECTIONS` in all (default 4096).
 *
 * Each application keeps at most 10,000 jobs and 100 active jobs per client address (the core's
 * `Policy.defaults`); `UWS_MAX_STORED_JOBS` and `UWS_MAX_ACTIVE_JOBS_PER_OWNER` change them (a
 * whole number, or `none` for no limit), e.g. for the HTTP benchmark (bench/http.bench.ts).
 *
 * The SQLite store runs in WAL with `synchronous = NORMAL` by default: every answered change
 * survives the process being killed (kill -9, a crash), while a power cut or OS crash may undo the
 * commits since the last checkpoint (never corrupt the file); `UWS_SQLITE_SYNC=full` for `npm start`
 * (read by examples/config.ts, like every variable of the configuration reference), or
 * `startDemo({ sqliteSynchronous: "full" })`, flushes every commit instead. Five flushes made up
 * most of a 15 ms HTTP lifecycle (README "## Persistence and scaling").
 *
 * URLs in answers (Location, job links, WSDL address) come from the request's own Host; behind a
 * proxy that sets `X-Forwarded-*`/`Forwarded`, `UWS_TRUST_FORWARDED=1` makes every adapter
 * believe them (off by default: a direct client could forge them and change the links).
 *
 * Operations (issue #15): a log line per request and per job lifecycle event through Effect's
 * Logger, `UWS_LOG_FORMAT` = `logfmt` (the default of `npm start`), `json` or `off`, at
 * `UWS_LOG_LEVEL` (default `Info`); `/health` (liveness), `/ready` (store reachable, schema
 * migrated, archive plugins loaded; else 503 naming what failed) and, unless `UWS_METRICS=0`
 * (`startDemo({ metrics: false })`), `/metrics` (Prometheus text format). With
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set, a span per request and per job run goes to that OTLP/HTTP
 * collector.
 *
 * `startDemo` is also what the system suites start, on a free port; without `dataDir` it keeps
 * everything in memory and a temporary folder, as before.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"
import { mkdir } from "node:fs/promises"
import * as path from "node:path"
import { appendFileSync } from "node:fs"
import { Lifecycle, Uws, Worker } from "@uws-kit/core"
import type { Policy } from "@uws-kit/core"
import { AccessLog, BrowserPages, Health, Prometheus } from "@uws-kit/http"
import { Effect, Exit, FiberRef, Layer, Logger, LogLevel, ManagedRuntime, Scope } from "effect"
import * as SqlClient from "@effect/sql/SqlClient"
import { Schema, SqlDatabase } from "@uws-kit/store-sql"
import { byClientAddress } from "./mount.js"
import { batchedStdout, flushLogLines } from "./logLines.js"
import { tracing, type Tracing } from "./tracing.js"
import { archiveContribution } from "./archive.js"
import { countFixityCheck, observePlugins, type WithLogging } from "./archiveObserve.js"
import { ceaContribution } from "./cea/mount.js"
import { echo, sleep } from "./apps.js"
import { imageContribution } from "./image/mount.js"
import { defaultPaths, type ApplicationPaths, type Contribution, type DemoApps, type Mount } from "./mount.js"
import { restContribution } from "./rest.js"
import { adqlContribution } from "./adql/mount.js"
import { soapContribution } from "./soap.js"
import { spaceContribution } from "./space/mount.js"
import { spaceUrl } from "./space/index.js"
import { BlockList, isIP } from "node:net"
import * as Config from "./config.js"
import type { ApplicationName } from "./config.js"

export interface DemoOptions {
  /** 0 = any free port. */
  readonly port?: number
  readonly host?: string
  /** How long a client may take to send a request's headers (ms; default 15,000). */
  readonly headersTimeout?: number
  /** How long a client may take to send a whole request, body included (ms; default 300,000). */
  readonly requestTimeout?: number
  /** How long an idle keep-alive connection stays open (ms; default 5,000). */
  readonly keepAliveTimeout?: number
  /** Most connections one client address may hold (default 64); more are closed at once. */
  readonly maxConnectionsPerIp?: number
  /** Most connections in all (default 4096). */
  readonly maxConnections?: number
  /** How often the server looks for requests over their time-outs (ms; default 1,000). */
  readonly connectionsCheckingInterval?: number
  /** Keep everything under this folder (created if missing); absent = in memory. */
  readonly dataDir?: string
  /** Jobs in this database (`postgres://…`) rather than `dataDir/uws.sqlite`. */
  readonly databaseUrl?: string
  /**
   * SQLite only: `"normal"` (the default) survives kill -9, `"full"` also a power cut (a flush
   * per commit); see `SqlDatabase.SqliteSynchronous`. `npm start`: `UWS_SQLITE_SYNC`.
   */
  readonly sqliteSynchronous?: SqlDatabase.SqliteSynchronous
  /** This instance's name, shown on the landing page (default: its database instance id). */
  readonly instanceName?: string
  /** How long a run's lease outlives its holder (ms; PostgreSQL only, default 10 000). */
  readonly leaseMillis?: number
  /** Appends `start|end <instance> <app> <jobId> <epoch ms>` lines here for every run. */
  readonly runLog?: string
  /** Believe `X-Forwarded-*`/`Forwarded` (behind a proxy); default `UWS_TRUST_FORWARDED`, else off. */
  readonly trustForwarded?: boolean
  /** Each application's job quotas (default `quotasFromEnv()`, else the core's `Policy.defaults`). */
  readonly quotas?: Quotas
  /** Every application's policy (limits, durations, concurrency); `quotas` and the quota variables win over it. */
  readonly policy?: Partial<Policy.Policy>
  /**
   * Longest blocking WAIT of every UWS service the demo starts (echo, sleep, adql, cea, image,
   * space; not the archive's, whose services the archive starts) in ms; default the core's 55,000.
   */
  readonly maxWait?: number
  /** What is mounted (default all): see `applicationNames` in examples/config.ts. */
  readonly applications?: ReadonlyArray<ApplicationName>
  /** Where each application is mounted (default `defaultPaths` of examples/mount.ts). */
  readonly applicationPaths?: ApplicationPaths
  /**
   * The URL clients reach this service at (e.g. `https://uws.example.org/base`): links in
   * answers use it whatever the request's Host or forwarding headers say.
   */
  readonly publicBaseUrl?: string
  /**
   * Addresses or CIDR blocks of proxies whose `X-Forwarded-*`/`Forwarded` are believed; from
   * anyone else those headers are dropped. Given, it implies `trustForwarded` for them only.
   */
  readonly trustedProxies?: ReadonlyArray<string>
  /** Other sites whose pages may change jobs (REST, SOAP; see `CrossSite`); default none. */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** The archive's plugin-config.json (default examples/plugin-config.json). */
  readonly archivePluginConfig?: string
  /** Request and lifecycle log lines on stdout: `logfmt`, `json` or `off` (default `off`; `npm start`: `UWS_LOG_FORMAT`, else `logfmt`). */
  readonly logFormat?: LogFormat
  /** The least level logged (Effect's names: `Debug`, `Info`, `Warning`, `Error`…; default `Info`, `npm start`: `UWS_LOG_LEVEL`). */
  readonly logLevel?: string
  /** Serve `/metrics` and keep the HTTP metrics (default on; `npm start`: `UWS_METRICS`). */
  readonly metrics?: boolean
}

export type LogFormat = "logfmt" | "json" | "off"

const logLevelOf = (name: string): LogLevel.LogLevel => {
  const level = LogLevel.allLevels.find((l) => l._tag.toLowerCase() === name.trim().toLowerCase() || l.label.toLowerCase() === name.trim().toLowerCase())
  if (level === undefined) throw new Error(`The log level must be one of ${LogLevel.allLevels.map((l) => l._tag).join(", ")}, not "${name}".`)
  return level
}

/** The Effect runtime the demo's logs go through: Effect's own logfmt or JSON lines on stdout, a write a turn. */
const logRuntime = (format: LogFormat, level: LogLevel.LogLevel, extra: Layer.Layer<never>) =>
  ManagedRuntime.make(
    Layer.mergeAll(
      format === "off" ? Logger.remove(Logger.defaultLogger) : Logger.replace(Logger.defaultLogger, batchedStdout(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)),
      Logger.minimumLogLevel(format === "off" ? LogLevel.None : level),
      extra
    )
  )

/** Is the schema at the newest migration this code knows (a real query: the store answers)? */
const schemaCheck = (db: SqlDatabase.Database) => async () => {
  const latest = Math.max(...Object.keys(Schema.migrations).map((k) => Number(k.split("_")[0])))
  const rows = await db.run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ readonly v: number | string | null }>(`SELECT max(migration_id) AS v FROM ${Schema.migrationsTable}`)))
  const found = Number(rows[0]?.v ?? 0)
  if (found < latest) throw new Error(`the schema is at migration ${found}, this code needs ${latest}`)
}

/** The job quotas the demo lets its operator change (`null` = no limit). */
export type Quotas = Partial<Pick<Policy.Policy, "maxStoredJobs" | "maxActiveJobsPerOwner">>

const QUOTA_ENV: Readonly<Record<keyof Quotas, string>> = {
  maxStoredJobs: "UWS_MAX_STORED_JOBS",
  maxActiveJobsPerOwner: "UWS_MAX_ACTIVE_JOBS_PER_OWNER"
}

/** The quotas from the environment: a whole number ≥ 0, or `none`; throws on anything else. */
export const quotasFromEnv = (env: NodeJS.ProcessEnv = process.env): Quotas => {
  const out: { -readonly [K in keyof Quotas]: Quotas[K] } = {}
  for (const [key, name] of Object.entries(QUOTA_ENV) as Array<[keyof Quotas, string]>) {
    const text = env[name]?.trim()
    if (text === undefined || text === "") continue
    const n = Number(text)
    if (text === "none") out[key] = null
    else if (/^\d+$/.test(text) && Number.isSafeInteger(n)) out[key] = n
    else throw new Error(`${name} must be a whole number ≥ 0 or none, not "${env[name]}".`)
  }
  return out
}

/** The limits the demo applies when neither an option nor an environment variable says. */
export const defaultLimits = {
  headersTimeout: 15_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 5_000,
  maxConnectionsPerIp: 64,
  maxConnections: 4096,
  connectionsCheckingInterval: 1_000
} as const

const ENV: Readonly<Record<keyof typeof defaultLimits, string>> = {
  headersTimeout: "UWS_HEADERS_TIMEOUT_MS",
  requestTimeout: "UWS_REQUEST_TIMEOUT_MS",
  keepAliveTimeout: "UWS_KEEP_ALIVE_TIMEOUT_MS",
  maxConnectionsPerIp: "UWS_MAX_CONNECTIONS_PER_IP",
  maxConnections: "UWS_MAX_CONNECTIONS",
  connectionsCheckingInterval: "UWS_CONNECTIONS_CHECKING_INTERVAL_MS"
}

/** The limits from the environment; throws on a value that is not a whole number ≥ 1. */
export const limitsFromEnv = (env: NodeJS.ProcessEnv = process.env): Partial<Record<keyof typeof defaultLimits, number>> => {
  const out: Partial<Record<keyof typeof defaultLimits, number>> = {}
  for (const [key, name] of Object.entries(ENV) as Array<[keyof typeof defaultLimits, string]>) {
    const text = env[name]
    if (text === undefined || text === "") continue
    const n = Number(text)
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1, not "${text}".`)
    out[key] = n
  }
  return out
}

/** `UWS_TRUST_FORWARDED`: `1` on, `0` or unset off; throws on anything else. */
export const trustForwardedFromEnv = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const text = env["UWS_TRUST_FORWARDED"]?.trim()
  if (text === undefined || text === "" || text === "0") return false
  if (text === "1") return true
  throw new Error(`UWS_TRUST_FORWARDED must be 1 (believe X-Forwarded-* from a proxy) or 0, not "${env["UWS_TRUST_FORWARDED"]}".`)
}

export interface Demo {
  /** The demo's root URL, without a trailing slash (e.g. `http://localhost:8080`). */
  readonly url: string
  readonly apps: DemoApps
  /** Every mount, longest prefix first. */
  readonly mounts: ReadonlyArray<Mount>
  readonly close: () => Promise<void>
}

/** Where a mount's link points: its `href` when it has one (e.g. a job list), else its prefix. */
export const mountHref = (mount: Mount): string => mount.href ?? mount.prefix

/** Every REST and SOAP mount serves IVOA VOSI `…/availability` and `…/capabilities` (adapters' `vosi` option, default on). */
export const servesVosi = (mount: Mount): boolean => mount.vosi === true

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const landingStyle = "body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}code{font-family:ui-monospace,monospace}"
// The landing page's one inline style is allowed by its hash; nothing else runs or loads.
const landingHeaders = BrowserPages.headers({ style: BrowserPages.hashSource(landingStyle) })

const landingPage = (mounts: ReadonlyArray<Mount>, instance: string) => {
  const items = mounts
    .filter((m) => m.prefix !== "/")
    .sort((a, b) => a.prefix.localeCompare(b.prefix))
    .map(
      (m) =>
        `<li><a href="${escape(mountHref(m))}">${escape(mountHref(m))}</a> — ${escape(m.title)}` +
        (servesVosi(m)
          ? ` <span class="vosi">(VOSI: <a href="${escape(`${m.prefix}/availability`)}">availability</a>, <a href="${escape(`${m.prefix}/capabilities`)}">capabilities</a>)</span>`
          : "") +
        `</li>`
    )
    .join("\n")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>uws-kit demo</title><link rel="icon" href="data:,">
<style>${landingStyle}</style>
</head><body>
<h1>uws-kit demo</h1>
<p>IVOA UWS applications:
<strong>echo</strong> (answers at once with a VOTable of the parameters it got; <code>ERROR=message</code> makes it fail),
<strong>sleep</strong> (<code>SECONDS=n</code>, reports progress, can be aborted),
and the four applications of the UWS v0.3 draft's §3:
<strong>image</strong> (<code>POS=ra,dec&amp;SIZE=deg&amp;FORMAT=image/fits</code>: cutouts of a synthetic sky, each listed as soon as it is made),
<strong>adql</strong> (ADQL queries on a star catalogue, with a paging cursor; TAP layout for pyvo),
<strong>space</strong> (a lease on a storage space over SOAP: its files live until its termination time) and
<strong>cea</strong> (configured command-line applications run from XML job descriptions).</p>
<ul id="services">
${items}
</ul>
<p id="instance">Answered by instance <strong>${escape(instance)}</strong>.</p>
<p>The job lists speak UWS 1.1: XML by default, JSON with <code>Accept: application/json</code>, and these HTML pages in a browser.</p>
</body></html>
`
}

const definedOnly = (options: DemoOptions): Partial<Record<keyof typeof defaultLimits, number>> => {
  const out: Partial<Record<keyof typeof defaultLimits, number>> = {}
  for (const key of Object.keys(defaultLimits) as Array<keyof typeof defaultLimits>) {
    const v = options[key]
    if (v !== undefined) out[key] = v
  }
  return out
}

const send = (res: ServerResponse, status: number, type: string, body: string, headers: Readonly<Record<string, string>> = {}) => {
  res.writeHead(status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

/** Records each run's start and end (synchronous appends: a killed process loses no line). */
const withRunLog = (worker: Worker.Worker, file: string, instance: string): Worker.Worker => {
  const line = (what: string, jobId: string) => appendFileSync(file, `${what} ${instance} ${worker.name} ${jobId} ${Date.now()}\n`)
  return {
    ...worker,
    run: (job, context) => {
      line("start", job.jobId)
      const out = worker.run(job, context)
      const end = () => line("end", job.jobId)
      return Effect.isEffect(out) ? Effect.ensuring(out, Effect.sync(end)) : Promise.resolve(out).finally(end)
    }
  }
}

const FORWARDING = ["forwarded", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-prefix", "x-forwarded-port", "x-forwarded-for"]

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
const plainAddress = (address: string) => (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address)

/**
 * Who is believed about the public URL. The adapters believe forwarding headers when told to
 * (`trustForwarded`); here, before any adapter sees a request, those headers are dropped unless
 * they come from a trusted proxy, and a configured public base URL replaces them outright.
 */
const forwardingEdge = (options: DemoOptions): { readonly trustForwarded: boolean; readonly rewrite: (req: IncomingMessage) => void } => {
  const proxies = options.trustedProxies === undefined ? undefined : new BlockList()
  for (const p of options.trustedProxies ?? []) {
    const [address, bits] = p.split("/") as [string, string | undefined]
    const family = isIP(address) === 6 ? "ipv6" : "ipv4"
    if (bits === undefined) proxies!.addAddress(address, family)
    else proxies!.addSubnet(address, Number(bits), family)
  }
  const believe = proxies !== undefined || (options.trustForwarded ?? trustForwardedFromEnv())
  const base = options.publicBaseUrl === undefined ? undefined : new URL(options.publicBaseUrl)
  if (!believe && base === undefined) return { trustForwarded: false, rewrite: () => {} }
  return {
    trustForwarded: true,
    rewrite: (req) => {
      const from = plainAddress(req.socket.remoteAddress ?? "")
      const trusted = believe && (proxies === undefined || (isIP(from) !== 0 && proxies.check(from, isIP(from) === 6 ? "ipv6" : "ipv4")))
      if (!trusted || base !== undefined) for (const h of FORWARDING) delete req.headers[h]
      if (base !== undefined) {
        req.headers["x-forwarded-proto"] = base.protocol.slice(0, -1)
        req.headers["x-forwarded-host"] = base.host
        req.headers["x-forwarded-prefix"] = base.pathname.replace(/\/+$/, "")
      }
    }
  }
}

/** Starts the demo; `close` stops the server, the adapters and the applications. */
export const startDemo = async (options: DemoOptions = {}): Promise<Demo> => {
  const limits = { ...defaultLimits, ...limitsFromEnv(), ...definedOnly(options) }
  if (limits.headersTimeout > limits.requestTimeout) throw new Error("headersTimeout must not exceed requestTimeout.")
  const edge = forwardingEdge(options)
  const trustForwarded = edge.trustForwarded
  const dataDir = options.dataDir === undefined ? undefined : path.resolve(options.dataDir)
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true })
  const databaseUrl = options.databaseUrl ?? (dataDir === undefined ? undefined : path.join(dataDir, "uws.sqlite"))
  const db =
    databaseUrl === undefined
      ? undefined
      : await SqlDatabase.open(databaseUrl, {
          ...(options.instanceName === undefined ? {} : { instanceId: options.instanceName }),
          // Ignored for PostgreSQL (its durability is the server's).
          sqlite: { synchronous: options.sqliteSynchronous ?? "normal" }
        })
  const instance = options.instanceName ?? db?.instanceId ?? "local"
  // One database, one job list per service.
  const stores = (list: string) => (db === undefined ? {} : { jobStore: db.jobStore(list), resultStore: db.resultStore(list) })
  // PostgreSQL: the instances sharing the database share each list's queue (SqlDispatcher).
  const shared = (list: string) => {
    const dispatcher = db?.dispatcher(list, options.leaseMillis === undefined ? {} : { leaseMillis: options.leaseMillis })
    return { ...stores(list), ...(dispatcher === undefined ? {} : { dispatcher }) }
  }
  const logFormat = options.logFormat ?? "off"
  const logLevel = logLevelOf(options.logLevel ?? "Info")
  const metricsOn = options.metrics ?? true
  const trace: Tracing | undefined = tracing(process.env)
  const runtime = logRuntime(logFormat, logLevel, trace?.layer ?? Layer.empty)
  // The demo's loggers, for effects the libraries run on Effect's default runtime.
  const loggers = runtime.runSync(FiberRef.get(FiberRef.currentLoggers))
  const minimum = runtime.runSync(FiberRef.get(FiberRef.currentMinimumLogLevel))
  const withLogging: WithLogging = (effect) =>
    effect.pipe(Effect.locally(FiberRef.currentLoggers, loggers), Effect.locally(FiberRef.currentMinimumLogLevel, minimum))
  const logged = (worker: Worker.Worker): Worker.Worker => {
    const traced = trace === undefined ? worker : trace.worker(worker, runtime)
    return options.runLog === undefined ? traced : withRunLog(traced, options.runLog, instance)
  }
  const quotas: Partial<Policy.Policy> = { ...options.policy, ...quotasFromEnv(), ...options.quotas }
  // Every UWS service the demo starts takes the same longest WAIT.
  const maxWait = options.maxWait === undefined ? {} : { maxWait: options.maxWait }
  const paths = { ...defaultPaths, ...options.applicationPaths }
  const started = await Promise.all([
    Uws.start({ worker: logged(echo), policy: quotas, ...maxWait, ...shared("echo") }),
    Uws.start({ worker: logged(sleep), policy: { defaultExecutionDuration: 600, maxExecutionDuration: 3600, ...quotas }, ...maxWait, ...shared("sleep") })
  ])
  const [echoService, sleepService] = started
  // Adapters get services whose blocking waits are counted (uws_wait_waiters).
  const apps: DemoApps = { echo: Lifecycle.instrument(echoService.service, "echo"), sleep: Lifecycle.instrument(sleepService.service, "sleep") }
  // Lifecycle logs and job metrics, from each service's change feed, for as long as the demo runs.
  const observing = Effect.runSync(Scope.make())
  await runtime.runPromise(
    Effect.forEach(
      [["echo", echoService.service], ["sleep", sleepService.service]] as const,
      ([name, service]) => Lifecycle.observe(service, { service: name, log: logFormat !== "off", ...(db === undefined ? {} : { jobStore: db.jobStore(name) }) }),
      { discard: true }
    ).pipe(Scope.extend(observing))
  )
  const contributions: Array<Contribution> = []
  // This server's own address (set once it listens), for applications that call back into it.
  let selfUrl: string | undefined
  const closeAll = async () => {
    await Effect.runPromise(Scope.close(observing, Exit.void))
    for (const c of contributions.reverse()) await c.close().catch((e: unknown) => console.error("closing a mount failed:", e))
    await Promise.all(started.map((s) => s.close()))
    await db?.close()
    await runtime.dispose()
    flushLogLines()
  }
  const mounted = new Set<ApplicationName>(options.applications ?? Config.applicationNames)
  const mountOptions = { trustForwarded, ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }) }
  const rest = (["echo", "sleep"] as const).filter((n) => mounted.has(n))
  try {
    if (rest.length > 0) contributions.push(await restContribution(apps, mountOptions, paths, rest))
    if (mounted.has("soap")) contributions.push(await soapContribution(apps, mountOptions, paths.soap))
    if (mounted.has("adql")) contributions.push(
      await adqlContribution({
        ...mountOptions,
        basePath: paths.adql,
        ...maxWait,
        stores: shared("adql"),
        policy: quotas,
        ...(dataDir === undefined ? {} : { catalogue: path.join(dataDir, "adql-stars.sqlite") })
      }))
    if (mounted.has("archive")) contributions.push(
      await archiveContribution({
        ...mountOptions,
        ...maxWait,
        ...(options.archivePluginConfig === undefined ? {} : { pluginConfig: options.archivePluginConfig }),
        observePlugins: (plugins) => observePlugins(plugins, withLogging),
        onFixityCheck: countFixityCheck,
        ...(dataDir === undefined || db === undefined
          ? {}
          : {
              dataDir: path.join(dataDir, "archive"),
              ...shared("archive"),
              containerIndex: db.containerIndex("archive"),
              copyCatalogue: db.copyCatalogue("archive"),
              fixityStores: { jobStore: db.jobStore("archive-fixity"), resultStore: db.resultStore("archive-fixity") },
              dumpStores: shared("archive-dumps")
            })
      }))
    // CEA jobs read and write `vos://` spaces through this server itself, once it listens.
    if (mounted.has("cea")) contributions.push(
      await ceaContribution({
        ...mountOptions,
        basePath: paths.cea,
        ...maxWait,
        policy: quotas,
        ...shared("cea"),
        resolveVos: (vos) => (selfUrl === undefined ? undefined : spaceUrl(vos, selfUrl, paths.spaceFiles))
      }))
    if (mounted.has("image")) contributions.push(await imageContribution({ ...mountOptions, basePath: paths.image, ...maxWait, policy: quotas, ...shared("image") }))
    if (mounted.has("space")) contributions.push(
      await spaceContribution({
        ...mountOptions,
        basePath: paths.space,
        soapPath: paths.spaceSoap,
        filesPath: paths.spaceFiles,
        ...maxWait,
        ...(dataDir === undefined ? {} : { dataDir: path.join(dataDir, "spaces") }),
        ...(db === undefined ? {} : { stores: shared("space") })
      }))
    // The same lifecycle logs and job metrics for the services the contributions started.
    await runtime.runPromise(
      Effect.forEach(
        contributions.flatMap((c) => Object.entries(c.services ?? {})),
        ([name, service]) => Lifecycle.observe(service, { service: name, log: logFormat !== "off", ...(db === undefined ? {} : { jobStore: db.jobStore(name) }) }),
        { discard: true }
      ).pipe(Scope.extend(observing))
    )
  } catch (e) {
    await closeAll()
    throw e
  }
  let mounts: Array<Mount> = contributions.flatMap((c) => c.mounts)
  // Two mounts at one path would leave one unreachable (the configuration refuses it first).
  const twice = mounts.find((m, i) => mounts.findIndex((o) => o.prefix === m.prefix) !== i)
  if (twice !== undefined) {
    await closeAll()
    throw new Error(`two services are mounted at ${twice.prefix}`)
  }
  const landing: Mount = {
    prefix: "/",
    title: "this page",
    listener: (req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname
      if (path !== "/") return send(res, 404, "text/plain; charset=utf-8", `Nothing at ${path}; see / for what this demo serves.\n`)
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("allow", "GET, HEAD")
        return send(res, 405, "text/plain; charset=utf-8", "Only GET here.\n")
      }
      send(res, 200, "text/html; charset=utf-8", landingPage(mounts, instance), landingHeaders)
    }
  }
  mounts = [...mounts, landing].sort((a, b) => b.prefix.length - a.prefix.length)

  // Longest matching prefix wins; the prefix is matched on whole path segments and not stripped.
  const route = (path: string): Mount =>
    mounts.find((m) => m.prefix === "/" || path === m.prefix || path.startsWith(m.prefix.endsWith("/") ? m.prefix : `${m.prefix}/`)) ??
    landing

  // /health, /ready and /metrics answer before the mounts (no mount uses these paths).
  const health = Health.handler({
    checks: {
      store: db === undefined ? () => undefined : schemaCheck(db),
      archivePlugins: () => {
        if (!mounts.some((m) => m.prefix === "/api")) throw new Error("the archive's plugins are not loaded")
      }
    }
  })
  const templates = AccessLog.routeTemplates([...mounts.map((m) => m.prefix), "/health", "/ready", "/metrics"])
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/"
    if (health(req, res)) return
    if (metricsOn && path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("allow", "GET, HEAD")
        return send(res, 405, "text/plain; charset=utf-8", "Only GET here.\n")
      }
      return void runtime.runPromise(Prometheus.scrape).then((text) => send(res, 200, Prometheus.contentType, req.method === "HEAD" ? "" : text))
    }
    try {
      edge.rewrite(req)
      route(path).listener(req, res)
    } catch (e) {
      console.error(`${req.method} ${req.url} failed:`, e)
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "The demo failed to handle this request.\n")
      else res.destroy()
    }
  }
  const observed = AccessLog.wrap(trace === undefined ? serve : trace.requests(serve, runtime, templates), {
    route: templates,
    caller: (req) => byClientAddress(req).quotaKey,
    log: logFormat !== "off",
    metrics: metricsOn,
    // The log lines held over a turn, in one fiber; `observed.close()` logs the last ones before
    // the runtime is disposed.
    run: (effect) => runtime.runSync(effect)
  })

  const server = createServer({
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    connectionsCheckingInterval: limits.connectionsCheckingInterval
  }, observed)
  server.keepAliveTimeout = limits.keepAliveTimeout
  server.maxConnections = limits.maxConnections
  // A per-address cap: one client (or one attacker) cannot take every file descriptor.
  const perIp = new Map<string, number>()
  server.on("connection", (socket) => {
    const ip = socket.remoteAddress ?? "?"
    const held = perIp.get(ip) ?? 0
    if (held >= limits.maxConnectionsPerIp) {
      socket.destroy()
      return
    }
    perIp.set(ip, held + 1)
    socket.once("close", () => {
      const left = (perIp.get(ip) ?? 1) - 1
      if (left <= 0) perIp.delete(ip)
      else perIp.set(ip, left)
    })
  })

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => {
        server.off("error", reject)
        resolve()
      })
    })
  } catch (e) {
    observed.close()
    await closeAll()
    throw e
  }
  const address = server.address() as AddressInfo
  selfUrl = `http://${address.family === "IPv6" ? `[${address.address === "::" ? "::1" : address.address}]` : address.address === "0.0.0.0" ? "127.0.0.1" : address.address}:${address.port}`
  const host = options.host === undefined || ["127.0.0.1", "0.0.0.0", "::", "localhost"].includes(options.host) ? "localhost" : options.host
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
  let closing: Promise<void> | undefined
  return {
    url,
    apps,
    mounts,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await closed
        observed.close()
        await closeAll()
      })())
  }
}

const main = async () => {
  // The file, then the environment over it (examples/config.ts); a mistake exits 2, --print-config 0.
  const command = await Config.fromCommandLine(process.argv)
  if (command._tag === "exit") process.exit(command.code)
  const options = command.options
  const { port, host } = options as { port: number; host: string }
  const dataDir = options.dataDir!
  const databaseUrl = options.databaseUrl
  if (command.loaded.file !== undefined) console.log(`uws-kit demo: configuration from ${command.loaded.file}`)
  let demo: Demo
  try {
    demo = await startDemo(options)
  } catch (e) {
    const code = (e as { code?: string }).code
    console.error(
      code === "EADDRINUSE"
        ? `Port ${port} on ${host} is in use; start with another, e.g. PORT=8081 npm start.`
        : `The demo did not start: ${e instanceof Error ? e.message : String(e)}`
    )
    process.exit(1)
  }
  const width = Math.max(...demo.mounts.map((m) => mountHref(m).length))
  console.log(`uws-kit demo listening on ${demo.url}/`)
  console.log(`  keeping jobs in ${databaseUrl === undefined ? path.resolve(dataDir, "uws.sqlite") : SqlDatabase.isPostgresUrl(databaseUrl) ? "PostgreSQL" : databaseUrl}, documents under ${path.resolve(dataDir, "archive")}`)
  for (const m of [...demo.mounts].sort((a, b) => a.prefix.localeCompare(b.prefix))) {
    console.log(`  ${`${demo.url}${mountHref(m)}`.padEnd(demo.url.length + width)}  ${m.title}`)
  }
  console.log("Stop with Ctrl-C.")
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: exiting now.`)
      process.exit(1)
    }
    stopping = true
    console.log(`${signal}: closing…`)
    demo.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error("closing failed:", e)
        process.exit(1)
      }
    )
  }
  process.on("SIGINT", () => stop("SIGINT"))
  process.on("SIGTERM", () => stop("SIGTERM"))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main()
