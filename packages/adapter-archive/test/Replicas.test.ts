/**
 * Mirrors, verified reads, repair, fixity and dedup over real filesystem storages (files in
 * temporary folders, corrupted on disk by the test: a flipped byte, a truncation, a deletion),
 * with real failures: a mirror that corrupts what it writes, a storage whose reads die mid-way.
 */
import { createHash, randomBytes } from "node:crypto"
import { existsSync, readdirSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { CopyCatalogue, FilesystemStorage, MemoryStorage, Plugins, Replicas, Storage } from "@uws-kit/adapter-archive"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect, Either, Exit, Scope, Stream } from "effect"
import fc from "fast-check"
import { afterEach, describe, expect, it, vi } from "vitest"
import { corruptingStorage, fixture, makeHarness, seedForm, type Harness } from "./support/harness.js"
import { unzip } from "./support/unzip.js"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const folder = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-replicas-"))
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

interface Disk {
  readonly name: string
  readonly dir: string
  readonly plugin: StoragePlugin.StoragePlugin
  readonly parameters: Record<string, string>
}
const disk = async (name: string): Promise<Disk> => {
  const dir = await folder()
  return { name, dir, plugin: FilesystemStorage.make(), parameters: { DocumentsFolderPath: dir, Fsync: "false" } }
}
/** Every object file a filesystem storage holds. */
const files = (d: Disk): Array<string> => {
  const out: Array<string> = []
  const walk = (p: string) => {
    if (!existsSync(p)) return
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(p, e.name))
      else out.push(path.join(p, e.name))
    }
  }
  walk(path.join(d.dir, "objects"))
  return out
}
const fileOf = (d: Disk, locator: string) => path.join(d.dir, "objects", locator)
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

type Injury = "flip" | "truncate" | "delete"
const injure = async (file: string, how: Injury) => {
  if (how === "delete") return fs.rm(file)
  const bytes = await fs.readFile(file)
  if (how === "truncate") return fs.writeFile(file, bytes.subarray(0, bytes.length >> 1))
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01
  await fs.writeFile(file, bytes)
}

const harness = async (
  disks: ReadonlyArray<{ name: string; plugin: StoragePlugin.StoragePlugin; parameters?: Record<string, string>; readOnly?: boolean }>,
  replication: Partial<Replicas.ReplicationOptions> = {}
) => {
  const h = await makeHarness({
    storages: disks.map((d) => ({ name: d.name, plugin: d.plugin, ...(d.parameters === undefined ? {} : { parameters: d.parameters }), ...(d.readOnly === undefined ? {} : { readOnly: d.readOnly }) })),
    archive: { replication: { primary: disks[0]!.name, mirrors: disks.slice(1).map((d) => d.name), ...replication } },
    timeout: "5 seconds"
  })
  cleanups.push(() => h.close())
  return h
}

const admin = { "x-caller": "admin" }
const upload = async (h: Harness, fields: Record<string, string> = {}) => {
  const answer = await h.json("POST", "/api/document/content", seedForm(fields), { "x-caller": "4" })
  return answer
}
const signatures = [fixture("xlt1-detached.sig"), fixture("a-detached.sig")]
const expectSeedSignatures = async (response: Response) => {
  expect(response.status).toBe(200)
  const entries = unzip(Buffer.from(await response.arrayBuffer()))
  expect(entries.map((e, i) => e.data.equals(signatures[i]!))).toEqual([true, true])
}
const copiesOf = async (h: Harness, id: string) => {
  const detail = await h.json("GET", `/api/document/${id}`, undefined, admin)
  expect(detail.status).toBe(200)
  return detail.body.data.copies as Array<{ part: string; goodCopies: number; problem?: string; copies: Array<{ storage: string; state: string; detail: string | null; checkedAt: string | null }> }>
}
const contentOfPart = async (h: Harness, id: string, part = "signature-1") => {
  const c = await Effect.runPromise(h.archive.get({ id: null, admin: true }, id))
  const p = [c.document, ...c.signatures].find((x) => x.name === part)!
  return (await Effect.runPromise(h.archive.replicas!.contentOf(p.locator)))!
}
const runFixity = async (h: Harness) => {
  const started = await h.json("POST", "/api/fixity", undefined, admin)
  expect(started.status).toBe(200)
  for (;;) {
    const run = await h.json("GET", `/api/fixity/${started.body.data.id}?wait=30`, undefined, admin)
    if (!["PENDING", "QUEUED", "EXECUTING"].includes(run.body.data.phase)) return run.body.data
  }
}

describe("writes", () => {
  it("put every part in the primary and each mirror, verified, and the container shows its copies", async () => {
    const disks = [await disk("primary"), await disk("mirror-1"), await disk("mirror-2")]
    const h = await harness(disks)
    const up = await upload(h)
    expect(up.status).toBe(200)
    await h.settle()
    for (const d of disks) expect(files(d)).toHaveLength(3)
    const copies = await copiesOf(h, up.body.data)
    expect(copies.map((c) => c.part)).toEqual(["document", "signature-1", "signature-2"])
    for (const c of copies) {
      expect(c.goodCopies).toBe(3)
      expect(c.copies.map((x) => [x.storage, x.state])).toEqual([
        ["mirror-1", "good"],
        ["mirror-2", "good"],
        ["primary", "good"]
      ])
    }
    await expectSeedSignatures(await h.call("GET", `/api/document/${up.body.data}/sign`))
  })

  it("refuse an upload, keeping nothing, when a mirror corrupts what it writes and the policy is all", async () => {
    const primary = await disk("primary")
    const corrupting = corruptingStorage()
    const h = await harness([primary, { name: "bad-mirror", plugin: corrupting }])
    const up = await upload(h)
    expect(up.status).toBe(502)
    expect(up.body.errorDescription).toMatch(/bad-mirror.*SHA-256|not verified/)
    expect(files(primary)).toHaveLength(0)
    expect((corrupting as unknown as MemoryStorage.MemoryStorage).locators()).toHaveLength(0)
    const search = await h.json("POST", "/api/document/search", "{}", admin)
    expect(search.body.data.totalRecords).toBe(0)
  })

  it("acknowledge under quorum with a corrupting mirror, and report its copy bad (its repair fails too)", async () => {
    const disks = [await disk("primary"), await disk("mirror-1")]
    const h = await harness([...disks, { name: "bad-mirror", plugin: corruptingStorage() }], { policy: "quorum" })
    const up = await upload(h)
    expect(up.status).toBe(200)
    await h.settle()
    await vi.waitFor(async () => {
      const copies = await copiesOf(h, up.body.data)
      for (const c of copies) {
        expect(c.goodCopies).toBe(2)
        const bad = c.copies.find((x) => x.storage === "bad-mirror")!
        expect(bad.state).not.toBe("good")
        expect(bad.detail).toMatch(/repair from primary failed/)
      }
    })
    await expectSeedSignatures(await h.call("GET", `/api/document/${up.body.data}/sign`))
  })
})

describe("reads", () => {
  for (const how of ["flip", "truncate", "delete"] as const) {
    it(`never serve a copy that fails verification (${how}): the next good copy is served, the bad one reported and repaired`, async () => {
      const disks = [await disk("primary"), await disk("mirror-1")]
      const h = await harness(disks)
      const up = await upload(h)
      await h.settle()
      const content = await contentOfPart(h, up.body.data)
      const before = content.copies.find((c) => c.storage === "primary")!.locator!
      await injure(fileOf(disks[0]!, before), how)
      await expectSeedSignatures(await h.call("GET", `/api/document/${up.body.data}/sign`))
      await vi.waitFor(async () => {
        const now = await contentOfPart(h, up.body.data)
        const p = now.copies.find((c) => c.storage === "primary")!
        expect(p.state).toBe("good")
        expect(p.detail).toMatch(/^repaired from mirror-1/)
        expect(p.locator).not.toBe(before)
        expect(sha256(await fs.readFile(fileOf(disks[0]!, p.locator!)))).toBe(sha256(signatures[0]!))
      })
      expect(existsSync(fileOf(disks[0]!, before)) && how !== "delete" ? "old bytes kept" : "old bytes gone").toBe("old bytes gone")
    })
  }

  it("stream a large document from the mirror when the primary dies mid-read, and end in an error rather than serve a corrupt copy", async () => {
    const primary = MemoryStorage.make()
    let dieAfter = Number.POSITIVE_INFINITY
    const dying: StoragePlugin.StoragePlugin = {
      ...primary,
      get: async (locator) => {
        const got = (await primary.get(locator)) as { _tag: "Right"; right: { content: AsyncIterable<Uint8Array>; size: number } }
        if (got._tag !== "Right") return got
        const limit = dieAfter
        return {
          _tag: "Right",
          right: {
            size: got.right.size,
            content: (async function* () {
              let sent = 0
              for await (const c of got.right.content) {
                if (sent + c.length > limit) throw new Error("EIO: the volume went away")
                sent += c.length
                yield c
              }
            })()
          }
        }
      }
    }
    const mirror = await disk("mirror-1")
    const h = await harness([{ name: "primary", plugin: dying }, mirror], { verifyBeforeServing: 1024 })
    const big = randomBytes(3 * 1024 * 1024 + 5)
    // The archive's own storage, replicated: through the placement.
    const placed = h.archive.replicas!.storage
    const locator = await Effect.runPromise(placed.save({ containerId: "c", name: "document", size: big.length, content: (async function* () { yield big })() }))
    const read = () => Effect.runPromise(Effect.either(Storage.readAll(placed, locator)))
    dieAfter = 1024 * 1024
    const got = await read()
    expect(Either.isRight(got) && sha256(got.right) === sha256(big)).toBe(true)
    // A corrupt mirror copy (and the primary dying): the read fails, never completes with wrong bytes.
    await vi.waitFor(async () => expect((await Effect.runPromise(h.archive.replicas!.contentOf(locator)))!.copies.every((c) => c.state === "good")).toBe(true))
    const copy = (await Effect.runPromise(h.archive.replicas!.contentOf(locator)))!.copies.find((c) => c.storage === "mirror-1")!
    await injure(fileOf(mirror, copy.locator!), "flip")
    const bad = await read()
    expect(Either.isLeft(bad)).toBe(true)
    if (Either.isLeft(bad)) expect(bad.left.message).toMatch(/failed verification|no copy could be read/)
    // The primary is healthy again: the next read verifies, and the mirror is repaired.
    dieAfter = Number.POSITIVE_INFINITY
    const again = await read()
    expect(Either.isRight(again) && sha256(again.right) === sha256(big)).toBe(true)
    await vi.waitFor(async () => {
      const all = (await Effect.runPromise(h.archive.replicas!.contentOf(locator)))!
      const m = all.copies.find((c) => c.storage === "mirror-1")!
      expect(m.state).toBe("good")
      expect(sha256(await fs.readFile(fileOf(mirror, m.locator!)))).toBe(sha256(big))
    })
  })

  it("end in a verification error when a storage that checks its own reads fails a corrupt copy at its end, without blaming the good mirror", async () => {
    // A third-party storage that verifies every read and ignores the host's `hostVerifies`.
    const inner = FilesystemStorage.make()
    const primary = await disk("primary")
    const selfChecking: StoragePlugin.StoragePlugin = { ...inner, get: (locator) => inner.get(locator) }
    const mirror = await disk("mirror-1")
    const marked: Array<{ storage: string; state: string }> = []
    const memory = CopyCatalogue.makeMemory()
    const catalogue: CopyCatalogue.CopyCatalogue = { ...memory, putCopy: (copy) => (marked.push({ storage: copy.storage, state: copy.state }), memory.putCopy(copy)) }
    const h = await harness([{ name: "primary", plugin: selfChecking, parameters: primary.parameters }, mirror], { verifyBeforeServing: 1024, catalogue })
    const big = randomBytes(3 * 1024 * 1024 + 5)
    const placed = h.archive.replicas!.storage
    const locator = await Effect.runPromise(placed.save({ containerId: "c", name: "document", size: big.length, content: (async function* () { yield big })() }))
    const copies = async () => (await Effect.runPromise(h.archive.replicas!.contentOf(locator)))!.copies
    await vi.waitFor(async () => expect((await copies()).every((c) => c.state === "good")).toBe(true))
    await injure(fileOf(primary, (await copies()).find((c) => c.storage === "primary")!.locator!), "flip")
    marked.length = 0
    const bad = await Effect.runPromise(Effect.either(Storage.readAll(placed, locator)))
    expect(Either.isLeft(bad) && bad.left.message).toMatch(/failed verification/)
    await vi.waitFor(async () => {
      const now = await copies()
      expect(now.find((c) => c.storage === "primary")!.state).toBe("good") // repaired from the mirror
      expect(marked.filter((m) => m.storage === "primary").map((m) => m.state)).toContain("corrupt")
    })
    expect(marked.filter((m) => m.storage === "mirror-1" && m.state !== "good")).toEqual([])
    const again = await Effect.runPromise(Effect.either(Storage.readAll(placed, locator)))
    expect(Either.isRight(again) && sha256(again.right) === sha256(big)).toBe(true)
  })

  it("serve a document whose every byte came and verified, though its storage failed after the last one", async () => {
    const memory = MemoryStorage.make()
    const failingAtTheEnd: StoragePlugin.StoragePlugin = {
      ...memory,
      get: async (locator) => {
        const got = (await memory.get(locator)) as { _tag: "Right"; right: { content: AsyncIterable<Uint8Array>; size: number } }
        if (got._tag !== "Right") return got
        return {
          _tag: "Right",
          right: {
            size: got.right.size,
            content: (async function* () {
              yield* got.right.content
              throw new Error("EIO: closing the file failed")
            })()
          }
        }
      }
    }
    const mirror = await disk("mirror-1")
    let mirrorReads = 0
    const counted: StoragePlugin.StoragePlugin = { ...mirror.plugin, get: (locator, options) => (mirrorReads++, mirror.plugin.get(locator, options)) }
    const h = await harness([{ name: "primary", plugin: failingAtTheEnd }, { name: "mirror-1", plugin: counted, parameters: mirror.parameters }], { verifyBeforeServing: 1024 })
    const big = randomBytes(3 * 1024 * 1024 + 5)
    const placed = h.archive.replicas!.storage
    const locator = await Effect.runPromise(placed.save({ containerId: "c", name: "document", size: big.length, content: (async function* () { yield big })() }))
    await vi.waitFor(async () => expect((await Effect.runPromise(h.archive.replicas!.contentOf(locator)))!.copies.every((c) => c.state === "good")).toBe(true))
    mirrorReads = 0
    const got = await Effect.runPromise(Effect.either(Storage.readAll(placed, locator)))
    expect(Either.isRight(got) && sha256(got.right) === sha256(big)).toBe(true)
    expect(mirrorReads).toBe(0)
  })

  it("come from a read-only mirror, which is a repair source and never written", async () => {
    const primary = await disk("primary")
    const mirror = await disk("mirror-ro")
    // Written while the mirror was writable, then the mirror is made read-only.
    const first = await harness([primary, mirror])
    const up = await upload(first)
    await first.settle()
    const catalogue = first.archive.replicas!.catalogue
    const ids = up.body.data as string
    const h = await makeHarness({
      storages: [
        { name: "primary", plugin: primary.plugin, parameters: primary.parameters },
        { name: "mirror-ro", plugin: FilesystemStorage.make(), parameters: mirror.parameters, readOnly: true }
      ],
      archive: { replication: { primary: "primary", mirrors: ["mirror-ro"], catalogue } },
      timeout: "5 seconds"
    })
    cleanups.push(() => h.close())
    const c = await Effect.runPromise(first.archive.get({ id: null, admin: true }, ids))
    const content = (await Effect.runPromise(catalogue.content(c.signatures[0]!.sha256)))!
    await injure(fileOf(primary, content.copies.find((x) => x.storage === "primary")!.locator!), "flip")
    const placed = h.archive.replicas!.storage
    const got = await Effect.runPromise(Storage.readAll(placed, c.signatures[0]!.locator))
    expect(sha256(got)).toBe(sha256(signatures[0]!))
    await vi.waitFor(async () => {
      const now = (await Effect.runPromise(catalogue.content(content.sha256)))!
      expect(now.copies.find((x) => x.storage === "primary")!.detail).toMatch(/^repaired from mirror-ro/)
    })
    const mirrorFiles = files(mirror).length
    // A new upload writes the primary only.
    const second = await h.json("POST", "/api/document/content", seedForm({ ContainerName: "other" }, { signs: 0 }), { "x-caller": "4" })
    expect(second.status).toBe(200)
    expect(files(mirror)).toHaveLength(mirrorFiles)
  })
})

describe("fixity", () => {
  it("finds every injected corruption, repairs it from a good copy, records each result, and never passes silently", async () => {
    const disks = [await disk("primary"), await disk("mirror-1"), await disk("mirror-2")]
    const h = await harness(disks)
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const up = await h.json("POST", "/api/document/content", seedForm({ ContainerName: `c${i}` }, { signs: 0 }), { "x-caller": "4" })
      ids.push(up.body.data)
    }
    await h.settle()
    const clean = await runFixity(h)
    expect(clean.phase).toBe("COMPLETED")
    // One document content (dedup: the three containers share it), three copies.
    expect(clean.counts).toMatchObject({ contents: 1, copies: 3, good: 3, corrupt: 0, missing: 0, repaired: 0 })
    // Also the signatures' content of a seed upload.
    await upload(h)
    await h.settle()
    const catalogue = h.archive.replicas!.catalogue
    const all = await Effect.runPromise(catalogue.list(null, 100))
    expect(all).toHaveLength(3)
    const injuries: Array<Injury> = ["flip", "truncate", "delete"]
    const injured: Array<{ sha: string; storage: string; how: Injury }> = []
    for (const [i, content] of all.entries()) {
      const copy = content.copies[i % content.copies.length]!
      const how = injuries[i]!
      await injure(fileOf(disks.find((d) => d.name === copy.storage)!, copy.locator!), how)
      injured.push({ sha: content.sha256, storage: copy.storage, how })
    }
    const run = await runFixity(h)
    expect(run.phase).toBe("COMPLETED")
    expect(run.counts).toMatchObject({ contents: 3, copies: 9, good: 6, repaired: 3 })
    expect(run.counts.corrupt + run.counts.missing).toBe(3)
    for (const i of injured) {
      const finding = run.findings.find((f: any) => f.sha256 === i.sha && f.storage === i.storage)
      expect(finding.outcome).toBe(i.how === "flip" ? "corrupt" : i.how === "truncate" ? "corrupt" : "missing")
      expect(finding.repaired).toBe(true)
      expect(finding.checkedAt).toMatch(/^\d{4}-/)
      const now = (await Effect.runPromise(catalogue.content(i.sha)))!.copies.find((c) => c.storage === i.storage)!
      expect(now.state).toBe("good")
      const d = disks.find((x) => x.name === i.storage)!
      expect(sha256(await fs.readFile(fileOf(d, now.locator!)))).toBe(i.sha)
    }
    const listed = await h.json("GET", "/api/fixity", undefined, admin)
    expect(listed.body.data.map((r: any) => r.phase)).toEqual(["COMPLETED", "COMPLETED"])
    expect((await h.json("GET", "/api/fixity", undefined, { "x-caller": "4" })).status).toBe(403)
    expect((await h.json("GET", "/api/fixity/nope", undefined, admin)).body.errorCode).toBe("FixityRunNotFound")
  })

  it("ends in ERROR and the container says so when no good copy is left", async () => {
    const disks = [await disk("primary"), await disk("mirror-1")]
    const h = await harness(disks)
    const up = await h.json("POST", "/api/document/content", seedForm({}, { signs: 0 }), { "x-caller": "4" })
    await h.settle()
    const content = await contentOfPart(h, up.body.data, "document")
    for (const c of content.copies) await injure(fileOf(disks.find((d) => d.name === c.storage)!, c.locator!), "flip")
    const run = await runFixity(h)
    expect(run.phase).toBe("ERROR")
    expect(run.error).toMatch(/fixity found 2 copies bad that could not be repaired/)
    const copies = await copiesOf(h, up.body.data)
    expect(copies[0]!.problem).toBe("no good copy of this part is left")
    expect(copies[0]!.copies.every((c) => c.state === "corrupt" && /no good copy is left/.test(c.detail ?? ""))).toBe(true)
    const document = await h.call("GET", `/api/document/${up.body.data}`, undefined, admin)
    expect(document.status).toBe(200)
  })

  it("can be aborted while it runs at its pace, and says so", async () => {
    const disks = [await disk("primary"), await disk("mirror-1")]
    const h = await makeHarness({
      storages: disks.map((d) => ({ name: d.name, plugin: d.plugin, parameters: d.parameters })),
      archive: { replication: { primary: "primary", mirrors: ["mirror-1"], fixity: { bytesPerSecond: 2000 } } },
      timeout: "5 seconds"
    })
    cleanups.push(() => h.close())
    await upload(h)
    await h.settle()
    const started = await h.json("POST", "/api/fixity", undefined, admin)
    // One run at a time: asking again answers the same run.
    expect((await h.json("POST", "/api/fixity", undefined, admin)).body.data.id).toBe(started.body.data.id)
    const aborted = await h.json("POST", `/api/fixity/${started.body.data.id}/abort`, undefined, admin)
    expect(aborted.status).toBe(200)
    expect(aborted.body.data.phase).toBe("ABORTED")
    const again = await h.json("POST", `/api/fixity/${started.body.data.id}/abort`, undefined, admin)
    expect(again.body.errorCode).toBe("InvalidState")
    expect(JSON.stringify(again.body)).not.toMatch(/\bjob/i)
  })

  it("fills a mirror added later (its copies are missing) and keeps to its pace", async () => {
    const primary = await disk("primary")
    const first = await harness([primary])
    await upload(first)
    await first.settle()
    const mirror = await disk("mirror-new")
    const h = await makeHarness({
      storages: [
        { name: "primary", plugin: FilesystemStorage.make(), parameters: primary.parameters },
        { name: "mirror-new", plugin: mirror.plugin, parameters: mirror.parameters }
      ],
      archive: { replication: { primary: "primary", mirrors: ["mirror-new"], catalogue: first.archive.replicas!.catalogue, fixity: { itemsPerInterval: { items: 1, interval: "100 millis" } } } },
      timeout: "5 seconds"
    })
    cleanups.push(() => h.close())
    const t0 = Date.now()
    const run = await runFixity(h)
    expect(run.phase).toBe("COMPLETED")
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190) // three contents, one per 100 ms
    expect(run.counts).toMatchObject({ contents: 3, missing: 3, repaired: 3 })
    expect(files(mirror)).toHaveLength(3)
  })
})

describe("dedup", () => {
  it("stores identical content once per storage; deleting one reference keeps the bytes for the others", async () => {
    const disks = [await disk("primary"), await disk("mirror-1")]
    const h = await harness(disks)
    const a = await upload(h, { SaveType: "Temporary", ArchiveDate: "2099-01-01T00:00:00Z" })
    const b = await upload(h, { SaveType: "Temporary", ArchiveDate: "2099-01-01T00:00:00Z" })
    await h.settle()
    for (const d of disks) expect(files(d)).toHaveLength(3)
    const content = await contentOfPart(h, a.body.data)
    expect(content.refs).toBe(2)
    expect((await h.json("DELETE", `/api/document/${a.body.data}`, undefined, { "x-caller": "4" })).status).toBe(200)
    for (const d of disks) expect(files(d)).toHaveLength(3)
    await expectSeedSignatures(await h.call("GET", `/api/document/${b.body.data}/sign`))
    expect((await h.json("DELETE", `/api/document/${b.body.data}`, undefined, { "x-caller": "4" })).status).toBe(200)
    for (const d of disks) expect(files(d)).toHaveLength(0)
    expect(await Effect.runPromise(h.archive.replicas!.catalogue.list(null, 10))).toEqual([])
  })

  it("keeps every referenced content readable and no unreferenced bytes, under concurrent uploads and deletes (property)", async () => {
    const disks = [await disk("primary"), await disk("mirror-1")]
    const scope = Effect.runSync(Scope.make())
    cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
    const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: disks.map((d) => ({ name: d.name, plugin: d.plugin, parameters: d.parameters })) }), scope))
    const { replicas } = await Effect.runPromise(Scope.extend(Replicas.make(plugins, { primary: "primary", mirrors: ["mirror-1"] }), scope))
    const contents = [Buffer.from("alpha"), Buffer.from("beta"), randomBytes(70_000)]
    const live = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ content: fc.nat(2), hinted: fc.boolean(), deleteAfter: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        async (ops) => {
          await Promise.all(
            ops.map(async (op, i) => {
              const bytes = contents[op.content]!
              const locator = await Effect.runPromise(
                replicas.storage.save({
                  containerId: `c${i}`,
                  name: "document",
                  size: bytes.length,
                  ...(op.hinted ? { sha256: sha256(bytes) } : {}),
                  content: (async function* () {
                    yield bytes
                  })()
                })
              )
              if (op.deleteAfter) await Effect.runPromise(replicas.storage.delete(locator))
              else live.set(locator, op.content)
            })
          )
          // Some of the survivors go too, concurrently with nothing else.
          const survivors = [...live.keys()]
          await Promise.all(
            survivors.filter((_, i) => i % 2 === 0).map(async (l) => {
              await Effect.runPromise(replicas.storage.delete(l))
              live.delete(l)
            })
          )
          for (const [locator, c] of live) {
            const got = await Effect.runPromise(Stream.runCollect((await Effect.runPromise(replicas.storage.get(locator))).stream))
            expect(sha256(Buffer.concat([...got]))).toBe(sha256(contents[c]!))
          }
          const expected = new Set([...live.values()].map((c) => sha256(contents[c]!)))
          const listed = await Effect.runPromise(replicas.catalogue.list(null, 10))
          expect(listed.map((c) => c.sha256).sort()).toEqual([...expected].sort())
          for (const c of listed) expect(c.refs).toBe([...live.values()].filter((x) => sha256(contents[x]!) === c.sha256).length)
          for (const d of disks) expect(files(d)).toHaveLength(expected.size)
        }
      ),
      { numRuns: propertyRuns(15) }
    )
  })
})
