/**
 * Issue 17 §3.4 with §3.3: a CEA job of the demo reads its indirect input from a leased space and
 * delivers its indirect output into it, both named by `vos://` identifiers the demo resolves to
 * its own `/spaces/…` URLs.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { gunzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"

interface JobJson {
  phase: string
  results: Array<{ id: string; href: string }>
  errorSummary?: { message: string }
}

const settled = async (url: string): Promise<JobJson> => {
  for (;;) {
    const j = (await (await fetch(`${url}?WAIT=30`, { headers: { accept: "application/json" } })).json()) as JobJson
    if (!["PENDING", "QUEUED", "EXECUTING"].includes(j.phase)) return j
  }
}

describe("cea jobs reading and writing a space", () => {
  let demo: Demo
  let dataDir: string
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "cea-space-"))
    demo = await startDemo({ port: 0, dataDir })
  })
  afterAll(async () => {
    await demo?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it("gzips a file fetched from vos://…/in.txt into vos://…/in.txt.gz", async () => {
    const lease = await fetch(`${demo.url}/uws/space/jobs`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "size=100000&PHASE=RUN"
    })
    expect(lease.status).toBe(303)
    const space = await settled(new URL(lease.headers.get("location")!, demo.url).href)
    expect(space.phase).toBe("COMPLETED")
    // The result `space` is the identifier itself, as the draft shows.
    const vos = space.results.find((r) => r.id === "space")!.href
    expect(vos).toMatch(/^vos:\/\/uws-kit\.demo!space\/[^/]+$/)
    const folder = `${demo.url}/spaces/${vos.slice(vos.lastIndexOf("/") + 1)}/`
    const text = "a line the space keeps\n".repeat(500)
    expect((await fetch(`${folder}in.txt`, { method: "PUT", body: text })).status).toBe(201)

    const description = `<tool xmlns="urn:uws-kit:cea:1" application="gzip">
  <input><parameter name="file" indirect="true">${vos}/in.txt</parameter><parameter name="level">9</parameter></input>
  <output><parameter name="compressed" indirect="true">${vos}/in.txt.gz</parameter></output>
</tool>`
    const created = await fetch(`${demo.url}/uws/cea/jobs?PHASE=RUN`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/xml" },
      body: description
    })
    expect(created.status).toBe(303)
    const job = await settled(new URL(created.headers.get("location")!, demo.url).href)
    expect(job.errorSummary?.message).toBeUndefined()
    expect(job.phase).toBe("COMPLETED")
    expect(new URL(job.results.find((r) => r.id === "compressed")!.href).pathname).toBe(new URL(`${folder}in.txt.gz`).pathname)
    const delivered = await fetch(`${folder}in.txt.gz`)
    expect(delivered.status).toBe(200)
    expect(gunzipSync(Buffer.from(await delivered.arrayBuffer())).toString()).toBe(text)
    expect(await (await fetch(folder)).text()).toBe("in.txt\nin.txt.gz\n")
  })

  it("a vos:// identifier naming no space ends the job in ERROR and runs nothing", async () => {
    const created = await fetch(`${demo.url}/uws/cea/jobs?PHASE=RUN`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/xml" },
      body: `<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input><parameter name="file" indirect="true">vos://elsewhere.example!space/x/in.txt</parameter></input></tool>`
    })
    if (created.status === 303) {
      const job = await settled(new URL(created.headers.get("location")!, demo.url).href)
      expect(job.phase).toBe("ERROR")
      expect(job.errorSummary?.message).toContain("names no space")
    } else expect(created.status).toBe(400)
  })
})
