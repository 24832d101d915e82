/**
 * The SOAP endpoint end to end: a real client built from the served WSDL (node-soap) runs the
 * whole job lifecycle over node:http in SOAP 1.1 and 1.2, and hand-written requests probe every
 * fault, the HTTP edges (WSDL, schemas, downloads, media types, sizes, paths, proxies) and owner
 * isolation.
 */
import { createServer, request as httpRequest, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import express from "express"
import Fastify from "fastify"
import { Hono } from "hono"
import * as soap from "soap"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Fault, Namespaces, Operations, SoapAdapter, Wsdl } from "@uws-kit/adapter-soap"
import { Identity, Uws, Worker } from "@uws-kit/core"
import { BASE, call, child, envelope, field, headerText, isNilField, read, request, TNS } from "./helpers.js"

const DAY = 86_400_000

/** echo: finishes at once with its parameters as a text result; ERROR=msg makes it fail. */
const echo = Worker.make({
  name: "echo",
  quote: () => 5,
  run: async (job) => {
    // Names are case-insensitive: the core stores them in lower case.
    const error = job.parameters.find((p) => p.name === "error")
    if (error !== undefined) throw new Worker.JobFailure({ message: error.value, detail: `detail: ${error.value}` })
    return [{ id: "echo", mimeType: "text/plain", content: job.parameters.map((p) => `${p.name}=${p.value}`).join("\n") }]
  }
})

const policy = { maxDestructionLifetime: 30 * 86_400, defaultDestructionLifetime: 7 * 86_400, maxExecutionDuration: 3600, defaultExecutionDuration: 600 }

const listen = (listener: Parameters<typeof createServer>[1]) =>
  new Promise<{ server: Server; url: string }>((resolve) => {
    const server = createServer(listener)
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
  })

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

let started: Uws.Started
let adapter: SoapAdapter.SoapAdapter
let server: Server
let origin: string
let endpoint: string

beforeAll(async () => {
  started = await Uws.start({ worker: echo, policy })
  adapter = SoapAdapter.makeSoapAdapter({
    service: started.service,
    basePath: "/soap/echo",
    identify: (r) => {
      const user = r.headers.get("x-user")
      if (user === "mallory") throw new Error("mallory is banned")
      return user === null ? Identity.anonymous : Identity.user(user)
    }
  })
  ;({ server, url: origin } = await listen(adapter.listener))
  endpoint = `${origin}/soap/echo`
})

afterAll(async () => {
  await close(server)
  await started.close()
})

const wsa = Namespaces.wsa

/** A node-soap client that sends WS-Addressing headers and, when given, the job's identifier. */
const headers = (client: soap.Client, op: string, jobId?: string, messageId = `urn:uuid:${crypto.randomUUID()}`) => {
  client.clearSoapHeaders()
  client.addSoapHeader({ "wsa:Action": `${TNS}:${op}`, "wsa:MessageID": messageId, "wsa:To": endpoint }, "", "wsa", wsa)
  if (jobId !== undefined) client.addSoapHeader({ ResourceIdentifier: jobId }, "", "u", TNS)
  return messageId
}

type Call = (args: unknown) => Promise<[any, string, any, string]>
const op = (client: soap.Client, name: string): Call => (client as unknown as Record<string, Call>)[`${name}Async`]!.bind(client)

describe("node-soap, built from the served WSDL", () => {
  for (const version of ["1.1", "1.2"] as const) {
    it(`runs the whole lifecycle in SOAP ${version}`, async () => {
      const client = await soap.createClientAsync(`${endpoint}?wsdl`, version === "1.2" ? { forceSoap12Headers: true } : {})
      expect(Object.keys(client.describe()["UWS"])).toEqual(["UWSSoap11", "UWSSoap12"])

      // create: parameters and a file in, the job's identity (an endpoint reference) out
      const createId = headers(client, "createJob")
      const [created, , createdHeaders] = await op(client, "createJob")({
        runId: "lifecycle",
        parameter: [{ attributes: { id: "QUERY" }, $value: "SELECT * FROM t WHERE a < 3 & b > 2" }],
        upload: [{ attributes: { name: "TABLE", mimeType: "text/csv" }, $value: Buffer.from("a,b\n1,2\n").toString("base64") }]
      })
      const jobId: string = created.jobId
      expect(created.phase).toBe("PENDING")
      expect(created.EndpointReference.Address).toBe(endpoint)
      expect(created.EndpointReference.ReferenceParameters.ResourceIdentifier).toBe(jobId)
      expect(createdHeaders).toMatchObject({ Action: `${TNS}:createJobResponse`, RelatesTo: createId, ResourceIdentifier: jobId })

      // read the quote and the termination time
      headers(client, "getQuote", jobId)
      const [quote, , quoteHeaders] = await op(client, "getQuote")({})
      expect(Date.parse(quote.quote)).toBeGreaterThan(Date.now() - 60_000)
      expect(quoteHeaders.ResourceIdentifier).toBe(jobId)
      headers(client, "getTerminationTime", jobId)
      const [termination] = await op(client, "getTerminationTime")({})
      const initial = Date.parse(termination.terminationTime)
      expect(initial).toBeGreaterThan(Date.now() + 6 * DAY)

      // set the termination time: a wish beyond the policy's 30 days is clamped, and the effective value answered
      headers(client, "setTerminationTime", jobId)
      const [set] = await op(client, "setTerminationTime")({ terminationTime: new Date(Date.now() + 100 * DAY).toISOString() })
      const clamped = Date.parse(set.terminationTime)
      expect(clamped).toBeLessThanOrEqual(initial - 7 * DAY + 30 * DAY)
      expect(clamped).toBeGreaterThan(initial)
      headers(client, "setTerminationTime", jobId)
      const [shorter] = await op(client, "setTerminationTime")({ terminationTime: new Date(initial - DAY).toISOString() })
      expect(Date.parse(shorter.terminationTime)).toBe(initial - DAY)

      // accept the quote: the job is committed
      headers(client, "acceptQuote", jobId)
      const [accepted] = await op(client, "acceptQuote")({})
      expect(["QUEUED", "EXECUTING", "COMPLETED"]).toContain(accepted.phase)

      // poll the phase until it ends (blocking up to 5 s per call)
      let phase = accepted.phase as string
      for (let i = 0; i < 100 && !["COMPLETED", "ERROR", "ABORTED"].includes(phase); i++) {
        headers(client, "getPhase", jobId)
        phase = (await op(client, "getPhase")({ wait: 5 }))[0].phase
      }
      expect(phase).toBe("COMPLETED")

      // the results, all in one document, and the content behind them
      headers(client, "getResults", jobId)
      const [results] = await op(client, "getResults")({})
      const result = [results.results.result].flat()[0]
      expect(result.attributes).toMatchObject({ id: "echo", "mime-type": "text/plain" })
      const href: string = result.attributes["xlink:href"] ?? result.attributes.href
      const content = await fetch(href)
      expect(content.status).toBe(200)
      expect(await content.text()).toBe("query=SELECT * FROM t WHERE a < 3 & b > 2\ntable=param:table")

      // the whole job
      headers(client, "getSummary", jobId)
      const [summary] = await op(client, "getSummary")({})
      expect(summary.job).toMatchObject({ jobId, runId: "lifecycle", phase: "COMPLETED", executionDuration: 600 })

      // destroy, then the identifier is unknown: a fault, not a crash
      headers(client, "destroy", jobId)
      const [destroyed] = await op(client, "destroy")({})
      expect(String(destroyed.success)).toBe("true")
      headers(client, "getPhase", jobId)
      const failure = await op(client, "getPhase")({}).then(
        () => undefined,
        (e: any) => e
      )
      expect(failure?.response?.status).toBe(version === "1.1" ? 500 : 400)
      const fault = failure.root.Envelope.Body.Fault
      if (version === "1.1") expect(fault.faultcode).toBe("soap:Client")
      else expect(fault.Code.Value).toBe("soap:Sender")
      expect((fault.detail ?? fault.Detail).uwsFault).toMatchObject({ error: "JobNotFound", jobId })
    })
  }

  it("answers a fault, not a crash, for an identifier that never existed or is missing", async () => {
    const client = await soap.createClientAsync(`${endpoint}?wsdl`)
    headers(client, "getQuote", "no-such-job")
    const unknown = await op(client, "getQuote")({}).then(() => undefined, (e: any) => e)
    expect(unknown.root.Envelope.Body.Fault.detail.uwsFault.error).toBe("JobNotFound")
    headers(client, "getQuote")
    const missing = await op(client, "getQuote")({}).then(() => undefined, (e: any) => e)
    expect(missing.root.Envelope.Body.Fault.detail.uwsFault.error).toBe("MissingResourceIdentifier")
  })
})

const create = async (content = "", options: Parameters<typeof call>[3] = {}) => {
  const reply = await call(adapter.handler, "createJob", content, { url: endpoint, ...options })
  expect(reply.fault).toBeUndefined()
  return field(reply, "jobId")!
}
const on = (jobId: string, options: Parameters<typeof call>[3] = {}) => ({ url: endpoint, resourceId: jobId, ...options })

describe("operations", () => {
  it("aborts a pending job, then refuses to commit it (InvalidTransition, a Client fault)", async () => {
    const jobId = await create()
    const aborted = await call(adapter.handler, "abort", "", on(jobId))
    expect(field(aborted, "phase")).toBe("ABORTED")
    const refused = await call(adapter.handler, "acceptQuote", "", on(jobId))
    expect(refused.status).toBe(500)
    expect(refused.fault).toMatchObject({ code: "soap:Client", tag: "InvalidTransition" })
    expect(refused.fault?.reason).toContain("RUN is not allowed in ABORTED")
  })

  it("reads and sets the execution duration, clamped to the policy's maximum", async () => {
    const jobId = await create("<u:executionDuration>120</u:executionDuration>")
    expect(field(await call(adapter.handler, "getExecutionDuration", "", on(jobId)), "executionDuration")).toBe("120")
    const set = await call(adapter.handler, "setExecutionDuration", "<u:executionDuration>999999</u:executionDuration>", on(jobId))
    expect(field(set, "executionDuration")).toBe("3600")
  })

  it("answers a failed job's error summary and detail; a job without an error has none", async () => {
    const jobId = await create(`<u:parameter id="ERROR">disk full</u:parameter><u:run>true</u:run>`)
    let phase = ""
    for (let i = 0; i < 50 && phase !== "ERROR"; i++) phase = field(await call(adapter.handler, "getPhase", "<u:wait>5</u:wait>", on(jobId)), "phase")!
    expect(phase).toBe("ERROR")
    const error = await call(adapter.handler, "getError", "", on(jobId))
    expect(error.body?.children.find((c) => c.local === "errorSummary")?.children[0]?.text).toBe("disk full")
    expect(field(error, "detail")).toBe("detail: disk full")
    const other = await create()
    expect((await call(adapter.handler, "getError", "", on(other))).fault?.tag).toBe("ResourceNotFound")
  })

  it("creates a job committed at once, with a termination time of nil meaning as late as allowed", async () => {
    const reply = await call(adapter.handler, "createJob", `<u:terminationTime xsi:nil="true"/><u:run>1</u:run>`, { url: endpoint })
    expect(["QUEUED", "EXECUTING", "COMPLETED"]).toContain(field(reply, "phase"))
    const termination = await call(adapter.handler, "getTerminationTime", "", on(field(reply, "jobId")!))
    expect(Date.parse(field(termination, "terminationTime")!)).toBeGreaterThan(Date.now() + 29 * DAY)
  })

  it("refuses a termination time in the past (InvalidParameter) and changes nothing", async () => {
    const jobId = await create()
    const before = field(await call(adapter.handler, "getTerminationTime", "", on(jobId)), "terminationTime")
    const refused = await call(adapter.handler, "setTerminationTime", "<u:terminationTime>2001-01-01T00:00:00Z</u:terminationTime>", on(jobId))
    expect(refused.fault?.tag).toBe("InvalidParameter")
    expect(field(await call(adapter.handler, "getTerminationTime", "", on(jobId)), "terminationTime")).toBe(before)
  })

  it("lists the caller's jobs with the UWS 1.1 filters", async () => {
    const user = { httpHeaders: { "x-user": `lister-${Math.random()}` } }
    const a = await create("", user)
    const b = await create("<u:run>true</u:run>", user)
    const all = await call(adapter.handler, "getJobs", "", { url: endpoint, ...user })
    const ids = (r: typeof all) => r.body?.children[0]?.children.map((j) => j.attributes.find((x) => x.local === "id")?.value)
    expect(ids(all)).toEqual([b, a])
    const pending = await call(adapter.handler, "getJobs", "<u:phase>PENDING</u:phase>", { url: endpoint, ...user })
    expect(ids(pending)).toEqual([a])
    const last = await call(adapter.handler, "getJobs", "<u:last>1</u:last>", { url: endpoint, ...user })
    expect(ids(last)).toEqual([b])
    expect((await call(adapter.handler, "getJobs", "<u:last>0</u:last>", { url: endpoint, ...user })).fault?.tag).toBe("InvalidParameter")
  })

  it("quotes nil when the application cannot tell", async () => {
    const { service, close } = await Uws.start({ worker: Worker.noop })
    const bare = SoapAdapter.makeSoapAdapter({ service })
    const jobId = field(await call(bare.handler, "createJob"), "jobId")!
    const quote = await call(bare.handler, "getQuote", "", { resourceId: jobId })
    expect(isNilField(quote, "quote")).toBe(true)
    await close()
  })
})

describe("requests the endpoint refuses, each with a fault in the request's SOAP version", () => {
  it("checks SOAPAction, the action parameter and wsa:Action against the body", async () => {
    expect((await call(adapter.handler, "getJobs", "", { url: endpoint, action: `${TNS}:getPhase` })).fault?.tag).toBe("ActionMismatch")
    expect((await call(adapter.handler, "getJobs", "", { url: endpoint, version: "1.2", action: "urn:other" })).fault).toMatchObject({
      tag: "ActionMismatch",
      code: "soap:Sender",
      subcode: "u:ActionMismatch"
    })
    expect((await call(adapter.handler, "getJobs", "", { url: endpoint, wsaAction: "urn:nope" })).fault?.tag).toBe("ActionMismatch")
    // An empty or absent SOAPAction defers to the body (SOAP 1.1 allows "").
    expect((await call(adapter.handler, "getJobs", "", { url: endpoint, action: "" })).status).toBe(200)
    expect((await call(adapter.handler, "getJobs", "", { url: endpoint, action: false })).status).toBe(200)
  })

  it("names the operations it has when the body names another", async () => {
    const reply = await call(adapter.handler, "launchMissiles", "", { url: endpoint, action: false })
    expect(reply.fault?.tag).toBe("UnknownOperation")
    expect(reply.fault?.reason).toContain("acceptQuote")
  })

  it("checks each operation's fields against its schema", async () => {
    const bad: ReadonlyArray<[string, string, string]> = [
      ["getJobs", "<u:last>many</u:last>", "not an integer"],
      ["getJobs", "<u:phase>RUNNING</u:phase>", "not a UWS phase"],
      ["getJobs", "<u:after>yesterday</u:after>", "ISO 8601"],
      ["getJobs", "<u:last>1</u:last><u:last>2</u:last>", "only once"],
      ["getJobs", "<u:colour>red</u:colour>", "unexpected element"],
      ["createJob", '<u:parameter id="">x</u:parameter>', "non-empty"],
      ["createJob", '<u:upload name="f">not base64!</u:upload>', "base64"],
      ["createJob", "<u:executionDuration>99999999999</u:executionDuration>", "range"],
      ["createJob", "<u:runId><x/></u:runId>", "not elements"],
      ["setExecutionDuration", "", "required"],
      ["setTerminationTime", "<u:terminationTime>2030-02-30T00:00:00Z</u:terminationTime>", "not a day of the calendar"],
      ["getQuote", "text", "must not hold text"]
    ]
    for (const [name, content, message] of bad) {
      const reply = await call(adapter.handler, name, content, on("any"))
      expect(reply.fault?.tag, `${name} ${content}`).toBe("InvalidRequest")
      expect(reply.fault?.reason, `${name} ${content}`).toContain(message)
    }
  })

  it("refuses other media types (415), other methods (405) and other paths (404)", async () => {
    const json = await read(await adapter.handler(new Request(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })))
    expect(json.status).toBe(415)
    expect(json.fault?.tag).toBe("UnsupportedMediaType")
    const put = await adapter.handler(new Request(endpoint, { method: "PUT", body: "x" }))
    expect(put.status).toBe(405)
    expect(put.headers.get("allow")).toBe("GET, HEAD, POST")
    expect((await read(put)).fault?.tag).toBe("MethodNotAllowed")
    const elsewhere = await read(await adapter.handler(request(envelope("getJobs", ""), "getJobs", { url: `${origin}/soap/other` })))
    expect(elsewhere.status).toBe(404)
    expect(elsewhere.fault?.tag).toBe("NoSuchEndpoint")
  })

  it("refuses envelopes over the size limit, by Content-Length without reading and by counting when chunked", async () => {
    const small = SoapAdapter.makeSoapAdapter({ service: started.service, maxEnvelopeBytes: 2000 })
    const big = envelope("getJobs", `<!-- ${"x".repeat(5000)} -->`)
    const declared = await read(await small.handler(request(big, "getJobs")))
    expect(declared.status).toBe(413)
    expect(declared.fault?.tag).toBe("EnvelopeTooLarge")
    let pulled = 0
    const chunked = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > 1000) controller.close()
        else controller.enqueue(new TextEncoder().encode("<!-- padding padding padding padding padding -->"))
      }
    })
    const streamed = await small.handler(
      new Request(BASE, { method: "POST", headers: { "content-type": "text/xml" }, body: chunked, duplex: "half" } as RequestInit)
    )
    expect(streamed.status).toBe(413)
    expect(pulled).toBeLessThan(100)
  })

  it("refuses oversize envelopes arriving chunked over node:http, and keeps serving", async () => {
    const small = SoapAdapter.makeSoapAdapter({ service: started.service, maxEnvelopeBytes: 2000 })
    const { server: s, url } = await listen(small.listener)
    try {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${url}/`, { method: "POST", headers: { "content-type": "text/xml", "transfer-encoding": "chunked" } }, (res) => {
          let body = ""
          res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on("error", reject)
        for (let i = 0; i < 50; i++) req.write(`<!-- ${"x".repeat(100)} -->`)
        req.end()
      })
      expect(reply.status).toBe(413)
      expect(reply.body).toContain("<u:error>EnvelopeTooLarge</u:error>")
      const after = await read(await fetch(request(envelope("getJobs", ""), "getJobs", { url: `${url}/` })))
      expect(after.status).toBe(200)
    } finally {
      await close(s)
    }
  })

  it("answers faults in the request's SOAP version: 1.2 faults are Sender/Receiver with the tag as subcode, and MustUnderstand lists the headers", async () => {
    const reply = await call(adapter.handler, "getJobs", "", {
      url: endpoint,
      version: "1.2",
      messageId: "urn:uuid:m1",
      headerXml: `<x:Sec xmlns:x="urn:sec" s:mustUnderstand="true"/>`
    })
    expect(reply.status).toBe(500)
    expect(reply.contentType).toBe("application/soap+xml; charset=utf-8")
    expect(reply.fault).toMatchObject({ code: "soap:MustUnderstand", tag: "MustUnderstand" })
    const notUnderstood = reply.header.find((h) => h.local === "NotUnderstood")
    expect(notUnderstood?.attributes.find((a) => a.local === "qname")?.value).toBe("n0:Sec")
    expect(headerText(reply, "RelatesTo")).toBe("urn:uuid:m1")
    expect(headerText(reply, "Action")).toBe(Namespaces.faultAction)
  })

  it("refuses XXE and billion-laughs envelopes with a ForbiddenDeclaration fault, leaking nothing", async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${TNS}"><s:Body><u:createJob><u:runId>&xxe;</u:runId></u:createJob></s:Body></s:Envelope>`
    const laughs = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${TNS}"><s:Body><u:createJob><u:runId>&d;&d;&d;&d;</u:runId></u:createJob></s:Body></s:Envelope>`
    for (const xml of [xxe, laughs]) {
      const before = (await call(adapter.handler, "getJobs", "", { url: endpoint })).text
      const reply = await read(await adapter.handler(request(xml, "createJob", { url: endpoint })))
      expect(reply.status).toBe(500)
      expect(reply.fault).toMatchObject({ code: "soap:Client", tag: "ForbiddenDeclaration" })
      expect(reply.text).not.toContain("root:")
      expect(reply.text.length).toBeLessThan(2000)
      expect((await call(adapter.handler, "getJobs", "", { url: endpoint })).text).toBe(before)
    }
  })

  it("answers a SOAP 1.1 envelope sent as SOAP 1.2 with a VersionMismatch fault naming the envelopes it supports", async () => {
    const reply = await read(await adapter.handler(request(envelope("getJobs", "", { version: "1.1" }), "getJobs", { url: endpoint, version: "1.2" })))
    expect(reply.status).toBe(500)
    expect(reply.fault).toMatchObject({ code: "soap:VersionMismatch", tag: "VersionMismatch" })
    const upgrade = reply.header.find((h) => h.local === "Upgrade")
    expect(upgrade?.children.map((c) => c.attributes.find((a) => a.local === "qname")?.value)).toEqual(["e12:Envelope", "e11:Envelope"])
  })

  it("decodes the declared charset and refuses bytes that are not in it", async () => {
    const latin1 = new Uint8Array([...new TextEncoder().encode(envelope("createJob", '<u:parameter id="P">caf#</u:parameter>'))].map((b) => (b === 35 ? 0xe9 : b)))
    const reply = await read(
      await adapter.handler(new Request(endpoint, { method: "POST", headers: { "content-type": "text/xml; charset=iso-8859-1" }, body: latin1 }))
    )
    const summary = await call(adapter.handler, "getSummary", "", on(field(reply, "jobId")!))
    expect(summary.text).toContain(">café<")
    const invalid = await read(await adapter.handler(new Request(endpoint, { method: "POST", headers: { "content-type": "text/xml" }, body: latin1 })))
    expect(invalid.fault?.tag).toBe("MalformedEnvelope")
    const unknown = await read(
      await adapter.handler(new Request(endpoint, { method: "POST", headers: { "content-type": "text/xml; charset=klingon" }, body: "<x/>" }))
    )
    expect(unknown.fault?.tag).toBe("UnsupportedMediaType")
  })

  it("turns a failing identify into an Unauthenticated fault (401)", async () => {
    const reply = await call(adapter.handler, "getJobs", "", { url: endpoint, httpHeaders: { "x-user": "mallory" } })
    expect(reply.status).toBe(401)
    expect(reply.fault).toMatchObject({ tag: "Unauthenticated", reason: "mallory is banned" })
  })

  it("stops serving once disposed (Closed, 503), ending blocked waits at once with the phase as it is", async () => {
    const own = SoapAdapter.makeSoapAdapter({ service: started.service })
    const jobId = field(await call(own.handler, "createJob"), "jobId")!
    const blocked = call(own.handler, "getPhase", "<u:wait>-1</u:wait>", { resourceId: jobId })
    await own.dispose()
    expect(field(await blocked, "phase")).toBe("PENDING")
    const reply = await call(own.handler, "getJobs")
    expect(reply.status).toBe(503)
    expect(reply.fault?.tag).toBe("Closed")
  })
})

describe("getPhase(wait) answers on a phase change only", () => {
  it("a progress report does not end the wait; the end of the job does", async () => {
    let go!: () => void
    let reported!: () => void
    let finish!: () => void
    const goP = new Promise<void>((r) => (go = r))
    const reportedP = new Promise<void>((r) => (reported = r))
    const finishP = new Promise<void>((r) => (finish = r))
    const own = await Uws.start({
      worker: Worker.make({
        name: "progressing",
        run: async (_job, context) => {
          await goP
          await context.progress({ progress: "1/2" })
          reported()
          await finishP
          return []
        }
      })
    })
    const soap = SoapAdapter.makeSoapAdapter({ service: own.service })
    try {
      const jobId = field(await call(soap.handler, "createJob", "<u:run>true</u:run>"), "jobId")!
      let phase = ""
      while (phase !== "EXECUTING") phase = field(await call(soap.handler, "getPhase", "", { resourceId: jobId }), "phase")!
      const blocked = call(soap.handler, "getPhase", "<u:wait>-1</u:wait>", { resourceId: jobId })
      go()
      await reportedP
      const early = await Promise.race([
        blocked.then(() => "answered"),
        (async () => {
          for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
          return "waiting"
        })()
      ])
      expect(early).toBe("waiting")
      finish()
      expect(field(await blocked, "phase")).toBe("COMPLETED")
    } finally {
      await soap.dispose()
      await own.close()
    }
  })
})

describe("owner isolation (as in REST: the core decides)", () => {
  const as = (user: string) => ({ httpHeaders: { "x-user": user } })

  it("lets nobody but the owner see or act on a job", async () => {
    const jobId = await create("", as("alice"))
    for (const name of ["getPhase", "getQuote", "getSummary", "getResults", "acceptQuote", "abort", "destroy", "getTerminationTime"]) {
      const reply = await call(adapter.handler, name, "", on(jobId, as("bob")))
      expect(reply.fault?.tag, name).toBe("Forbidden")
    }
    const anonymous = await call(adapter.handler, "getPhase", "", on(jobId))
    expect(anonymous.fault?.tag).toBe("Forbidden")
    const bobs = await call(adapter.handler, "getJobs", "", { url: endpoint, ...as("bob") })
    expect(bobs.text).not.toContain(jobId)
    const mine = await call(adapter.handler, "getPhase", "", on(jobId, as("alice")))
    expect(field(mine, "phase")).toBe("PENDING")
    const summary = await call(adapter.handler, "getSummary", "", on(jobId, as("alice")))
    expect(summary.text).toContain("<uws:ownerId>alice</uws:ownerId>")
  })

  it("guards result downloads the same way", async () => {
    const jobId = await create("<u:run>true</u:run>", as("carol"))
    for (let i = 0; i < 50; i++) if (field(await call(adapter.handler, "getPhase", "<u:wait>5</u:wait>", on(jobId, as("carol"))), "phase") === "COMPLETED") break
    const href = `${endpoint}?job=${jobId}&result=echo`
    expect((await adapter.handler(new Request(href, { headers: { "x-user": "carol" } }))).status).toBe(200)
    const foreign = await adapter.handler(new Request(href, { headers: { "x-user": "dave" } }))
    expect(foreign.status).toBe(403)
    expect((await adapter.handler(new Request(`${endpoint}?job=${jobId}&result=nope`, { headers: { "x-user": "carol" } }))).status).toBe(404)
    expect((await adapter.handler(new Request(`${endpoint}?job=nope&result=echo`))).status).toBe(404)
  })
})

describe("serving the contract", () => {
  it("serves the WSDL with absolute addresses for this request, honouring X-Forwarded-*", async () => {
    const plain = await (await adapter.handler(new Request(`${endpoint}?wsdl`))).text()
    expect(plain).toContain(`<soap:address location="${endpoint}"/>`)
    expect(plain).toContain(`schemaLocation="${endpoint}?xsd=uws"`)
    const forged = await (await adapter.handler(new Request(`${endpoint}?wsdl`, { headers: { "x-forwarded-host": "evil.example" } }))).text()
    expect(forged).not.toContain("evil.example") // trustForwarded defaults to false
    const behindProxy = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap/echo", trustForwarded: true })
    const proxied = await behindProxy.handler(
      new Request(`${endpoint}?wsdl`, { headers: { "x-forwarded-proto": "https", "x-forwarded-host": "uws.example.org, inner" } })
    )
    expect(proxied.headers.get("content-type")).toBe("text/xml; charset=utf-8")
    expect(await proxied.text()).toContain('<soap12:address location="https://uws.example.org/soap/echo"/>')
    const fixed = SoapAdapter.makeSoapAdapter({ service: started.service, publicUrl: "https://public.example/uws/", trustForwarded: false })
    const text = await (await fixed.handler(new Request(`${BASE}?WSDL`, { headers: { "x-forwarded-host": "evil.example" } }))).text()
    expect(text).toContain('location="https://public.example/uws"')
    expect(text).not.toContain("evil.example")
    const rfc7239 = await (await behindProxy.handler(new Request(`${endpoint}?wsdl`, { headers: { forwarded: 'for=1.2.3.4;proto=https;host="a.example:8443"', "x-forwarded-prefix": "/gateway/" } }))).text()
    expect(rfc7239).toContain('location="https://a.example:8443/gateway/soap/echo"')
    const bogus = await (await behindProxy.handler(new Request(`${endpoint}?wsdl`, { headers: { "x-forwarded-host": 'evil"><x' } }))).text()
    expect(bogus).toContain(`location="${endpoint}"`)
  })

  it("lists every operation of the table in the WSDL, with its action and the ResourceIdentifier header where it needs one", async () => {
    const wsdl = adapter.wsdl(endpoint)
    for (const o of Operations.all) {
      expect(wsdl).toContain(`<wsdl:operation name="${o.name}">`)
      expect(wsdl).toContain(`soapAction="${o.action}"`)
      expect(wsdl).toContain(`wsam:Action="${o.responseAction}"`)
      expect(wsdl).toContain(`<xsd:element name="${o.name}">`)
    }
    expect(Operations.names).toEqual([
      "createJob", "getJobs", "getPhase", "getQuote", "getTerminationTime", "getResults", "setTerminationTime", "acceptQuote", "destroy",
      "getSummary", "abort", "getExecutionDuration", "setExecutionDuration", "setParameters", "getQuoteState", "getError"
    ])
    // two bindings × (job-specific inputs + job-specific or createJob outputs)
    const headers = wsdl.split('part="ResourceIdentifier"').length - 1
    const jobSpecific = Operations.all.filter((o) => o.jobSpecific).length
    expect(headers).toBe(2 * (2 * jobSpecific + 1))
  })

  it("serves the schemas it imports, so clients need no network", async () => {
    const uws = await (await adapter.handler(new Request(`${endpoint}?xsd=uws`))).text()
    expect(uws).toContain('targetNamespace="http://www.ivoa.net/xml/UWS/v1.0"')
    expect(uws).toContain(`schemaLocation="${endpoint}?xsd=xlink"`)
    expect(uws).not.toContain("http://www.ivoa.net/xml/Xlink/xlink.xsd")
    expect(await (await adapter.handler(new Request(`${endpoint}?xsd=xlink`))).text()).toContain('targetNamespace="http://www.w3.org/1999/xlink"')
    expect(await (await adapter.handler(new Request(`${endpoint}?xsd=wsa`))).text()).toContain('targetNamespace="http://www.w3.org/2005/08/addressing"')
    expect((await adapter.handler(new Request(`${endpoint}?xsd=other`))).status).toBe(404)
    expect(Wsdl.schema("http://x", "wsa")).toBe(Wsdl.schema("http://y", "wsa"))
  })

  it("describes itself to a browser", async () => {
    const page = await adapter.handler(new Request(endpoint))
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(await page.text()).toContain(`${endpoint}?wsdl`)
  })
})

describe("embedding", () => {
  it("mounts in Express under a path (Express strips it; the endpoint reads originalUrl)", async () => {
    const mounted = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/services/uws" })
    const app = express()
    app.use("/services/uws", mounted.listener)
    const { server: s, url } = await listen(app)
    try {
      const client = await soap.createClientAsync(`${url}/services/uws?wsdl`)
      const [created] = await op(client, "createJob")({})
      expect(created.EndpointReference.Address).toBe(`${url}/services/uws`)
    } finally {
      await close(s)
    }
  })

  it("mounts in Hono, which strips the mount path", async () => {
    const mounted = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap/hono" })
    const app = new Hono()
    app.mount("/soap/hono", mounted.handler)
    const wsdl = await (await app.fetch(new Request("http://h.test/soap/hono?wsdl"))).text()
    expect(wsdl).toContain('location="http://h.test/soap/hono"')
    const reply = await read(await app.fetch(request(envelope("createJob", ""), "createJob", { url: "http://h.test/soap/hono" })))
    expect(reply.status).toBe(200)
    expect(child(child(reply.body, "EndpointReference"), "Address")?.text).toBe("http://h.test/soap/hono")
  })

  it("mounts in Fastify (raw request, hijacked reply, a pass-through body parser)", async () => {
    const mounted = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap/fastify" })
    const app = Fastify()
    await app.register(
      async (scope) => {
        scope.removeAllContentTypeParsers()
        scope.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined))
        scope.all("/*", (req, reply) => {
          reply.hijack()
          mounted.listener(req.raw, reply.raw)
        })
        scope.all("/", (req, reply) => {
          reply.hijack()
          mounted.listener(req.raw, reply.raw)
        })
      },
      { prefix: "/soap/fastify" }
    )
    const url = await app.listen({ port: 0, host: "127.0.0.1" })
    try {
      const client = await soap.createClientAsync(`${url}/soap/fastify?wsdl`)
      const [created] = await op(client, "createJob")({ run: true })
      expect(created.EndpointReference.Address).toBe(`${url}/soap/fastify`)
    } finally {
      await app.close()
    }
  })

  it("takes the caller from the Node request when the host authenticated it there (identifyNode)", async () => {
    const mounted = SoapAdapter.makeSoapAdapter({
      service: started.service,
      identifyNode: (req) => Identity.user(String((req as typeof req & { user?: string }).user ?? "nobody"))
    })
    const app = express()
    app.use((req, _res, next) => {
      ;(req as typeof req & { user?: string }).user = "erin"
      next()
    })
    app.use("/soap", mounted.listener)
    const { server: s, url } = await listen(app)
    try {
      const created = await read(await fetch(request(envelope("createJob", ""), "createJob", { url: `${url}/soap` })))
      const summary = await read(await fetch(request(envelope("getSummary", "", { resourceId: field(created, "jobId")! }), "getSummary", { url: `${url}/soap` })))
      expect(summary.text).toContain("<uws:ownerId>erin</uws:ownerId>")
    } finally {
      await close(s)
    }
  })

  it("exposes the Effect app, runnable with any HttpServerRequest", () => {
    expect(Effect.isEffect(adapter.app)).toBe(true)
  })
})

describe("the fault table", () => {
  it("maps every core error to Client or Server as the issue asks", () => {
    expect(Object.entries(Fault.rules).filter(([, r]) => r.code === "Server").map(([t]) => t).sort()).toEqual(
      ["Closed", "Conflict", "InternalError", "PluginFailure", "StorageFailure"].sort()
    )
  })
})
