/**
 * Schema validation: every UWS XML document the service sends in this suite (job lists, jobs in
 * every reachable phase, results, parameters) is validated with xmllint against the official
 * UWS-v1.1.xsd (vendored in test/fixtures/ivoa, the xlink import resolved through an XML
 * catalog, no network).
 *
 * The demo's own policies never produce HELD, SUSPENDED or ARCHIVED, and its short jobs pass
 * QUEUED too fast to catch, so a second job list with the same REST binding is configured to
 * reach them: one job at a time, a queue of one (a further RUN is HELD), and an operator who
 * suspends and archives jobs.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Client } from "@uws-kit/client"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Identity, Uws } from "@uws-kit/core"
import { controlledWorker } from "@uws-kit/core/testing"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { recordingProxy, requireXmllint, validateUws, type Recorder } from "./support.js"

let demo: Demo
let demoProxy: Recorder
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  closers.push(() => demo.close())
  demoProxy = await recordingProxy(demo.url.replace("localhost", "127.0.0.1"))
  closers.push(() => demoProxy.close())
})

afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

const phaseOf = (xml: string) => /<(?:\w+:)?phase>([A-Z]+)</.exec(xml)?.[1]
const rootOf = (xml: string) => /<(?:\w+:)?(job|jobs|results|parameters)\b/.exec(xml)?.[1]

const validateAll = (recorders: ReadonlyArray<Recorder>) => {
  const documents = recorders.flatMap((r) => r.uwsDocuments()).map((r) => ({ name: `${r.method} ${r.url} → ${r.status}`, xml: r.body }))
  const results = validateUws(documents)
  console.info(`xmllint: ${results.filter((v) => v.valid).length} of ${documents.length} UWS documents valid against UWS-v1.1.xsd`)
  return { documents, results }
}

describe("UWS-v1.1.xsd", () => {
  // A missing xmllint fails every test with the command that installs it (the suite never skips).
  it("the validator rejects what the schema forbids (so the checks below mean something)", () => {
    requireXmllint()
    const good = `<?xml version="1.0"?><uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" version="1.1"/>`
    const bad = `<?xml version="1.0"?><uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0"><uws:jobId>a</uws:jobId><uws:phase>RUNNING</uws:phase></uws:job>`
    const [g, b] = validateUws([
      { name: "good", xml: good },
      { name: "bad", xml: bad }
    ])
    expect(g).toMatchObject({ valid: true })
    expect(b).toMatchObject({ valid: false })
    expect(b!.errors).toMatch(/RUNNING|ownerId/)
  })

  it("validates every document the demo sends while jobs go through their phases", async () => {
    requireXmllint()
    const api = (app: string) => Client.make(`${demoProxy.url}/uws/${app}/jobs`)
    const echo = api("echo")
    const sleep = api("sleep")
    const get = (url: string) => fetch(url, { headers: { accept: "application/xml" } }).then((r) => r.text())

    await echo.list() // empty
    const pending = await echo.create({
      parameters: [
        ["QUERY", `SELECT * FROM t WHERE a < 3 & b > "x" -- 'é' 😀`],
        ["CONTROL", "bell\u0007here"],
        ["EMPTY", ""],
        ["SPACED", "  both ends  "]
      ],
      runId: "xsd <run>",
      uploads: [{ name: "table", content: "a,b\n1,2\n", mimeType: "text/csv" }]
    })
    await echo.parameters(pending)
    await echo.results(pending)
    await echo.setDestruction(pending, Date.now() + 3_600_000)
    await echo.setExecutionDuration(pending, 30)
    await echo.run(pending)
    const completed = await echo.wait(pending, { timeout: 30_000 })
    expect(completed.phase).toBe("COMPLETED")
    await echo.results(completed)
    await echo.parameters(completed)

    const failed = await echo.wait(await echo.create({ parameters: { ERROR: "it <failed> & stopped" }, run: true }), { timeout: 30_000 })
    expect(failed.phase).toBe("ERROR")

    const sleeper = await sleep.create({ parameters: { SECONDS: "60" }, run: true })
    expect((await sleep.wait(sleeper, { phases: ["EXECUTING"], timeout: 30_000 })).phase).toBe("EXECUTING")
    // A progress report has landed in jobInfo once the job document changes while EXECUTING.
    const moved = await get(`${sleeper.url}?WAIT=5&PHASE=EXECUTING`)
    expect(phaseOf(moved)).toBe("EXECUTING")
    await sleep.abort(sleeper)
    await sleep.results(sleeper)

    await echo.list({ phases: ["COMPLETED", "ERROR"] })
    await echo.list({ last: 1 })
    await echo.list({ after: Date.now() - 60_000 })
    await get(`${demoProxy.url}/uws/echo/async`)
    await sleep.list()

    const { documents, results } = validateAll([demoProxy])
    const invalid = results.filter((v) => !v.valid)
    expect(invalid.map((v) => `${v.name}\n${v.errors}`)).toEqual([])
    const phases = new Set(documents.filter((d) => rootOf(d.xml) === "job").map((d) => phaseOf(d.xml)))
    for (const p of ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED"]) {
      if (p === "QUEUED" && !phases.has(p)) continue // the dispatcher may start a job before anyone sees it QUEUED
      expect(phases).toContain(p)
    }
    const roots = new Set(documents.map((d) => rootOf(d.xml)))
    expect([...roots].sort()).toEqual(["job", "jobs", "parameters", "results"])
  })

  it("validates jobs QUEUED, HELD, SUSPENDED and ARCHIVED from a job list configured to reach them", async () => {
    requireXmllint()
    const controlled = controlledWorker("held")
    const { service, close } = await Uws.start({
      worker: controlled.worker,
      policy: { concurrency: 1, maxQueuedJobs: 1, onDestruction: "archive" }
    })
    const rest = RestAdapter.makeRestAdapter({ service, basePath: "/uws/held" })
    const server = createServer(rest.listener)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    closers.push(async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      await rest.dispose()
      await close()
    })
    const proxy = await recordingProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    closers.push(() => proxy.close())
    const uws = Client.make(`${proxy.url}/uws/held/jobs`)
    const operator = (jobId: string, event: "SUSPEND" | "RESUME" | "ARCHIVE") =>
      Effect.runPromise(service.signal(Identity.system, jobId, event))

    const first = await uws.create({ run: true })
    await uws.wait(first, { phases: ["EXECUTING"], timeout: 30_000 })
    while (!controlled.running.has(first.jobId)) await new Promise((r) => setTimeout(r, 5))
    const second = await uws.run(await uws.create())
    expect(second.phase).toBe("QUEUED") // the only runner is busy
    const third = await uws.run(await uws.create())
    expect(third.phase).toBe("HELD") // the queue of one is full
    await operator(first.jobId, "SUSPEND")
    expect((await uws.get(first)).phase).toBe("SUSPENDED")
    await operator(first.jobId, "RESUME")
    await Effect.runPromise(controlled.complete(first.jobId))
    expect((await uws.wait(first, { timeout: 30_000 })).phase).toBe("COMPLETED")
    await uws.results(first)
    await operator(first.jobId, "ARCHIVE")
    expect((await uws.get(first)).phase).toBe("ARCHIVED")
    await uws.results(first)
    await uws.list({ phases: ["ARCHIVED"] })
    await uws.list({ phases: ["QUEUED", "HELD", "EXECUTING"] })
    await uws.list()

    const { documents, results } = validateAll([proxy])
    const invalid = results.filter((v) => !v.valid)
    expect(invalid.map((v) => `${v.name}\n${v.errors}`)).toEqual([])
    const phases = new Set(documents.filter((d) => rootOf(d.xml) === "job").map((d) => phaseOf(d.xml)))
    for (const p of ["QUEUED", "HELD", "EXECUTING", "SUSPENDED", "COMPLETED", "ARCHIVED"]) expect(phases).toContain(p)
  })
})
