/**
 * The REST binding resource by resource, as a client sees it: status codes, Location headers,
 * representations, the blocking WAIT, the sync facade, the v0.3 aliases, uploads, owner
 * isolation and every kind of bad input (a clear 4xx that changes nothing).
 */
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { BASE, createJob, elementNames, fixture, form, parseXml, settled, steerable, type Fixture } from "./support.js"

let f: Fixture
beforeEach(async () => {
  f = await fixture({ maxWait: 5_000 })
})
afterEach(async () => {
  await f.close()
})

const json = async (res: Response): Promise<any> => {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/)
  return res.json()
}
const asJson = { headers: { accept: "application/json" } }

/** Every job as the service holds it, to prove a rejected request changed nothing. */
const snapshot = async () =>
  JSON.stringify((await Effect.runPromise(f.service.list({ id: null, admin: true }, { phases: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD", "SUSPENDED", "UNKNOWN", "ARCHIVED"] }))).jobs)

const FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

describe("job creation", () => {
  it("answers 303 with the absolute URL of the new job, which is PENDING", async () => {
    const res = await f.call("/jobs", form({ TEXT: "hi" }))
    expect(res.status).toBe(303)
    expect(res.headers.get("location")).toBe(`${BASE}/jobs/job1`)
    const job = await json(await f.call("/jobs/job1", asJson))
    expect(job.phase).toBe("PENDING")
    // Names are case-insensitive and shown in lower case (as DaCHS does; pyvo's job.query reads id="query").
    expect(job.parameters).toEqual([{ id: "text", value: "hi", byReference: false }])
  })

  it("keeps values exactly as sent, in order, names in lower case (one parameter whatever the case), and takes out job-control parameters", async () => {
    const res = await f.call(
      "/jobs?runid=from-query",
      form([
        ["Query", "SELECT * FROM t WHERE a < 3 AND b = 'é'"],
        ["query", "  second value  "],
        ["EXECUTIONDURATION", "120"],
        ["destruction", "2099-01-01T00:00:00Z"],
        ["empty", ""]
      ])
    )
    expect(res.status).toBe(303)
    const job = await json(await f.call("/jobs/job1", asJson))
    expect(job.parameters).toEqual([
      { id: "query", value: "SELECT * FROM t WHERE a < 3 AND b = 'é'", byReference: false },
      { id: "query", value: "  second value  ", byReference: false },
      { id: "empty", value: "", byReference: false }
    ])
    expect(job.runId).toBe("from-query")
    expect(job.executionDuration).toBe(120)
    // The default policy keeps a job at most 30 days: the far-future request is clamped.
    expect(Date.parse(job.destruction)).toBe(Date.parse(job.creationTime) + 30 * 86_400_000)
  })

  it("runs the job at once with PHASE=RUN, in the body or in the query string", async () => {
    for (const path of ["/jobs?PHASE=RUN", "/jobs"]) {
      const res = await f.call(path, form(path === "/jobs" ? { phase: "run", TEXT: "x" } : { TEXT: "x" }))
      const id = res.headers.get("location")!.split("/").pop()!
      expect(await settled(f, id)).toBe("COMPLETED")
    }
  })

  it("refuses PHASE other than RUN at creation, bad numbers and dates, with 400 and no job", async () => {
    for (const pairs of [
      { PHASE: "ABORT" },
      { EXECUTIONDURATION: "-1" },
      { EXECUTIONDURATION: "1.5" },
      { EXECUTIONDURATION: "soon" },
      { DESTRUCTION: "2015-26-10" },
      { DESTRUCTION: "2030-01-01T00:00:00+15:00" },
      { DESTRUCTION: "" },
      { DESTRUCTION: "2000-01-01T00:00:00Z" },
      [["RUNID", "a"], ["RUNID", "b"]] as const
    ]) {
      const res = await f.call("/jobs", form(pairs as Record<string, string>))
      expect(res.status, JSON.stringify(pairs)).toBe(400)
      expect((await res.text()).length).toBeGreaterThan(10)
    }
    expect(await snapshot()).toBe("[]")
  })

  it("refuses a creation over the owner's quota with 403", async () => {
    const g = await fixture({ policy: { maxActiveJobsPerOwner: 1 } })
    try {
      expect((await g.call("/jobs", form({ A: "1" }))).status).toBe(303)
      const res = await g.call("/jobs", form({ A: "2" }))
      expect(res.status).toBe(403)
      expect(await res.text()).toMatch(/at most 1 active job/)
    } finally {
      await g.close()
    }
  })

  it("accepts an empty POST (no body, no Content-Type)", async () => {
    expect((await f.call("/jobs", { method: "POST" })).status).toBe(303)
  })
})

describe("representations", () => {
  it("serves a schema-shaped XML job by default: element order, nils, version, Z times, literal xlink:href", async () => {
    const id = await createJob(f, { PHASE: "RUN", TEXT: "x", MODE: "two", HREF: "http://elsewhere/x.fits?a=1&b=2" })
    await settled(f, id)
    const res = await f.call(`/jobs/${id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("application/xml; charset=utf-8")
    expect(res.headers.get("vary")).toBe("Accept")
    const xml = await res.text()
    expect(elementNames(xml, "uws:job")).toEqual([
      "uws:jobId",
      "uws:ownerId",
      "uws:phase",
      "uws:quote",
      "uws:creationTime",
      "uws:startTime",
      "uws:endTime",
      "uws:executionDuration",
      "uws:destruction",
      "uws:parameters",
      "uws:results",
      "uws:jobInfo"
    ])
    const doc = parseXml(xml)["uws:job"]
    expect(doc["@version"]).toBe("1.1")
    // The quote's and termination's state, an extension inside jobInfo: RUN accepted the quote.
    const terms = doc["uws:jobInfo"]
    expect(terms["kit:quoteState"]["@status"]).toBe("accepted")
    expect(terms["kit:quoteState"]["@acceptedAt"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(terms["kit:terminationState"]["@status"]).toBe("scheduled")
    expect(doc["uws:ownerId"]["@xsi:nil"]).toBe("true")
    expect(doc["uws:creationTime"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(doc["uws:executionDuration"]).toBe("3600")
    const results = doc["uws:results"]["uws:result"]
    expect(results.map((r: any) => [r["@id"], r["@xlink:href"], r["@mime-type"], r["@size"]])).toEqual([
      ["result", `${BASE}/jobs/${id}/results/result`, "text/plain", "6"],
      ["extra", `${BASE}/jobs/${id}/results/extra`, "application/octet-stream", "3"],
      ["remote", "http://elsewhere/x.fits?a=1&b=2", "image/fits", "3000"]
    ])
  })

  it("sets version only on job and jobs, not on results and parameters", async () => {
    const id = await createJob(f, { A: "1" })
    for (const [path, root, versioned] of [
      ["/jobs", "uws:jobs", true],
      [`/jobs/${id}`, "uws:job", true],
      [`/jobs/${id}/results`, "uws:results", false],
      [`/jobs/${id}/parameters`, "uws:parameters", false]
    ] as const) {
      const doc = parseXml(await (await f.call(path)).text())[root]
      expect(doc["@version"], path).toBe(versioned ? "1.1" : undefined)
    }
  })

  it("negotiates JSON, text/xml and HTML, and falls back to XML", async () => {
    const id = await createJob(f, { A: "1" })
    const type = async (accept: string) => (await f.call(`/jobs/${id}`, { headers: { accept } })).headers.get("content-type")
    expect(await type("application/json")).toMatch(/^application\/json/)
    expect(await type("text/xml")).toMatch(/^text\/xml/)
    expect(await type("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")).toMatch(/^text\/html/)
    expect(await type("*/*")).toMatch(/^application\/xml/)
    expect(await type("image/png")).toMatch(/^application\/xml/)
    expect(await type("text/xml;q=0.5, application/json;q=0.9")).toMatch(/^application\/json/)
    const html = await (await f.call(`/jobs/${id}`, { headers: { accept: FIREFOX } })).text()
    expect(html).toContain(id)
  })

  it("serves atoms as text/plain: phase, executionduration, destruction, quote, owner (empty when none)", async () => {
    const id = await createJob(f, { A: "1" }, "alice")
    const alice = { headers: { "x-user": "alice" } }
    const text = async (part: string) => {
      const res = await f.call(`/jobs/${id}/${part}`, alice)
      expect(res.headers.get("content-type"), part).toBe("text/plain; charset=utf-8")
      return res.text()
    }
    expect(await text("phase")).toBe("PENDING")
    expect(await text("executionduration")).toBe("3600")
    expect(await text("destruction")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(await text("quote")).toBe("")
    expect(await text("owner")).toBe("alice")
    const anon = await createJob(f, { A: "1" })
    expect(await (await f.call(`/jobs/${anon}/owner`)).text()).toBe("")
    expect(await json(await f.call(`/jobs/${id}/phase`, { headers: { accept: "application/json", "x-user": "alice" } }))).toEqual({ phase: "PENDING" })
  })

  it("lists jobs with jobrefs carrying absolute links", async () => {
    const id = await createJob(f, { A: "1" })
    const doc = parseXml(await (await f.call("/jobs")).text())["uws:jobs"]
    expect(doc["@version"]).toBe("1.1")
    expect(doc["uws:jobref"].map((j: any) => [j["@id"], j["@xlink:href"], j["uws:phase"]])).toEqual([[id, `${BASE}/jobs/${id}`, "PENDING"]])
  })

  it("shows a value XML cannot carry by reference, and serves it exactly", async () => {
    const id = await createJob(f, { BELL: "ring\u0007ring", OK: "fine" })
    const doc = parseXml(await (await f.call(`/jobs/${id}/parameters`)).text())["uws:parameters"]
    expect(doc["uws:parameter"][0]).toEqual({ "#text": `${BASE}/jobs/${id}/parameters/bell`, "@id": "bell", "@byReference": "true" })
    expect(await (await f.call(`/jobs/${id}/parameters/BELL`)).text()).toBe("ring\u0007ring")
    expect(await (await f.call(`/jobs/${id}/parameters/ok`)).text()).toBe("fine")
  })
})

describe("job list filters and paging", () => {
  it("filters by PHASE (union, any case), LAST (newest first) and AFTER", async () => {
    const a = await createJob(f, { A: "1" })
    const b = await createJob(f, { PHASE: "RUN", MODE: "none" })
    await settled(f, b)
    const c = await createJob(f, { A: "3" })
    await f.call(`/jobs/${c}/phase`, form({ PHASE: "ABORT" }))
    const ids = async (query: string) =>
      (await json(await f.call(`/jobs${query}`, asJson))).jobs.map((j: any) => j.id) as Array<string>
    expect(await ids("")).toEqual([c, b, a])
    expect(await ids("?PHASE=pending")).toEqual([a])
    expect(await ids("?PHASE=PENDING&PHASE=ABORTED")).toEqual([c, a])
    expect(await ids("?LAST=2")).toEqual([c, b])
    expect(await ids("?PHASE=COMPLETED&LAST=1")).toEqual([b])
    expect(await ids("?AFTER=2000-01-01")).toEqual([c, b, a])
    expect(await ids("?AFTER=2999-01-01T00:00:00.000000Z")).toEqual([])
  })

  it("refuses unknown phases, bad LAST and bad AFTER with 400", async () => {
    for (const q of ["PHASE=RUNNING", "PHASE=", "LAST=0", "LAST=-1", "LAST=two", "AFTER=2015-26-10", "AFTER=yesterday", "AFTER=2015-10-26T09:15:35+15:00", "AFTER=", "limit=0", "cursor=nonsense"]) {
      expect((await f.call(`/jobs?${q}`)).status, q).toBe(400)
    }
  })

  it("pages with limit and cursor, announcing the next page in a Link header", async () => {
    for (let i = 0; i < 5; i++) await createJob(f, { N: String(i) })
    const seen: Array<string> = []
    let url: string | null = `${BASE}/jobs?limit=2`
    let pages = 0
    while (url !== null) {
      const res: Response = await f.call(url, asJson)
      const body = await json(res)
      seen.push(...body.jobs.map((j: any) => j.id))
      url = body.next
      const link = res.headers.get("link")
      expect(link).toBe(url === null ? null : `<${url}>; rel="next"`)
      pages++
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(["job5", "job4", "job3", "job2", "job1"])
  })
})

describe("phase changes", () => {
  it("POST PHASE=RUN → 303 to the job; an illegal change is 403 and names both", async () => {
    const id = await createJob(f, { MODE: "none" })
    const res = await f.call(`/jobs/${id}/phase`, form({ PHASE: "RUN" }))
    expect(res.status).toBe(303)
    expect(res.headers.get("location")).toBe(`${BASE}/jobs/${id}`)
    expect(await settled(f, id)).toBe("COMPLETED")
    const again = await f.call(`/jobs/${id}/phase`, form({ PHASE: "RUN" }))
    expect(again.status).toBe(403)
    expect(await again.text()).toMatch(/RUN is not allowed in COMPLETED/)
  })

  it("aborts a running job (PHASE=ABORT) and keeps it visible", async () => {
    const id = await createJob(f, { MODE: "block", PHASE: "RUN" })
    expect((await f.call(`/jobs/${id}/phase`, form({ PHASE: "abort" }))).status).toBe(303)
    expect(await (await f.call(`/jobs/${id}/phase`)).text()).toBe("ABORTED")
  })

  it("refuses other PHASE values and a missing PHASE with 400", async () => {
    const id = await createJob(f, {})
    const before = await snapshot()
    for (const body of [{ PHASE: "SUSPEND" }, { PHASE: "" }, {}, { phase: "RUN", PHASE: "ABORT" }]) {
      expect((await f.call(`/jobs/${id}/phase`, form(body))).status, JSON.stringify(body)).toBe(400)
    }
    expect(await snapshot()).toBe(before)
  })
})

describe("destruction, execution duration and the v0.3 termination", () => {
  it("sets the destruction (pyvo's microsecond form), clamped by the policy, 303 to the job", async () => {
    const id = await createJob(f, {})
    const res = await f.call(`/jobs/${id}/destruction`, form({ DESTRUCTION: "2030-01-02T03:04:05.678901Z" }))
    expect(res.status).toBe(303)
    const job = await json(await f.call(`/jobs/${id}`, asJson))
    const limit = Date.parse(job.creationTime) + 30 * 86_400_000
    expect(Date.parse(job.destruction)).toBe(Math.min(Date.parse("2030-01-02T03:04:05.678Z"), limit))
  })

  it("sets the execution duration; 600.0 (a Python float) is 600", async () => {
    const id = await createJob(f, {})
    expect((await f.call(`/jobs/${id}/executionduration`, form({ EXECUTIONDURATION: "600.0" }))).status).toBe(303)
    expect(await (await f.call(`/jobs/${id}/executionduration`)).text()).toBe("600")
  })

  it("refuses bad values with 400 and changes nothing", async () => {
    const id = await createJob(f, {})
    const before = await snapshot()
    for (const [part, body] of [
      ["destruction", { DESTRUCTION: "tomorrow" }],
      ["destruction", { DESTRUCTION: "2030-02-30T00:00:00Z" }],
      ["destruction", {}],
      ["executionduration", { EXECUTIONDURATION: "-5" }],
      ["executionduration", { EXECUTIONDURATION: "99999999999" }],
      ["termination", { TIME: "2030-01-01T00:00:00-15:00" }],
      // Empty is a mistake, not "as late as allowed".
      ["termination", { TIME: "" }],
      ["destruction", { DESTRUCTION: "  " }]
    ] as const) {
      expect((await f.call(`/jobs/${id}/${part}`, form(body as Record<string, string>))).status, `${part} ${JSON.stringify(body)}`).toBe(400)
    }
    expect(await snapshot()).toBe(before)
  })

  it("GET termination is the destruction; POST TIME= and PUT a document set it (v0.3)", async () => {
    const id = await createJob(f, {})
    expect(await (await f.call(`/jobs/${id}/termination`)).text()).toBe(await (await f.call(`/jobs/${id}/destruction`)).text())
    expect((await f.call(`/jobs/${id}/termination`, form({ TIME: "2026-12-20T00:00:00Z" }))).status).toBe(303)
    const put = (body: string, type: string) => f.call(`/jobs/${id}/termination`, { method: "PUT", body, headers: { "content-type": type } })
    // Far in the future it is clamped; these are all within 30 days of creation only if "now" is
    // near; compare the answer with the destruction instead of a fixed instant.
    expect((await put(new Date(Date.now() + 86_400_000).toISOString(), "text/plain")).status).toBe(303)
    const when = new Date(Date.now() + 2 * 86_400_000).toISOString()
    expect((await put(`<uws:terminationTime xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0">${when}</uws:terminationTime>`, "application/xml")).status).toBe(303)
    expect(await (await f.call(`/jobs/${id}/termination`)).text()).toBe(when)
    expect((await put("{}", "application/json")).status).toBe(415)
    expect((await put("<a><b>x</b><c>y</c></a>", "text/xml")).status).toBe(400)
    expect((await put("<unclosed>", "text/xml")).status).toBe(400)
  })

  it("PUT termination refuses any DTD (internal entity, external entity, entity bomb) and any document over the XML reader's limits: 400 with the error document, the destruction unchanged", async () => {
    const id = await createJob(f, {})
    const destruction = async () => (await f.call(`/jobs/${id}/destruction`)).text()
    const before = await destruction()
    const jobs = await snapshot()
    const soon = new Date(Date.now() + 86_400_000).toISOString()
    const many = (n: number) => Array.from({ length: n }, (_, i) => ` xmlns:p${i}="urn:p${i}"`).join("")
    for (const [what, body, says] of [
      ["internal entity", `<!DOCTYPE t [<!ENTITY d "${soon}">]><t>&d;</t>`, "DOCTYPE"],
      ["internal entity, declaration only", `<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY d "${soon}">]><t>${soon}</t>`, "DOCTYPE"],
      ["external entity (XXE)", `<!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/hostname">]><t>&e;</t>`, "DOCTYPE"],
      ["entity bomb", `<!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><t>&c;</t>`, "DOCTYPE"],
      ["undeclared entity", `<t>&d;</t>`, "entity"],
      ["namespace bomb", `<t${many(40)}>${soon}</t>`, "maxNamespaceDeclarations"],
      ["deep nesting", `${"<a>".repeat(100)}${soon}${"</a>".repeat(100)}`, "maxDepth"]
    ] as const) {
      for (const type of ["application/xml", "text/xml", "text/plain"]) {
        const res = await f.call(`/jobs/${id}/termination`, { method: "PUT", body, headers: { "content-type": type } })
        expect(res.status, `${what} as ${type}`).toBe(400)
        expect(await res.text(), `${what} as ${type}`).toContain(says)
      }
    }
    expect(await destruction()).toBe(before)
    expect(await snapshot()).toBe(jobs)
  })

  it("POST to the quote commits the job (v0.3 acceptQuote)", async () => {
    const id = await createJob(f, { MODE: "none" })
    expect((await f.call(`/jobs/${id}/quote`, { method: "POST" })).status).toBe(303)
    expect(await settled(f, id)).toBe("COMPLETED")
  })
})

describe("results, errors and parameters", () => {
  it("serves a stored result with its type and length, and redirects to one that lives elsewhere", async () => {
    const id = await createJob(f, { PHASE: "RUN", TEXT: "hello", HREF: "http://elsewhere/x" })
    await settled(f, id)
    const res = await f.call(`/jobs/${id}/results/result`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/plain")
    expect(res.headers.get("content-length")).toBe("10")
    expect(await res.text()).toBe("echo hello")
    const remote = await f.call(`/jobs/${id}/results/remote`)
    expect(remote.status).toBe(303)
    expect(remote.headers.get("location")).toBe("http://elsewhere/x")
    expect((await f.call(`/jobs/${id}/results/nope`)).status).toBe(404)
    const list = await json(await f.call(`/jobs/${id}/results`, asJson))
    expect(list.results.map((r: any) => r.id)).toEqual(["result", "remote"])
  })

  it("serves the error message and detail as text; 404 when the job has no error", async () => {
    const id = await createJob(f, { PHASE: "RUN", MODE: "fail" })
    expect(await settled(f, id)).toBe("ERROR")
    const res = await f.call(`/jobs/${id}/error`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe("failed on purpose\n\nline 1: the detail\n")
    const doc = parseXml(await (await f.call(`/jobs/${id}`)).text())["uws:job"]
    expect(doc["uws:errorSummary"]["@hasDetail"]).toBe("true")
    expect(doc["uws:errorSummary"]["uws:message"]).toBe("failed on purpose")
    const ok = await createJob(f, {})
    expect((await f.call(`/jobs/${ok}/error`)).status).toBe(404)
  })

  it("updates parameters while PENDING (POST to the job or to /parameters, PUT one); 403 afterwards", async () => {
    const id = await createJob(f, { TEXT: "a", MODE: "none" })
    expect((await f.call(`/jobs/${id}`, form({ text: "b" }))).status).toBe(303)
    expect(await (await f.call(`/jobs/${id}/parameters/TEXT`)).text()).toBe("b")
    expect((await f.call(`/jobs/${id}/parameters`, form({ TEXT: "c" }))).status).toBe(303)
    expect((await f.call(`/jobs/${id}/parameters/TEXT`, { method: "PUT", body: "d é", headers: { "content-type": "text/plain; charset=utf-8" } })).status).toBe(303)
    expect(await (await f.call(`/jobs/${id}/parameters/TEXT`)).text()).toBe("d é")
    // Job-control parameters (other than RUNID) have their own resources.
    expect((await f.call(`/jobs/${id}`, form({ DESTRUCTION: "2030-01-01T00:00:00Z" }))).status).toBe(400)
    // An empty POST to /parameters means nothing.
    expect((await f.call(`/jobs/${id}/parameters`, { method: "POST" })).status).toBe(400)
    await f.call(`/jobs/${id}/phase`, form({ PHASE: "RUN" }))
    await settled(f, id)
    expect((await f.call(`/jobs/${id}/parameters`, form({ TEXT: "late" }))).status).toBe(403)
  })

  it("turns multipart uploads into param: parameters whose content the job serves", async () => {
    const body = new FormData()
    body.append("UPLOAD", "mytable,param:mytable")
    body.append("mytable", new Blob(["<VOTABLE>é</VOTABLE>"], { type: "application/x-votable+xml" }), "t.vot")
    body.append("LANG", "ADQL")
    const res = await f.call("/jobs", { method: "POST", body })
    expect(res.status).toBe(303)
    const id = res.headers.get("location")!.split("/").pop()!
    const job = await json(await f.call(`/jobs/${id}`, asJson))
    expect(job.parameters).toEqual([
      { id: "upload", value: "mytable,param:mytable", byReference: false },
      { id: "lang", value: "ADQL", byReference: false },
      { id: "mytable", value: `${BASE}/jobs/${id}/parameters/mytable`, byReference: true }
    ])
    const content = await f.call(`/jobs/${id}/parameters/mytable`)
    expect(content.headers.get("content-type")).toBe("application/x-votable+xml")
    expect(await content.text()).toBe("<VOTABLE>é</VOTABLE>")
    // Replace the upload while PENDING: PUT with its own content type, or POST multipart.
    expect((await f.call(`/jobs/${id}/parameters/mytable`, { method: "PUT", body: new Uint8Array([0, 1, 2]), headers: { "content-type": "application/octet-stream" } })).status).toBe(303)
    expect(new Uint8Array(await (await f.call(`/jobs/${id}/parameters/mytable`)).arrayBuffer())).toEqual(new Uint8Array([0, 1, 2]))
  })
})

describe("deletion", () => {
  it("DELETE and POST ACTION=DELETE both answer 303 to the list, which answers 200; the job is gone (404)", async () => {
    for (const init of [{ method: "DELETE" }, form({ ACTION: "delete" })]) {
      const id = await createJob(f, {})
      const res = await f.call(`/jobs/${id}`, init)
      expect(res.status).toBe(303)
      expect(res.headers.get("location")).toBe(`${BASE}/jobs`)
      expect((await f.call(res.headers.get("location")!)).status).toBe(200)
      expect((await f.call(`/jobs/${id}`)).status).toBe(404)
    }
  })

  it("refuses an unknown ACTION with 400", async () => {
    const id = await createJob(f, {})
    expect((await f.call(`/jobs/${id}`, form({ ACTION: "DESTROY" }))).status).toBe(400)
    expect((await f.call(`/jobs/${id}`)).status).toBe(200)
  })
})

describe("blocking WAIT", () => {
  it("returns at once for a job not in an active phase, or not in the PHASE given", async () => {
    const id = await createJob(f, { PHASE: "RUN", MODE: "none" })
    await settled(f, id)
    expect((await json(await f.call(`/jobs/${id}?WAIT=-1`, asJson))).phase).toBe("COMPLETED")
    const pending = await createJob(f, {})
    expect((await json(await f.call(`/jobs/${pending}?WAIT=30&PHASE=EXECUTING`, asJson))).phase).toBe("PENDING")
  })

  it("blocks until the phase changes, then answers the new job", async () => {
    const id = await createJob(f, { MODE: "block" })
    let answered = false
    const waiting = f.call(`/jobs/${id}?WAIT=-1&PHASE=PENDING`, asJson).then(async (r) => {
      answered = true
      return json(r)
    })
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    expect(answered).toBe(false)
    await f.call(`/jobs/${id}/phase`, form({ PHASE: "RUN" }))
    expect(["QUEUED", "EXECUTING"]).toContain((await waiting).phase)
    await f.call(`/jobs/${id}/phase`, form({ PHASE: "ABORT" }))
  })

  it("answers the job as it is when the service's cap is reached", async () => {
    const g = await fixture({ maxWait: 50 })
    try {
      const id = await createJob(g, {})
      const res = await g.call(`/jobs/${id}?WAIT=-1`)
      expect(res.status).toBe(200)
      expect(parseXml(await res.text())["uws:job"]["uws:phase"]).toBe("PENDING")
    } finally {
      await g.close()
    }
  })

  it("refuses malformed WAIT and PHASE with 400", async () => {
    const id = await createJob(f, {})
    for (const q of ["WAIT=soon", "WAIT=-2", "WAIT=1.5", "WAIT=5&PHASE=RUNNING", "WAIT=5&PHASE=PENDING&PHASE=QUEUED"]) {
      expect((await f.call(`/jobs/${id}?${q}`)).status, q).toBe(400)
    }
  })

  it("ends blocked waits when the adapter is disposed", async () => {
    const g = await fixture({ maxWait: 60_000 })
    const id = await createJob(g, {})
    const waiting = g.call(`/jobs/${id}?WAIT=-1`)
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
    await g.rest.dispose()
    expect((await waiting).status).toBe(200)
    expect((await g.call(`/jobs/${id}`)).status).toBe(503)
    await g.close()
  })
})

describe("the sync facade", () => {
  it("POST /sync → 303 to /sync/{id} → (blocks) → 303 to the result", async () => {
    const res = await f.call("/sync", form({ TEXT: "now" }))
    expect(res.status).toBe(303)
    const wait = res.headers.get("location")!
    expect(wait).toMatch(new RegExp(`^${BASE}/sync/job\\d+$`))
    const done = await f.call(wait)
    expect(done.status).toBe(303)
    const result = done.headers.get("location")!
    expect(result).toBe(`${BASE}/jobs/${wait.split("/").pop()}/results/result`)
    expect(await (await f.call(result)).text()).toBe("echo now")
  })

  it("GET /sync takes its parameters from the query; an error leads to the error", async () => {
    const res = await f.call("/sync?MODE=fail")
    const done = await f.call(res.headers.get("location")!)
    expect(done.headers.get("location")).toMatch(/\/error$/)
    expect(await (await f.call(done.headers.get("location")!)).text()).toMatch(/failed on purpose/)
  })

  it("sends the client back to itself when the job outlasts the cap", async () => {
    const g = await fixture({ maxWait: 30 })
    try {
      const res = await g.call("/sync", form({ MODE: "block" }))
      const wait = res.headers.get("location")!
      const again = await g.call(wait)
      expect(again.status).toBe(303)
      expect(again.headers.get("location")).toBe(wait)
    } finally {
      await g.close()
    }
  })
})

describe("owners", () => {
  it("gives a job to its creator: another user gets 403 on every resource and does not see it listed", async () => {
    const id = await createJob(f, { MODE: "none" }, "alice")
    const bob = { headers: { "x-user": "bob" } }
    for (const part of ["", "/phase", "/parameters", "/results", "/owner", "/quote", "/destruction", "/executionduration"]) {
      expect((await f.call(`/jobs/${id}${part}`, bob)).status, part).toBe(403)
    }
    const before = await snapshot()
    expect((await f.call(`/jobs/${id}/phase`, { ...form({ PHASE: "RUN" }), ...bob })).status).toBe(403)
    expect((await f.call(`/jobs/${id}`, { method: "DELETE", ...bob })).status).toBe(403)
    expect(await snapshot()).toBe(before)
    expect((await json(await f.call("/jobs", { headers: { accept: "application/json", "x-user": "bob" } }))).jobs).toEqual([])
    expect((await json(await f.call("/jobs", { headers: { accept: "application/json", "x-user": "alice" } }))).jobs).toHaveLength(1)
  })

  it("answers 401 when the host cannot tell who is calling", async () => {
    const g = await fixture({
      rest: {
        identify: () => {
          throw new Error("bad token")
        }
      }
    })
    try {
      const res = await g.call("/jobs")
      expect(res.status).toBe(401)
      expect(await res.text()).toMatch(/bad token/)
    } finally {
      await g.close()
    }
  })
})

describe("errors", () => {
  it("404 for unknown jobs, sub-resources and routes; 405 with Allow for wrong methods", async () => {
    expect((await f.call("/jobs/nope")).status).toBe(404)
    expect((await f.call("/jobs/nope/phase", form({ PHASE: "RUN" }))).status).toBe(404)
    const id = await createJob(f, {})
    expect((await f.call(`/jobs/${id}/nothing`)).status).toBe(404)
    expect((await f.call(`/jobs/${id}/parameters/NOPE`)).status).toBe(404)
    expect((await f.call("/elsewhere")).status).toBe(404)
    const res = await f.call(`/jobs/${id}/phase`, { method: "DELETE" })
    expect(res.status).toBe(405)
    expect(res.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS")
    const options = await f.call(`/jobs/${id}`, { method: "OPTIONS" })
    expect(options.status).toBe(204)
    expect(options.headers.get("allow")).toBe("GET, POST, DELETE, HEAD, OPTIONS")
  })

  it("renders errors in the negotiated format", async () => {
    const plain = await f.call("/jobs/nope")
    expect(plain.headers.get("content-type")).toBe("text/plain; charset=utf-8")
    expect(await plain.text()).toBe('No job with id "nope".\n')
    expect(await json(await f.call("/jobs/nope", asJson))).toEqual({ error: { status: 404, tag: "JobNotFound", message: 'No job with id "nope".' } })
    const html = await f.call("/jobs/nope", { headers: { accept: FIREFOX } })
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8")
    const page = await html.text()
    expect(page).toContain("No job with id")
    expect(page).toContain(`href="${BASE}/jobs"`)
    const id = await createJob(f, {})
    const bad = await f.call(`/jobs/${id}/destruction`, { ...form({ DESTRUCTION: "soon" }), headers: { accept: FIREFOX } })
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain(`href="${BASE}/jobs/${id}"`)
    const xml = await f.call("/jobs/nope", { headers: { accept: "application/xml" } })
    expect(await xml.text()).toContain('<INFO name="QUERY_STATUS" value="ERROR">No job with id "nope".</INFO>')
  })

  it("refuses non-UTF-8 input: form bytes, percent-escapes, query strings and paths", async () => {
    const before = await snapshot()
    const bad = [
      f.call("/jobs", { method: "POST", body: new Uint8Array([0x41, 0x3d, 0xff]), headers: { "content-type": "application/x-www-form-urlencoded" } }),
      f.call("/jobs", { method: "POST", body: "A=%C3%28", headers: { "content-type": "application/x-www-form-urlencoded" } }),
      f.call("/jobs?PHASE=%FF"),
      f.call("/jobs/%E0%A4%A"),
      f.call("/jobs", { method: "POST", body: "A=1", headers: { "content-type": "application/x-www-form-urlencoded; charset=iso-8859-1" } })
    ]
    const statuses = await Promise.all(bad.map(async (p) => (await p).status))
    expect(statuses).toEqual([400, 400, 400, 400, 415])
    expect(await snapshot()).toBe(before)
  })

  it("refuses bodies of the wrong type (415, with Accept-Post) and too large (413)", async () => {
    const g = await fixture({ rest: { maxBodyBytes: 1024 } })
    try {
      const json = await g.call("/jobs", { method: "POST", body: '{"A":1}', headers: { "content-type": "application/json" } })
      expect(json.status).toBe(415)
      expect(json.headers.get("accept-post")).toBe("application/x-www-form-urlencoded, multipart/form-data")
      expect((await g.call("/jobs", { method: "POST", body: "A=1" + "x".repeat(2000), headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(413)
      const big = new FormData()
      big.append("file", new Blob([new Uint8Array(5000)]), "big.bin")
      expect((await g.call("/jobs", { method: "POST", body: big })).status).toBe(413)
      // A streamed body without Content-Length is counted as it comes.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("A=" + "y".repeat(200) + "&"))
          c.close()
        }
      })
      const streamed = await g.call("/jobs", {
        method: "POST",
        body: stream,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        duplex: "half"
      } as RequestInit)
      expect(streamed.status).toBe(413)
      expect((await g.call("/jobs", { method: "POST", body: "A=1", headers: { "content-type": "multipart/form-data" } })).status).toBe(400)
      expect(JSON.parse(JSON.stringify((await Effect.runPromise(g.service.list({ id: null, admin: true }, {}))).jobs))).toEqual([])
    } finally {
      await g.close()
    }
  })

  it("refuses control characters in parameter names", async () => {
    expect((await f.call("/jobs", form({ "A\u0001": "1" }))).status).toBe(400)
  })
})

describe("URLs", () => {
  it("honours X-Forwarded-Proto/Host/Prefix and Forwarded when trusted, and ignores unsafe values", async () => {
    const proxied = RestAdapter.makeRestAdapter({ service: f.service, basePath: "/uws", trustForwarded: true })
    const loc = async (headers: Record<string, string>) =>
      (await proxied.handler(new Request(`${BASE}/jobs`, { ...form({ A: "1" }), headers }))).headers.get("location")!.replace(/job\d+$/, "ID")
    expect(await loc({ "x-forwarded-proto": "https", "x-forwarded-host": "archive.example.org", "x-forwarded-prefix": "/api/" })).toBe(
      "https://archive.example.org/api/uws/jobs/ID"
    )
    expect(await loc({ forwarded: 'for=1.2.3.4;proto=https;host="proxy.example:8443"' })).toBe("https://proxy.example:8443/uws/jobs/ID")
    expect(await loc({ "x-forwarded-host": "evil.example/x?y", "x-forwarded-proto": "gopher" })).toBe(`${BASE}/jobs/ID`)
    await proxied.dispose()
  })

  it("ignores forwarding headers by default (trustForwarded: false), and when told not to trust them", async () => {
    const byDefault = await f.call("/jobs", { ...form({ A: "1" }), headers: { "x-forwarded-host": "evil.example", "x-forwarded-prefix": "/x" } })
    expect(byDefault.headers.get("location")).toMatch(new RegExp(`^${BASE}/jobs/job\\d+$`))
    const rest = RestAdapter.makeRestAdapter({ service: f.service, basePath: "/uws", trustForwarded: false })
    const res = await rest.handler(new Request(`${BASE}/jobs`, { ...form({ A: "1" }), headers: { "x-forwarded-host": "evil.example", "x-forwarded-prefix": "/x" } }))
    expect(res.headers.get("location")).toMatch(new RegExp(`^${BASE}/jobs/job\\d+$`))
    await rest.dispose()
  })

  it("builds canonical URLs whatever the configured paths look like", async () => {
    const { service } = f
    const rest = RestAdapter.makeRestAdapter({ service, basePath: "/a//b/", jobsPath: "/async/", syncPath: "run/sync" })
    const res = await rest.handler(new Request("http://h/a/b/async", form({ A: "1" })))
    expect(res.headers.get("location")).toMatch(/^http:\/\/h\/a\/b\/async\/job\d+$/)
    const sync = await rest.handler(new Request("http://h/a/b/run/sync", form({ MODE: "none" })))
    expect(sync.headers.get("location")).toMatch(/^http:\/\/h\/a\/b\/run\/sync\/job\d+$/)
    // A host that strips the mount path (Hono mount): the basePath comes back in the URLs.
    const stripped = await rest.handler(new Request("http://h/async", form({ A: "1" })))
    expect(stripped.headers.get("location")).toMatch(/^http:\/\/h\/a\/b\/async\/job\d+$/)
    await rest.dispose()
  })

  it("refuses jobsPath equal to syncPath", () => {
    expect(() => RestAdapter.makeRestAdapter({ service: f.service, jobsPath: "x", syncPath: "/x/" })).toThrow(/differ/)
  })
})

describe("HEAD", () => {
  it("answers HEAD like GET without a body", async () => {
    const id = await createJob(f, {})
    const res = await f.call(`/jobs/${id}`, { method: "HEAD" })
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("application/xml; charset=utf-8")
    expect(await res.text()).toBe("")
  })
})

describe("service outcomes reach the client", () => {
  it("a job created straight into ERROR by parameter validation is a normal 303", async () => {
    const g = await fixture({
      worker: {
        ...steerable,
        validate: (ps) => (ps.some((p) => p.name.toLowerCase() === "bad") ? { _tag: "Left", left: "BAD is not allowed" } : { _tag: "Right", right: ps }),
        onInvalidParameters: "error-job"
      }
    })
    try {
      const id = await createJob(g, { BAD: "1" })
      const job = await json(await g.call(`/jobs/${id}`, asJson))
      expect(job.phase).toBe("ERROR")
      expect(job.errorSummary.message).toBe("BAD is not allowed")
    } finally {
      await g.close()
    }
  })

  it("parameters rejected by the application are a 400 with its message", async () => {
    const g = await fixture({
      worker: {
        ...steerable,
        validate: (ps) => (ps.some((p) => p.name.toLowerCase() === "bad") ? { _tag: "Left", left: "BAD is not allowed" } : { _tag: "Right", right: ps })
      }
    })
    try {
      const res = await g.call("/jobs", form({ BAD: "1" }))
      expect(res.status).toBe(400)
      expect(await res.text()).toMatch(/BAD is not allowed/)
    } finally {
      await g.close()
    }
  })
})

