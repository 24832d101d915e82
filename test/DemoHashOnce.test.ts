/**
 * The demo as it ships (its archive storage mirrored to a second folder, every plugin call
 * observed for /metrics) hashes a downloaded document's bytes once: the replication layer checks
 * what it reads and tells the filesystem storage so, through every wrapper between them (the
 * demo's observation wrapper once dropped the word, and each byte was hashed twice).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { sha256Bytes } from "../packages/adapter-archive/test/support/countSha256.js"
import { startDemo, type Demo } from "../examples/server.js"

vi.mock("node:crypto", async (importOriginal) => (await import("../packages/adapter-archive/test/support/countSha256.js")).countingCrypto(importOriginal as never))

let demo: Demo | undefined
let dataDir: string | undefined
afterAll(async () => {
  await demo?.close()
  if (dataDir !== undefined) await fs.rm(dataDir, { recursive: true, force: true })
})

describe("the demo's mirrored archive", () => {
  it("hashes a downloaded document once, and serves it whole", async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-demo-hash-once-"))
    demo = await startDemo({ port: 0, dataDir })
    // Over `verifyBeforeServing` (8 MiB): streamed as it is read.
    const document = randomBytes(12 * 1024 * 1024)
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "hash-once", StorageId: "4", SaveType: "Permanent", UseArchiveCa: "false" })) form.append(k, v)
    form.append("Content", new Blob([document], { type: "application/octet-stream" }), "big.bin")
    const uploaded = await fetch(`${demo.url}/api/document/content`, { method: "POST", body: form, headers: { "x-source-system": "4" } })
    expect(uploaded.status).toBe(200)
    const id = ((await uploaded.json()) as { data: string }).data
    // The container's background step (reading the copies back) is over first: it hashes too.
    await vi.waitFor(async () => {
      const detail = (await (await fetch(`${demo!.url}/api/document/${id}`, { headers: { "x-source-system": "4" } })).json()) as { data: { status: number } }
      expect([1, 2]).not.toContain(detail.data.status)
    }, { timeout: 30_000, interval: 50 })
    sha256Bytes.count = 0
    const answer = await fetch(`${demo.url}/api/document/${id}/content`, { headers: { "x-source-system": "4" } })
    expect(answer.status).toBe(200)
    expect(Buffer.from(await answer.arrayBuffer()).equals(document)).toBe(true)
    expect(sha256Bytes.count).toBeGreaterThanOrEqual(document.length)
    expect(sha256Bytes.count).toBeLessThan(document.length * 1.5)
  })
})
