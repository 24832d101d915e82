/**
 * The demo service driven by pyvo (Debian python3-pyvo, run with /usr/bin/python3): create,
 * read, run, wait, results, fetch a result, destruction, execution duration, the job list with
 * its filters, delete, a job that ends in ERROR, abort, and pyvo's TAPService (with an upload).
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
    expect(seen["echoed"]).toEqual({ GREETING: "hello", COLOR: "blue sky & sea <3" })
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
