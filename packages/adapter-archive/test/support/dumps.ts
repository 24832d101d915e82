/** An archive with its dumps service in this process, over memory storage and a fresh folder. */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Archive, Dumps, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import type { Container as Containers } from "@uws-kit/adapter-archive"
import { Identity } from "@uws-kit/core"
import type { Job } from "@uws-kit/core"
import { Effect, Exit, Scope } from "effect"

type Container = Containers.Container

export interface DumpHarness {
  readonly archive: Archive.ArchiveService
  readonly dumps: Dumps.DumpsService
  readonly dir: string
  readonly memory: ReturnType<typeof MemoryStorage.make>
  readonly plugins: Plugins.LoadedPlugins
  /** Locators whose reads come back with their first byte flipped (bit rot after storing). */
  readonly rot: Set<string>
  /** While set, every read waits for it to resolve (a storage that stalls). */
  stall: Promise<void> | undefined
  readonly upload: (name: string, document: Uint8Array | string, options?: { fileName?: string; signatures?: ReadonlyArray<string>; temporaryUntil?: number }) => Promise<Container>
  readonly settled: () => Promise<ReadonlyArray<Container>>
  readonly finish: (job: Job.Job) => Promise<Job.Job>
  readonly close: () => Promise<void>
}

export const makeDumpHarness = async (
  options: { readonly dir?: string; readonly perChunk?: number; readonly maxActivePerOwner?: number; readonly maxWait?: number } = {}
): Promise<DumpHarness> => {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "uws-dumps-")))
  const scope = Effect.runSync(Scope.make())
  const memory = MemoryStorage.make()
  const rot = new Set<string>()
  const rotting: typeof memory = {
    ...memory,
    get: async (locator) => {
      if (harness.stall !== undefined) await harness.stall
      // The memory storage answers a promise of a Result.
      const got = (await memory.get(locator)) as { _tag: "Left"; left: string } | { _tag: "Right"; right: StoragePlugin.StoredObject }
      if (got._tag === "Left" || !rot.has(locator)) return got
      const content = got.right.content as AsyncIterable<Uint8Array>
      return {
        _tag: "Right",
        right: {
          ...got.right,
          content: (async function* () {
            let first = true
            for await (const c of content) {
              yield first ? c.map((b, i) => (i === 0 ? b ^ 1 : b)) : c
              first = false
            }
          })()
        }
      }
    }
  }
  const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "memory", plugin: rotting }] }), scope))
  const { archive, close } = await Archive.start({
    plugins,
    storages: [{ id: 4, name: "Support" }, { id: 7, name: "Accounts" }],
    ...(options.maxActivePerOwner === undefined ? {} : { policy: { maxActiveJobsPerOwner: options.maxActivePerOwner } }),
    ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait })
  })
  const started = await Dumps.start({ archive, plugins, directory: join(dir, "dumps"), settleMillis: 0, mayImport: () => true, ...(options.perChunk === undefined ? {} : { maxContainersPerChunk: options.perChunk }) })
  const all = async () => (await Effect.runPromise(archive.search(Identity.system, { filters: {}, page: 1, pageSize: 1000 }))).documents
  const harness: DumpHarness = {
    archive,
    dumps: started.dumps,
    dir,
    memory,
    plugins,
    rot,
    upload: (name, document, o = {}) =>
      Effect.runPromise(
        archive.upload(
          { id: "4" },
          {
            containerName: name,
            saveType: o.temporaryUntil === undefined ? "Permanent" : "Temporary",
            ...(o.temporaryUntil === undefined ? {} : { archiveDate: o.temporaryUntil }),
            storageId: 4,
            document: Archive.fileFromBytes(o.fileName ?? `${name}.pdf`, "application/pdf", document),
            signatures: (o.signatures ?? ["sig"]).map((s, i) => Archive.fileFromBytes(`s${i + 1}.sig`, "application/pkcs7-signature", s))
          }
        )
      ),
    settled: async () => {
      for (let i = 0; i < 500; i++) {
        const cs = await all()
        if (cs.every((c) => c.status !== 1 && c.status !== 2)) return cs
        await new Promise((r) => setTimeout(r, 10))
      }
      throw new Error("containers did not settle")
    },
    finish: (job) =>
      Effect.runPromise(started.dumps.uws.waitForChange(Identity.system, job.jobId, { timeout: "60 seconds", untilFinal: true })),
    close: async () => {
      await started.close()
      await close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true })
    },
    stall: undefined
  }
  return harness
}
