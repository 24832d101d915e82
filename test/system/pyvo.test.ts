/**
 * The demo service driven by pyvo (Debian python3-pyvo, run with /usr/bin/python3): create,
 * read, run, wait, results, fetch a result, destruction, execution duration, the job list with
 * its filters, delete, a job that ends in ERROR, abort, and pyvo's TAPService (with an upload),
 * AsyncTAPJob's query/upload on a PENDING job, run_sync of a failing job, get_job of an unknown
 * id, and wait() counted server-side (one blocking GET per phase change).
 * Every UWS XML document pyvo received is then validated against UWS-v1.1.xsd.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { recordingProxy, requirePyvo, requireXmllint, runPython, validateUws, type Recorder } from "./support.js"

let demo: Demo
let proxy: Recorder

// A missing tool fails every test with the command that installs it (the suite never skips).
const needs = () => {
  requirePyvo()
  requireXmllint()
}

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  proxy = await recordingProxy(demo.url.replace("localhost", "127.0.0.1"))
})

afterAll(async () => {
  await proxy?.close()
  await demo?.close()
})

const scenario = async (name: string): Promise<Record<string, unknown>> => {
  needs()
  const run = await runPython("session.py", [name, proxy.url])
  if (run.status !== 0) throw new Error(`pyvo scenario "${name}" failed (exit ${run.status}):\n${run.stderr}\n${run.stdout}`)
  return JSON.parse(run.stdout) as Record<string, unknown>
}

describe("pyvo against the demo", () => {
  it("creates, reads, sets destruction and execution duration, runs, waits, fetches the result and deletes", async () => {
    const seen = await scenario("lifecycle")
    expect(seen["echoed"]).toEqual({ greeting: "hello", color: "blue sky & sea <3" })
    expect(seen["afterDelete"]).toBe(404)
  })

  it("sees a job end in ERROR with its message", async () => {
    expect(await scenario("error")).toEqual({ phase: "ERROR", message: "the sky is cloudy" })
  })

  it("lists jobs with PHASE unions, LAST and AFTER, and through TAPService.get_job_list", async () => {
    const seen = await scenario("joblist")
    expect(seen["last2"]).toHaveLength(2)
  })

  it("aborts an executing sleep job", async () => {
    const seen = await scenario("abort")
    expect(seen["phase"]).toBe("ABORTED")
  })

  it("works as a TAP service: submit_job, run_async and an inline upload", async () => {
    const seen = await scenario("tap")
    expect(seen["upload"]).toBe("t1,param:t1")
  })

  it("job.query reads the query after creation and after the setter; job.upload and RUNID work on a PENDING job", async () => {
    expect(await scenario("tapjob")).toEqual({ query: "SELECT 2", upload: "t2,param:t2", runId: "night-3" })
  })

  it("run_sync of a job ending in ERROR raises DALQueryError with the message", async () => {
    expect(await scenario("syncerror")).toEqual({ raised: "DALQueryError: no such table: t" })
  })

  it("get_job of an unknown id reads a 404 DALI error document, not a ValueError", async () => {
    expect(await scenario("unknownjob")).toEqual({ raised: null, jobId: null, phase: null })
    const answer = proxy.records.find((r) => r.url === "/uws/echo/async/no-such-job")
    expect(answer?.status).toBe(404)
    expect(answer?.body).toContain('<INFO name="QUERY_STATUS" value="ERROR">No job with id "no-such-job".</INFO>')
  })

  it("wait() on a sleep job makes one blocking GET per phase change, however often the job reports progress", async () => {
    const seen = await scenario("waitsleep")
    const id = String(seen["jobId"])
    const waits = proxy.records.filter((r) => r.method === "GET" && r.url.startsWith(`/uws/sleep/jobs/${id}?`) && /[?&]WAIT=-1/.test(r.url))
    const phases = waits.map((r) => /<uws:phase>([A-Z]+)<\/uws:phase>/.exec(r.body)?.[1])
    // The job sleeps 3 s, reporting progress each second: every WAIT still answers a new phase.
    expect(phases.at(-1)).toBe("COMPLETED")
    expect(phases.length).toBeGreaterThanOrEqual(1)
    expect(phases.length).toBeLessThanOrEqual(2)
    for (let i = 1; i < phases.length; i++) expect(phases[i], `WAIT ${i} answered the phase of WAIT ${i - 1}`).not.toBe(phases[i - 1])
    if (phases.length === 2) expect(phases[0]).toBe("EXECUTING")
  })

  it("received only schema-valid UWS documents", () => {
    needs()
    const documents = proxy.uwsDocuments().map((r) => ({ name: `${r.method} ${r.url} → ${r.status}`, xml: r.body }))
    // Job lists, jobs in PENDING, QUEUED/EXECUTING, COMPLETED, ERROR and ABORTED, at least.
    expect(documents.length).toBeGreaterThan(20)
    const results = validateUws(documents)
    console.info(`xmllint: ${results.filter((v) => v.valid).length} of ${documents.length} UWS documents pyvo received are valid against UWS-v1.1.xsd`)
    const invalid = results.filter((v) => !v.valid)
    expect(invalid.map((v) => `${v.name}\n${v.errors}`)).toEqual([])
  })
})
