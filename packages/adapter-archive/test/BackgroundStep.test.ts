/**
 * The background step of a container: the pluggable signature upgrader (absent, working,
 * failing), the date of the next archive time-stamp, and the integrity checks that keep a storage
 * from acknowledging what it did not keep.
 */
import { MemoryStorage } from "@uws-kit/adapter-archive"
import type { SignatureUpgrader, StoragePlugin } from "@uws-kit/adapter-archive"
import { afterEach, describe, expect, it } from "vitest"
import { corruptingStorage, fixture, makeHarness, seedForm, type Harness, type HarnessOptions } from "./support/harness.js"
import { unzip } from "./support/unzip.js"

const open: Array<Harness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})
const setup = async (options: Partial<HarnessOptions> = {}) => {
  const memory = MemoryStorage.make()
  const h = await makeHarness({ storages: [{ name: "memory", plugin: memory }], ...options })
  open.push(h)
  return { h, memory }
}
const upload = (h: Harness) => h.json("POST", "/api/document/content", seedForm(), { "x-caller": "4" })
const detail = async (h: Harness, id: string) => (await h.json("GET", `/api/document/${id}`)).body.data

const collect = async (source: AsyncIterable<Uint8Array>) => {
  const chunks: Array<Uint8Array> = []
  for await (const c of source) chunks.push(c)
  return Buffer.concat(chunks)
}

describe("without an upgrader", () => {
  it("says so, keeps the signatures as uploaded, and schedules the next time-stamp a year on", async () => {
    const { h } = await setup()
    const id = (await upload(h)).body.data
    await h.settle()
    const d = await detail(h, id)
    expect(d.status).toBe(4)
    expect(d.upgrade).toEqual({ state: "not-configured" })
    expect(d.signatures).toEqual([fixture("xlt1-detached.sig").toString("base64"), fixture("a-detached.sig").toString("base64")])
    const year = Date.parse(d.signatureUpdateDate) - Date.parse(d.createDate)
    expect(year).toBeGreaterThanOrEqual(365 * 86_400_000)
    expect(year).toBeLessThan(365 * 86_400_000 + 60_000)
  })

  it("uses the configured interval", async () => {
    const { h } = await setup({ archive: { signatureUpdateInterval: "30 days" } })
    const id = (await upload(h)).body.data
    await h.settle()
    const d = await detail(h, id)
    expect(Date.parse(d.signatureUpdateDate) - Date.parse(d.createDate)).toBeLessThan(31 * 86_400_000)
  })
})

describe("with an upgrader", () => {
  const upgrader = (answer: (input: SignatureUpgrader.UpgradeInput) => Promise<unknown>): SignatureUpgrader.SignatureUpgrader => ({
    name: "test-tsa",
    upgrade: (input) => answer(input) as never
  })

  it("keeps the upgraded signature beside the uploaded one, serves it, and records what was done", async () => {
    const { h, memory } = await setup({
      archive: {
        upgrader: upgrader(async (input) => {
          const original = await collect(input.signatures[0]!.open())
          expect(original.equals(fixture("xlt1-detached.sig"))).toBe(true)
          expect((await collect(input.document.open())).equals(fixture("document.txt"))).toBe(true)
          return {
            _tag: "Right",
            right: { signatures: [{ index: 0, content: Buffer.concat([original, Buffer.from("+ATS")]) }], nextUpdate: Date.parse("2030-01-01T00:00:00Z"), profile: "test stamp, not CAdES-A" }
          }
        })
      }
    })
    const id = (await upload(h)).body.data
    await h.settle()
    const d = await detail(h, id)
    expect(d.status).toBe(4)
    expect(d.upgrade).toEqual({ state: "upgraded", by: "test-tsa", profile: "test stamp, not CAdES-A" })
    expect(d.signatureUpdateDate).toBe("2030-01-01T00:00:00.000Z")
    const upgraded = Buffer.concat([fixture("xlt1-detached.sig"), Buffer.from("+ATS")])
    expect(d.signatures).toEqual([upgraded.toString("base64"), fixture("a-detached.sig").toString("base64")])
    const zip = unzip(Buffer.from(await (await h.call("GET", `/api/document/${id}/sign`)).arrayBuffer()))
    expect(zip.map((e) => e.name)).toEqual(["xlt1-detached.sig", "a-detached.sig"])
    expect(zip[0]!.data.equals(upgraded)).toBe(true)
    expect(memory.locators().length).toBe(4) // document, two uploaded signatures, one upgraded
    expect((await h.json("DELETE", `/api/document/${id}`, undefined, { "x-caller": "admin" })).status).toBe(200)
    expect(memory.locators()).toEqual([])
  })

  it("that fails leaves the container failed with the reason, the uploaded signatures served", async () => {
    const { h } = await setup({ archive: { upgrader: upgrader(async () => ({ _tag: "Left", left: "the time-stamping authority is unreachable" })) } })
    const id = (await upload(h)).body.data
    await h.settle()
    const d = await detail(h, id)
    expect(d.status).toBe(3)
    expect(d.upgrade).toEqual({ state: "failed", by: "test-tsa", message: "the time-stamping authority is unreachable" })
    expect(d.error).toContain("the signature upgrade failed")
    expect(d.signatures).toEqual([fixture("xlt1-detached.sig").toString("base64"), fixture("a-detached.sig").toString("base64")])
  })

  it("that answers a signature the container does not have fails the step", async () => {
    const { h } = await setup({ archive: { upgrader: upgrader(async () => ({ _tag: "Right", right: { signatures: [{ index: 5, content: new Uint8Array([0x30]) }] } })) } })
    const id = (await upload(h)).body.data
    await h.settle()
    expect((await detail(h, id)).error).toContain("signature #5; the container has 2")
  })
})

describe("a storage is never trusted to have kept what it acknowledged", () => {
  it("a save that answers before reading the whole object is refused, and its partial copy deleted", async () => {
    const inner = MemoryStorage.make()
    const hasty: StoragePlugin.StoragePlugin = {
      ...inner,
      save: async (object) => {
        const iterator = object.content[Symbol.asyncIterator]()
        const first = await iterator.next()
        return inner.save({ ...object, content: (async function* () { if (first.done !== true) yield first.value })() }) as never
      }
    }
    const h = await makeHarness({ storages: [{ name: "hasty", plugin: hasty }] })
    open.push(h)
    const form = seedForm({}, { content: false, signs: 0 })
    form.append("Content", new Blob([new Uint8Array(300_000).fill(7)]), "big.bin")
    const answer = await h.json("POST", "/api/document/content", form, { "x-caller": "4" })
    expect(answer.status).toBe(502)
    expect(answer.body.errorDescription).toMatch(/answered after reading \d+ bytes of 300000/)
    expect(inner.locators()).toEqual([])
    expect((await h.json("POST", "/api/document/search", "{}")).body.data.totalRecords).toBe(0)
  })

  it("a storage whose digest differs from what was received acknowledges nothing", async () => {
    const inner = MemoryStorage.make()
    const lying: StoragePlugin.StoragePlugin = {
      ...inner,
      stat: async (locator) => {
        const s = (await inner.stat(locator)) as { _tag: "Right"; right: { size: number } | null }
        return { _tag: "Right", right: s.right === null ? null : { size: s.right.size, sha256: "0".repeat(64) } }
      }
    }
    const h = await makeHarness({ storages: [{ name: "lying", plugin: lying }] })
    open.push(h)
    const answer = await upload(h)
    expect(answer.status).toBe(502)
    expect(answer.body.errorDescription).toContain("does not match what was received")
    expect(inner.locators()).toEqual([])
  })

  it("a storage that keeps other bytes than it was given fails the container's step (read-back hashes)", async () => {
    const corrupting = corruptingStorage()
    const h = await makeHarness({ storages: [{ name: "corrupting", plugin: corrupting }] })
    open.push(h)
    const id = (await upload(h)).body.data
    await h.settle()
    const d = await detail(h, id)
    expect(d.status).toBe(3)
    expect(d.error).toContain("the stored copy of document differs from what was received")
    expect(d.hashes).toEqual([])
  })
})
