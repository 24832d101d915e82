/**
 * Traces: the demo as a real process with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP
 * receiver sends a span per request (named by route template) and per job run; without it, it
 * sends nothing.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { killAll, startDemoProcess } from "./support/demoProcess.js"

let receiver: Server
let endpoint: string
const bodies: Array<{ readonly path: string; readonly text: string }> = []
const dirs: Array<string> = []
beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      // JSON or protobuf: span names and attribute values are UTF-8 either way.
      bodies.push({ path: req.url ?? "", text: Buffer.concat(chunks).toString("utf8") })
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
})
afterAll(async () => {
  killAll()
  await new Promise((r) => receiver.close(r))
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const until = async (what: string, ok: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`no ${what}; received:\n${bodies.map((b) => `${b.path} ${b.text.slice(0, 400)}`).join("\n")}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("the demo's traces", () => {
  it("exports a span per request and per job run over OTLP/HTTP", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "uws-demo-traces-"))
    dirs.push(dataDir)
    const demo = await startDemoProcess({ UWS_DATA_DIR: dataDir, DATABASE_URL: "", UWS_LOG_FORMAT: "off", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: "100" })
    const res = await fetch(`${demo.url}/uws/echo/jobs`, { method: "POST", body: new URLSearchParams("PHASE=RUN&A=1"), redirect: "manual" })
    expect(res.status).toBe(303)
    const jobId = res.headers.get("location")!.split("/").pop()!
    await fetch(`${demo.url}/uws/echo/jobs/${jobId}/phase`)
    const all = () => bodies.map((b) => b.text).join("\n")
    await until("request and run spans", () => all().includes("uws.run echo") && all().includes("GET /uws/{service}/jobs/{id}/phase"))
    expect(bodies.every((b) => b.path === "/v1/traces")).toBe(true)
    expect(all()).toContain("POST /uws/{service}/jobs")
    expect(all()).toContain(jobId)
    expect(all()).toContain("uws-kit-demo")
  })

  it("sends nothing without OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "uws-demo-traces-"))
    dirs.push(dataDir)
    const before = bodies.length
    const env: Record<string, string> = { UWS_DATA_DIR: dataDir, DATABASE_URL: "", UWS_LOG_FORMAT: "off", OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_BSP_SCHEDULE_DELAY: "100" }
    const demo = await startDemoProcess(env)
    await fetch(`${demo.url}/health`)
    await new Promise((r) => setTimeout(r, 500))
    expect(bodies.length).toBe(before)
  })
})
