/**
 * The SOAP binding against Debian's python3-zeep and xmllint:
 * - zeep's strict loader builds a client from the served WSDL, fetching nothing but the endpoint
 *   (the imported UWS, xlink and WS-Addressing schemas are served by the endpoint itself);
 * - zeep runs the whole lifecycle and the error path in SOAP 1.1 and in SOAP 1.2;
 * - xmllint compiles the schema embedded in the WSDL (with the served imports, byte for byte)
 *   and validates against it what every operation answers, the fault detail and the headers.
 * Fails, never skips, when python3-zeep or xmllint is missing.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Namespaces, Operations, SoapAdapter } from "@uws-kit/adapter-soap"
import { Uws, Worker } from "@uws-kit/core"

const PYTHON = "/usr/bin/python3"
const scripts = fileURLToPath(new URL("./zeep/", import.meta.url))
const TNS = Namespaces.uwsSoap

const requireTool = (what: string, ok: boolean, install: string) => {
  if (!ok) throw new Error(`${what} is missing; this suite needs it and does not skip. Install it with: ${install}`)
}

/** Asynchronous on purpose: the endpoint runs in this process. */
const python = (script: string, args: ReadonlyArray<string>, timeoutMs = 110_000) =>
  new Promise<{ readonly status: number | null; readonly stdout: string; readonly stderr: string }>((resolve, reject) => {
    const child = spawn(PYTHON, [join(scripts, script), ...args], {
      cwd: scripts,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONWARNINGS: "ignore" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${script} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on("error", reject)
    child.on("close", (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })

const json = (run: { status: number | null; stdout: string; stderr: string }) => {
  expect(run.status, run.stderr).toBe(0)
  return JSON.parse(run.stdout) as any
}

/** echo: completes at once with its parameters as a text result, after reporting progress; ERROR=msg fails. */
const echo = Worker.make({
  name: "echo",
  // COST seconds when given: the quote follows the parameters (two-phase commit).
  quote: (job) => Number(job.parameters.find((p) => p.name === "cost")?.value ?? 2),
  run: async (job, context) => {
    await context.progress({ stage: "echoing" })
    // Parameter names are case-insensitive; the core stores them in lower case.
    const error = job.parameters.find((p) => p.name === "error")
    if (error !== undefined) throw new Worker.JobFailure({ message: error.value, detail: "more about it" })
    return [{ id: "echo", mimeType: "text/plain", content: job.parameters.map((p) => `${p.name}=${p.value}`).join("\n") }]
  }
})

let started: Uws.Started
let adapter: SoapAdapter.SoapAdapter
let server: Server
let endpoint: string

// A missing tool fails every test that needs it with the command that installs it: a throw in
// beforeAll would leave vitest counting the tests as skipped, and this suite never skips.
const needsZeep = () =>
  requireTool("python3-zeep for /usr/bin/python3", existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import zeep, lxml, requests"]).status === 0, "apt-get install -y python3-zeep")
const needsXmllint = () => requireTool("xmllint (libxml2-utils)", spawnSync("xmllint", ["--version"]).status === 0, "apt-get install -y libxml2-utils")

beforeAll(async () => {
  started = await Uws.start({ worker: echo, policy: { maxDestructionLifetime: 30 * 86_400, defaultDestructionLifetime: 7 * 86_400 } })
  adapter = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap/echo" })
  server = createServer(adapter.listener)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/soap/echo`
})

afterAll(async () => {
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())))
  await started?.close()
})

describe("zeep (Debian python3-zeep), built from the served WSDL", () => {
  it("loads the WSDL with its strict loader, fetching only from the endpoint, and sees every operation in both bindings", async () => {
    needsZeep()
    const report = json(await python("strict_load.py", [`${endpoint}?wsdl`]))
    expect(report.fetched.sort()).toEqual([`${endpoint}?wsdl`, `${endpoint}?xsd=uws`, `${endpoint}?xsd=wsa`, `${endpoint}?xsd=xlink`])
    const ports = report.services.UWS
    expect(Object.keys(ports).sort()).toEqual(["UWSSoap11", "UWSSoap12"])
    expect(ports.UWSSoap11.binding).toBe("Soap11Binding")
    expect(ports.UWSSoap12.binding).toBe("Soap12Binding")
    for (const port of Object.values(ports) as Array<any>) {
      expect(port.address).toBe(endpoint)
      expect(Object.keys(port.operations).sort()).toEqual([...Operations.names].sort())
      for (const op of Operations.all) {
        expect(port.operations[op.name], op.name).toEqual({
          soapaction: op.action,
          wsa_action: op.action,
          headers: op.jobSpecific ? ["ResourceIdentifier"] : [],
          faults: ["UwsFault"]
        })
      }
    }
    for (const element of ["{http://www.ivoa.net/xml/UWS/v1.0}job", "{http://www.w3.org/2005/08/addressing}EndpointReference", `{${TNS}}ResourceIdentifier`]) {
      expect(report.elements).toContain(element)
    }
  })

  for (const port of ["UWSSoap11", "UWSSoap12"]) {
    it(`runs the whole lifecycle and the error path over ${port}`, async () => {
      needsZeep()
      const r = json(await python("lifecycle.py", [`${endpoint}?wsdl`, port]))
      const jobId = r.create.jobId as string
      // create: the job's identity out, as an endpoint reference; WS-Addressing both ways
      expect(r.create).toEqual({
        jobId,
        phase: "PENDING",
        address: endpoint,
        referenceParameters: [jobId],
        headerResourceIdentifier: jobId,
        sentAction: `${TNS}:createJob`,
        sentMessageID: r.create.sentMessageID,
        relatesTo: r.create.sentMessageID,
        replyAction: `${TNS}:createJobResponse`
      })
      expect(r.quoteEcho).toBe(jobId)
      expect(Date.parse(r.quote)).toBeGreaterThan(0)
      // setTerminationTime: a year asked, the policy's 30 days after creation given, and answered
      const initial = Date.parse(r.terminationTime)
      const set = Date.parse(r.terminationSet)
      expect(set).toBeLessThan(Date.parse(r.terminationWish))
      expect(set - initial).toBe(23 * 86_400_000)
      expect(["QUEUED", "EXECUTING", "COMPLETED"]).toContain(r.accepted)
      expect(r.phase).toBe("COMPLETED")
      expect(r.results).toEqual([{ id: "echo", href: `${endpoint}?job=${jobId}&result=echo`, mimeType: "text/plain", size: r.resultContent.text.length }])
      expect(r.resultContent).toEqual({ status: 200, type: "text/plain", text: "query=SELECT * FROM t WHERE a < 3 & b > 2\nn=42\ntable=param:table" })
      expect(r.summary).toMatchObject({ jobId, runId: "zeep", phase: "COMPLETED", version: "1.1", parameters: ["query", "n", "table"] })
      expect(Date.parse(r.summary.destruction)).toBe(set)
      expect(r.destroyed).toBe(true)
      const client = port === "UWSSoap11" ? "soap:Client" : "soap:Sender"
      expect(r.afterDestroy).toMatchObject({ code: client, error: "JobNotFound", jobId })
      expect(r.unknown).toMatchObject({ code: client, error: "JobNotFound" })
      expect(r.missing).toMatchObject({ code: client, error: "MissingResourceIdentifier" })
      if (port === "UWSSoap12") {
        expect(r.unknown.subcodes).toEqual(["JobNotFound"])
        expect(r.missing.subcodes).toEqual(["MissingResourceIdentifier"])
      }
    })
  }
})

describe("zeep: the v0.3 two-phase commit", () => {
  for (const port of ["UWSSoap11", "UWSSoap12"]) {
    it(`create → setParameters: the quote changes → acceptQuote → runs with the accepted quote recorded, over ${port}`, async () => {
      needsZeep()
      const r = json(await python("twophase.py", [`${endpoint}?wsdl`, port]))
      expect(r.created).toMatchObject({ status: "estimated", acceptedAt: null })
      expect(r.changed).toMatchObject({ status: "estimated", acceptedAt: null })
      // Re-estimated from the new parameters: 5000 s instead of 10 s from (about) the same instant.
      expect(Date.parse(r.changed.quote) - Date.parse(r.created.quote)).toBeGreaterThan(4_900_000)
      expect(["QUEUED", "EXECUTING", "COMPLETED"]).toContain(r.accepted)
      expect(r.phase).toBe("COMPLETED")
      expect(r.final.status).toBe("accepted")
      expect(Date.parse(r.final.quote)).toBe(Date.parse(r.changed.quote))
      expect(Date.parse(r.final.acceptedAt)).toBeGreaterThanOrEqual(Date.parse(r.created.quote) - 10_000)
      expect(Date.parse(r.summary.quote)).toBe(Date.parse(r.changed.quote))
      expect(r.summary.jobInfo.quoteState).toEqual({ status: "accepted", acceptedAt: expect.any(String) })
      expect(Date.parse(r.summary.jobInfo.quoteState.acceptedAt)).toBe(Date.parse(r.final.acceptedAt))
      expect(r.summary.jobInfo.terminationState).toEqual({ status: "scheduled" })
      expect(r.frozen).toMatch(/UPDATE_PARAMETERS is not allowed in COMPLETED/)
      expect(r.exceeded.status).toBe("exceeded")
      expect(r.refused).toMatch(/past its destruction time .* so it would not be run/)
      expect(r.afterRefusal).toBe("PENDING")
    })
  }
})

// ---- xmllint -----------------------------------------------------------------------------------

const send = async (op: string, content = "", resourceId?: string) => {
  const header =
    `<wsa:Action>${TNS}:${op}</wsa:Action><wsa:MessageID>urn:uuid:${crypto.randomUUID()}</wsa:MessageID>` +
    (resourceId === undefined ? "" : `<u:ResourceIdentifier>${resourceId}</u:ResourceIdentifier>`)
  const xml =
    `<s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${TNS}" xmlns:wsa="${Namespaces.wsa}" xmlns:xsi="${Namespaces.xsi}">` +
    `<s:Header>${header}</s:Header><s:Body><u:${op}>${content}</u:${op}></s:Body></s:Envelope>`
  const response = await adapter.handler(new Request(endpoint, { method: "POST", headers: { "content-type": "text/xml", soapaction: `"${TNS}:${op}"` }, body: xml }))
  return response.text()
}

const ROOT = /^<\?xml[^>]*\?><soap:Envelope ((?:xmlns:\w+="[^"]*" ?)+)>/

/** The body's element (or a header block) of a reply, as a document of its own with the reply's namespace declarations. */
const extract = (reply: string, what: "body" | "header", local?: string): string => {
  const declarations = ROOT.exec(reply)?.[1]
  if (declarations === undefined) throw new Error(`not a reply of this endpoint: ${reply.slice(0, 200)}`)
  const section = what === "body" ? /<soap:Body>(.*)<\/soap:Body>/s.exec(reply)?.[1] : /<soap:Header>(.*)<\/soap:Header>/s.exec(reply)?.[1]
  if (section === undefined) throw new Error(`no ${what} in ${reply.slice(0, 200)}`)
  let element = section
  if (local !== undefined) {
    const m = new RegExp(`<([\\w]+:${local})\\b[^>]*?(?:/>|>.*?</\\1>)`, "s").exec(section)
    if (m === null) throw new Error(`no ${local} in ${section.slice(0, 300)}`)
    element = m[0]
  }
  return element.replace(/^<([\w:]+)/, `<$1 ${declarations}`)
}

const xmllint = (dir: string, schema: string, documents: ReadonlyArray<{ readonly name: string; readonly xml: string }>) => {
  const files = documents.map((d, i) => {
    const file = join(dir, `${String(i).padStart(3, "0")}-${d.name}.xml`)
    writeFileSync(file, d.xml)
    return file
  })
  const run = spawnSync("xmllint", ["--noout", "--nonet", "--schema", schema, ...files], {
    encoding: "utf8",
    env: { ...process.env, XML_CATALOG_FILES: join(dir, "catalog.xml") }
  })
  expect(run.stderr).not.toMatch(/failed to compile|Failed to locate|failed to load/i)
  const failures = files.filter((f) => !run.stderr.includes(`${f} validates`))
  return { failures, stderr: run.stderr }
}

describe("xmllint", () => {
  it("compiles the WSDL's embedded schema with the served imports, and every reply validates against it", async () => {
    needsXmllint()
    const dir = mkdtempSync(join(tmpdir(), "uws-soap-xsd-"))
    try {
      // The served documents, byte for byte; a catalog maps their URLs to the saved copies.
      const wsdl = await (await fetch(`${endpoint}?wsdl`)).text()
      const types = /<wsdl:types>(<xsd:schema .*<\/xsd:schema>)<\/wsdl:types>/s.exec(wsdl)?.[1]
      expect(types).toBeDefined()
      writeFileSync(join(dir, "types.xsd"), `<?xml version="1.0" encoding="UTF-8"?>${types}`)
      let catalog = `<?xml version="1.0"?><catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">`
      for (const name of ["uws", "xlink", "wsa"]) {
        const url = `${endpoint}?xsd=${name}`
        writeFileSync(join(dir, `${name}.xsd`), await (await fetch(url)).text())
        catalog += `<uri name="${url}" uri="${name}.xsd"/><system systemId="${url}" uri="${name}.xsd"/>`
      }
      writeFileSync(join(dir, "catalog.xml"), `${catalog}</catalog>`)

      // One reply of every operation, on jobs in the states that make each reply interesting.
      const created = await send("createJob", `<u:runId>x &amp; y</u:runId><u:parameter id="Q">a &lt; b</u:parameter><u:upload name="F" mimeType="text/plain">aGVsbG8=</u:upload><u:run>true</u:run>`)
      const jobId = /<u:jobId>([^<]+)<\/u:jobId>/.exec(created)![1]!
      let phase = ""
      for (let i = 0; i < 100 && phase !== "COMPLETED"; i++) phase = /<u:phase>(\w+)</.exec(await send("getPhase", "<u:wait>5</u:wait>", jobId))![1]!
      const failedCreate = await send("createJob", `<u:parameter id="ERROR">boom</u:parameter><u:run>1</u:run>`)
      const failedId = /<u:jobId>([^<]+)<\/u:jobId>/.exec(failedCreate)![1]!
      for (let i = 0; i < 100 && phase !== "ERROR"; i++) phase = /<u:phase>(\w+)</.exec(await send("getPhase", "<u:wait>5</u:wait>", failedId))![1]!
      const pending = /<u:jobId>([^<]+)<\/u:jobId>/.exec(await send("createJob", `<u:terminationTime xsi:nil="true"/>`))![1]!
      const toAbort = /<u:jobId>([^<]+)<\/u:jobId>/.exec(await send("createJob"))![1]!

      const replies: Record<string, string> = {
        createJob: created,
        getJobs: await send("getJobs", "<u:phase>COMPLETED</u:phase><u:phase>PENDING</u:phase>"),
        getJobsEmpty: await send("getJobs", "<u:phase>SUSPENDED</u:phase>"),
        getPhase: await send("getPhase", "", jobId),
        getQuote: await send("getQuote", "", jobId),
        getTerminationTime: await send("getTerminationTime", "", jobId),
        getResults: await send("getResults", "", jobId),
        getResultsEmpty: await send("getResults", "", pending),
        setTerminationTime: await send("setTerminationTime", `<u:terminationTime>${new Date(Date.now() + 86_400_000).toISOString()}</u:terminationTime>`, pending),
        getSummary: await send("getSummary", "", jobId),
        getSummaryFailed: await send("getSummary", "", failedId),
        getSummaryPending: await send("getSummary", "", pending),
        getError: await send("getError", "", failedId),
        getExecutionDuration: await send("getExecutionDuration", "", pending),
        setExecutionDuration: await send("setExecutionDuration", "<u:executionDuration>60</u:executionDuration>", pending),
        setParameters: await send("setParameters", `<u:parameter id="COST">5</u:parameter>`, pending),
        getQuoteState: await send("getQuoteState", "", jobId),
        getQuoteStatePending: await send("getQuoteState", "", pending),
        acceptQuote: await send("acceptQuote", "", pending),
        abort: await send("abort", "", toAbort),
        destroy: await send("destroy", "", pending)
      }
      const fault = await send("getPhase", "", "no-such-job")
      expect(fault).toContain("<soap:Fault>")

      const bodies = Object.entries(replies).map(([name, reply]) => ({ name, xml: extract(reply, "body") }))
      for (const b of bodies) expect(b.xml, b.name).toMatch(/^<u:\w+Response /)
      const documents = [
        ...bodies,
        { name: "fault-detail", xml: extract(fault, "body", "uwsFault") },
        { name: "header-ResourceIdentifier", xml: extract(replies["getPhase"]!, "header", "ResourceIdentifier") }
      ]
      const checked = xmllint(dir, join(dir, "types.xsd"), documents)
      expect(checked.failures, checked.stderr).toEqual([])
      // Every operation's reply was among them.
      for (const op of Operations.names) expect(Object.keys(replies)).toContain(op)

      // The WS-Addressing header blocks against the served WS-Addressing schema.
      const addressing = xmllint(dir, join(dir, "wsa.xsd"), [
        { name: "wsa-Action", xml: extract(replies["getPhase"]!, "header", "Action") },
        { name: "wsa-RelatesTo", xml: extract(replies["getPhase"]!, "header", "RelatesTo") },
        { name: "wsa-EndpointReference", xml: extract(created, "body", "EndpointReference") }
      ])
      expect(addressing.failures, addressing.stderr).toEqual([])

      // And the schema really checks: a reply with a phase UWS does not have fails.
      const broken = xmllint(dir, join(dir, "types.xsd"), [{ name: "broken", xml: bodies[3]!.xml.replace(/<u:phase>\w+</, "<u:phase>RUNNING<") }])
      expect(broken.failures).toHaveLength(1)
      expect(broken.stderr).toContain("RUNNING")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
