/**
 * The demo keeps everything: started as a real process with a data folder, given jobs in every
 * phase a client can reach and archived documents, killed with SIGKILL (no chance to flush or
 * close anything), and started again on the same folder. Everything is compared through the HTTP
 * APIs: every job, every result byte, every archived document byte, the archive's search.
 */
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@uws-kit/client"
import { afterAll, describe, expect, it } from "vitest"
import { kill9, killAll, startDemoProcess } from "./support/demoProcess.js"

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/archive/${name}`, import.meta.url)))

const dirs: Array<string> = []
afterAll(async () => {
  killAll()
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
})

/**
 * Starts `npm start`'s script on a free port with this data folder, on its embedded store, at
 * this SQLite durability level (kill -9 must lose nothing answered at either).
 */
const startDemo = (dataDir: string, sync: string, env: Readonly<Record<string, string>> = {}) =>
  startDemoProcess({ UWS_DATA_DIR: dataDir, DATABASE_URL: "", UWS_SQLITE_SYNC: sync, ...env })

const upload = async (url: string, name: string) => {
  const form = new FormData()
  for (const [k, v] of Object.entries({ ContainerName: name, StorageId: "4", SaveType: "Permanent", UseArchiveCa: "false" })) form.append(k, v)
  form.append("Signs", new Blob([fixture("xlt1-detached.sig")]), "xlt1-detached.sig")
  form.append("Content", new Blob([fixture("document.txt")], { type: "text/plain" }), `${name}.txt`)
  const res = await fetch(`${url}/api/document/content`, { method: "POST", body: form, headers: { "x-source-system": "4" } })
  expect(res.status).toBe(200)
  return ((await res.json()) as { data: string }).data
}

/** The same view whatever port the process listened on. */
const portless = (url: string, value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll(url, "ORIGIN"))

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as unknown })

/** What a client sees of the archive, for comparison. */
const archiveView = async (url: string, ids: ReadonlyArray<string>) => {
  const containers = []
  for (const id of ids) {
    const detail = await json(await fetch(`${url}/api/document/${id}`, { headers: { "x-source-system": "4" } }))
    const zip = await fetch(`${url}/api/document/${id}/sign`, { headers: { "x-source-system": "4" } })
    containers.push({ id, detail, zipStatus: zip.status, zip: Buffer.from(await zip.arrayBuffer()).toString("base64") })
  }
  const search = await json(
    await fetch(`${url}/api/document/search`, { method: "POST", body: "{}", headers: { "content-type": "application/json", "x-source-system": "4" } })
  )
  return { containers, search }
}

const settledStatus = async (url: string, id: string) => {
  for (let i = 0; i < 600; i++) {
    const s = (await json(await fetch(`${url}/api/document/${id}/status`))).body as { data: number }
    // 1 and 2 are the background step's own (new, verifying); anything else is where it rests.
    if (s.data !== 1 && s.data !== 2) return s.data
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`container ${id} never settled`)
}

describe.each(["normal", "full"])("the demo after kill -9 (UWS_SQLITE_SYNC=%s)", (sync) => {
  it("keeps every job, result and archived document, byte for byte", async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-kill9-"))
    dirs.push(dataDir)
    const first = await startDemo(dataDir, sync)
    const echo = Client.make(`${first.url}/uws/echo/jobs`)
    const sleep = Client.make(`${first.url}/uws/sleep/jobs`)

    // Every phase a client can reach.
    const pending = await echo.create({ parameters: { A: "pending ü" } })
    const completed = await echo.wait(await echo.create({ parameters: [["B", "x < y & z"], ["B", "2"]], run: true }), { timeout: 30_000 })
    expect(completed.phase).toBe("COMPLETED")
    const failed = await echo.wait(await echo.create({ parameters: { error: "the dome is closed" }, run: true }), { timeout: 30_000 })
    expect(failed.phase).toBe("ERROR")
    const aborted = await sleep.abort(await sleep.create({ parameters: { SECONDS: "600" } }))
    expect(aborted.phase).toBe("ABORTED")
    // The sleep service runs 4 jobs at once: 4 execute, the fifth waits in the queue.
    const executing = []
    for (let i = 0; i < 4; i++) executing.push(await sleep.create({ parameters: { SECONDS: "600" }, run: true }))
    for (const j of executing) expect((await sleep.wait(j, { phases: ["EXECUTING"], timeout: 30_000 })).phase).toBe("EXECUTING")
    const queued = await sleep.create({ parameters: { SECONDS: "600" }, run: true })
    expect((await sleep.get(queued)).phase).toBe("QUEUED")
    const resultBytes = Buffer.from(await (await echo.fetchResult(completed, "result")).arrayBuffer())
    expect(resultBytes.length).toBeGreaterThan(0)

    const containerIds = [await upload(first.url, "first"), await upload(first.url, "second")]
    for (const id of containerIds) await settledStatus(first.url, id)
    const archiveBefore = portless(first.url, await archiveView(first.url, containerIds)) as Awaited<ReturnType<typeof archiveView>>
    for (const c of archiveBefore.containers) {
      expect(c.detail.status).toBe(200)
      expect(c.zipStatus).toBe(200)
      expect(Buffer.from(c.zip, "base64").length).toBeGreaterThan(fixture("xlt1-detached.sig").length)
    }
    expect((archiveBefore.search.body as { data: { totalRecords: number } }).data.totalRecords).toBe(2)

    const echoBefore = portless(first.url, await Promise.all([pending, completed, failed].map((j) => echo.get(j))))
    const sleepBefore = portless(first.url, await sleep.get(aborted))
    const echoList = (await echo.list()).jobs.map((j) => j.jobId).sort()
    const sleepList = (await sleep.list()).jobs.map((j) => j.jobId).sort()

    await kill9(first.child)
    const second = await startDemo(dataDir, sync)
    try {
      const echo2 = Client.make(`${second.url}/uws/echo/jobs`)
      const sleep2 = Client.make(`${second.url}/uws/sleep/jobs`)
      expect((await echo2.list()).jobs.map((j) => j.jobId).sort()).toEqual(echoList)
      expect((await sleep2.list()).jobs.map((j) => j.jobId).sort()).toEqual(sleepList)
      // Finished and pending jobs are exactly as they were.
      const echoAfter = await Promise.all([pending, completed, failed].map((j) => echo2.get(j.jobId)))
      expect(portless(second.url, echoAfter)).toEqual(echoBefore)
      expect(portless(second.url, await sleep2.get(aborted.jobId))).toEqual(sleepBefore)
      // Jobs that were executing when the process died end in ERROR, saying why (the sleep
      // application is not restartable); the queued one is dispatched again.
      for (const j of executing) {
        const after = await sleep2.get(j.jobId)
        expect(after.phase).toBe("ERROR")
        expect(after.errorSummary?.message).toMatch(/restarted while the job was executing/)
      }
      expect(["QUEUED", "EXECUTING"]).toContain((await sleep2.get(queued.jobId)).phase)
      expect(Buffer.from(await (await echo2.fetchResult(completed.jobId, "result")).arrayBuffer()).equals(resultBytes)).toBe(true)
      // The archive: the same containers, documents and signatures byte for byte, the same search.
      expect(portless(second.url, await archiveView(second.url, containerIds))).toEqual(archiveBefore)
      await sleep2.abort(queued.jobId)
    } finally {
      await kill9(second.child)
    }
  })

  it("keeps every job whose creation was answered when concurrent creations share a commit", async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-kill9-batch-"))
    dirs.push(dataDir)
    // No per-client quota: every creation here comes from one address.
    const start = () => startDemo(dataDir, sync, { UWS_MAX_ACTIVE_JOBS_PER_OWNER: "none" })
    const first = await start()
    // 16 clients at once: their inserts share group commits (one transaction for many jobs).
    // The process is killed while they still send, so some batches are cut off mid-commit.
    const answered: Array<string> = []
    let killed = false
    const client = async () => {
      while (!killed) {
        try {
          const res = await fetch(`${first.url}/uws/echo/jobs`, {
            method: "POST",
            body: "A=1&B=2",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            redirect: "manual"
          })
          if (res.status === 303) answered.push(new URL(res.headers.get("location")!).pathname)
          await res.arrayBuffer()
        } catch {
          return // the process is gone
        }
        if (answered.length >= 200 && !killed) {
          killed = true
          await kill9(first.child)
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, client))
    expect(answered.length).toBeGreaterThanOrEqual(200)
    const second = await start()
    try {
      const missing = []
      for (const job of answered) if ((await fetch(`${second.url}${job}`)).status !== 200) missing.push(job)
      expect(missing).toEqual([])
    } finally {
      await kill9(second.child)
    }
  })
})
