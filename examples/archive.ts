// Owned by the archive adapter work: mounts the document-archive API (`/api/...`) of seed 001.
//
// Plugins come from examples/plugin-config.json (a `filesystem` storage, a `memory` storage and
// a SanConnector post-processor loaded with dynamic import() from examples/plugins/). With a
// `dataDir` (what `npm start` passes) their folders live there, and the catalogue (the
// containers, their documents' locators) and its search index in the database given: all of it
// survives a restart. The `memory_01` storage forgets by nature. Without one, the demo puts the
// folders under a fresh temporary directory, removed on close, and keeps the catalogue in memory.
// The caller's source system is the `X-Source-System` header (default 4,
// the seed's "Служба технического сопровождения"); dates without a zone are read at +03:00, as
// the seed's service does.
//
// `UWS_ARCHIVE_DEMO_CLOCK=2023-05-30T20:00:32+03:00` starts the archive's clock at that instant
// (time then runs normally): the seed's own curl commands, which file a temporary container until
// 21.07.2023, replay as they did on the seed's date.
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Archive, ArchiveAdapter, PluginConfig, Plugins } from "@uws-kit/adapter-archive"
import type { ContainerIndex } from "@uws-kit/adapter-archive"
import type { Dispatcher, JobStore, ResultStore } from "@uws-kit/core"
import { Effect, Exit, Scope } from "effect"
import type { Contribution } from "./mount.js"

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
  /** See `MountOptions` (default off). */
  readonly trustForwarded?: boolean
}

export const archiveContribution = async (options: ArchiveDemoOptions = {}): Promise<Contribution> => {
  const temporary = options.dataDir === undefined
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "uws-kit-demo-archive-")))
  if (!temporary) await mkdir(dataDir, { recursive: true })
  const scope = Effect.runSync(Scope.make())
  const cleanup = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    if (temporary) await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const config = await Effect.runPromise(PluginConfig.load(path.join(here, "plugin-config.json")))
    const placed: PluginConfig.LoadedConfig = {
      ...config,
      documentStorage: config.documentStorage.map((e) =>
        e.assembly === "filesystem" ? { ...e, parameters: { ...e.parameters, DocumentsFolderPath: path.join(dataDir, e.name) } } : e
      ),
      sanConnector: config.sanConnector.map((e) => ({ ...e, parameters: { ...e.parameters, Folder: path.join(dataDir, e.name) } }))
    }
    const plugins = await Effect.runPromise(Scope.extend(Plugins.load(placed), scope))
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
      ...(start === undefined ? {} : { clock: Archive.offsetClock(start - Date.now()) })
    })
    const api = ArchiveAdapter.makeArchiveAdapter({
      archive,
      basePath: "/api",
      identify: (request) => ({ id: request.headers.get("x-source-system")?.trim() || "4" }),
      sourceSystem: (id) => ({ id: id !== null && /^\d+$/.test(id) ? Number(id) : id, name: id === null ? null : (sourceSystems[id] ?? null) }),
      dateOffsetMinutes: 180,
      trustForwarded: options.trustForwarded ?? false
    })
    const mount = {
      prefix: "/api",
      href: "/api/pages",
      title: "document archive of seed 001: its pages (list, search, upload), its API (POST /api/document/content, /api/document/search, GET /api/document/{id}[/status|/sign]) described at /api/docs and /api/openapi.json",
      listener: api.listener
    }
    return {
      mounts: [mount],
      close: async () => {
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
