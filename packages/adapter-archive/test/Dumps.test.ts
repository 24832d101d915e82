/**
 * Dumps in one process: chunks of the series (append-only, immutable, range-named, listed in the
 * index), bags that our validator accepts, import into another archive (same containers, same
 * bytes), idempotent import, a tampered bag refused with nothing restored, a bag of plain files.
 */
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { spawnSync } from "node:child_process"
import { Archive, BagIt } from "@uws-kit/adapter-archive"
import { Identity } from "@uws-kit/core"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { makeDumpHarness, type DumpHarness } from "./support/dumps.js"

const open: Array<DumpHarness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})
const harness = async (o: Parameters<typeof makeDumpHarness>[0] = {}) => {
  const h = await makeDumpHarness(o)
  open.push(h)
  return h
}
const untar = (file: string) => {
  const into = mkdtempSync(join(tmpdir(), "uws-untar-"))
  const r = spawnSync("tar", ["-xf", file, "-C", into])
  expect(r.status, r.stderr.toString()).toBe(0)
  const [top] = readdirSync(into)
  return join(into, top!)
}
const sha512 = (file: string) => createHash("sha512").update(readFileSync(file)).digest("hex")

describe("export", () => {
  it("writes append-only chunks: the next export continues where the last ended and never rewrites a chunk", async () => {
    const h = await harness({ perChunk: 2 })
    for (const n of ["a", "b", "c"]) await h.upload(n, `document ${n}`)
    await h.settled()
    const first = await h.finish(await Effect.runPromise(h.dumps.exportDump(Identity.system)))
    expect(first.phase).toBe("COMPLETED")
    const index1 = await Effect.runPromise(h.dumps.index)
    expect(index1.chunks.map((c) => c.containers)).toEqual([2, 1])
    expect(index1.chunks[0]!.to).toBe(index1.chunks[1]!.from)
    const hashes = index1.chunks.map((c) => sha512(h.dumps.file("chunks", c.name)!))
    expect(hashes).toEqual(index1.chunks.map((c) => c.sha512))

    // Nothing new: no new chunk.
    await h.finish(await Effect.runPromise(h.dumps.exportDump(Identity.system)))
    expect((await Effect.runPromise(h.dumps.index)).chunks).toHaveLength(2)

    await h.upload("d", "document d")
    await h.settled()
    await h.finish(await Effect.runPromise(h.dumps.exportDump(Identity.system)))
    const index2 = await Effect.runPromise(h.dumps.index)
    expect(index2.chunks).toHaveLength(3)
    expect(index2.chunks.slice(0, 2)).toEqual(index1.chunks)
    expect(index2.chunks.slice(0, 2).map((c) => sha512(h.dumps.file("chunks", c.name)!))).toEqual(hashes)
    expect(index2.chunks[2]!.from).toBe(index1.chunks[1]!.to)
    expect(index2.chunks.map((c) => c.name)).toEqual(index2.chunks.map((c) => expect.stringMatching(new RegExp(`^uws-archive__00000${c.sequence}__\\d{8}T\\d{9}Z--\\d{8}T\\d{9}Z\\.tar$`))))

    // Every chunk is a valid bag holding each container's record and files.
    for (const c of index2.chunks) {
      const bag = await Effect.runPromise(BagIt.validateDirectory(untar(h.dumps.file("chunks", c.name)!)))
      expect(bag.version).toBe("1.0")
      expect(bag.algorithms).toEqual(["sha512"])
      expect([...bag.payload.keys()].filter((p) => p.endsWith("container.json"))).toHaveLength(c.containers)
    }
  })

  it("a selection (search filters) is one bag of the matching containers, outside the series", async () => {
    const h = await harness()
    await h.upload("invoice 1", "one")
    await h.upload("report", "two")
    await h.settled()
    const job = await h.finish(await Effect.runPromise(h.dumps.exportDump(Identity.system, { name: "invoice" })))
    expect(job.phase).toBe("COMPLETED")
    const results = await Effect.runPromise(h.dumps.uws.results(Identity.system, job.jobId))
    expect(results[0]!.href).toBe(`/dumps/selections/${job.jobId}.tar`)
    const bag = await Effect.runPromise(BagIt.validateDirectory(untar(h.dumps.file("selections", `${job.jobId}.tar`)!)))
    const records = [...bag.payload.keys()].filter((p) => p.endsWith("container.json"))
    expect(records).toHaveLength(1)
    expect((await Effect.runPromise(h.dumps.index)).chunks).toEqual([])
  })

  it("a stored document that no longer matches its recorded hash fails the export, and no chunk appears", async () => {
    const h = await harness()
    const c = await h.upload("x", "the original bytes")
    await h.settled()
    h.rot.add(c.document.locator)
    const job = await h.finish(await Effect.runPromise(h.dumps.exportDump(Identity.system)))
    expect(job.phase).toBe("ERROR")
    expect(job.errorSummary?.message).toMatch(/SHA-256/)
    expect((await Effect.runPromise(h.dumps.index)).chunks).toEqual([])
  })
})

describe("abort", () => {
  it("an export aborted while it writes ends ABORTED; nothing of it is kept, not even in staging", async () => {
    const h = await harness()
    await h.upload("a", "document a")
    await h.settled()
    let release: () => void = () => {}
    h.stall = new Promise<void>((r) => (release = r))
    const job = await Effect.runPromise(h.dumps.exportDump(Identity.system))
    for (let i = 0; i < 500; i++) {
      const j = await Effect.runPromise(h.dumps.uws.get(Identity.system, job.jobId))
      if (j.phase === "EXECUTING" && readdirSync(join(h.dir, "dumps", "staging")).length > 0) break
      await new Promise((r) => setTimeout(r, 10))
    }
    const aborted = await Effect.runPromise(h.dumps.uws.abort(Identity.system, job.jobId))
    expect(aborted.phase).toBe("ABORTED")
    h.stall = undefined
    release()
    for (let i = 0; i < 500 && readdirSync(join(h.dir, "dumps", "staging")).length > 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(readdirSync(join(h.dir, "dumps", "staging"))).toEqual([])
    expect(readdirSync(join(h.dir, "dumps", "chunks"))).toEqual([])
    expect((await Effect.runPromise(h.dumps.index)).chunks).toEqual([])
  })
})

describe("import", () => {
  it("restores every container of a chunk into another archive: same ids, names, bytes, dates; twice changes nothing", async () => {
    const source = await harness()
    const a = await source.upload("odd name", "payload A", { fileName: "a %41 b\nc.pdf", signatures: ["s1", "s2"] })
    const b = await source.upload("temporary", "payload B", { temporaryUntil: Date.now() + 86_400_000 })
    await source.settled()
    await source.finish(await Effect.runPromise(source.dumps.exportDump(Identity.system)))
    const [chunk] = (await Effect.runPromise(source.dumps.index)).chunks
    const target = await harness()
    const copy = join(target.dir, "incoming.tar")
    copyFileSync(source.dumps.file("chunks", chunk!.name)!, copy)
    const job = await target.finish(await Effect.runPromise(target.dumps.importDump({ id: null, admin: true }, copy)))
    expect(job.errorSummary?.message ?? null).toBeNull()
    expect(job.jobInfo?.["imported"]).toBe("2")
    const restored = await target.settled()
    expect(restored.map((c) => c.id).sort()).toEqual([a.id, b.id].sort())
    const ra = await Effect.runPromise(target.archive.get(Identity.system, a.id))
    expect(ra.name).toBe("odd name")
    expect(ra.document.fileName).toBe("a %41 bc.pdf")
    expect(ra.ownerId).toBe("4")
    expect(ra.originalCreatedAt).toBe(a.createdAt)
    expect(ra.status).toBe(4)
    expect(ra.uploadedSignatures.map((s) => s.sha256)).toEqual(a.uploadedSignatures.map((s) => s.sha256))
    expect(Buffer.from(await Effect.runPromise(Archive.readPart(target.plugins, ra.document))).toString()).toBe("payload A")
    const rb = await Effect.runPromise(target.archive.get(Identity.system, b.id))
    expect(rb.saveType).toBe("Temporary")
    expect(rb.archiveUntil).toBe(b.archiveUntil)

    const stored = target.memory.locators().length
    const again = join(target.dir, "again.tar")
    copyFileSync(source.dumps.file("chunks", chunk!.name)!, again)
    const second = await target.finish(await Effect.runPromise(target.dumps.importDump({ id: null, admin: true }, again)))
    expect(second.phase).toBe("COMPLETED")
    expect(second.jobInfo?.["imported"]).toBe("0")
    expect(second.jobInfo?.["present"]).toBe("2")
    expect(target.memory.locators().length).toBe(stored)
  })

  it("an owner's quota of active containers slows an import down but does not fail it", async () => {
    const source = await harness()
    for (let i = 0; i < 5; i++) await source.upload(`c${i}`, `document ${i}`)
    await source.settled()
    await source.finish(await Effect.runPromise(source.dumps.exportDump(Identity.system)))
    const [chunk] = (await Effect.runPromise(source.dumps.index)).chunks
    const target = await harness({ maxActivePerOwner: 1 })
    const copy = join(target.dir, "incoming.tar")
    copyFileSync(source.dumps.file("chunks", chunk!.name)!, copy)
    const job = await target.finish(await Effect.runPromise(target.dumps.importDump({ id: null, admin: true }, copy)))
    expect(job.errorSummary?.message ?? null).toBeNull()
    expect(job.jobInfo?.["imported"]).toBe("5")
    expect((await target.settled()).length).toBe(5)
  })

  it("a bag with one flipped byte is refused before anything is restored", async () => {
    const source = await harness()
    await source.upload("x", "some bytes to flip")
    await source.settled()
    await source.finish(await Effect.runPromise(source.dumps.exportDump(Identity.system)))
    const [chunk] = (await Effect.runPromise(source.dumps.index)).chunks
    const tar = readFileSync(source.dumps.file("chunks", chunk!.name)!)
    const at = tar.indexOf("some bytes to flip")
    tar[at] = tar[at]! ^ 1
    const target = await harness()
    const file = join(target.dir, "bad.tar")
    writeFileSync(file, tar)
    const job = await target.finish(await Effect.runPromise(target.dumps.importDump({ id: null, admin: true }, file)))
    expect(job.phase).toBe("ERROR")
    expect(job.errorSummary?.message).toMatch(/not valid BagIt.*document.*sha512/)
    expect((await Effect.runPromise(target.archive.search(Identity.system, { filters: {}, page: 1, pageSize: 10 }))).totalRecords).toBe(0)
    expect(target.memory.locators()).toEqual([])
  })

  it("a bag of plain files becomes one permanent container per file, once", async () => {
    const target = await harness()
    const bagDir = mkdtempSync(join(tmpdir(), "uws-plain-"))
    mkdirSync(join(bagDir, "bag/data/sub"), { recursive: true })
    writeFileSync(join(bagDir, "bag/data/one.txt"), "one")
    writeFileSync(join(bagDir, "bag/data/sub/two.txt"), "two")
    const sha = (s: string) => createHash("sha512").update(s).digest("hex")
    writeFileSync(join(bagDir, "bag/bagit.txt"), BagIt.bagitTxt)
    writeFileSync(join(bagDir, "bag/manifest-sha512.txt"), BagIt.formatManifest([{ digest: sha("one"), path: "data/one.txt" }, { digest: sha("two"), path: "data/sub/two.txt" }]))
    const tar = join(bagDir, "plain.tar")
    expect(spawnSync("tar", ["-cf", tar, "-C", bagDir, "bag"]).status).toBe(0)
    const job = await target.finish(await Effect.runPromise(target.dumps.importDump({ id: null, admin: true }, tar)))
    expect(job.errorSummary?.message ?? null).toBeNull()
    const cs = await target.settled()
    expect(cs.map((c) => c.name).sort()).toEqual(["one.txt", "sub/two.txt"])
    expect(cs.every((c) => c.saveType === "Permanent" && c.status === 4)).toBe(true)
    expect(spawnSync("tar", ["-cf", join(bagDir, "again.tar"), "-C", bagDir, "bag"]).status).toBe(0)
    const second = await target.finish(await Effect.runPromise(target.dumps.importDump({ id: null, admin: true }, join(bagDir, "again.tar"))))
    expect(second.jobInfo?.["present"]).toBe("2")
    expect((await target.settled()).length).toBe(2)
  })
})
