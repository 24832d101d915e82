/**
 * Limits by default over HTTP: one client cannot exhaust a public service. Each refusal is the
 * protocol's own (413 for a request too large, 403 for a quota), names the limit and its value,
 * and changes nothing.
 */
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { fixture, form, type Fixture } from "./support.js"

const open: Array<Fixture> = []
afterEach(async () => {
  for (const f of open.splice(0)) await f.close()
})
const start = async (...args: Parameters<typeof fixture>) => {
  const f = await fixture(...args)
  open.push(f)
  return f
}

/** Every job the service holds, to prove a refused request changed nothing. */
const everything = async (f: Fixture) =>
  JSON.stringify((await Effect.runPromise(f.service.list({ id: null, admin: true }, { phases: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD", "SUSPENDED", "UNKNOWN", "ARCHIVED"] }))).jobs)

const urlencoded = (body: string): RequestInit => ({
  method: "POST",
  body,
  headers: { "content-type": "application/x-www-form-urlencoded" }
})
const as = (user: string, init: RequestInit): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), "x-user": user } })

describe("limits by default over REST", () => {
  it("refuses a body of 3,000,000 tiny parameters with 413 naming the limit: no job, listing unchanged", async () => {
    const f = await start()
    const before = await (await f.call("/jobs")).text()
    const res = await f.call("/jobs", urlencoded("p=&".repeat(3_000_000)))
    expect(res.status).toBe(413)
    expect(await res.text()).toContain("Request too large: this service takes at most 1000 parameters per job (got more than 1016 form fields).")
    expect(await (await f.call("/jobs")).text()).toBe(before)
    expect(await everything(f)).toBe("[]")
  })

  it("refuses a 16 MB parameter value with 413 naming the limit", async () => {
    const f = await start()
    const res = await f.call("/jobs", { ...urlencoded(`QUERY=${"x".repeat(16_000_000)}`), headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" } })
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: {
        status: 413,
        tag: "LimitExceeded",
        message: 'Request too large: this service takes parameter values (and RUNID) of at most 64 KiB (65536 bytes) each (got 16000000 bytes in "QUERY").'
      }
    })
    expect(await everything(f)).toBe("[]")
  })

  it("takes exactly 1000 parameters, and a value of exactly 64 KiB but not one byte more", async () => {
    const f = await start()
    expect((await f.call("/jobs", urlencoded(Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join("&")))).status).toBe(303)
    expect((await f.call("/jobs", urlencoded(`Q=${"x".repeat(65_536)}`))).status).toBe(303)
    expect((await f.call("/jobs", urlencoded(`Q=${"x".repeat(65_537)}`))).status).toBe(413)
  })

  it("refuses a caller's N+1-th active job with 403 naming the limit; another caller is unaffected", async () => {
    const f = await start({ policy: { maxActiveJobsPerOwner: 2 } })
    for (let i = 0; i < 2; i++) expect((await f.call("/jobs", as("alice", form({ A: `${i}` })))).status).toBe(303)
    const before = await everything(f)
    const res = await f.call("/jobs", as("alice", form({ A: "3" })))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('"alice" may have at most 2 active jobs (maxActiveJobsPerOwner)')
    expect(await everything(f)).toBe(before)
    expect((await f.call("/jobs", as("bob", form({ A: "1" })))).status).toBe(303)
  })

  it("refuses creation past the stored-jobs limit with 403 naming it", async () => {
    const f = await start({ policy: { maxStoredJobs: 2 } })
    expect((await f.call("/jobs", as("alice", form({})))).status).toBe(303)
    expect((await f.call("/jobs", as("bob", form({})))).status).toBe(303)
    const before = await everything(f)
    const res = await f.call("/jobs", { ...as("carol", form({})), headers: { "x-user": "carol", accept: "text/plain" } })
    expect(res.status).toBe(403)
    expect(await res.text()).toBe("Quota exceeded: this service keeps at most 2 jobs (maxStoredJobs); try again when some have been destroyed.\n")
    expect(await everything(f)).toBe(before)
  })

  it("refuses an update that would pass a limit with 413, changing nothing", async () => {
    const f = await start({ policy: { maxParametersPerJob: 3, newParametersAfterCreation: true } })
    expect((await f.call("/jobs", form({ A: "1", B: "2" }))).status).toBe(303)
    const before = await everything(f)
    const res = await f.call("/jobs/job1/parameters", form({ C: "3", D: "4" }))
    expect(res.status).toBe(413)
    expect(await res.text()).toContain("at most 3 parameters per job (got 4)")
    expect((await f.call("/jobs/job1/parameters", form({ A: "x".repeat(70_000) }))).status).toBe(413)
    expect(await everything(f)).toBe(before)
    expect((await f.call("/jobs/job1/parameters", form({ C: "3" }))).status).toBe(303)
  })

  it("refuses an upload over its limit with 413, keeping uploads within it possible", async () => {
    const f = await start({ policy: { maxUploadBytes: 1000 } })
    const upload = (bytes: number) => {
      const body = new FormData()
      body.append("table", new Blob([new Uint8Array(bytes)], { type: "application/octet-stream" }), "t.bin")
      return { method: "POST", body }
    }
    const res = await f.call("/jobs", upload(1001))
    expect(res.status).toBe(413)
    expect(await res.text()).toContain("uploads of at most 1000 bytes each")
    expect(await everything(f)).toBe("[]")
    const created = await f.call("/jobs", upload(1000))
    expect(created.status).toBe(303)
    const job = created.headers.get("location")!
    // A PUT of the parameter's content is measured the same way.
    const put = await f.call(`${job}/parameters/table`, { method: "PUT", body: new Uint8Array(1001), headers: { "content-type": "application/octet-stream" } })
    expect(put.status).toBe(413)
    expect((await (await f.call(`${job}/parameters/table`)).arrayBuffer()).byteLength).toBe(1000)
  })
})
