/**
 * Limits by default over SOAP: a request too large is a Client fault carried with HTTP 413
 * (`LimitExceeded`, or `EnvelopeTooLarge` past the envelope limit), a quota a `QuotaExceeded`
 * Client fault; each names the limit and its value, and none creates a job.
 */
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { Identity, Uws, Worker } from "@uws-kit/core"
import type { Policy } from "@uws-kit/core/Policy"
import { BASE, call, envelope, field, read, request } from "./helpers.js"

const open: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of open.splice(0)) await close()
})

const start = async (policy: Partial<Policy> = {}) => {
  const started = await Uws.start({ worker: Worker.noop, policy })
  const adapter = SoapAdapter.makeSoapAdapter({
    service: started.service,
    identify: (r) => {
      const user = r.headers.get("x-user")
      return user === null ? Identity.anonymous : Identity.user(user)
    }
  })
  open.push(async () => {
    await adapter.dispose()
    await started.close()
  })
  const jobs = async () => (await Effect.runPromise(started.service.list(Identity.system, {}))).jobs.length
  return { handler: adapter.handler, jobs }
}

const parameters = (n: number, value = "1") => Array.from({ length: n }, (_, i) => `<u:parameter id="p${i}">${value}</u:parameter>`).join("")
const as = (user: string) => ({ httpHeaders: { "x-user": user } })

describe("limits by default over SOAP", () => {
  it("refuses 1001 parameters with a Client fault, HTTP 413, naming the limit; 1000 pass", async () => {
    const s = await start()
    const refused = await call(s.handler, "createJob", parameters(1001))
    expect(refused.status).toBe(413)
    expect(refused.fault).toMatchObject({ code: "soap:Client", tag: "LimitExceeded" })
    expect(refused.fault?.reason).toBe("Request too large: this service takes at most 1000 parameters per job (got 1001).")
    expect(await s.jobs()).toBe(0)
    expect((await call(s.handler, "createJob", parameters(1000))).fault).toBeUndefined()
  })

  it("refuses a value over 64 KiB, in SOAP 1.1 and 1.2", async () => {
    const s = await start()
    for (const version of ["1.1", "1.2"] as const) {
      const refused = await call(s.handler, "createJob", parameters(1, "x".repeat(65_537)), { version })
      expect(refused.status).toBe(413)
      expect(refused.fault?.tag).toBe("LimitExceeded")
      expect(refused.fault?.reason).toContain("at most 64 KiB (65536 bytes) each")
    }
    expect(await s.jobs()).toBe(0)
  })

  it("refuses an envelope of 3,000,000 tiny parameters (16 MB and more) unread past its limit: 413, no job", async () => {
    const s = await start()
    const head = envelope("createJob", "\u0000").split("\u0000")
    const encoder = new TextEncoder()
    let sent = 0
    // Streamed, as a client would send it: the envelope is never built whole.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(encoder.encode(head[0]))
        if (sent >= 3_000_000) {
          controller.enqueue(encoder.encode(head[1]))
          controller.close()
          return
        }
        controller.enqueue(encoder.encode(parameters(10_000)))
        sent += 10_000
      }
    })
    const base = request("", "createJob")
    const reply = await read(await s.handler(new Request(BASE, { method: "POST", headers: base.headers, body, duplex: "half" } as RequestInit)))
    expect(reply.status).toBe(413)
    expect(reply.fault?.tag).toBe("EnvelopeTooLarge")
    expect(sent).toBeLessThan(3_000_000)
    expect(await s.jobs()).toBe(0)
  })

  it("refuses an upload over its limit", async () => {
    const s = await start({ maxUploadBytes: 1000 })
    const upload = (bytes: number) => `<u:upload name="table">${Buffer.alloc(bytes).toString("base64")}</u:upload>`
    const refused = await call(s.handler, "createJob", upload(1001))
    expect(refused.status).toBe(413)
    expect(refused.fault?.reason).toContain("uploads of at most 1000 bytes each")
    expect(await s.jobs()).toBe(0)
    expect((await call(s.handler, "createJob", upload(1000))).fault).toBeUndefined()
  })

  it("refuses a caller's N+1-th active job with a QuotaExceeded fault naming the limit; another caller is unaffected", async () => {
    const s = await start({ maxActiveJobsPerOwner: 2 })
    for (let i = 0; i < 2; i++) expect((await call(s.handler, "createJob", "", as("alice"))).fault).toBeUndefined()
    const refused = await call(s.handler, "createJob", "", as("alice"))
    expect(refused.fault).toMatchObject({ code: "soap:Client", tag: "QuotaExceeded" })
    expect(refused.fault?.reason).toContain('"alice" may have at most 2 active jobs (maxActiveJobsPerOwner)')
    expect(await s.jobs()).toBe(2)
    expect(field(await call(s.handler, "createJob", "", as("bob")), "jobId")).toBeDefined()
  })

  it("refuses creation past the stored-jobs limit", async () => {
    const s = await start({ maxStoredJobs: 1 })
    expect((await call(s.handler, "createJob", "", as("alice"))).fault).toBeUndefined()
    const refused = await call(s.handler, "createJob", "", as("bob"))
    expect(refused.fault?.tag).toBe("QuotaExceeded")
    expect(refused.fault?.reason).toContain("this service keeps at most 1 jobs (maxStoredJobs)")
    expect(await s.jobs()).toBe(1)
  })
})
