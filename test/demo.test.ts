/**
 * The demo service (`npm start`): its applications, its routing and landing page, the TAP
 * layout pyvo's TAPService needs, a clean close with requests still blocked, and the start
 * script itself (banner, SIGINT, SIGTERM).
 */
import { spawn } from "node:child_process"
import { request as httpRequest } from "node:http"
import { mkdtempSync, rmSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@uws-kit/client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { quotasFromEnv, startDemo, trustForwardedFromEnv, type Demo } from "../examples/server.js"

let demo: Demo
const get = (path: string, init?: RequestInit) => fetch(`${demo.url}${path}`, { redirect: "manual", ...init })

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
})

afterAll(async () => {
  await demo?.close()
})

const votableRows = (xml: string) =>
  [...xml.matchAll(/<TR>(.*?)<\/TR>/g)].map((m) => [...m[1]!.matchAll(/<TD>(.*?)<\/TD>/g)].map((c) => c[1]))

describe("the demo's applications", () => {
  it("echo answers with a VOTable of the parameters it got", async () => {
    const echo = Client.make(`${demo.url}/uws/echo/jobs`)
    const job = await echo.wait(await echo.create({ parameters: [["A", "1"], ["B", "x < y & z"], ["A", "2"]], run: true }), { timeout: 30_000 })
    expect(job.phase).toBe("COMPLETED")
    expect(job.results.map((r) => [r.id, r.mimeType])).toEqual([["result", "application/x-votable+xml"]])
    const table = await (await echo.fetchResult(job, "result")).text()
    expect(votableRows(table)).toEqual([
      ["a", "1", "F"],
      ["b", "x &lt; y &amp; z", "F"],
      ["a", "2", "F"]
    ])
    expect(table).toContain('<INFO name="QUERY_STATUS" value="OK"/>')
  })

  it("echo ends in ERROR with the message given as ERROR", async () => {
    const echo = Client.make(`${demo.url}/uws/echo/jobs`)
    const job = await echo.wait(await echo.create({ parameters: { error: "the dome is closed" }, run: true }), { timeout: 30_000 })
    expect(job.phase).toBe("ERROR")
    expect(job.errorSummary?.message).toBe("the dome is closed")
    expect(job.results).toEqual([])
  })

  it("sleep reports progress, finishes, and refuses a SECONDS that is not a duration", async () => {
    const sleep = Client.make(`${demo.url}/uws/sleep/jobs`)
    const done = await sleep.wait(await sleep.create({ parameters: { SECONDS: "0.2" }, run: true }), { timeout: 30_000 })
    expect(done.phase).toBe("COMPLETED")
    expect(done.jobInfo).toMatchObject({ progress: "1/1" })
    for (const bad of ["soon", "-1", "3601", ""]) {
      await expect(sleep.create({ parameters: { SECONDS: bad } })).rejects.toMatchObject({
        kind: "http",
        status: 400,
        message: expect.stringContaining("SECONDS must be a number of seconds from 0 to 3600")
      })
    }
  })

  it("sleep stops when aborted", async () => {
    const sleep = Client.make(`${demo.url}/uws/sleep/jobs`)
    const job = await sleep.create({ parameters: { SECONDS: "600" }, run: true })
    await sleep.wait(job, { phases: ["EXECUTING"], timeout: 30_000 })
    const aborted = await sleep.abort(job)
    expect(aborted.phase).toBe("ABORTED")
    expect(aborted.endTime).not.toBeNull()
    expect((await sleep.get(job)).phase).toBe("ABORTED")
  })
})

describe("the demo's routing", () => {
  it("has a landing page linking every job list", async () => {
    const res = await get("/")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/html")
    const html = await res.text()
    expect(html).toContain('<a href="/uws/echo/jobs">')
    expect(html).toContain('<a href="/uws/sleep/jobs">')
    for (const m of demo.mounts) if (m.prefix !== "/") expect(html).toContain(m.title.replace(/&/g, "&amp;").replace(/</g, "&lt;"))
  })

  it("answers 404 off its mounts, on whole path segments only, and 405 for other methods on /", async () => {
    expect((await get("/nothing/here")).status).toBe(404)
    expect((await get("/uws/echoes/jobs")).status).toBe(404)
    expect((await get("/", { method: "POST" })).status).toBe(405)
  })

  it("sends the bare application path to its job list", async () => {
    const res = await get("/uws/sleep")
    expect(res.status).toBe(302)
    expect(res.headers.get("location")).toBe("/uws/sleep/jobs")
  })

  it("serves the same job list in the TAP layout, for pyvo's TAPService", async () => {
    const created = await get("/uws/echo/async", { method: "POST", body: new URLSearchParams({ QUERY: "SELECT 1" }) })
    expect(created.status).toBe(303)
    const location = created.headers.get("location")!
    expect(location).toMatch(new RegExp(`^${demo.url}/uws/echo/async/[a-z0-9]+$`))
    const jobId = location.split("/").pop()!
    const viaJobs = await Client.make(`${demo.url}/uws/echo/jobs`).get(jobId)
    expect(viaJobs.parameters).toEqual([{ name: "query", value: "SELECT 1" }])
  })
})

describe("the demo's limits", () => {
  /** A form POST from a given local address (any of 127.0.0.0/8 reaches a server on 127.0.0.1). */
  const postFrom = (localAddress: string, path: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${demo.url}${path}`, { method: "POST", localAddress, headers: { "content-type": "application/x-www-form-urlencoded" } }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (text += c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
      })
      req.on("error", reject)
      req.end(body)
    })

  it("counts each client address apart: one client's 100 active jobs do not refuse another's", async () => {
    try {
      for (let i = 0; i < 100; i++) {
        const res = await postFrom("127.0.0.1", "/uws/sleep/jobs", `SECONDS=${i}`)
        expect(res.status).toBe(303)
      }
      const refused = await postFrom("127.0.0.1", "/uws/sleep/jobs", "SECONDS=1")
      expect(refused.status).toBe(403)
      expect(refused.text).toContain("this client may have at most 100 active jobs (maxActiveJobsPerOwner)")
      expect((await postFrom("127.0.0.2", "/uws/sleep/jobs", "SECONDS=1")).status).toBe(303)
      const big = await postFrom("127.0.0.2", "/uws/sleep/jobs", `SECONDS=1&NOTE=${"x".repeat(70_000)}`)
      expect(big.status).toBe(413)
      expect(big.text).toContain("at most 64 KiB (65536 bytes) each")
    } finally {
      const list = await Client.make(`${demo.url}/uws/sleep/jobs`).list()
      for (const job of list.jobs) await get(`/uws/sleep/jobs/${job.jobId}`, { method: "DELETE" })
    }
  })
})

describe("forwarded headers (UWS_TRUST_FORWARDED)", () => {
  const proxied = { "x-forwarded-host": "proxy.example", "x-forwarded-proto": "https" }
  /** REST's Location, SOAP's WSDL address, and whether the archive takes a POST from the proxy's origin. */
  const seen = async (at: Demo) => {
    const created = await fetch(`${at.url}/uws/echo/jobs`, { method: "POST", body: new URLSearchParams({ A: "1" }), redirect: "manual", headers: proxied })
    const wsdl = await (await fetch(`${at.url}/soap/echo?wsdl`, { headers: proxied })).text()
    const archive = await fetch(`${at.url}/api/document/search`, {
      method: "POST",
      headers: { ...proxied, origin: "https://proxy.example", "content-type": "application/json" },
      body: "{}"
    })
    return { location: created.headers.get("location")!, wsdl, archiveRefused: archive.status === 403 }
  }

  it("off by default: links use the request's own host, and a page claiming the proxy's origin is another site", async () => {
    const off = await seen(demo)
    expect(off.location.startsWith(`${demo.url}/uws/echo/jobs/`)).toBe(true)
    expect(off.wsdl).toContain(`location="${demo.url}/soap/echo"`)
    expect(off.wsdl).not.toContain("proxy.example")
    expect(off.archiveRefused).toBe(true)
  })

  it("on: every adapter believes the proxy's headers", async () => {
    const own = await startDemo({ port: 0, host: "127.0.0.1", trustForwarded: true })
    try {
      const on = await seen(own)
      expect(on.location.startsWith("https://proxy.example/uws/echo/jobs/")).toBe(true)
      expect(on.wsdl).toContain('location="https://proxy.example/soap/echo"')
      expect(on.archiveRefused).toBe(false)
    } finally {
      await own.close()
    }
  })

  it("reads 1 as on, 0 or unset as off, and refuses anything else with its name", () => {
    expect(trustForwardedFromEnv({})).toBe(false)
    expect(trustForwardedFromEnv({ UWS_TRUST_FORWARDED: "0" })).toBe(false)
    expect(trustForwardedFromEnv({ UWS_TRUST_FORWARDED: "1" })).toBe(true)
    expect(() => trustForwardedFromEnv({ UWS_TRUST_FORWARDED: "yes" })).toThrow(/UWS_TRUST_FORWARDED must be 1 .* not "yes"/)
  })
})

describe("job quotas", () => {
  it("keeps the core's defaults unless the environment names a whole number or none", () => {
    expect(quotasFromEnv({})).toEqual({})
    expect(quotasFromEnv({ UWS_MAX_STORED_JOBS: "20000", UWS_MAX_ACTIVE_JOBS_PER_OWNER: "none" })).toEqual({ maxStoredJobs: 20_000, maxActiveJobsPerOwner: null })
    for (const bad of ["-1", "1.5", "lots", "None"]) {
      expect(() => quotasFromEnv({ UWS_MAX_ACTIVE_JOBS_PER_OWNER: bad })).toThrow(/UWS_MAX_ACTIVE_JOBS_PER_OWNER must be a whole number ≥ 0 or none/)
    }
  })

  it("applies a configured quota to each application's job list", async () => {
    const own = await startDemo({ port: 0, host: "127.0.0.1", quotas: { maxActiveJobsPerOwner: 1 } })
    try {
      for (const app of ["echo", "sleep"]) {
        const post = () => fetch(`${own.url}/uws/${app}/jobs`, { method: "POST", body: new URLSearchParams({ SECONDS: "1" }), redirect: "manual" })
        expect((await post()).status).toBe(303)
        const refused = await post()
        expect(refused.status).toBe(403)
        expect(await refused.text()).toMatch(/active|quota/i)
      }
    } finally {
      await own.close()
    }
  })
})

describe("closing", () => {
  // A close that waited for the blocked request would take 50 s and trip this test's time-out.
  it("closes at once while a client is blocked in a WAIT", { timeout: 20_000 }, async () => {
    const own = await startDemo({ port: 0, host: "127.0.0.1" })
    const sleep = Client.make(`${own.url}/uws/sleep/jobs`)
    const pending = await sleep.create({ parameters: { SECONDS: "1" } })
    const blocked = fetch(`${pending.url}?WAIT=50`).then(
      (r) => r.status,
      () => "closed"
    )
    // The WAIT is being served once the server holds it; one more request proves the order.
    await sleep.get(pending)
    await own.close()
    expect([200, 503, "closed"]).toContain(await blocked)
  })
})

describe("npm start", () => {
  const script = fileURLToPath(new URL("../examples/server.ts", import.meta.url))

  const dataDir = mkdtempSync(path.join(os.tmpdir(), "uws-demo-start-"))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  const start = (signal: NodeJS.Signals) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--conditions=@uws-kit/source", "--import", "tsx", script], {
        // A data folder of its own: `npm start` keeps everything in ./data by default.
        env: { ...process.env, PORT: "0", HOST: "127.0.0.1", UWS_DATA_DIR: dataDir },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let answered = false
      child.stdout.setEncoding("utf8").on("data", async (d: string) => {
        out += d
        const url = /listening on (http:\/\/\S+?)\/\n/.exec(out)?.[1]
        if (url !== undefined && out.includes("Stop with Ctrl-C.") && !answered) {
          answered = true
          try {
            const landing = await fetch(`${url}/`)
            out += `\n[landing ${landing.status}]\n`
          } catch (e) {
            out += `\n[landing failed: ${String(e)}]\n`
          }
          child.kill(signal)
        }
      })
      child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d))
      child.on("error", reject)
      child.on("close", (code) => resolve({ code, out }))
    })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`prints the URLs, serves, and exits cleanly on ${signal}`, async () => {
      const { code, out } = await start(signal)
      expect(out).toMatch(/uws-kit demo listening on http:\/\/localhost:\d+\//)
      expect(out).toMatch(/http:\/\/localhost:\d+\/uws\/echo\/jobs/)
      expect(out).toMatch(/http:\/\/localhost:\d+\/uws\/sleep\/jobs/)
      expect(out).toContain("[landing 200]")
      expect(out).toContain(`${signal}: closing`)
      expect(code).toBe(0)
    })
  }
})
