/**
 * An upload to a replicated storage (a primary and a mirror on disk) hashes its bytes once, as
 * they arrive (issue 12: the 200 MiB upload spent a third of its time in SHA-256): the
 * replication layer takes the host's digest instead of hashing the same bytes again. A download
 * hashes them once too: the replication layer checks what it reads, and tells the filesystem
 * storage so (`hostVerifies`), which then skips its own check (before, 60% of a 200 MiB
 * download's CPU was SHA-256, half of it the second pass). Every
 * SHA-256 made in the process is counted here. The storages are also told that the chunks are
 * the request's own (`stableChunks`), so that neither copies them in memory while it writes.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import { FilesystemStorage } from "@uws-kit/adapter-archive"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import type { Result } from "@uws-kit/core"
import { afterEach, describe, expect, it, vi } from "vitest"
import { sha256Bytes } from "./support/countSha256.js"
import { makeHarness } from "./support/harness.js"

vi.mock("node:crypto", async (importOriginal) => (await import("./support/countSha256.js")).countingCrypto(importOriginal as never))

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** An archive whose storage is a primary mirrored to a second one, both on disk; the saves they were asked for. */
const mirrored = async () => {
  const dirs = await Promise.all(["primary", "mirror"].map((n) => fs.mkdtemp(path.join(os.tmpdir(), `uws-hash-once-${n}-`))))
  cleanups.push(() => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))).then(() => undefined))
  // Reads wait until the upload is measured: the container's background step reads the copies
  // back and hashes them, which is not the upload's hashing.
  let open = () => {}
  const gate = new Promise<void>((resolve) => (open = resolve))
  const saves: Array<StoragePlugin.StorageObject> = []
  const gated = (): StoragePlugin.StoragePlugin => {
    const inner = FilesystemStorage.make()
    return {
      ...inner,
      save: (object) => (saves.push(object), inner.save(object)),
      get: (locator, options) => gate.then(() => inner.get(locator, options) as Promise<Result.Result<string, StoragePlugin.StoredObject>>)
    }
  }
  const h = await makeHarness({
    storages: dirs.map((dir, i) => ({ name: i === 0 ? "primary" : "mirror", plugin: gated(), parameters: { DocumentsFolderPath: dir, Fsync: "false" } })),
    archive: { replication: { primary: "primary", mirrors: ["mirror"] } },
    timeout: "5 seconds"
  })
  cleanups.push(() => h.close())
  const upload = async (document: Uint8Array<ArrayBuffer>) => {
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "big", StorageId: "4", SaveType: "Permanent", UseArchiveCa: "false" })) form.append(k, v)
    form.append("Content", new Blob([document], { type: "application/octet-stream" }), "big.bin")
    const answer = await h.json("POST", "/api/document/content", form, { "x-caller": "4" })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    return answer.body.data as string
  }
  return { h, saves, upload, open }
}

describe("a replicated upload", () => {
  it("hashes the document once while it arrives, not again for its copies", async () => {
    const { h, upload, open } = await mirrored()
    const document = randomBytes(4 * 1024 * 1024)
    sha256Bytes.count = 0
    await upload(document)
    // Once: the document's bytes, and nothing of its size again (two copies were written).
    expect(sha256Bytes.count).toBeGreaterThanOrEqual(document.length)
    expect(sha256Bytes.count).toBeLessThan(document.length * 1.5)
    open()
    await h.settle()
  })

  it("tells both copies' storages that the chunks are the request's own, so neither copies them", async () => {
    const { h, saves, upload, open } = await mirrored()
    await upload(randomBytes(1024 * 1024))
    expect(saves.map((o) => [o.name, o.stableChunks])).toEqual([
      ["document", true],
      ["document", true]
    ])
    open()
    await h.settle()
  })
})

describe("a replicated download", () => {
  // 12 MiB is streamed as it is read (over `verifyBeforeServing`, 8 MiB); 1 MiB is read whole and verified first.
  for (const [what, size] of [["streamed", 12 * 1024 * 1024], ["verified whole before serving", 1024 * 1024]] as const) {
    it(`hashes the document once, ${what}, and serves it whole`, async () => {
      const { h, upload, open } = await mirrored()
      const document = randomBytes(size)
      const id = await upload(document)
      open()
      await h.settle()
      sha256Bytes.count = 0
      const answer = await h.call("GET", `/api/document/${id}/content`, undefined, { "x-caller": "4" })
      expect(answer.status).toBe(200)
      expect(Buffer.from(await answer.arrayBuffer()).equals(document)).toBe(true)
      expect(sha256Bytes.count).toBeGreaterThanOrEqual(document.length)
      expect(sha256Bytes.count).toBeLessThan(document.length * 1.5)
    })
  }
})
