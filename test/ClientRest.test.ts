/**
 * The client (`@uws-kit/client`) against the REST binding (`@uws-kit/adapter-rest`), in process:
 * each package's own tests use only itself, so the pair is proven here.
 */
import { Phase, Uws } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import { controlledWorker, parameterName, parameters, parameterValue, propertyRuns } from "@uws-kit/core/testing"
import { RestAdapter, Xml } from "@uws-kit/adapter-rest"
import { Client, Documents } from "@uws-kit/client"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

// ---- every job the binding can render, the client reads back -------------------------------

const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2200, 0, 1) })
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null })
const text = parameterValue.filter((s) => s !== "" && Xml.isXmlSafe(s))

const job: fc.Arbitrary<Job> = fc.record({
  jobId: parameterName,
  runId: orNull(text),
  ownerId: orNull(text),
  phase: fc.constantFrom(...Phase.all),
  version: fc.nat(),
  quote: orNull(instant),
  creationTime: instant,
  startTime: orNull(instant),
  endTime: orNull(instant),
  executionDuration: fc.nat({ max: 10_000_000 }),
  destruction: orNull(instant),
  parameters: parameters.filter((ps) => ps.every((p) => Xml.isXmlSafe(p.value))),
  results: fc.array(
    fc.record(
      { id: parameterName, href: fc.webUrl(), mimeType: fc.constantFrom("text/plain", "application/x-votable+xml"), size: fc.nat() },
      { requiredKeys: ["id"] }
    ),
    { maxLength: 3 }
  ),
  errorSummary: orNull(fc.record({ type: fc.constantFrom("transient" as const, "fatal" as const), message: text, hasDetail: fc.boolean() })),
  jobInfo: orNull(fc.dictionary(parameterName, parameterValue.filter(Xml.isXmlSafe), { maxKeys: 3 }))
})

const at = (t: number | null) => (t === null ? null : new Date(t))

describe("the REST binding's documents, read by the client", () => {
  const url = "http://uws.test/uws/jobs/1"

  it("a job document: every field, as the binding holds it", () => {
    fc.assert(
      fc.property(job, (j) => {
        expect(Documents.parseJob(Xml.jobDocument(j, url), url)).toEqual({
          version: "1.1",
          jobId: j.jobId,
          runId: j.runId,
          ownerId: j.ownerId,
          phase: j.phase,
          quote: at(j.quote),
          creationTime: at(j.creationTime),
          startTime: at(j.startTime),
          endTime: at(j.endTime),
          executionDuration: j.executionDuration,
          destruction: at(j.destruction),
          parameters: j.parameters,
          results: j.results.map((r) => ({
            id: r.id,
            href: new URL(r.href ?? `${url}/results/${encodeURIComponent(r.id)}`).href,
            ...(r.mimeType === undefined ? {} : { mimeType: r.mimeType }),
            ...(r.size === undefined ? {} : { size: r.size })
          })),
          errorSummary: j.errorSummary === null ? null : { type: j.errorSummary.type, hasDetail: j.errorSummary.hasDetail, message: j.errorSummary.message },
          jobInfo: j.jobInfo
        })
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("a job list: every reference", () => {
    fc.assert(
      fc.property(fc.uniqueArray(job, { selector: (j) => j.jobId, maxLength: 5 }), (jobs) => {
        const list = Documents.parseJobList(Xml.jobListDocument(jobs, (id) => `http://uws.test/uws/jobs/${id}`), "http://uws.test/uws/jobs")
        expect(list.jobs).toEqual(
          jobs.map((j) => ({
            jobId: j.jobId,
            url: `http://uws.test/uws/jobs/${j.jobId}`,
            phase: j.phase,
            runId: j.runId,
            ownerId: j.ownerId,
            creationTime: new Date(j.creationTime)
          }))
        )
      }),
      { numRuns: propertyRuns(100) }
    )
  })
})

describe("against the REST binding", () => {
  const BASE = "http://uws.test/uws/ctl"

  const setup = async () => {
    const controlled = controlledWorker("ctl")
    const started = await Uws.start({ worker: controlled.worker })
    const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws/ctl" })
    const client = Client.make(`${BASE}/jobs`, { fetch: rest.handler })
    const runningNow = async (jobId: string) => {
      // The job is EXECUTING a moment before the application's run is entered.
      while (!controlled.running.has(jobId)) await new Promise((r) => setTimeout(r, 5))
    }
    return {
      client,
      rest,
      controlled,
      runningNow,
      close: async () => {
        await rest.dispose()
        await started.close()
      }
    }
  }

  it("follows a job through its life: create, read, settings, run, wait, results, delete", async () => {
    const t = await setup()
    try {
      const job = await t.client.create({ parameters: { QUERY: "SELECT 1", BAND: ["g", "r"] }, runId: "run-1", executionDuration: 120 })
      expect(job.url).toBe(`${BASE}/jobs/${job.jobId}`)
      expect(job).toMatchObject({ version: "1.1", phase: "PENDING", runId: "run-1", ownerId: null, executionDuration: 120 })
      expect(job.parameters).toEqual([
        { name: "query", value: "SELECT 1" },
        { name: "band", value: "g" },
        { name: "band", value: "r" }
      ])
      expect(await t.client.get(job.jobId)).toMatchObject({ jobId: job.jobId, phase: "PENDING" })
      expect(await t.client.phase(job)).toBe("PENDING")
      expect(await t.client.parameters(job)).toEqual(job.parameters)

      const destruction = new Date(Date.now() + 86_400_000)
      expect((await t.client.setDestruction(job, destruction)).destruction).toEqual(destruction)
      expect((await t.client.setExecutionDuration(job, 60)).executionDuration).toBe(60)
      expect((await t.client.updateParameters(job, { QUERY: "SELECT 2" })).parameters[0]).toEqual({ name: "query", value: "SELECT 2" })

      const queued = await t.client.run(job)
      expect(["QUEUED", "EXECUTING"]).toContain(queued.phase)
      expect((await t.client.wait(job, { phases: ["EXECUTING"], timeout: 30_000 })).phase).toBe("EXECUTING")
      await t.runningNow(job.jobId)
      const finished = t.client.wait(job, { timeout: 30_000 })
      await Effect.runPromise(t.controlled.complete(job.jobId))
      const done = await finished
      expect(done.phase).toBe("COMPLETED")
      expect(done.results).toEqual([{ id: "out", href: `${BASE}/jobs/${job.jobId}/results/out`, mimeType: "text/plain", size: expect.any(Number) }])
      expect(await t.client.results(job)).toEqual(done.results)
      const content = await t.client.fetchResult(job, "out")
      expect(await content.text()).toBe(`result of ${job.jobId}`)

      await t.client.delete(job)
      await expect(t.client.get(job)).rejects.toMatchObject({ kind: "http", status: 404 })
    } finally {
      await t.close()
    }
  })

  it("creates a job at once running, and sends uploads the binding serves back", async () => {
    const t = await setup()
    try {
      const job = await t.client.create({
        parameters: [["UPLOAD", "t1,param:t1"]],
        uploads: [{ name: "t1", content: "ra,dec\n1,2\n", mimeType: "text/csv", fileName: "t1.csv" }],
        run: true
      })
      expect(["QUEUED", "EXECUTING"]).toContain(job.phase)
      const upload = job.parameters.find((p) => p.name === "t1")
      expect(upload?.byReference).toBe(true)
      const served = await t.rest.handler(new Request(new URL(upload!.value, job.url).href))
      expect(await served.text()).toBe("ra,dec\n1,2\n")
      await t.runningNow(job.jobId)
      await Effect.runPromise(t.controlled.complete(job.jobId))
      expect((await t.client.wait(job, { timeout: 30_000 })).phase).toBe("COMPLETED")
    } finally {
      await t.close()
    }
  })

  it("lists jobs with the PHASE, AFTER and LAST filters", async () => {
    const t = await setup()
    try {
      const a = await t.client.create({ runId: "a" })
      await new Promise((r) => setTimeout(r, 3)) // distinct creation instants for AFTER
      const b = await t.client.create({ runId: "b" })
      await t.client.abort(b)
      await new Promise((r) => setTimeout(r, 3))
      const c = await t.client.create({ runId: "c" })
      const all = await t.client.list()
      expect(all.version).toBe("1.1")
      expect(all.jobs.map((j) => j.jobId)).toEqual([c.jobId, b.jobId, a.jobId])
      expect(all.jobs[0]).toMatchObject({ url: `${BASE}/jobs/${c.jobId}`, phase: "PENDING", runId: "c", ownerId: null })
      expect((await t.client.list({ phases: ["ABORTED"] })).jobs.map((j) => j.jobId)).toEqual([b.jobId])
      expect((await t.client.list({ phases: ["ABORTED", "PENDING"] })).jobs).toHaveLength(3)
      expect((await t.client.list({ last: 2 })).jobs.map((j) => j.jobId)).toEqual([c.jobId, b.jobId])
      expect((await t.client.list({ after: a.creationTime! })).jobs.map((j) => j.jobId)).toEqual([c.jobId, b.jobId])
      const first = await t.client.list({ limit: 2 })
      expect(first.jobs.map((j) => j.jobId)).toEqual([c.jobId, b.jobId])
      expect(first.next).not.toBeNull()
      const second = await t.client.listPage(first.next!)
      expect(second.jobs.map((j) => j.jobId)).toEqual([a.jobId])
      expect(second.next).toBeNull()
    } finally {
      await t.close()
    }
  })

  it("reports the binding's refusals with their status and message", async () => {
    const t = await setup()
    try {
      await expect(t.client.get("nope")).rejects.toMatchObject({ kind: "http", status: 404, message: expect.stringContaining("nope") })
      const job = await t.client.create()
      await t.client.abort(job)
      await expect(t.client.run(job)).rejects.toMatchObject({ kind: "http", status: 403, message: expect.stringContaining("RUN is not allowed in ABORTED") })
      await expect(t.client.setDestruction(job, Date.now() - 60_000)).rejects.toMatchObject({ kind: "http", status: 400 })
      await expect(t.client.error(job)).rejects.toMatchObject({ kind: "http", status: 404 })
    } finally {
      await t.close()
    }
  })

  it("waits for a failing job and reads its error; an aborted job ends a wait for COMPLETED", async () => {
    const t = await setup()
    try {
      const failing = await t.client.create({ run: true })
      await t.runningNow(failing.jobId)
      const waiting = t.client.wait(failing, { timeout: 30_000 })
      await Effect.runPromise(t.controlled.fail(failing.jobId, "the sky is cloudy"))
      const failed = await waiting
      expect(failed.phase).toBe("ERROR")
      expect(failed.errorSummary).toEqual({ type: "fatal", hasDetail: true, message: "the sky is cloudy" })
      expect(await t.client.error(failed)).toContain("the sky is cloudy")

      const aborted = await t.client.create({ run: true })
      await t.runningNow(aborted.jobId)
      const forCompletion = t.client.wait(aborted, { phases: ["COMPLETED"], timeout: 30_000 })
      expect((await t.client.abort(aborted)).phase).toBe("ABORTED")
      await expect(forCompletion).rejects.toMatchObject({ kind: "ended", job: { phase: "ABORTED" } })
    } finally {
      await t.close()
    }
  })

  it("gives up at the deadline while the job keeps executing", async () => {
    const t = await setup()
    try {
      const job = await t.client.create({ run: true })
      await t.runningNow(job.jobId)
      await expect(t.client.wait(job, { timeout: 1_500 })).rejects.toMatchObject({ kind: "timeout", job: { phase: "EXECUTING" } })
    } finally {
      await t.close()
    }
  })
})
