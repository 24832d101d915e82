/**
 * One job list, two bindings: a job created through SOAP is visible and controllable through
 * REST, and the reverse; both bindings take the same `identify`, and owner isolation holds
 * across them. The application is driven by the test (controlledWorker), so every phase is
 * observed on purpose, not by timing.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Namespaces, SoapAdapter } from "@uws-kit/adapter-soap"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Identity, Uws } from "@uws-kit/core"
import { controlledWorker } from "@uws-kit/core/testing"

const ORIGIN = "http://uws.test"
const TNS = Namespaces.uwsSoap

const control = controlledWorker("echo")
let started: Uws.Started
let rest: RestAdapter.RestAdapter
let soap: SoapAdapter.SoapAdapter

/** The host's one identify function, given to both bindings. */
const identify = (request: Request) => {
  const user = request.headers.get("x-user")
  return user === null ? Identity.anonymous : Identity.user(user)
}

beforeAll(async () => {
  started = await Uws.start({ worker: control.worker })
  rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws/echo", identify })
  soap = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap/echo", identify })
})

afterAll(async () => {
  await rest.dispose()
  await soap.dispose()
  await started.close()
})

// ---- SOAP -------------------------------------------------------------------------------------

const soapCall = async (user: string, op: string, content = "", jobId?: string) => {
  const xml =
    `<s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${TNS}" xmlns:xsi="${Namespaces.xsi}">` +
    (jobId === undefined ? "" : `<s:Header><u:ResourceIdentifier>${jobId}</u:ResourceIdentifier></s:Header>`) +
    `<s:Body><u:${op}>${content}</u:${op}></s:Body></s:Envelope>`
  const response = await soap.handler(
    new Request(`${ORIGIN}/soap/echo`, { method: "POST", headers: { "content-type": "text/xml", soapaction: `"${TNS}:${op}"`, "x-user": user }, body: xml })
  )
  const text = await response.text()
  const value = (local: string) => new RegExp(`<u:${local}>([^<]*)</u:${local}>`).exec(text)?.[1]
  return { status: response.status, text, value, fault: /<u:error>(\w+)<\/u:error>/.exec(text)?.[1] }
}

// ---- REST -------------------------------------------------------------------------------------

const restCall = async (user: string, method: string, path: string, form?: Record<string, string>) => {
  const response = await rest.handler(
    new Request(`${ORIGIN}/uws/echo${path}`, {
      method,
      headers: { "x-user": user, accept: "application/xml", ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
      redirect: "manual"
    })
  )
  return { status: response.status, location: response.headers.get("location"), text: await response.text() }
}

/** This client accepts only XML, so atoms come as one-element UWS documents (UWS v0.3): their text. */
const atomOf = (text: string) => {
  const m = /^<\?xml[^>]*>\s*<uws:(\w+)\b[^>]*>([^<]*)<\/uws:\1>\s*$/.exec(text)
  if (m === null) throw new Error(`not an XML atom: ${text}`)
  return m[2]!
}

const restPhase = async (user: string, jobId: string) => atomOf((await restCall(user, "GET", `/jobs/${jobId}/phase`)).text)

/** Waits (without timing) until the application has been handed the job. */
const running = async (jobId: string) => {
  for (let i = 0; i < 1000 && !control.running.has(jobId); i++) await new Promise((r) => setImmediate(r))
  expect(control.running.has(jobId)).toBe(true)
}

describe("a job created through SOAP", () => {
  it("is visible and controllable through REST", async () => {
    const created = await soapCall("alice", "createJob", `<u:runId>from-soap</u:runId><u:parameter id="QUERY">SELECT 1</u:parameter>`)
    const jobId = created.value("jobId")!
    expect(jobId).toBeDefined()

    // REST sees it, with what SOAP gave it
    const job = await restCall("alice", "GET", `/jobs/${jobId}`)
    expect(job.status).toBe(200)
    expect(job.text).toContain("<uws:runId>from-soap</uws:runId>")
    // Parameter names are case-insensitive; every binding shows them in lower case.
    expect(job.text).toMatch(/<uws:parameter id="query"[^>]*>SELECT 1<\/uws:parameter>/)
    expect(job.text).toContain("<uws:ownerId>alice</uws:ownerId>")
    const list = await restCall("alice", "GET", "/jobs")
    expect(list.text).toContain(`id="${jobId}"`)

    // REST sets the destruction; SOAP reads the same termination time
    const when = new Date(Date.now() + 2 * 86_400_000).toISOString()
    expect((await restCall("alice", "POST", `/jobs/${jobId}/destruction`, { DESTRUCTION: when })).status).toBe(303)
    expect((await soapCall("alice", "getTerminationTime", "", jobId)).value("terminationTime")).toBe(when)

    // REST runs it; SOAP sees it run, then complete, with the result REST also lists
    expect((await restCall("alice", "POST", `/jobs/${jobId}/phase`, { PHASE: "RUN" })).status).toBe(303)
    await running(jobId)
    expect((await soapCall("alice", "getPhase", "", jobId)).value("phase")).toBe("EXECUTING")
    await Effect.runPromise(control.complete(jobId))
    expect((await soapCall("alice", "getPhase", "<u:wait>30</u:wait>", jobId)).value("phase")).toBe("COMPLETED")
    expect(await restPhase("alice", jobId)).toBe("COMPLETED")
    const soapResults = await soapCall("alice", "getResults", "", jobId)
    expect(soapResults.text).toContain('<uws:result id="out"')
    expect((await restCall("alice", "GET", `/jobs/${jobId}/results/out`)).text).toBe(`result of ${jobId}`)

    // REST deletes it; SOAP answers a fault for it
    expect((await restCall("alice", "DELETE", `/jobs/${jobId}`)).status).toBe(303)
    expect((await soapCall("alice", "getPhase", "", jobId)).fault).toBe("JobNotFound")
  })

  it("can be aborted through REST and then not be committed through SOAP", async () => {
    const jobId = (await soapCall("alice", "createJob")).value("jobId")!
    expect((await restCall("alice", "POST", `/jobs/${jobId}/phase`, { PHASE: "ABORT" })).status).toBe(303)
    const refused = await soapCall("alice", "acceptQuote", "", jobId)
    expect(refused.status).toBe(500)
    expect(refused.fault).toBe("InvalidTransition")
  })
})

describe("a job created through REST", () => {
  it("is visible and controllable through SOAP", async () => {
    const created = await restCall("bob", "POST", "/jobs", { RUNID: "from-rest", QUERY: "SELECT 2" })
    expect(created.status).toBe(303)
    const jobId = created.location!.split("/").pop()!

    // SOAP sees it: the whole job, the quote, the list
    const summary = await soapCall("bob", "getSummary", "", jobId)
    expect(summary.text).toContain("<uws:runId>from-rest</uws:runId>")
    expect(summary.text).toContain(">SELECT 2</uws:parameter>")
    expect((await soapCall("bob", "getJobs")).text).toContain(`id="${jobId}"`)

    // SOAP sets the termination time and the execution duration; REST reads them
    const when = new Date(Date.now() + 86_400_000).toISOString()
    expect((await soapCall("bob", "setTerminationTime", `<u:terminationTime>${when}</u:terminationTime>`, jobId)).value("terminationTime")).toBe(when)
    expect(atomOf((await restCall("bob", "GET", `/jobs/${jobId}/destruction`)).text)).toBe(when)
    expect((await soapCall("bob", "setExecutionDuration", "<u:executionDuration>77</u:executionDuration>", jobId)).value("executionDuration")).toBe("77")
    expect(atomOf((await restCall("bob", "GET", `/jobs/${jobId}/executionduration`)).text)).toBe("77")

    // SOAP accepts the quote; REST sees it run; SOAP aborts it; REST sees it aborted
    expect(["QUEUED", "EXECUTING"]).toContain((await soapCall("bob", "acceptQuote", "", jobId)).value("phase"))
    await running(jobId)
    expect(await restPhase("bob", jobId)).toBe("EXECUTING")
    expect((await soapCall("bob", "abort", "", jobId)).value("phase")).toBe("ABORTED")
    expect(await restPhase("bob", jobId)).toBe("ABORTED")

    // SOAP destroys it; REST no longer has it
    expect((await soapCall("bob", "destroy", "", jobId)).value("success")).toBe("true")
    expect((await restCall("bob", "GET", `/jobs/${jobId}`)).status).toBe(404)
  })
})

describe("owner isolation across the bindings", () => {
  it("keeps a user's jobs from another user, whichever binding each uses", async () => {
    const viaSoap = (await soapCall("carol", "createJob")).value("jobId")!
    const viaRest = (await restCall("carol", "POST", "/jobs", { A: "1" })).location!.split("/").pop()!
    expect((await restCall("dave", "GET", `/jobs/${viaSoap}`)).status).toBe(403)
    expect((await restCall("dave", "POST", `/jobs/${viaSoap}/phase`, { PHASE: "RUN" })).status).toBe(403)
    expect((await soapCall("dave", "getSummary", "", viaRest)).fault).toBe("Forbidden")
    expect((await soapCall("dave", "destroy", "", viaRest)).fault).toBe("Forbidden")
    expect((await soapCall("dave", "getJobs")).text).not.toMatch(new RegExp(`${viaSoap}|${viaRest}`))
    expect((await restCall("dave", "GET", "/jobs")).text).not.toMatch(new RegExp(`${viaSoap}|${viaRest}`))
    // and the owner sees both through both
    for (const id of [viaSoap, viaRest]) {
      expect((await soapCall("carol", "getJobs")).text).toContain(`id="${id}"`)
      expect((await restCall("carol", "GET", "/jobs")).text).toContain(`id="${id}"`)
    }
  })
})

describe("the demo service (npm start)", () => {
  it("serves /soap/echo and /soap/sleep over the same job lists as /uws/echo and /uws/sleep", async () => {
    const { startDemo } = await import("../examples/server.js")
    const demo = await startDemo({ port: 0 })
    try {
      const post = async (app: string, op: string, content = "", jobId?: string) => {
        const xml =
          `<s:Envelope xmlns:s="${Namespaces.soap12}" xmlns:u="${TNS}">` +
          (jobId === undefined ? "" : `<s:Header><u:ResourceIdentifier>${jobId}</u:ResourceIdentifier></s:Header>`) +
          `<s:Body><u:${op}>${content}</u:${op}></s:Body></s:Envelope>`
        const response = await fetch(`${demo.url}/soap/${app}`, { method: "POST", headers: { "content-type": `application/soap+xml; action="${TNS}:${op}"` }, body: xml })
        const text = await response.text()
        return { status: response.status, text, value: (local: string) => new RegExp(`<u:${local}>([^<]*)</u:${local}>`).exec(text)?.[1] }
      }
      const wsdl = await fetch(`${demo.url}/soap/echo?wsdl`)
      expect(await wsdl.text()).toContain(`<soap12:address location="${demo.url}/soap/echo"/>`)
      expect(demo.mounts.map((m) => m.prefix)).toEqual(expect.arrayContaining(["/soap/echo", "/soap/sleep"]))

      // echo through SOAP; its VOTable result through the SOAP href and through REST
      const echoed = await post("echo", "createJob", `<u:parameter id="GREETING">hello</u:parameter><u:run>true</u:run>`)
      const echoId = echoed.value("jobId")!
      let phase = echoed.value("phase")
      for (let i = 0; i < 50 && phase !== "COMPLETED"; i++) phase = (await post("echo", "getPhase", "<u:wait>10</u:wait>", echoId)).value("phase")
      expect(phase, (await post("echo", "getPhase", "", echoId)).text).toBe("COMPLETED")
      const results = await post("echo", "getResults", "", echoId)
      const href = /xlink:href="([^"]+)"/.exec(results.text)![1]!.replace(/&amp;/g, "&")
      const viaSoap = await (await fetch(href)).text()
      expect(viaSoap).toContain("<TD>greeting</TD><TD>hello</TD>")
      expect(await (await fetch(`${demo.url}/uws/echo/jobs/${echoId}/results/result`)).text()).toBe(viaSoap)

      // sleep created through REST, aborted through SOAP
      const created = await fetch(`${demo.url}/uws/sleep/jobs`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "SECONDS=600&PHASE=RUN",
        redirect: "manual"
      })
      const sleepId = created.headers.get("location")!.split("/").pop()!
      expect((await post("sleep", "abort", "", sleepId)).value("phase")).toBe("ABORTED")
      expect((await (await fetch(`${demo.url}/uws/sleep/jobs/${sleepId}/phase`)).text()).trim()).toBe("ABORTED")
      expect((await post("sleep", "destroy", "", sleepId)).value("success")).toBe("true")
      expect((await fetch(`${demo.url}/uws/sleep/jobs/${sleepId}`)).status).toBe(404)
    } finally {
      await demo.close()
    }
  })
})
