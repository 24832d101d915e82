/**
 * /metrics on the running demo: after a few jobs (two that complete, one that fails) the scrape,
 * read by a real Prometheus text parser, has every family with the right counts, HTTP requests
 * labelled by route template, and /health and /ready answer.
 */
import { createHash } from "node:crypto"
import { existsSync, readdirSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import parse, { type ParsedFamily } from "parse-prometheus-text-format"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { startDemo, type Demo } from "../examples/server.js"

let demo: Demo
beforeAll(async () => {
  demo = await startDemo({ port: 0, metrics: true })
})
afterAll(() => demo?.close())

const create = async (body: string) => {
  const res = await fetch(`${demo.url}/uws/echo/jobs`, { method: "POST", body: new URLSearchParams(body), redirect: "manual" })
  expect(res.status).toBe(303)
  return res.headers.get("location")!
}
const final = async (job: string) => {
  for (let i = 0; i < 100; i++) {
    const phase = await (await fetch(`${job}/phase`)).text()
    if (["COMPLETED", "ERROR", "ABORTED"].includes(phase.trim())) return phase.trim()
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${job} never ended`)
}
const sample = (families: ReadonlyArray<ParsedFamily>, name: string, labels: Record<string, string>) =>
  families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))

describe("the demo's /metrics", () => {
  it("counts jobs by phase, runs, waits and requests by route template", async () => {
    const jobs = [await create("PHASE=RUN&A=1"), await create("PHASE=RUN&A=2"), await create("PHASE=RUN&ERROR=boom")]
    expect(await Promise.all(jobs.map(final))).toEqual(["COMPLETED", "COMPLETED", "ERROR"])
    // A blocking WAIT on a final job returns at once, but still passes through the counted wait.
    expect((await fetch(`${jobs[0]}?WAIT=1`)).status).toBe(200)
    const res = await fetch(`${demo.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    const families = parse(await res.text())
    const names = new Set(families.map((f) => f.name))
    for (const n of ["uws_jobs", "uws_queue_length", "uws_wait_waiters", "uws_dispatch_latency_seconds", "uws_execution_seconds", "uws_http_requests_total", "uws_http_request_duration_seconds"]) {
      expect(names, n).toContain(n)
    }
    expect(sample(families, "uws_jobs", { service: "echo", phase: "COMPLETED" })?.value).toBe("2")
    expect(sample(families, "uws_jobs", { service: "echo", phase: "ERROR" })?.value).toBe("1")
    expect(sample(families, "uws_jobs", { service: "echo", phase: "EXECUTING" })?.value).toBe("0")
    expect(sample(families, "uws_queue_length", { service: "echo" })?.value).toBe("0")
    expect(sample(families, "uws_wait_waiters", { service: "echo" })?.value).toBe("0")
    expect(families.find((f) => f.name === "uws_execution_seconds")?.type).toBe("HISTOGRAM")
    expect(sample(families, "uws_http_requests_total", { route: "/uws/{service}/jobs", method: "POST", status: "303" })?.value).toBe("3")
    const phaseReads = sample(families, "uws_http_requests_total", { route: "/uws/{service}/jobs/{id}/phase", method: "GET", status: "200" })
    expect(Number(phaseReads?.value)).toBeGreaterThanOrEqual(3)
    // No series is labelled by a raw job path.
    for (const m of families.find((f) => f.name === "uws_http_requests_total")!.metrics) expect(m.labels?.["route"]).not.toMatch(/jobs\/[a-z0-9]{8,}/)
    const durations = families.find((f) => f.name === "uws_http_request_duration_seconds")!
    expect(durations.type).toBe("HISTOGRAM")
  })

  it("has counted every request of a burst by the time each was answered", async () => {
    const job = await create("A=1")
    const reads = async () => {
      const text = await (await fetch(`${demo.url}/metrics`)).text()
      return {
        count: Number(sample(parse(text), "uws_http_requests_total", { route: "/uws/{service}/jobs/{id}", method: "GET", status: "200" })?.value ?? 0),
        // The parser keeps no labels on a histogram's samples: the line itself.
        timed: Number(/^uws_http_request_duration_seconds_count\{route="\/uws\/\{service\}\/jobs\/\{id\}"\} (\d+)$/m.exec(text)?.[1] ?? 0)
      }
    }
    const before = await reads()
    const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(job).then(async (r) => (await r.text(), r.status))))
    expect(answers.every((s) => s === 200)).toBe(true)
    const after = await reads()
    expect(after.count - before.count).toBe(30)
    expect(after.timed - before.timed).toBe(30)
  })

  it("counts the archive's plugin calls and the bytes it stored", async () => {
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "metrics", StorageId: "4", SaveType: "Permanent", UseArchiveCa: "false" })) form.append(k, v)
    const content = "a document for the metrics test\n"
    form.append("Content", new Blob([content], { type: "text/plain" }), "metrics.txt")
    const res = await fetch(`${demo.url}/api/document/content`, { method: "POST", body: form, headers: { "x-source-system": "4" } })
    expect(res.status).toBe(200)
    const families = parse(await (await fetch(`${demo.url}/metrics`)).text())
    const saves = families.find((f) => f.name === "uws_archive_plugin_calls_total")?.metrics.filter((m) => m.labels?.["operation"] === "save" && m.labels["outcome"] === "ok")
    expect(saves?.length).toBeGreaterThan(0)
    const stored = families.find((f) => f.name === "uws_archive_bytes_stored_total")?.metrics ?? []
    expect(stored.reduce((n, m) => n + Number(m.value), 0)).toBeGreaterThanOrEqual(Buffer.byteLength(content))
  })

  it("counts the jobs of the other services too (an ADQL query)", async () => {
    const res = await fetch(`${demo.url}/uws/adql/jobs`, {
      method: "POST",
      body: new URLSearchParams({ PHASE: "RUN", LANG: "ADQL", QUERY: "SELECT TOP 3 id, mag FROM stars ORDER BY mag" }),
      redirect: "manual"
    })
    expect(res.status).toBe(303)
    expect(await final(res.headers.get("location")!)).toBe("COMPLETED")
    const families = parse(await (await fetch(`${demo.url}/metrics`)).text())
    expect(sample(families, "uws_jobs", { service: "adql", phase: "COMPLETED" })?.value).toBe("1")
    expect(sample(families, "uws_jobs", { service: "adql", phase: "EXECUTING" })?.value).toBe("0")
    // Every service the demo starts is observed, whether or not it has jobs yet.
    for (const service of ["image", "cea", "space", "archive", "archive-dumps", "archive-fixity"]) {
      expect(sample(families, "uws_queue_length", { service }), service).toBeDefined()
    }
  })

  it("counts the blocking WAITs of every UWS service while they block, by service", async () => {
    const lists: ReadonlyArray<readonly [string, Record<string, string>]> = [
      ["adql", { LANG: "ADQL", QUERY: "SELECT TOP 1 id FROM stars" }],
      ["cea", { application: "gzip", file: "inline text" }],
      ["image", { POS: "150.0,2.2", SIZE: "0.1" }],
      ["space", {}],
      ["sleep", {}],
      ["echo", {}]
    ]
    const waiters = async (service: string) => sample(parse(await (await fetch(`${demo.url}/metrics`)).text()), "uws_wait_waiters", { service })?.value
    for (const [service, fields] of lists) {
      const created = await fetch(`${demo.url}/uws/${service}/jobs`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual" })
      expect(created.status, service).toBe(303)
      const job = created.headers.get("location")!
      // A PENDING job: the WAIT blocks until the job changes.
      const waiting = fetch(`${job}?WAIT=50`)
      await vi.waitFor(async () => expect(await waiters(service), service).toBe("1"), { timeout: 20_000 })
      // Aborting the job ends the WAIT, and the count goes back.
      expect((await fetch(`${job}/phase`, { method: "POST", body: new URLSearchParams({ PHASE: "ABORT" }), redirect: "manual" })).status, service).toBe(303)
      expect((await waiting).status, service).toBe(200)
      await vi.waitFor(async () => expect(await waiters(service), service).toBe("0"), { timeout: 20_000 })
    }
  })

  it("answers /health and /ready (in memory: nothing to fail)", async () => {
    expect((await fetch(`${demo.url}/health`)).status).toBe(200)
    const ready = await fetch(`${demo.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: "ready", checks: { store: "ok", archivePlugins: "ok" } })
  })
})

describe("the demo's /metrics with a mirrored archive on disk", () => {
  const KEY = "metrics-operator-key"
  let disk: Demo | undefined
  let dataDir: string
  afterAll(async () => {
    await disk?.close()
    delete process.env["UWS_ARCHIVE_OPERATOR_KEY"]
    if (dataDir !== undefined) await fs.rm(dataDir, { recursive: true, force: true })
  })
  const objects = (storage: string) => {
    const out: Array<string> = []
    const walk = (p: string) => {
      if (!existsSync(p)) return
      for (const e of readdirSync(p, { withFileTypes: true })) e.isDirectory() ? walk(path.join(p, e.name)) : out.push(path.join(p, e.name))
    }
    walk(path.join(dataDir, "archive", storage, "objects"))
    return out
  }

  it("counts a fixity run's copies by outcome: the good ones and the damaged one", async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-metrics-fixity-"))
    process.env["UWS_ARCHIVE_OPERATOR_KEY"] = KEY
    disk = await startDemo({ port: 0, metrics: true, dataDir })
    const before = parse(await (await fetch(`${disk.url}/metrics`)).text())
    const count = (families: ReadonlyArray<ParsedFamily>, outcome: string) => Number(sample(families, "uws_archive_fixity_checks_total", { outcome })?.value ?? 0)
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "fixity-metrics", StorageId: "4", SaveType: "Permanent", UseArchiveCa: "false" })) form.append(k, v)
    const content = "a document whose mirror copy the test damages\n"
    form.append("Content", new Blob([content], { type: "text/plain" }), "fixity.txt")
    expect((await fetch(`${disk.url}/api/document/content`, { method: "POST", body: form, headers: { "x-source-system": "4" } })).status).toBe(200)
    const digest = createHash("sha256").update(content).digest("hex")
    const mirrored = await vi.waitFor(() => {
      const f = objects("filesystem_02").find((p) => p.endsWith(`.${digest}`))
      expect(f).toBeDefined()
      return f!
    }, { timeout: 20_000 })
    const bytes = await fs.readFile(mirrored)
    bytes[0] = bytes[0]! ^ 0x20
    await fs.writeFile(mirrored, bytes)

    const operator = { "x-operator-key": KEY }
    const started = await fetch(`${disk.url}/api/fixity`, { method: "POST", headers: operator })
    expect(started.status).toBe(200)
    const runId = ((await started.json()) as { data: { id: string } }).data.id
    await vi.waitFor(async () => {
      const run = ((await (await fetch(`${disk!.url}/api/fixity/${runId}?wait=5`, { headers: operator })).json()) as { data: { phase: string } }).data
      expect(run.phase).toBe("COMPLETED")
    }, { timeout: 30_000 })
    const after = parse(await (await fetch(`${disk.url}/metrics`)).text())
    expect(after.find((f) => f.name === "uws_archive_fixity_checks_total")?.type).toBe("COUNTER")
    expect(count(after, "corrupt") - count(before, "corrupt")).toBe(1)
    expect(count(after, "good") - count(before, "good")).toBeGreaterThanOrEqual(1)
  })
})
