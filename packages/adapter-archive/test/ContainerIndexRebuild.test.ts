/**
 * The search index after a crash between a container's write and its index write: at start the
 * archive adds what the index misses, drops what it keeps of deleted containers and reads again
 * the entries still accepted or processing.
 */
import { Archive, ContainerIndex, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import { Identity, JobStore } from "@uws-kit/core"
import { Effect, Exit, Scope } from "effect"
import { expect, it } from "vitest"

const owner: Identity.Caller = { id: "4" }
const query = { filters: {}, pageSize: 10, page: 1 }

const start = async (jobStore: JobStore.JobStoreService, containerIndex: ContainerIndex.ContainerIndex) => {
  const scope = Effect.runSync(Scope.make())
  const plugins = await Effect.runPromise(
    Scope.extend(Plugins.fromObjects({ storages: [{ name: "mem", plugin: MemoryStorage.make() }] }), scope)
  )
  const started = await Archive.start({ plugins, jobStore, containerIndex })
  return {
    archive: started.archive,
    close: async () => {
      await started.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

const upload = (archive: Archive.ArchiveService, name: string) =>
  Effect.runPromise(
    archive.upload(owner, {
      containerName: name,
      saveType: "Permanent",
      storageId: 1,
      document: Archive.fileFromBytes("d.txt", "text/plain", name),
      signatures: []
    })
  )

const settled = async (archive: Archive.ArchiveService) => {
  for (let i = 0; i < 1000; i++) {
    const page = await Effect.runPromise(archive.search(owner, query))
    if (page.documents.every((c) => c.status !== 1 && c.status !== 2)) return page
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error("the background steps did not finish")
}

it("at start, the index gains the containers it misses, loses the deleted ones and re-reads unsettled ones", async () => {
  const jobs = JobStore.makeMemory()
  const first = await start(jobs, ContainerIndex.makeMemory())
  const a = await upload(first.archive, "alpha")
  const b = await upload(first.archive, "beta")
  await settled(first.archive)
  await first.close()

  // An index that never saw "alpha", still has a deleted container, and holds "beta" as accepted.
  const behind = ContainerIndex.makeMemory()
  const job = await Effect.runPromise(jobs.get(b.id))
  const entry = ContainerIndex.entryOf(job!)!
  await Effect.runPromise(behind.upsert({ ...entry, baseStatus: 1 }))
  await Effect.runPromise(behind.upsert({ ...entry, id: "gone", name: "gone" }))
  const second = await start(jobs, behind)
  const page = await Effect.runPromise(second.archive.search(owner, query))
  expect(page.documents.map((c) => c.id).sort()).toEqual([a.id, b.id].sort())
  expect(page.totalRecords).toBe(2)
  expect((await Effect.runPromise(second.archive.search(owner, { ...query, filters: { status: 4 } }))).totalRecords).toBe(2)
  await second.close()

  // Same count, but an entry left accepted: read again at start.
  const stale = ContainerIndex.makeMemory()
  for (const id of [a.id, b.id]) {
    const e = ContainerIndex.entryOf((await Effect.runPromise(jobs.get(id)))!)!
    await Effect.runPromise(stale.upsert(id === a.id ? { ...e, baseStatus: 2 } : e))
  }
  const third = await start(jobs, stale)
  expect((await Effect.runPromise(third.archive.search(owner, { ...query, filters: { status: 4 } }))).totalRecords).toBe(2)
  await third.close()
})
