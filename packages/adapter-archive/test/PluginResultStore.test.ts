/**
 * UWS job results kept by the archive's storages: the ResultStore contract over a storage plugin,
 * and a UWS job past its destruction time that becomes ARCHIVED with its results still served
 * (core policy `archivedResults: "keep"`), under TestClock.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Content, Identity, JobStore, ResultStore, Uws, Worker } from "@uws-kit/core"
import { FilesystemStorage, MemoryStorage, PluginResultStore, Storage } from "@uws-kit/adapter-archive"
import { Effect, Either, Stream, TestClock, TestContext } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { testResultStore } from "@uws-kit/core/ResultStoreSuite"

const dirs: Array<string> = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})

/** Re-reads until the job is in a phase (bounded; real time passes for the filesystem's fsyncs). */
const waitFor = (uws: Uws.UwsService, caller: Identity.Caller, jobId: string, phase: string) =>
  Effect.gen(function* () {
    let job = yield* uws.get(caller, jobId)
    for (let i = 0; i < 2000 && job.phase !== phase; i++) {
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 2)))
      job = yield* uws.get(caller, jobId)
    }
    expect(job.phase).toBe(phase)
    return job
  })

const text = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Stream.runCollect(stream).pipe(Effect.map((chunks) => new TextDecoder().decode(Content.concat([...chunks]))))

/** Files kept by a filesystem storage. */
const storedFiles = async (dir: string): Promise<number> => {
  let n = 0
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(d, e.name))
      else n++
    }
  }
  await walk(path.join(dir, "objects"))
  return n
}

testResultStore({
  name: "PluginResultStore over the memory storage",
  make: async () => PluginResultStore.make(await Effect.runPromise(Storage.host("mem", MemoryStorage.make())))
})

testResultStore({
  name: "PluginResultStore over the filesystem storage",
  runs: 10,
  make: async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-prs-"))
    dirs.push(dir)
    return PluginResultStore.make(await Effect.runPromise(Storage.host("fs", FilesystemStorage.make(), { DocumentsFolderPath: dir })))
  }
})

describe("PluginResultStore", () => {
  it("keeps, replaces, serves and deletes contents by job and key", async () => {
    const memory = MemoryStorage.make()
    const store = PluginResultStore.make(await Effect.runPromise(Storage.host("mem", memory)))
    const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)
    expect(await run(store.put("j1", "results/a", "first", "text/plain"))).toEqual({ size: 5 })
    expect(await run(store.put("j1", "results/a", "second!", "text/plain"))).toEqual({ size: 7 })
    await run(store.put("j1", "parameters/p", new Uint8Array([1, 2, 3]), undefined))
    await run(store.put("j2", "results/a", Stream.make(new TextEncoder().encode("other")), "text/plain"))
    expect(memory.locators().length).toBe(3) // the replaced content is gone from the storage
    const a = await run(store.get("j1", "results/a"))
    expect(a?.size).toBe(7)
    expect(a?.mimeType).toBe("text/plain")
    expect(await run(text(a!.stream))).toBe("second!")
    expect(await run(store.get("j1", "results/missing"))).toBeUndefined()
    await run(store.deleteAll("j1", "results/"))
    expect(await run(store.get("j1", "results/a"))).toBeUndefined()
    expect(await run(store.get("j1", "parameters/p"))).toBeDefined()
    await run(store.deleteAll("j1"))
    expect(await run(store.get("j1", "parameters/p"))).toBeUndefined()
    expect(await run(text((await run(store.get("j2", "results/a")))!.stream))).toBe("other")
    expect(memory.locators().length).toBe(1)
  })

  it("fails with StorageFailure, not a defect, when the storage fails; a read-only storage takes nothing", async () => {
    const readOnly = PluginResultStore.make(await Effect.runPromise(Storage.host("ro", MemoryStorage.make(), {}, { readOnly: true })))
    const put = await Effect.runPromise(Effect.either(readOnly.put("j", "results/x", "x", undefined)))
    expect(Either.isLeft(put) && put.left._tag).toBe("StorageFailure")
    expect(Either.isLeft(put) && put.left.message).toContain("read-only")
  })
})

describe("a UWS job whose results a permanent storage keeps", () => {
  const scenario = (archivedResults: "keep" | "drop") =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-results-")))
      dirs.push(dir)
      const storage = yield* Storage.host("permanent", FilesystemStorage.make(), { DocumentsFolderPath: dir })
      const uws = yield* Uws.make({
        worker: Worker.make({
          name: "table",
          run: async () => [{ id: "table", mimeType: "text/csv", content: "ra,dec\n10.5,-3.25\n" }]
        }),
        policy: { onDestruction: "archive", archivedResults, defaultDestructionLifetime: 3600, maxDestructionLifetime: 7200 }
      }).pipe(
        Effect.provideService(ResultStore.ResultStore, PluginResultStore.make(storage)),
        Effect.provideService(JobStore.JobStore, JobStore.makeMemory())
      )
      const owner = Identity.user("astronomer")
      const job = yield* uws.create(owner, { run: true })
      yield* waitFor(uws, owner, job.jobId, "COMPLETED")
      expect(yield* Effect.promise(() => storedFiles(dir))).toBe(1)

      // Past its destruction time, the reaper archives it.
      yield* TestClock.adjust("2 hours")
      const archived = yield* waitFor(uws, owner, job.jobId, "ARCHIVED")
      const files = yield* Effect.promise(() => storedFiles(dir))
      return { uws, owner, job: archived, files }
    }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

  it("becomes ARCHIVED with its results still listed and served", async () => {
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const { job, files } = yield* scenario("keep")
        return { results: job.results, files }
      }).pipe(Effect.scoped)
    )
    expect(outcome.results).toEqual([{ id: "table", mimeType: "text/csv", size: 18 }])
    expect(outcome.files).toBe(1)
  })

  it("serves the archived job's result content (and drops it, with its file, under the UWS default)", async () => {
    const kept = await Effect.runPromise(
      Effect.gen(function* () {
        const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-results-")))
        dirs.push(dir)
        const storage = yield* Storage.host("permanent", FilesystemStorage.make(), { DocumentsFolderPath: dir })
        const uws = yield* Uws.make({
          worker: Worker.make({ name: "table", run: async () => [{ id: "table", mimeType: "text/csv", content: "ra,dec\n10.5,-3.25\n" }] }),
          policy: { onDestruction: "archive", archivedResults: "keep", defaultDestructionLifetime: 3600, maxDestructionLifetime: 7200 }
        }).pipe(
          Effect.provideService(ResultStore.ResultStore, PluginResultStore.make(storage)),
          Effect.provideService(JobStore.JobStore, JobStore.makeMemory())
        )
        const owner = Identity.user("astronomer")
        const job = yield* uws.create(owner, { run: true })
        yield* waitFor(uws, owner, job.jobId, "COMPLETED")
        yield* TestClock.adjust("2 hours")
        yield* waitFor(uws, owner, job.jobId, "ARCHIVED")
        const result = yield* uws.result(owner, job.jobId, "table")
        return { phase: (yield* uws.get(owner, job.jobId)).phase, body: yield* text(result.content!.stream) }
      }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))
    )
    expect(kept).toEqual({ phase: "ARCHIVED", body: "ra,dec\n10.5,-3.25\n" })

    const dropped = await Effect.runPromise(
      Effect.gen(function* () {
        const { job, files } = yield* scenario("drop")
        return { results: job.results, files }
      }).pipe(Effect.scoped)
    )
    expect(dropped).toEqual({ results: [], files: 0 })
  })
})
