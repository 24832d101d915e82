// Owned by the archive adapter work: mounts the document-archive API (`/api/...`) of seed 001.
//
// Plugins come from examples/plugin-config.json (a `filesystem` storage mirrored to a second one
// with verified reads, repair and a daily fixity run (its `Replication` section), a `memory`
// storage and a SanConnector post-processor loaded with dynamic import() from examples/plugins/). With a
// `dataDir` (what `npm start` passes) their folders live there, and the catalogue (the
// containers, their documents' locators) and its search index in the database given: all of it
// survives a restart. The `memory_01` storage forgets by nature. Without one, the demo puts the
// folders under a fresh temporary directory, removed on close, and keeps the catalogue in memory.
// The caller's source system is the `X-Source-System` header (default 4,
// the seed's "Служба технического сопровождения"); dates without a zone are read at +03:00, as
// the seed's service does.
//
// `UWS_ARCHIVE_TSA_URL=http://tsa.example/ UWS_ARCHIVE_TSA_TRUST_ANCHORS=/path/ca.pem` adds the
// RFC 3161 signature upgrader (`rfc3161`) to the configuration, as a `SignatureUpgrader` entry of
// plugin-config.json would (`UWS_ARCHIVE_TSA_PARAMETERS` = a JSON object of further parameters,
// e.g. `{"RenewBeforeDays":30}`); without them no TSA is configured and containers say
// `upgrade: "not-configured"`.
// Documents by identifier (`GET /api/fetch/{identifier}`, serve if stored, else fetch): the
// `upstream_01` upstream of plugin-config.json is off by default; `UWS_ARCHIVE_UPSTREAM` (a URL
// template, e.g. `http://127.0.0.1:8081/{path}`) turns it on, pointed there. A fetch's job is
// shown read-only, as UWS, at `/uws/archive/jobs/{id}` (the Location of a 202).
//
// `UWS_ARCHIVE_DEMO_CLOCK=2023-05-30T20:00:32+03:00` starts the archive's clock at that instant
// (time then runs normally): the seed's own curl commands, which file a temporary container until
// 21.07.2023, replay as they did on the seed's date.
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Archive, ArchiveAdapter, DumpAdapter, Dumps, PluginConfig, Plugins, ReplicationConfig } from "@uws-kit/adapter-archive"
import { RestAdapter } from "@uws-kit/adapter-rest"
import type { ContainerIndex, CopyCatalogue, Replicas } from "@uws-kit/adapter-archive"
import { Lifecycle, type Dispatcher, type JobStore, type ResultStore } from "@uws-kit/core"
import { Effect, Exit, Scope } from "effect"
import { byClientAddress, type Contribution } from "./mount.js"

const here = path.dirname(fileURLToPath(import.meta.url))

const sourceSystems: Readonly<Record<string, string>> = {
  "4": "Служба технического сопровождения",
  "7": "Бухгалтерия"
}

export interface ArchiveDemoOptions {
  /** Where documents are kept (kept after close); absent = a temporary folder, removed on close. */
  readonly dataDir?: string
  readonly jobStore?: JobStore.JobStoreService
  readonly resultStore?: ResultStore.ResultStoreService
  readonly dispatcher?: Dispatcher.DispatcherService
  /** The search index (beside a durable job store: in the same database). */
  readonly containerIndex?: ContainerIndex.ContainerIndex
  /** The catalogue of copies of the mirrored storage (beside a durable job store: in the same database). */
  readonly copyCatalogue?: CopyCatalogue.CopyCatalogue
  /** Where fixity runs are kept (default: in memory). */
  readonly fixityStores?: { readonly jobStore: JobStore.JobStoreService; readonly resultStore: ResultStore.ResultStoreService }
  /** See `MountOptions` (default off). */
  readonly trustForwarded?: boolean
  /** See `MountOptions` (default none). */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** See `ServiceOptions`: the longest blocking wait on the archive's and the dumps' job lists. */
  readonly maxWait?: number
  /** The plugin-config.json to load (default examples/plugin-config.json). */
  readonly pluginConfig?: string
  /** Wraps the loaded plugins (the demo's server counts and logs their calls: examples/archiveObserve.ts). */
  readonly observePlugins?: (plugins: Plugins.LoadedPlugins) => Plugins.LoadedPlugins
  /** Told each content a fixity run checks (the demo's server counts outcomes: examples/archiveObserve.ts). */
  readonly onFixityCheck?: (check: Replicas.ContentCheck) => Effect.Effect<void>
  /** The job list of exports and imports (beside a durable job store: in the same database). */
  readonly dumpStores?: {
    readonly jobStore?: JobStore.JobStoreService
    readonly resultStore?: ResultStore.ResultStoreService
    readonly dispatcher?: Dispatcher.DispatcherService
  }
}

/** The `SignatureUpgrader` entry the TSA variables describe, if any. */
const tsaFromEnv = (env: NodeJS.ProcessEnv = process.env): Pick<PluginConfig.PluginConfig, "signatureUpgrader"> => {
  const url = env["UWS_ARCHIVE_TSA_URL"]
  if (url === undefined || url === "") return {}
  const extra = env["UWS_ARCHIVE_TSA_PARAMETERS"]
  const parsed: unknown = extra === undefined || extra === "" ? {} : JSON.parse(extra)
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("UWS_ARCHIVE_TSA_PARAMETERS must be a JSON object")
  const parameters = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]))
  return {
    signatureUpgrader: [
      {
        section: "SignatureUpgrader",
        path: "(UWS_ARCHIVE_TSA_URL)",
        enabled: true,
        readOnly: false,
        name: "tsa_01",
        assembly: "rfc3161",
        parameters: { ...parameters, TsaUrl: url, TrustAnchors: env["UWS_ARCHIVE_TSA_TRUST_ANCHORS"] ?? "" }
      }
    ]
  }
}

export const archiveContribution = async (options: ArchiveDemoOptions = {}): Promise<Contribution> => {
  const temporary = options.dataDir === undefined
  const origins = options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "uws-kit-demo-archive-")))
  if (!temporary) await mkdir(dataDir, { recursive: true })
  const scope = Effect.runSync(Scope.make())
  const cleanup = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    if (temporary) await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const config = await Effect.runPromise(PluginConfig.load(options.pluginConfig ?? path.join(here, "plugin-config.json")))
    const upstreamUrl = process.env["UWS_ARCHIVE_UPSTREAM"]
    const placed: PluginConfig.LoadedConfig = {
      ...config,
      documentStorage: config.documentStorage.map((e) =>
        e.assembly === "filesystem" ? { ...e, parameters: { ...e.parameters, DocumentsFolderPath: path.join(dataDir, e.name) } } : e
      ),
      sanConnector: config.sanConnector.map((e) => ({ ...e, parameters: { ...e.parameters, Folder: path.join(dataDir, e.name) } })),
      ...tsaFromEnv(),
      upstream: (config.upstream ?? []).map((e) =>
        e.name === "upstream_01" && upstreamUrl !== undefined && upstreamUrl !== "" ? { ...e, enabled: true, parameters: { ...e.parameters, UrlTemplate: upstreamUrl } } : e
      )
    }
    const loaded = await Effect.runPromise(Scope.extend(Plugins.load(placed), scope))
    const plugins = options.observePlugins?.(loaded) ?? loaded
    const clockAt = process.env["UWS_ARCHIVE_DEMO_CLOCK"]
    const start = clockAt === undefined || clockAt === "" ? undefined : Date.parse(clockAt)
    if (start !== undefined && !Number.isFinite(start)) throw new Error(`UWS_ARCHIVE_DEMO_CLOCK="${clockAt}" is not a date`)
    const { archive, close } = await Archive.start({
      plugins,
      storages: [
        { id: 4, name: "Техническое сопровождение" },
        { id: 7, name: "Бухгалтерия" }
      ],
      ...(options.jobStore === undefined ? {} : { jobStore: options.jobStore }),
      ...(options.resultStore === undefined ? {} : { resultStore: options.resultStore }),
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      ...(options.containerIndex === undefined ? {} : { containerIndex: options.containerIndex }),
      // filesystem_01 mirrored to filesystem_02 (plugin-config.json's Replication), fixity daily.
      ...(placed.replication === undefined
        ? {}
        : {
            replication: (() => {
              const r = ReplicationConfig.toOptions(placed.replication)
              return {
                ...r,
                ...(options.copyCatalogue === undefined ? {} : { catalogue: options.copyCatalogue }),
                fixity: { ...r.fixity, ...options.fixityStores, ...(options.onFixityCheck === undefined ? {} : { onCheck: options.onFixityCheck }) }
              }
            })()
          }),
      ...(start === undefined ? {} : { clock: Archive.offsetClock(start - Date.now()) }),
      fetch: { upstreams: plugins.upstreams ?? [], spoolDirectory: path.join(dataDir, "fetch-spool") },
      ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait })
    })
    // Verifiable dumps: chunks under <dataDir>/dumps, served at /dumps, their jobs at /uws/archive-dumps.
    const dumpsStarted = await Dumps.start({
      archive,
      plugins: archive.loadedPlugins,
      directory: path.join(dataDir, "dumps"),
      ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait }),
      // The demo lets any caller import (a real host gives this to its operators only).
      mayImport: () => true,
      ...options.dumpStores
    })
    const identifyNode = (req: { readonly headers: Record<string, string | ReadonlyArray<string> | undefined> }) => {
      const h = req.headers["x-source-system"]
      return { id: (typeof h === "string" ? h.trim() : "") || "4" }
    }
    const dumpApi = DumpAdapter.makeDumpAdapter({
      dumps: dumpsStarted.dumps,
      basePath: "/dumps",
      identify: (request) => ({ id: request.headers.get("x-source-system")?.trim() || "4" }),
      trustForwarded: options.trustForwarded ?? false, ...origins
    })
    const dumpJobs = RestAdapter.makeRestAdapter({
      // Blocking waits counted in uws_wait_waiters, as for every job list the demo serves.
      service: Lifecycle.instrument(dumpsStarted.dumps.uws, "archive-dumps"),
      basePath: "/uws/archive-dumps",
      title: "archive dumps (exports and imports)",
      identifyNode,
      trustForwarded: options.trustForwarded ?? false, ...origins
    })
    const api = ArchiveAdapter.makeArchiveAdapter({
      archive,
      basePath: "/api",
      // An operator (fixity runs, deleting permanent containers): `X-Operator-Key` equal to
      // UWS_ARCHIVE_OPERATOR_KEY, when that is set; no one otherwise.
      identify: (request) => {
        const key = process.env["UWS_ARCHIVE_OPERATOR_KEY"]
        if (key !== undefined && key !== "" && request.headers.get("x-operator-key") === key) return { id: "operator", admin: true }
        return { id: request.headers.get("x-source-system")?.trim() || "4" }
      },
      sourceSystem: (id) => ({ id: id !== null && /^\d+$/.test(id) ? Number(id) : id, name: id === null ? null : (sourceSystems[id] ?? null) }),
      dateOffsetMinutes: 180,
      trustForwarded: options.trustForwarded ?? false, ...origins,
      fetchJobUrl: (id) => `/uws/archive/jobs/${id}`
    })
    // The archive's job list as UWS, read-only: fetches (anybody's) can be watched and waited on;
    // containers stay with their source systems, changed only through the archive API.
    const jobs = RestAdapter.makeRestAdapter({ service: Lifecycle.instrument(archive.uws, "archive"), basePath: "/uws/archive", title: "archive", identifyNode: byClientAddress, trustForwarded: options.trustForwarded ?? false, ...origins })
    const readOnly = (req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "GET" || req.method === "HEAD") return void jobs.listener(req, res)
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" })
      res.end("The archive's job list is read-only here: containers change through /api.\n")
    }
    const mount = {
      prefix: "/api",
      href: "/api/pages",
      title: "document archive of seed 001: its pages (list, search, upload), its API (POST /api/document/content, /api/document/search, GET /api/document/{id}[/status|/sign]) described at /api/docs and /api/openapi.json",
      listener: api.listener
    }
    return {
      services: {
        archive: archive.uws,
        "archive-dumps": dumpsStarted.dumps.uws,
        ...(archive.fixity === undefined ? {} : { "archive-fixity": archive.fixity.uws })
      },
      mounts: [
        mount,
        { prefix: "/uws/archive", href: "/uws/archive/jobs", vosi: true, title: "archive: the document fetches as UWS jobs (read-only; GET /api/fetch/{identifier} starts one)", listener: readOnly },
        { prefix: "/dumps", href: "/dumps/index.json", title: "verifiable dumps: BagIt chunks (index.json, chunks/…), POST /dumps/export, POST /dumps/import", listener: dumpApi.listener },
        { prefix: "/uws/archive-dumps", href: "/uws/archive-dumps/jobs", vosi: true, title: "archive dumps: the exports and imports as a UWS 1.1 job list", listener: dumpJobs.listener }
      ],
      close: async () => {
        await dumpJobs.dispose()
        await dumpApi.dispose()
        await dumpsStarted.close()
        await jobs.dispose()
        await api.dispose()
        await close()
        await cleanup()
      }
    }
  } catch (e) {
    await cleanup()
    throw e
  }
}
