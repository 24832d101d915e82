/**
 * Single-flight across instances: two demo processes on one PostgreSQL database (and one shared
 * documents folder, as a cluster shares its storage), 30 concurrent requests for the same
 * document spread over both. The container id is derived from the identifier and the job store
 * refuses a second job of that id, so the upstream (a node:http server here, counting its hits)
 * is asked once, and both instances then serve the document.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makePgDatabase } from "../packages/store-sql/test/databases.js"
import { kill9, killAll, startDemoProcess } from "./support/demoProcess.js"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  killAll()
  for (const f of cleanups.reverse()) await f().catch(() => undefined)
})

describe("two instances on one PostgreSQL database", () => {
  it("start one fetch for 30 concurrent requests spread over both, and both serve the document", async () => {
    const doc = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff)
    let hits = 0
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const server = createServer((req, res) => {
      hits++
      void held.then(() => {
        res.writeHead(req.url === "/paper/shared" ? 200 : 404, { "content-type": "application/pdf", "content-length": doc.length })
        res.end(doc)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const db = await makePgDatabase()
    cleanups.push(db.drop)
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-fetch-cluster-"))
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
    const env = (name: string) => ({
      DATABASE_URL: db.url,
      UWS_INSTANCE: name,
      UWS_DATA_DIR: dir,
      UWS_ARCHIVE_UPSTREAM: `http://127.0.0.1:${(server.address() as AddressInfo).port}/{path}`
    })
    const instances = [await startDemoProcess(env("one"), "one"), await startDemoProcess(env("two"), "two")]
    try {
      const asked = await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${instances[i % 2]!.url}/api/fetch/paper/shared`)))
      expect(asked.map((r) => r.status)).toEqual(Array(30).fill(202))
      expect(new Set(asked.map((r) => r.headers.get("location"))).size).toBe(1)
      release()
      for (const i of instances) {
        const served = await fetch(`${i.url}/api/fetch/paper/shared?WAIT=30`)
        expect(served.status).toBe(200)
        const bytes = new Uint8Array(await served.arrayBuffer())
        expect(createHash("sha256").update(bytes).digest("hex")).toBe(createHash("sha256").update(doc).digest("hex"))
      }
      expect(hits).toBe(1)
    } finally {
      for (const i of instances) await kill9(i.child)
    }
  }, 120_000)
})
