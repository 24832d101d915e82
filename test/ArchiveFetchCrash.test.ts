/**
 * Serve if stored, else fetch, in the demo as a real process: kill -9 while a document is being
 * fetched (its upstream, a node:http server in this test, has sent part of it and stalls), then
 * start again on the same data. Nothing half-fetched is kept: the fetch ends in ERROR saying why,
 * no spool file, no stored object, no container; the demo serves and fetches as before.
 */
import * as fs from "node:fs/promises"
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { kill9, killAll, startDemoProcess } from "./support/demoProcess.js"

const dirs: Array<string> = []
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})
afterAll(killAll)

/** An upstream that serves `paper/ok` whole and stalls `paper/slow` after 64 KiB of 1 MiB. */
const startUpstream = async () => {
  const hits = new Map<string, number>()
  const open = new Set<IncomingMessage>()
  const server = createServer((req, res) => {
    open.add(req)
    const p = decodeURIComponent((req.url ?? "/").slice(1))
    hits.set(p, (hits.get(p) ?? 0) + 1)
    if (p === "paper/ok") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": 6 })
      res.end("whole\n")
    } else if (p === "paper/slow") {
      res.writeHead(200, { "content-type": "application/pdf", "content-length": 1024 * 1024 })
      res.write(new Uint8Array(64 * 1024).fill(1))
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const r of open) r.socket.destroy()
        server.close(() => resolve())
      })
  )
  return { url, hits }
}

const files = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await files(full)))
    else out.push(full)
  }
  return out
}

describe("the demo killed during a fetch", () => {
  it("keeps nothing half-fetched: after restart the fetch is in ERROR, no spool file, no stored object", async () => {
    const upstream = await startUpstream()
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-fetch-kill9-"))
    dirs.push(dataDir)
    const env = { UWS_DATA_DIR: dataDir, DATABASE_URL: "", UWS_ARCHIVE_UPSTREAM: `${upstream.url}/{path}` }
    const archiveDir = path.join(dataDir, "archive")
    const first = await startDemoProcess(env, "the demo")
    const asked = await fetch(`${first.url}/api/fetch/paper/slow`)
    expect(asked.status).toBe(202)
    const location = asked.headers.get("location")!
    expect(location).toMatch(/^\/uws\/archive\/jobs\/fetch-[0-9a-f]{40}$/)
    const id = location.split("/").pop()!
    // Wait until the fetch is under way: the upstream asked, part of the document spooled.
    for (let i = 0; i < 200 && !(await files(path.join(archiveDir, "fetch-spool"))).some((f) => f.endsWith(".part")); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const spooled = await files(path.join(archiveDir, "fetch-spool"))
    expect(spooled.filter((f) => f.endsWith(".part"))).toHaveLength(1)
    expect(await (await fetch(`${first.url}${location}/phase`)).text()).toBe("EXECUTING")
    const storedBefore = (await files(path.join(archiveDir, "filesystem_01"))).length

    await kill9(first.child)
    const second = await startDemoProcess(env, "the demo, started again")
    try {
      // The fetch ended in ERROR, saying why; it is shown as a failed fetch, not as a document.
      expect(await (await fetch(`${second.url}${location}/phase`)).text()).toBe("ERROR")
      const status = (await (await fetch(`${second.url}/api/fetch-status/${id}`)).json()) as any
      expect(status.data).toMatchObject({ id, state: "failed" })
      expect(status.data.reason).toMatch(/restarted/)
      const again = await fetch(`${second.url}/api/fetch/paper/slow`)
      expect(again.status).toBe(502)
      expect(((await again.json()) as any).errorCode).toBe("FetchFailed")
      expect((await fetch(`${second.url}/api/document/${id}`)).status).toBe(404)
      const search = (await (await fetch(`${second.url}/api/document/search`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as any
      expect(search.data.documents.map((d: { id: string }) => d.id)).not.toContain(id)
      // Nothing half-kept: the spool file removed at start, no object added to the storage.
      expect((await files(path.join(archiveDir, "fetch-spool"))).filter((f) => f.endsWith(".part"))).toEqual([])
      expect((await files(path.join(archiveDir, "filesystem_01"))).length).toBe(storedBefore)
      // And the archive fetches and serves as before.
      const ok = await fetch(`${second.url}/api/fetch/paper/ok?WAIT=30`)
      expect(ok.status).toBe(200)
      expect(await ok.text()).toBe("whole\n")
      expect(upstream.hits.get("paper/slow")).toBe(1)
    } finally {
      await kill9(second.child)
    }
  }, 120_000)
})
