/**
 * The demo as a real process with UWS_LOG_FORMAT=json: every stdout line after start-up is one
 * JSON log record (Effect's JSON logger), and the request and lifecycle lines carry their fields
 * for a created, run, aborted, failed, timed-out and reaped job.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { killAll, startDemoProcess, type DemoProcess } from "./support/demoProcess.js"

interface Line {
  readonly message: string
  readonly logLevel: string
  readonly annotations: Record<string, unknown>
}

let dataDir: string
let demo: DemoProcess
const lines: Array<Line> = []
let rest = ""
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "uws-demo-logs-"))
  demo = await startDemoProcess({ UWS_DATA_DIR: dataDir, DATABASE_URL: "", UWS_LOG_FORMAT: "json", UWS_LOG_LEVEL: "Info" }, "the JSON-logging demo")
  demo.child.stdout!.on("data", (d: string) => {
    const text = rest + d
    const parts = text.split("\n")
    rest = parts.pop() ?? ""
    for (const p of parts) if (p.trim() !== "") lines.push(JSON.parse(p) as Line)
  })
})
afterAll(async () => {
  killAll()
  await rm(dataDir, { recursive: true, force: true })
})

const post = async (url: string, body: string) => {
  const res = await fetch(url, { method: "POST", body: new URLSearchParams(body), redirect: "manual" })
  expect(res.status).toBe(303)
  return res.headers.get("location") ?? url
}
const until = async <A>(what: string, find: () => A | undefined, ms = 15_000): Promise<A> => {
  const end = Date.now() + ms
  for (;;) {
    const found = find()
    if (found !== undefined) return found
    if (Date.now() > end) throw new Error(`no ${what} in:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
const jobLines = (jobId: string) => lines.filter((l) => l.annotations["jobId"] === jobId && l.message !== "request")
const idOf = (url: string) => url.split("/").pop()!

describe("the demo's JSON logs", () => {
  it("logs each request with method, path, status, bytes, duration, caller and job id", async () => {
    const job = await post(`${demo.url}/uws/echo/jobs`, "A=1")
    const id = idOf(job)
    const body = Buffer.from(await (await fetch(`${job}/phase`)).arrayBuffer())
    const line = await until("request line", () => lines.find((l) => l.message === "request" && l.annotations["path"] === `/uws/echo/jobs/${id}/phase`))
    expect(line.logLevel).toBe("INFO")
    expect(line.annotations).toMatchObject({ method: "GET", status: 200, bytes: body.byteLength, caller: "client:127.0.0.1", jobId: id })
    expect(typeof line.annotations["durationMs"]).toBe("number")
    const created = await until("created line", () => jobLines(id).find((l) => l.message === "job created"))
    expect(created.annotations).toMatchObject({ service: "echo", owner: "client:127.0.0.1", phase: "PENDING" })
  })

  it("logs each request of a burst once (lines are held over a turn, then written together)", async () => {
    const job = await post(`${demo.url}/uws/echo/jobs`, "A=1")
    const id = idOf(job)
    const statuses = await Promise.all(Array.from({ length: 40 }, () => fetch(`${job}/parameters`).then(async (r) => (await r.arrayBuffer(), r.status))))
    expect(statuses.every((s) => s === 200)).toBe(true)
    const mine = () => lines.filter((l) => l.message === "request" && l.annotations["path"] === `/uws/echo/jobs/${id}/parameters`)
    await until("40 request lines", () => (mine().length >= 40 ? true : undefined))
    await new Promise((r) => setTimeout(r, 200))
    expect(mine()).toHaveLength(40)
    for (const l of mine()) expect(l.annotations).toMatchObject({ method: "GET", status: 200, jobId: id })
  })

  it("logs phase changes of a run, an abort and an error with from, to and reason", async () => {
    const ok = idOf(await post(`${demo.url}/uws/echo/jobs`, "PHASE=RUN&A=1"))
    const bad = idOf(await post(`${demo.url}/uws/echo/jobs`, "PHASE=RUN&ERROR=it broke"))
    const slow = await post(`${demo.url}/uws/sleep/jobs`, "PHASE=RUN&SECONDS=60")
    await until("EXECUTING", () => jobLines(idOf(slow)).find((l) => l.annotations["to"] === "EXECUTING"))
    await post(`${slow}/phase`, "PHASE=ABORT")
    const done = await until("COMPLETED", () => jobLines(ok).find((l) => l.annotations["to"] === "COMPLETED"))
    expect(done.annotations).toMatchObject({ service: "echo", from: "EXECUTING" })
    expect(jobLines(ok).map((l) => `${l.annotations["from"]}>${l.annotations["to"]}`)).toEqual(["undefined>undefined", "PENDING>QUEUED", "QUEUED>EXECUTING", "EXECUTING>COMPLETED"])
    const failed = await until("ERROR", () => jobLines(bad).find((l) => l.annotations["to"] === "ERROR"))
    expect(failed.annotations["reason"]).toContain("it broke")
    const aborted = await until("ABORTED", () => jobLines(idOf(slow)).find((l) => l.annotations["to"] === "ABORTED"))
    expect(aborted.message).toBe("job phase changed")
    expect(aborted.annotations["deadline"]).toBeUndefined()
  })

  it("logs the deadlines the service enforces: execution duration and destruction", async () => {
    const overrun = idOf(await post(`${demo.url}/uws/sleep/jobs`, "PHASE=RUN&SECONDS=60&EXECUTIONDURATION=1"))
    const enforced = await until("timeout", () => jobLines(overrun).find((l) => l.message === "deadline enforced"))
    expect(enforced.logLevel).toBe("WARN")
    expect(enforced.annotations).toMatchObject({ service: "sleep", from: "EXECUTING", to: "ABORTED", deadline: "executionDuration", reason: "execution duration exceeded" })
    const doomed = await post(`${demo.url}/uws/echo/jobs`, "A=1")
    await post(`${doomed}/destruction`, `DESTRUCTION=${new Date(Date.now() + 1500).toISOString()}`)
    const reaped = await until("destruction", () => jobLines(idOf(doomed)).find((l) => l.annotations["deadline"] === "destruction"))
    expect(reaped.message).toBe("deadline enforced")
    expect(reaped.annotations["reason"]).toBe("destruction time reached")
  })
})
