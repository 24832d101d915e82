/**
 * Issue #9: what the clients astronomers use send, literally, and what they need back. Each
 * describe block is one defect found by trying the demo with those clients (Java's
 * HttpURLConnection as in TOPCAT/STILTS, curl, python-requests/pyvo, browsers), or one rule of
 * the UWS v0.3 draft that does not contradict 1.1.
 */
import { Job as Jobs, Worker } from "@uws-kit/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createJob, fixture, form, parseXml, settled, steerable, type Fixture } from "./support.js"

/** The literal request headers of each client (as captured from them). */
const CLIENTS = {
  // java.net.HttpURLConnection's default Accept, sent by TOPCAT, STILTS, every Java UWS client:
  // JDK 17 (captured), and JDK 8 (the form quoted in the issue).
  java: { accept: "text/html, image/gif, image/jpeg, */*; q=0.2", "user-agent": "Java/17.0.15" },
  java8: { accept: "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", "user-agent": "Java/1.8.0_392" },
  curl: { accept: "*/*", "user-agent": "curl/7.88.1" },
  pyvo: { accept: "*/*", "accept-encoding": "gzip, deflate, br", connection: "keep-alive", "user-agent": "python-requests/2.28.1" },
  chromium: {
    accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate"
  },
  firefox: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
  safari: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" }
} as const

const typeOf = (res: Response) => res.headers.get("content-type")?.split(";")[0]

/** A few turns of the event loop: long enough for any wake-up in this process to answer. */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

const settledOrNot = <A>(p: Promise<A>) => Promise.race([p.then(() => "answered" as const), turns().then(() => "waiting" as const)])

describe("defect 1: Java clients get XML, only browsers get HTML", () => {
  let f: Fixture
  beforeAll(async () => {
    f = await fixture()
  })
  afterAll(() => f.close())

  it("the job and the job list are XML for Java, curl and pyvo; HTML for Chromium, Firefox and Safari", async () => {
    const id = await createJob(f, { TEXT: "x" })
    for (const path of [`/jobs/${id}`, "/jobs"]) {
      for (const client of ["java", "java8", "curl", "pyvo"] as const) {
        const res = await f.call(path, { headers: CLIENTS[client] })
        expect(typeOf(res), `${client} ${path}`).toBe("application/xml")
        expect(await res.text()).toMatch(/^<\?xml/)
      }
      for (const client of ["chromium", "firefox", "safari"] as const) {
        const res = await f.call(path, { headers: CLIENTS[client] })
        expect(typeOf(res), `${client} ${path}`).toBe("text/html")
      }
    }
    // A navigation is a browser whatever its Accept; an Accept of text/html alone is not.
    expect(typeOf(await f.call(`/jobs/${id}`, { headers: { accept: "text/html", "sec-fetch-dest": "document" } }))).toBe("text/html")
    expect(typeOf(await f.call(`/jobs/${id}`, { headers: { accept: "text/html" } }))).toBe("application/xml")
  })

  it("atoms stay text/plain and errors never HTML for Java", async () => {
    const id = await createJob(f, {})
    const phase = await f.call(`/jobs/${id}/phase`, { headers: CLIENTS.java })
    expect([typeOf(phase), await phase.text()]).toEqual(["text/plain", "PENDING"])
    for (const client of ["java", "java8"] as const) {
      const missing = await f.call("/jobs/nope", { headers: CLIENTS[client] })
      expect([missing.status, typeOf(missing)]).toEqual([404, "text/plain"])
    }
    expect(typeOf(await f.call("/jobs/nope", { headers: CLIENTS.firefox }))).toBe("text/html")
  })
})

/** A promise with its resolver. */
const signal = () => {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** An application a test steps through: on `go`, progress and a published result; on `finish`, the end. */
const stepper = () => {
  const gates = new Map<string, { go: ReturnType<typeof signal>; reported: ReturnType<typeof signal>; finish: ReturnType<typeof signal> }>()
  const gateOf = (jobId: string) => {
    let gate = gates.get(jobId)
    if (gate === undefined) gates.set(jobId, (gate = { go: signal(), reported: signal(), finish: signal() }))
    return gate
  }
  const worker = Worker.make({
    name: "stepper",
    run: async (job, context) => {
      const gate = gateOf(job.jobId)
      await gate.go.promise
      await context.progress({ progress: "1/2" })
      await context.publish({ id: "part", mimeType: "text/plain", content: "first half" })
      gate.reported.resolve()
      await gate.finish.promise
      return [{ id: "final", mimeType: "text/plain", content: `done ${Jobs.parameter(job, "N") ?? ""}` }]
    }
  })
  return { worker, gateOf }
}

describe("defect 2: WAIT returns on a phase change only (and §3.1: results appear while the job runs)", () => {
  it("progress and a published result do not end WAIT=-1; the end of the job does", async () => {
    const s = stepper()
    const f = await fixture({ worker: s.worker })
    try {
      const id = await createJob(f, { PHASE: "RUN", N: "7" })
      let phase = ""
      while (phase !== "EXECUTING") {
        phase = (await (await f.call(`/jobs/${id}/phase`)).text()).trim()
        await turns(1)
      }
      const waiting = f.call(`/jobs/${id}?WAIT=-1`, { headers: CLIENTS.java })
      const guarded = f.call(`/jobs/${id}?WAIT=-1&PHASE=EXECUTING`, { headers: CLIENTS.pyvo })
      await turns()
      s.gateOf(id).go.resolve()
      await s.gateOf(id).reported.promise
      expect(await settledOrNot(waiting)).toBe("waiting")
      expect(await settledOrNot(guarded)).toBe("waiting")
      // The result published while EXECUTING is listed and served already.
      const midway = parseXml(await (await f.call(`/jobs/${id}`)).text())["uws:job"]
      expect(midway["uws:phase"]).toBe("EXECUTING")
      expect(midway["uws:results"]["uws:result"].map((r: any) => r["@id"])).toEqual(["part"])
      expect(await (await f.call(`/jobs/${id}/results/part`)).text()).toBe("first half")
      s.gateOf(id).finish.resolve()
      const done = parseXml(await (await waiting).text())["uws:job"]
      expect(done["uws:phase"]).toBe("COMPLETED")
      expect(parseXml(await (await guarded).text())["uws:job"]["uws:phase"]).toBe("COMPLETED")
      // Published results are kept at the end, beside the final ones.
      const results = parseXml(await (await f.call(`/jobs/${id}/results`)).text())["uws:results"]["uws:result"]
      expect(results.map((r: any) => r["@id"])).toEqual(["part", "final"])
    } finally {
      await f.close()
    }
  })
})

describe("defect 3: parameter names are case-insensitive", () => {
  let f: Fixture
  beforeAll(async () => {
    f = await fixture()
  })
  afterAll(() => f.close())

  it("QUERY=a&query=b is one parameter, shown as id=\"query\", found in any case", async () => {
    const id = await createJob(f, {})
    const res = await f.call(`/jobs`, { method: "POST", body: "QUERY=a&query=b&Lang=ADQL", headers: { "content-type": "application/x-www-form-urlencoded", ...CLIENTS.pyvo } })
    const jobId = res.headers.get("location")!.split("/").pop()!
    expect(jobId).not.toBe(id)
    const doc = parseXml(await (await f.call(`/jobs/${jobId}/parameters`, { headers: CLIENTS.pyvo })).text())["uws:parameters"]
    expect(doc["uws:parameter"].map((p: any) => [p["@id"], p["#text"]])).toEqual([
      ["query", "a"],
      ["query", "b"],
      ["lang", "ADQL"]
    ])
    for (const name of ["QUERY", "query", "Query"]) expect(await (await f.call(`/jobs/${jobId}/parameters/${name}`)).text()).toBe("a\nb")
    // Replacing in another case replaces all its values.
    expect((await f.call(`/jobs/${jobId}/parameters`, form({ Query: "c" }))).status).toBe(303)
    expect(await (await f.call(`/jobs/${jobId}/parameters/QUERY`)).text()).toBe("c")
  })
})

describe("defect 4: a PENDING job takes new parameters, uploads and RUNID", () => {
  it("POST to /parameters (and to the job) adds names and uploads (pyvo's job.upload), RUNID sets the runId", async () => {
    const f = await fixture()
    try {
      const id = await createJob(f, { QUERY: "SELECT 1" })
      expect((await f.call(`/jobs/${id}/parameters`, form({ MAXREC: "10" }))).status).toBe(303)
      expect((await f.call(`/jobs/${id}`, form({ RUNID: "night-3" }))).status).toBe(303)
      expect((await f.call(`/jobs/${id}/parameters`, form({ runId: "night-4" }))).status).toBe(303)
      // pyvo's AsyncTAPJob.upload: a multipart POST of UPLOAD=name,param:name and the file.
      const body = new FormData()
      body.append("UPLOAD", "t1,param:t1")
      body.append("t1", new Blob(["<VOTABLE/>"], { type: "application/x-votable+xml" }), "t1.xml")
      expect((await f.call(`/jobs/${id}/parameters`, { method: "POST", body })).status).toBe(303)
      const job = await (await f.call(`/jobs/${id}`, { headers: { accept: "application/json" } })).json()
      expect(job.runId).toBe("night-4")
      expect(job.parameters.map((p: any) => p.id)).toEqual(["query", "maxrec", "upload", "t1"])
      expect(await (await f.call(`/jobs/${id}/parameters/T1`)).text()).toBe("<VOTABLE/>")
    } finally {
      await f.close()
    }
  })

  it("the application may still refuse a name it does not know: 400 with its reason, nothing changed", async () => {
    const f = await fixture({
      worker: {
        ...steerable,
        validate: (ps) => {
          const unknown = ps.find((p) => !["query", "maxrec"].includes(p.name))
          return unknown === undefined ? { _tag: "Right", right: ps } : { _tag: "Left", left: `${unknown.name.toUpperCase()} is not a parameter of this service.` }
        }
      }
    })
    try {
      const id = await createJob(f, { QUERY: "SELECT 1" })
      expect((await f.call(`/jobs/${id}/parameters`, form({ MaxRec: "5" }))).status).toBe(303)
      const refused = await f.call(`/jobs/${id}/parameters`, form({ COLOUR: "red" }))
      expect(refused.status).toBe(400)
      expect(await refused.text()).toContain("COLOUR is not a parameter of this service.")
      const job = await (await f.call(`/jobs/${id}`, { headers: { accept: "application/json" } })).json()
      expect(job.parameters.map((p: any) => [p.id, p.value])).toEqual([
        ["query", "SELECT 1"],
        ["maxrec", "5"]
      ])
    } finally {
      await f.close()
    }
  })
})

const QUERY_STATUS = /<INFO name="QUERY_STATUS" value="ERROR">([^<]*)<\/INFO>/

describe("defect 5: sync errors and unknown jobs under the TAP layout are DALI VOTable errors", () => {
  it("a sync job ending in ERROR answers 400 with a VOTable error for TAP clients; text/plain on a plain UWS mount", async () => {
    const tap = await fixture({ rest: { layout: "tap" } })
    const uws = await fixture()
    try {
      // pyvo's run_sync: POST to /sync, follow the 303 to /sync/{id}.
      const created = await tap.call("/sync", { ...form({ QUERY: "x", MODE: "fail" }), headers: CLIENTS.pyvo })
      expect(created.status).toBe(303)
      const answer = await tap.call(new URL(created.headers.get("location")!).pathname.replace(/^\/uws/, ""), { headers: CLIENTS.pyvo })
      expect(answer.status).toBe(400)
      expect(typeOf(answer)).toBe("application/xml")
      expect(QUERY_STATUS.exec(await answer.text())?.[1]).toBe("failed on purpose")

      const plain = await uws.call("/sync", form({ MODE: "fail" }))
      const next = await uws.call(new URL(plain.headers.get("location")!).pathname.replace(/^\/uws/, ""))
      expect(next.status).toBe(303)
      expect(next.headers.get("location")).toMatch(/\/jobs\/job1\/error$/)
      const error = await uws.call("/jobs/job1/error", { headers: CLIENTS.pyvo })
      expect([typeOf(error), await error.text()]).toEqual(["text/plain", "failed on purpose\n\nline 1: the detail\n"])
    } finally {
      await tap.close()
      await uws.close()
    }
  })

  it("an async job's /error under the TAP layout is a DALI VOTable (JSON on request)", async () => {
    const tap = await fixture({ rest: { layout: "tap" }, maxWait: 5_000 })
    try {
      const created = await tap.call("/async", form({ PHASE: "RUN", MODE: "fail" }))
      const id = created.headers.get("location")!.split("/").pop()!
      while ((await (await tap.call(`/async/${id}/phase`)).text()) !== "ERROR") await tap.call(`/async/${id}?WAIT=5`)
      const error = await tap.call(`/async/${id}/error`, { headers: CLIENTS.pyvo })
      expect([error.status, typeOf(error)]).toEqual([200, "application/xml"])
      const document = await error.text()
      expect(QUERY_STATUS.exec(document)?.[1]).toBe("failed on purpose")
      expect(document).toContain(`<INFO name="DETAIL" value="">line 1: the detail</INFO>`)
      const json = await tap.call(`/async/${id}/error`, { headers: { accept: "application/json" } })
      expect(typeOf(json)).toBe("application/json")
    } finally {
      await tap.close()
    }
  })

  it("an unknown job under the TAP layout is a 404 VOTable error (pyvo's get_job parses it)", async () => {
    const tap = await fixture({ rest: { layout: "tap" } })
    try {
      const res = await tap.call("/async/no-such-job", { headers: CLIENTS.pyvo })
      expect([res.status, typeOf(res)]).toEqual([404, "application/xml"])
      expect(QUERY_STATUS.exec(await res.text())?.[1]).toBe('No job with id "no-such-job".')
      // The TAP layout serves the job list at /async.
      expect((await tap.call("/async")).status).toBe(200)
    } finally {
      await tap.close()
    }
  })
})

describe("defect 6: hasDetail agrees with /error", () => {
  it("an error summary says hasDetail=\"true\", and /error serves the message", async () => {
    const f = await fixture()
    try {
      const id = await createJob(f, { PHASE: "RUN", MODE: "fail" })
      await settled(f, id)
      const summary = parseXml(await (await f.call(`/jobs/${id}`)).text())["uws:job"]["uws:errorSummary"]
      expect(summary["@hasDetail"]).toBe("true")
      expect((await f.call(`/jobs/${id}/error`)).status).toBe(200)
      // A job failed by its parameters (no detail given) too.
      const g = await fixture({ worker: { ...steerable, onInvalidParameters: "error-job", validate: () => ({ _tag: "Left", left: "no such table" }) } })
      try {
        const bad = await createJob(g, { QUERY: "x" })
        const doc = parseXml(await (await g.call(`/jobs/${bad}`)).text())["uws:job"]
        expect(doc["uws:errorSummary"]["@hasDetail"]).toBe("true")
        expect(await (await g.call(`/jobs/${bad}/error`)).text()).toBe("no such table\n")
      } finally {
        await g.close()
      }
    } finally {
      await f.close()
    }
  })
})

describe("UWS v0.3 draft", () => {
  let f: Fixture
  beforeAll(async () => {
    f = await fixture()
  })
  afterAll(() => f.close())

  it("an empty POST to the job destroys it (303 to the list); a POST with parameters updates it", async () => {
    const id = await createJob(f, { TEXT: "a" })
    expect((await f.call(`/jobs/${id}`, form({ TEXT: "b" }))).status).toBe(303)
    const gone = await f.call(`/jobs/${id}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" })
    expect(gone.status).toBe(303)
    expect(gone.headers.get("location")).toBe("http://uws.test/uws/jobs")
    expect((await f.call(`/jobs/${id}`)).status).toBe(404)
  })

  it("atoms are a small UWS document for a client accepting only XML, text otherwise", async () => {
    const id = await createJob(f, {})
    const only = { headers: { accept: "application/xml" } }
    const phase = await f.call(`/jobs/${id}/phase`, only)
    expect(typeOf(phase)).toBe("application/xml")
    expect(parseXml(await phase.text())["uws:phase"]["#text"]).toBe("PENDING")
    const quote = parseXml(await (await f.call(`/jobs/${id}/quote`, only)).text())["uws:quote"]
    expect(quote["@xsi:nil"]).toBe("true")
    const termination = await (await f.call(`/jobs/${id}/termination`, { headers: { accept: "text/xml" } })).text()
    expect(parseXml(termination)["uws:termination"]["#text"]).toBe(await (await f.call(`/jobs/${id}/destruction`)).text())
    expect(parseXml(await (await f.call(`/jobs/${id}/executionduration`, only)).text())["uws:executionDuration"]["#text"]).toBe("3600")
    expect(parseXml(await (await f.call(`/jobs/${id}/owner`, only)).text())["uws:ownerId"]["@xsi:nil"]).toBe("true")
    for (const accept of ["*/*", CLIENTS.java.accept, CLIENTS.java8.accept, CLIENTS.firefox.accept, "application/xml, text/plain;q=0.1"]) {
      expect(typeOf(await f.call(`/jobs/${id}/phase`, { headers: { accept } })), accept).toBe("text/plain")
    }
  })

  it("times with a numeric offset are read as UTC and written with Z; an empty TIME or DESTRUCTION is 400", async () => {
    const id = await createJob(f, {})
    const when = new Date(Date.now() + 3 * 86_400_000)
    when.setUTCMilliseconds(0)
    const local = new Date(when.getTime() + 3_600_000).toISOString().slice(0, 19)
    expect((await f.call(`/jobs/${id}/termination`, form({ TIME: `${local}+01:00` }))).status).toBe(303)
    expect(await (await f.call(`/jobs/${id}/destruction`)).text()).toBe(when.toISOString())
    const before = await (await f.call(`/jobs/${id}/destruction`)).text()
    expect((await f.call(`/jobs/${id}/termination`, form({ TIME: "" }))).status).toBe(400)
    expect((await f.call(`/jobs/${id}/destruction`, form({ DESTRUCTION: "" }))).status).toBe(400)
    expect(await (await f.call(`/jobs/${id}/destruction`)).text()).toBe(before)
  })
})

describe("path parameters longer than 100 characters route (the matcher's default bound made them a 404)", () => {
  it("a long parameter name is PUT and read back; a long job id is an unknown job, not an unknown resource", async () => {
    const f = await fixture()
    try {
      const id = await createJob(f, {})
      const name = `P${"x".repeat(150)}`
      const put = await f.call(`/jobs/${id}/parameters/${name}`, { method: "PUT", body: "42", headers: { "content-type": "text/plain" } })
      expect(put.status).toBe(303)
      expect(await (await f.call(`/jobs/${id}/parameters/${name}`)).text()).toBe("42")
      const missing = await f.call(`/jobs/${"j".repeat(300)}/phase`, { headers: { accept: "application/json" } })
      expect(missing.status).toBe(404)
      expect((await missing.json()).error.tag).toBe("JobNotFound")
    } finally {
      await f.close()
    }
  })
})
