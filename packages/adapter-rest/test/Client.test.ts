import * as Phases from "@uws-kit/core/Phase"
import type { Phase } from "@uws-kit/core/Phase"
import { controlledWorker, propertyRuns } from "@uws-kit/core/testing"
import { Uws } from "@uws-kit/core"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { create } from "xmlbuilder2"
import * as Client from "../src/Client.js"
import * as RestAdapter from "../src/RestAdapter.js"

const UWS = "http://www.ivoa.net/xml/UWS/v1.0"
const XLINK = "http://www.w3.org/1999/xlink"
const XSI = "http://www.w3.org/2001/XMLSchema-instance"

// ---- a writer for UWS job documents, in the shapes servers use ---------------------------

interface Style {
  /** "" = default namespace. */
  readonly prefix: string
  readonly version: string | undefined
  readonly pretty: boolean
  /** How null optional values are written: as xsi:nil, or left out. */
  readonly nulls: "nil" | "omit"
}

const renderJob = (job: Client.JobSummary, style: Style): string => {
  const q = (name: string) => (style.prefix === "" ? name : `${style.prefix}:${name}`)
  const root = create({ version: "1.0", encoding: "UTF-8" }).ele(UWS, q("job"), style.version === undefined ? {} : { version: style.version })
  root.att("http://www.w3.org/2000/xmlns/", "xmlns:xsi", XSI).att("http://www.w3.org/2000/xmlns/", "xmlns:xlink", XLINK)
  const el = (name: string, value: string | null, nillable: boolean) => {
    if (value !== null) root.ele(UWS, q(name)).txt(value)
    else if (nillable && style.nulls === "nil") root.ele(UWS, q(name)).att(XSI, "xsi:nil", "true")
  }
  const t = (d: Date | null) => (d === null ? null : d.toISOString())
  el("jobId", job.jobId, false)
  el("runId", job.runId, false)
  el("ownerId", job.ownerId, true)
  el("phase", job.phase, false)
  el("quote", t(job.quote), true)
  el("creationTime", t(job.creationTime), false)
  el("startTime", t(job.startTime), true)
  el("endTime", t(job.endTime), true)
  el("executionDuration", job.executionDuration === null ? null : String(job.executionDuration), false)
  el("destruction", t(job.destruction), true)
  const params = root.ele(UWS, q("parameters"))
  for (const p of job.parameters) {
    const e = params.ele(UWS, q("parameter"), { id: p.name })
    if (p.byReference === true) e.att("byReference", "true")
    if (p.value !== "") e.txt(p.value)
  }
  const results = root.ele(UWS, q("results"))
  for (const r of job.results) {
    const e = results.ele(UWS, q("result"), { id: r.id })
    if (r.href !== null) e.att(XLINK, "xlink:href", r.href)
    if (r.mimeType !== undefined) e.att("mime-type", r.mimeType)
    if (r.size !== undefined) e.att("size", String(r.size))
  }
  if (job.errorSummary !== null) {
    root
      .ele(UWS, q("errorSummary"), { type: job.errorSummary.type, hasDetail: String(job.errorSummary.hasDetail) })
      .ele(UWS, q("message"))
      .txt(job.errorSummary.message)
  }
  if (job.jobInfo !== null) {
    const info = root.ele(UWS, q("jobInfo"))
    for (const [k, v] of Object.entries(job.jobInfo)) info.ele(UWS, q(k)).txt(v)
  }
  return root.doc().end({ prettyPrint: style.pretty })
}

// Characters XML 1.0 can carry. A bare CR is normalised to LF by every XML parser, so values
// with CR are not expected to survive and are left out.
const xmlChar = fc
  .oneof(
    { weight: 6, arbitrary: fc.constantFrom("a", "Z", "0", " ", "<", ">", "&", '"', "'", "=", "\n", "\t", "é", "→", "😀", ";", "#") },
    { weight: 1, arbitrary: fc.integer({ min: 0x20, max: 0xd7ff }).map((c) => String.fromCodePoint(c)) }
  )
const xmlString = (max = 12) => fc.array(xmlChar, { maxLength: max }).map((cs) => cs.join(""))
const nonBlank = xmlString().filter((s) => s.trim() !== "")
const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,11}$/)
const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2200, 0, 1) }).map((ms) => new Date(ms))
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null })

const jobSummary: fc.Arbitrary<Client.JobSummary> = fc.record({
  version: fc.constant("1.1"),
  jobId: token,
  runId: orNull(nonBlank),
  ownerId: orNull(nonBlank),
  phase: fc.constantFrom(...Phases.all),
  quote: orNull(instant),
  creationTime: instant.map((d): Date | null => d),
  startTime: orNull(instant),
  endTime: orNull(instant),
  executionDuration: fc.nat({ max: 10_000_000 }).map((n): number | null => n),
  destruction: orNull(instant),
  parameters: fc.array(
    fc.record({ name: nonBlank, value: xmlString(20), byReference: fc.boolean() }).map((p) =>
      p.byReference ? p : { name: p.name, value: p.value }
    ),
    { maxLength: 5 }
  ),
  results: fc.array(
    fc.record(
      {
        id: token,
        href: fc.oneof(fc.constant(null), fc.webUrl()),
        mimeType: fc.constantFrom("text/plain", "application/x-votable+xml"),
        size: fc.nat()
      },
      { requiredKeys: ["id", "href"] }
    ),
    { maxLength: 3 }
  ),
  errorSummary: orNull(fc.record({ type: fc.constantFrom("transient", "fatal"), hasDetail: fc.boolean(), message: nonBlank })),
  jobInfo: orNull(fc.dictionary(token, nonBlank, { maxKeys: 3 }))
})

const style: fc.Arbitrary<Style> = fc.record({
  prefix: fc.constantFrom("uws", "", "x"),
  version: fc.constantFrom<string | undefined>("1.1", undefined),
  pretty: fc.boolean(),
  nulls: fc.constantFrom("nil" as const, "omit" as const)
})

describe("parseJob", () => {
  it("reads back every field a server writes, whatever the prefix, layout or version", () => {
    fc.assert(
      fc.property(jobSummary, style, (job, s) => {
        // Pretty printing indents mixed content; values are compared on unindented documents.
        const parsed = Client.parseJob(renderJob(job, { ...s, pretty: false }))
        expect(parsed).toEqual({ ...job, version: s.version ?? "1.0" })
        if (s.pretty) {
          const pretty = Client.parseJob(renderJob(job, s))
          expect({ phase: pretty.phase, jobId: pretty.jobId, results: pretty.results }).toEqual({
            phase: job.phase,
            jobId: job.jobId,
            results: job.results
          })
        }
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("reads the UWS 1.1 specification's example job", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <uws:jobId>120</uws:jobId>
  <uws:runId>foo</uws:runId>
  <uws:ownerId xsi:nil="true"/>
  <uws:phase>COMPLETED</uws:phase>
  <uws:quote>2014-09-10T10:01:02.135</uws:quote>
  <uws:creationTime>2014-09-10T10:00:02.135Z</uws:creationTime>
  <uws:startTime>2014-09-10T10:01:02.135Z</uws:startTime>
  <uws:endTime>2014-09-10T10:01:02.135Z</uws:endTime>
  <uws:executionDuration>0</uws:executionDuration>
  <uws:destruction>2014-09-10T10:01:02.135+01:00</uws:destruction>
  <uws:parameters>
    <uws:parameter id="parameter1">value1</uws:parameter>
    <uws:parameter id="parameter2" byReference="true">http://myserver.org/uws/jobs/jobid123/param2</uws:parameter>
  </uws:parameters>
  <uws:results>
    <uws:result id="result1" xlink:href="result1.vot"/>
    <uws:result id="result2" xlink:href="http://other.org/r2"/>
  </uws:results>
</uws:job>`
    const job = Client.parseJob(xml, "http://h/uws/jobs/120")
    expect(job).toMatchObject({
      version: "1.1",
      jobId: "120",
      runId: "foo",
      ownerId: null,
      phase: "COMPLETED",
      executionDuration: 0,
      parameters: [
        { name: "parameter1", value: "value1" },
        { name: "parameter2", value: "http://myserver.org/uws/jobs/jobid123/param2", byReference: true }
      ],
      results: [
        { id: "result1", href: "http://h/uws/jobs/result1.vot" },
        { id: "result2", href: "http://other.org/r2" }
      ],
      errorSummary: null
    })
    expect(job.quote?.toISOString()).toBe("2014-09-10T10:01:02.135Z")
    expect(job.destruction?.toISOString()).toBe("2014-09-10T09:01:02.135Z")
  })

  it("reads a UWS 1.0 job (no version attribute, error message)", () => {
    const xml = `<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>a</jobId><ownerId/><phase>ERROR</phase>
      <executionDuration>60</executionDuration><destruction></destruction>
      <errorSummary type="transient" hasDetail="true"><message>out of disk</message></errorSummary></job>`
    expect(Client.parseJob(xml)).toMatchObject({
      version: "1.0",
      phase: "ERROR",
      ownerId: null,
      destruction: null,
      errorSummary: { type: "transient", hasDetail: true, message: "out of disk" }
    })
  })

  it("reads jobInfo entries named by attribute or by element", () => {
    const xml = `<job xmlns="${UWS}" xmlns:kit="urn:k"><jobId>a</jobId><phase>EXECUTING</phase><jobInfo>
      <kit:entry name="progress">3/10</kit:entry><kit:entry name="slept">3.0 s</kit:entry><note>hi</note><deep><x>1</x></deep></jobInfo></job>`
    expect(Client.parseJob(xml).jobInfo).toEqual({ progress: "3/10", slept: "3.0 s", note: "hi" })
  })

  it("reads an unknown phase name as UNKNOWN", () => {
    expect(Client.parseJob(`<job><jobId>a</jobId><phase>RUNNING</phase></job>`).phase).toBe("UNKNOWN")
  })

  it("refuses what is not a job document, saying what it got", () => {
    const fail = (xml: string) => {
      try {
        Client.parseJob(xml, "http://h/j")
      } catch (e) {
        expect(e).toBeInstanceOf(Client.UwsClientError)
        expect((e as Client.UwsClientError).kind).toBe("malformed")
        return (e as Error).message
      }
      throw new Error("parsed")
    }
    expect(fail(`<jobs/>`)).toContain("got <jobs>")
    expect(fail(`<html><body>hi</body></html>`)).toContain("got <html>")
    expect(fail(`not xml at all`)).toMatch(/job/)
    expect(fail(`<job><phase>PENDING</phase></job>`)).toContain("jobId")
    expect(fail(`<job><jobId>a</jobId><phase>PENDING</phase><startTime>yesterday</startTime></job>`)).toContain("startTime")
    expect(fail(`<job><jobId>a</jobId><phase>PENDING</phase><executionDuration>ten</executionDuration></job>`)).toContain("executionDuration")
  })
})

describe("parseJobList, parseResults, parseParameters", () => {
  it("reads job references, resolving links or building them from the list URL", () => {
    const xml = `<uws:jobs xmlns:uws="${UWS}" xmlns:xlink="${XLINK}" xmlns:xsi="${XSI}" version="1.1">
      <uws:jobref id="a" xlink:href="http://h/uws/jobs/a"><uws:phase>PENDING</uws:phase><uws:ownerId xsi:nil="true"/><uws:creationTime>2026-01-01T00:00:00.000Z</uws:creationTime></uws:jobref>
      <uws:jobref id="b c"><uws:phase>EXECUTING</uws:phase><uws:runId>r</uws:runId><uws:ownerId>alice</uws:ownerId></uws:jobref>
    </uws:jobs>`
    const list = Client.parseJobList(xml, "http://h/uws/jobs?PHASE=PENDING")
    expect(list.version).toBe("1.1")
    expect(list.jobs).toEqual([
      { jobId: "a", url: "http://h/uws/jobs/a", phase: "PENDING", runId: null, ownerId: null, creationTime: new Date("2026-01-01T00:00:00.000Z") },
      { jobId: "b c", url: "http://h/uws/jobs/b%20c", phase: "EXECUTING", runId: "r", ownerId: "alice", creationTime: null }
    ])
    expect(Client.parseJobList(`<jobs xmlns="${UWS}"/>`, "http://h/jobs").jobs).toEqual([])
  })

  it("reads results and parameters documents", () => {
    expect(
      Client.parseResults(
        `<results xmlns="${UWS}" xmlns:xl="${XLINK}"><result id="r" xl:href="r.txt" mime-type="text/plain" size="12"/></results>`,
        "http://h/jobs/1/results"
      )
    ).toEqual([{ id: "r", href: "http://h/jobs/1/r.txt", mimeType: "text/plain", size: 12 }])
    expect(Client.parseParameters(`<parameters xmlns="${UWS}"><parameter id="Q"> a &lt; b </parameter><parameter id="E"/></parameters>`)).toEqual([
      { name: "Q", value: " a < b " },
      { name: "E", value: "" }
    ])
  })
})

describe("parseInstant", () => {
  it("reads what Date writes and the zone-less and offset forms servers use", () => {
    fc.assert(
      fc.property(instant, (d) => {
        expect(Client.parseInstant(d.toISOString())?.getTime()).toBe(d.getTime())
        expect(Client.parseInstant(d.toISOString().slice(0, -1))?.getTime()).toBe(d.getTime())
      }),
      { numRuns: propertyRuns(200) }
    )
    expect(Client.parseInstant("2026-11-23T10:00:00.123456Z")?.toISOString()).toBe("2026-11-23T10:00:00.123Z")
    expect(Client.parseInstant("2026-11-23")?.toISOString()).toBe("2026-11-23T00:00:00.000Z")
    expect(Client.parseInstant("2026-11-23T10:00:00-02:30")?.toISOString()).toBe("2026-11-23T12:30:00.000Z")
    for (const bad of ["", "2026-02-30T00:00:00Z", "2026-13-01", "soon", "2026-01-01T25:00:00Z"]) {
      expect(Client.parseInstant(bad)).toBeUndefined()
    }
  })
})

// ---- behaviour against small fake servers --------------------------------------------------

interface Fake {
  readonly requests: Array<string>
  readonly handler: (req: Request) => Promise<Response>
}

const xmlJob = (id: string, phase: Phase, version: string | null = "1.1", extra = "") =>
  `<?xml version="1.0"?><uws:job xmlns:uws="${UWS}"${version === null ? "" : ` version="${version}"`}>` +
  `<uws:jobId>${id}</uws:jobId><uws:phase>${phase}</uws:phase><uws:executionDuration>0</uws:executionDuration>${extra}</uws:job>`

/** A server whose job moves through `phases`, one step per GET of the job. */
const stepping = (phases: ReadonlyArray<Phase>, version: string | null): Fake & { readonly step: () => number } => {
  const requests: Array<string> = []
  let i = 0
  return {
    requests,
    step: () => i,
    handler: async (req) => {
      const url = new URL(req.url)
      requests.push(`${req.method} ${url.pathname}${url.search}`)
      const phase = phases[Math.min(i, phases.length - 1)]!
      i++
      return new Response(xmlJob("j", phase, version), { headers: { "content-type": "application/xml" } })
    }
  }
}

/** A fake clock: `sleep` moves time forward instead of waiting. */
const fakeTime = () => {
  let t = 1_000_000
  const sleeps: Array<number> = []
  return {
    sleeps,
    now: () => t,
    advance: (ms: number) => void (t += ms),
    sleep: async (ms: number) => {
      sleeps.push(ms)
      t += ms
    }
  }
}

describe("wait", () => {
  it("blocks with WAIT and the PHASE guard of the phase it last saw", async () => {
    const server = stepping(["QUEUED", "EXECUTING", "COMPLETED"], "1.1")
    const time = fakeTime()
    const requests: Array<string> = []
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        // A blocking server: each WAIT returns after the job changed, a little later.
        time.advance(500)
        requests.push(req.url)
        return server.handler(req)
      },
      now: time.now,
      sleep: time.sleep
    })
    const job = await uws.wait("j", { timeout: 120_000 })
    expect(job.phase).toBe("COMPLETED")
    expect(requests).toEqual(["http://h/jobs/j", "http://h/jobs/j?WAIT=60&PHASE=QUEUED", "http://h/jobs/j?WAIT=60&PHASE=EXECUTING"])
  })

  it("asks for no longer than the time left before the deadline", async () => {
    const server = stepping(["EXECUTING", "EXECUTING", "COMPLETED"], "1.1")
    const time = fakeTime()
    const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep, maxWait: 30 })
    await uws.wait("j", { deadline: time.now() + 12_500 })
    expect(server.requests[1]).toBe("GET /jobs/j?WAIT=12&PHASE=EXECUTING")
  })

  it("polls with growing pauses a server that ignores WAIT, and never blocks a UWS 1.0 server", async () => {
    for (const version of ["1.1", null]) {
      const phases: Array<Phase> = [...Array.from({ length: 30 }, () => "EXECUTING" as const), "COMPLETED"]
      const server = stepping(phases, version)
      const time = fakeTime()
      const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep })
      const job = await uws.wait("j", { timeout: 3_600_000 })
      expect(job.phase).toBe("COMPLETED")
      expect(server.requests).toHaveLength(31)
      // Pauses grow (bounded) instead of spinning.
      expect(time.sleeps.length).toBeGreaterThan(20)
      expect(time.sleeps.every((ms, i) => i === 0 || ms >= time.sleeps[i - 1]!)).toBe(true)
      expect(Math.max(...time.sleeps)).toBeLessThanOrEqual(10_000)
      expect(time.sleeps.at(-1)).toBeGreaterThan(time.sleeps[0]! * 10)
      if (version === null) expect(server.requests.every((r) => !r.includes("WAIT"))).toBe(true)
    }
  })

  it("gives up at the deadline with the last job it saw", async () => {
    const server = stepping(["EXECUTING"], "1.1")
    const time = fakeTime()
    const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep })
    const error = await uws.wait("j", { timeout: 30_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Client.UwsClientError)
    expect(error).toMatchObject({ kind: "timeout", job: { phase: "EXECUTING", jobId: "j" } })
    expect(time.now()).toBeGreaterThanOrEqual(1_000_000 + 30_000)
    expect(time.now()).toBeLessThan(1_000_000 + 41_000)
  })

  it("reports a job that ended in another phase than the awaited ones", async () => {
    const server = stepping(["EXECUTING", "ABORTED"], "1.1")
    const time = fakeTime()
    const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep })
    await expect(uws.wait("j", { phases: ["COMPLETED"], timeout: 60_000 })).rejects.toMatchObject({
      kind: "ended",
      job: { phase: "ABORTED" }
    })
    // The default phases include every final phase.
    const again = stepping(["EXECUTING", "ABORTED"], "1.1")
    const c2 = Client.make("http://h/jobs", { fetch: again.handler, now: time.now, sleep: time.sleep })
    expect((await c2.wait("j", { timeout: 60_000 })).phase).toBe("ABORTED")
  })
})

describe("requests and redirects", () => {
  it("learns the job URL from a relative Location and follows it", async () => {
    const seen: Array<string> = []
    const uws = Client.make("http://h/svc/jobs/", {
      fetch: async (req) => {
        seen.push(`${req.method} ${req.url} ${req.method === "POST" ? await req.text() : ""}`.trim())
        if (req.method === "POST") return new Response(null, { status: 303, headers: { location: "jobs/x1" } })
        return new Response(xmlJob("x1", "QUEUED"), { headers: { "content-type": "text/xml" } })
      }
    })
    const job = await uws.create({ parameters: { A: "1", B: ["2", "3"] }, runId: "r", executionDuration: 30, destruction: Date.UTC(2030, 0, 1), run: true })
    expect(job.url).toBe("http://h/svc/jobs/x1")
    expect(job.phase).toBe("QUEUED")
    expect(seen).toEqual([
      "POST http://h/svc/jobs A=1&B=2&B=3&RUNID=r&EXECUTIONDURATION=30&DESTRUCTION=2030-01-01T00%3A00%3A00.000Z&PHASE=RUN",
      "GET http://h/svc/jobs/x1"
    ])
  })

  it("sends uploads as multipart parts named after their parameter", async () => {
    let body: FormData | undefined
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        if (req.method === "POST") {
          body = await req.formData()
          return new Response(null, { status: 303, headers: { location: "http://h/jobs/u" } })
        }
        return new Response(xmlJob("u", "PENDING"))
      }
    })
    await uws.create({ parameters: [["LANG", "ADQL"]], uploads: [{ name: "t1", content: "a,b\n1,2\n", mimeType: "text/csv", fileName: "t1.csv" }] })
    expect(body?.get("LANG")).toBe("ADQL")
    const file = body?.get("t1") as File
    expect(file.name).toBe("t1.csv")
    expect(file.type).toBe("text/csv")
    expect(await file.text()).toBe("a,b\n1,2\n")
  })

  it("turns error responses into errors carrying the status and the server's message", async () => {
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) =>
        req.url.endsWith("/phase")
          ? new Response("RUN is not allowed in COMPLETED", { status: 403, headers: { "content-type": "text/plain" } })
          : new Response(JSON.stringify({ error: { tag: "JobNotFound", message: 'No job with id "z".' } }), {
              status: 404,
              headers: { "content-type": "application/json" }
            })
    })
    await expect(uws.run("a")).rejects.toMatchObject({ kind: "http", status: 403, message: expect.stringContaining("RUN is not allowed in COMPLETED") })
    await expect(uws.get("z")).rejects.toMatchObject({ kind: "http", status: 404, message: expect.stringContaining('No job with id "z".') })
  })

  it("deletes with HTTP DELETE, or with ACTION=DELETE where DELETE is not allowed", async () => {
    const seen: Array<string> = []
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        seen.push(`${req.method} ${req.url} ${req.method === "POST" ? await req.text() : ""}`.trim())
        if (req.method === "DELETE") return new Response("no", { status: 405 })
        return new Response(null, { status: 303, headers: { location: "/jobs" } })
      }
    })
    await uws.delete("a")
    expect(seen).toEqual(["DELETE http://h/jobs/a", "POST http://h/jobs/a ACTION=DELETE"])
  })

  it("builds list queries from the UWS 1.1 filters and reads a next-page link", async () => {
    const seen: Array<string> = []
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        seen.push(req.url)
        return new Response(`<jobs xmlns="${UWS}" version="1.1"/>`, { headers: { link: '<?cursor=abc>; rel="next"' } })
      }
    })
    const list = await uws.list({ phases: ["EXECUTING", "QUEUED"], after: Date.UTC(2026, 0, 1), last: 5 })
    expect(seen[0]).toBe("http://h/jobs?PHASE=EXECUTING&PHASE=QUEUED&AFTER=2026-01-01T00%3A00%3A00.000Z&LAST=5")
    expect(list.next).toBe("http://h/jobs?cursor=abc")
  })

  it("works with a fetch that follows redirects itself (a browser's), taking the job URL from where they ended", async () => {
    const seen: Array<string> = []
    const followed = (body: string, url: string) => {
      const res = new Response(body, { headers: { "content-type": "application/xml" } })
      Object.defineProperty(res, "url", { value: url })
      return res
    }
    const uws = Client.make("http://h/jobs", {
      redirects: "follow",
      fetch: async (req) => {
        seen.push(`${req.method} ${req.url} ${req.redirect}`)
        return followed(xmlJob("b1", "PENDING"), "http://h/jobs/b1")
      }
    })
    const job = await uws.create({ parameters: { A: "1" } })
    expect(job.url).toBe("http://h/jobs/b1")
    expect(seen).toEqual(["POST http://h/jobs follow"])
  })

  it("says what to do when fetch hides redirects and the client was not told", async () => {
    const uws = Client.make("http://h/jobs", {
      fetch: async () => {
        const res = new Response(null, { status: 200 })
        Object.defineProperty(res, "type", { value: "opaqueredirect" })
        return res
      }
    })
    await expect(uws.create()).rejects.toMatchObject({ kind: "redirect", message: expect.stringContaining('redirects: "follow"') })
  })

  it("accepts a server that answers a creation with the job itself instead of a redirect", async () => {
    const uws = Client.make("http://h/jobs", {
      fetch: async () => new Response(xmlJob("n1", "PENDING"), { status: 201, headers: { "content-type": "text/xml" } })
    })
    expect(await uws.create()).toMatchObject({ url: "http://h/jobs/n1", jobId: "n1", phase: "PENDING" })
  })

  it("refuses a reply that is not a UWS document, naming what came", async () => {
    const uws = Client.make("http://h/jobs", { fetch: async () => new Response("<html><body>login</body></html>", { headers: { "content-type": "text/html" } }) })
    await expect(uws.get("a")).rejects.toMatchObject({ kind: "malformed", message: expect.stringContaining("got <html>") })
  })

  it("passes the caller's headers on every request", async () => {
    const auth: Array<string | null> = []
    const uws = Client.make("http://h/jobs", {
      headers: () => ({ authorization: "Bearer t" }),
      fetch: async (req) => {
        auth.push(req.headers.get("authorization"))
        return new Response(xmlJob("a", "PENDING"))
      }
    })
    await uws.get("a")
    expect(auth).toEqual(["Bearer t"])
  })
})

// ---- against the REST binding, in process --------------------------------------------------

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
