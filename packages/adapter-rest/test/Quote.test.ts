/**
 * The v0.3 two-phase commit over REST, end to end: the quote of a PENDING job follows its
 * parameters, POST {job}/quote accepts it and runs the job, and the accepted quote stays recorded
 * (JSON, XML jobInfo extension, HTML). A quote past the destruction time is refused, with the
 * reason, and changes nothing.
 */
import { Job as Jobs, Worker } from "@uws-kit/core"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { createJob, fixture, form, parseXml, settled, type Fixture } from "./support.js"

/** Predicts N seconds; without N, "don't know". */
const predictable = Worker.make({
  name: "predictable",
  quote: (job) => {
    const n = Jobs.parameter(job, "N")
    return n === undefined ? null : Number(n)
  },
  run: () => Promise.resolve([{ id: "out", href: "https://example.org/out" }])
})

let f: Fixture
beforeEach(async () => {
  f = await fixture({ worker: predictable, maxWait: 5_000 })
})
afterEach(async () => {
  await f.close()
})

const asJson = { headers: { accept: "application/json" } }
/** What a browser sends: HTML is served to browsers, XML to everyone else. */
const asBrowser = { headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" } }
const jobJson = async (id: string): Promise<any> => (await f.call(`/jobs/${id}`, asJson)).json()

describe("the two-phase commit over REST", () => {
  it("create → change parameters → the quote changes → POST /quote → runs with the accepted quote recorded", async () => {
    const id = await createJob(f, { N: "10" })
    const created = await jobJson(id)
    expect(created.phase).toBe("PENDING")
    expect(created.terms).toEqual({ quote: "estimated", quoteAcceptedAt: null, termination: "scheduled" })
    const first = Date.parse(created.quote)
    expect(first).toBeGreaterThanOrEqual(Date.parse(created.creationTime) + 10_000)

    expect((await f.call(`/jobs/${id}/parameters`, form({ N: "5000" }))).status).toBe(303)
    const changed = await jobJson(id)
    const second = Date.parse(changed.quote)
    expect(second).toBeGreaterThanOrEqual(first + 4_990_000)
    expect(changed.terms.quote).toBe("estimated")
    expect(await (await f.call(`/jobs/${id}/quote`)).text()).toBe(changed.quote)

    // The HTML page of the PENDING job offers to accept the quote.
    const page = await (await f.call(`/jobs/${id}`, asBrowser)).text()
    expect(page).toContain('id="accept-quote-form"')
    expect(page).toContain(`action="http://uws.test/uws/jobs/${id}/quote"`)
    expect(page).toMatch(/id="quote-status">estimated</)

    const accepted = await f.call(`/jobs/${id}/quote`, { method: "POST" })
    expect(accepted.status).toBe(303)
    expect(accepted.headers.get("location")).toBe(`http://uws.test/uws/jobs/${id}`)
    expect(await settled(f, id)).toBe("COMPLETED")

    const done = await jobJson(id)
    expect(done.quote).toBe(changed.quote)
    expect(done.terms.quote).toBe("accepted")
    expect(Date.parse(done.terms.quoteAcceptedAt)).toBeLessThanOrEqual(Date.parse(done.startTime))
    const xml = parseXml(await (await f.call(`/jobs/${id}`)).text())["uws:job"]
    expect(xml["uws:quote"]).toBe(changed.quote)
    expect(xml["uws:jobInfo"]["kit:quoteState"]["@status"]).toBe("accepted")
    expect(xml["uws:jobInfo"]["kit:quoteState"]["@acceptedAt"]).toBe(done.terms.quoteAcceptedAt)
    // Accepted means frozen: the completed job shows no offer, and parameters no longer change.
    const after = await (await f.call(`/jobs/${id}`, asBrowser)).text()
    expect(after).not.toContain('id="accept-quote-form"')
    expect(after).toMatch(/id="quote-status">accepted</)
  })

  it("a quote past the destruction time is refused with the reason, and the job stays as it was", async () => {
    const id = await createJob(f, { N: String(30 * 86_400) })
    const before = await jobJson(id)
    expect(before.terms.quote).toBe("exceeded")
    for (const request of [() => f.call(`/jobs/${id}/quote`, { method: "POST" }), () => f.call(`/jobs/${id}/phase`, form({ PHASE: "RUN" }))]) {
      const res = await request()
      expect(res.status).toBe(403)
      expect(await res.text()).toMatch(/is past its destruction time .* so it would not be run/)
    }
    expect(await jobJson(id)).toEqual(before)
    const page = await (await f.call(`/jobs/${id}`, asBrowser)).text()
    expect(page).toContain("this job will not be run")
    expect(page).not.toContain('id="accept-quote-form"')
    expect(page).not.toContain('id="run-form"')

    // Cheaper parameters make it a quote that can be met again.
    await f.call(`/jobs/${id}/parameters`, form({ N: "1" }))
    expect((await jobJson(id)).terms.quote).toBe("estimated")
    expect((await f.call(`/jobs/${id}/quote`, { method: "POST" })).status).toBe(303)
  })
})
