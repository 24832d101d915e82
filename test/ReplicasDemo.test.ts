/**
 * The demo's mirrored storage as a real process on real files: a document's copies damaged on
 * disk (a deleted file in the primary, a flipped byte in the mirror) are never served, are found
 * and repaired by a read and by a fixity run; then the process is killed with SIGKILL and started
 * again on the same folder: the catalogue of copies and the fixity runs are still there.
 */
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it, vi } from "vitest"
import { unzip } from "../packages/adapter-archive/test/support/unzip.js"
import { kill9, killAll, startDemoProcess } from "./support/demoProcess.js"

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/archive/${name}`, import.meta.url)))
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const KEY = "test-operator-key"
const operator = { "x-operator-key": KEY }

const dirs: Array<string> = []
afterAll(async () => {
  killAll()
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
})

const startDemo = (dataDir: string) => startDemoProcess({ UWS_DATA_DIR: dataDir, DATABASE_URL: "", UWS_ARCHIVE_OPERATOR_KEY: KEY })

/** The object files of one of the demo's filesystem storages, by SHA-256 of their bytes as named. */
const objects = (dataDir: string, storage: string) => {
  const out: Array<string> = []
  const walk = (p: string) => {
    if (!existsSync(p)) return
    for (const e of readdirSync(p, { withFileTypes: true })) e.isDirectory() ? walk(path.join(p, e.name)) : out.push(path.join(p, e.name))
  }
  walk(path.join(dataDir, "archive", storage, "objects"))
  return out
}
const fileWithDigest = (dataDir: string, storage: string, digest: string) => objects(dataDir, storage).find((f) => f.endsWith(`.${digest}`))!

describe("the demo's mirrored storage", () => {
  it("never serves a damaged copy, repairs it, and keeps copies and fixity runs across kill -9", async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-replicas-demo-"))
    dirs.push(dataDir)
    let demo = await startDemo(dataDir)
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "mirrored", StorageId: "4", SaveType: "Permanent" })) form.append(k, v)
    const signature = fixture("xlt1-detached.sig")
    const document = fixture("document.txt")
    form.append("Signs", new Blob([signature]), "xlt1-detached.sig")
    form.append("Content", new Blob([document], { type: "text/plain" }), "document.txt")
    const up = await fetch(`${demo.url}/api/document/content`, { method: "POST", body: form })
    expect(up.status).toBe(200)
    const id = ((await up.json()) as { data: string }).data
    await vi.waitFor(async () => expect(((await (await fetch(`${demo.url}/api/document/${id}/status`)).json()) as { data: number }).data).toBe(4), { timeout: 20_000 })
    for (const s of ["filesystem_01", "filesystem_02"]) expect(objects(dataDir, s)).toHaveLength(2)

    // The signature gone from the primary, the document damaged in the mirror.
    await fs.rm(fileWithDigest(dataDir, "filesystem_01", sha256(signature)))
    const mirrored = fileWithDigest(dataDir, "filesystem_02", sha256(document))
    const bytes = await fs.readFile(mirrored)
    bytes[0] = bytes[0]! ^ 0x20
    await fs.writeFile(mirrored, bytes)

    const zip = await fetch(`${demo.url}/api/document/${id}/sign`)
    expect(zip.status).toBe(200)
    expect(unzip(Buffer.from(await zip.arrayBuffer()))[0]!.data.equals(signature)).toBe(true)
    // The read repaired the primary's signature in the background.
    await vi.waitFor(() => expect(fileWithDigest(dataDir, "filesystem_01", sha256(signature))).toBeDefined(), { timeout: 20_000 })

    const started = await fetch(`${demo.url}/api/fixity`, { method: "POST", headers: operator })
    expect(started.status).toBe(200)
    const runId = ((await started.json()) as { data: { id: string } }).data.id
    let run: any
    await vi.waitFor(
      async () => {
        run = ((await (await fetch(`${demo.url}/api/fixity/${runId}?wait=5`, { headers: operator })).json()) as { data: any }).data
        expect(run.phase).toBe("COMPLETED")
      },
      { timeout: 30_000 }
    )
    expect(run.counts).toMatchObject({ contents: 2, copies: 4, good: 3, corrupt: 1, repaired: 1, unrepaired: 0 })
    expect(run.findings.find((f: any) => f.outcome === "corrupt")).toMatchObject({ storage: "filesystem_02", sha256: sha256(document), repaired: true })
    expect(sha256(await fs.readFile(fileWithDigest(dataDir, "filesystem_02", sha256(document))))).toBe(sha256(document))
    // Not operators: refused.
    expect((await fetch(`${demo.url}/api/fixity`)).status).toBe(403)

    await kill9(demo.child)
    demo = await startDemo(dataDir)
    const runs = ((await (await fetch(`${demo.url}/api/fixity`, { headers: operator })).json()) as { data: Array<{ id: string; phase: string }> }).data
    expect(runs).toEqual([expect.objectContaining({ id: runId, phase: "COMPLETED" })])
    const detail = ((await (await fetch(`${demo.url}/api/document/${id}`)).json()) as { data: any }).data
    expect(detail.copies.map((c: any) => [c.part, c.goodCopies])).toEqual([
      ["document", 2],
      ["signature-1", 2]
    ])
    const again = await fetch(`${demo.url}/api/document/${id}/sign`)
    expect(unzip(Buffer.from(await again.arrayBuffer()))[0]!.data.equals(signature)).toBe(true)
  })
})
