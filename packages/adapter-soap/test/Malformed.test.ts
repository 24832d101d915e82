/**
 * Random malformed requests: valid envelopes of every operation, broken in random ways (cut,
 * spliced, renamed, re-namespaced, padded with DTDs, entities or junk, sent with the wrong
 * content type or version), and plain random bytes. Whatever arrives, the answer is a SOAP
 * fault with a readable reason (never a 5xx without a fault body, never a crash), and a fault
 * changes nothing: every job is exactly as it was.
 */
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { Namespaces, Operations, SoapAdapter } from "@uws-kit/adapter-soap"
import { Phase, Uws, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import { propertyRuns } from "@uws-kit/core/testing"
import { BASE, envelope, read, TNS } from "./helpers.js"

const admin = { id: null, admin: true } as const

let started: Uws.Started
let soap: SoapAdapter.SoapAdapter
let jobIds: ReadonlyArray<string>

const snapshot = async (): Promise<ReadonlyArray<Job>> =>
  (await Effect.runPromise(started.service.list(admin, { phases: Phase.all }))).jobs

/**
 * The jobs once the service has nothing left to do: a request that survived its mutation may
 * have committed or aborted a job, and the dispatcher reacts asynchronously.
 */
const quiet = async (): Promise<ReadonlyArray<Job>> => {
  let last = await snapshot()
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    const next = await snapshot()
    if (JSON.stringify(next) === JSON.stringify(last)) return next
    last = next
  }
  throw new Error("the service never settled")
}

beforeAll(async () => {
  // A worker that never finishes on its own: nothing moves unless a request moves it.
  started = await Uws.start({ worker: Worker.make({ name: "idle", run: () => Effect.never }), policy: { concurrency: 1 } })
  soap = SoapAdapter.makeSoapAdapter({ service: started.service, maxEnvelopeBytes: 4096 })
  const ids: Array<string> = []
  for (const run of [false, true, true]) {
    ids.push((await Effect.runPromise(started.service.create(admin, { run, parameters: [{ name: "Q", value: "x" }] }))).jobId)
  }
  await Effect.runPromise(started.service.abort(admin, ids[2]!))
  jobIds = ids
})

afterAll(() => started.close())

/** A valid request for an operation: its envelope, on one of the jobs. */
const validRequest = fc.record({
  op: fc.constantFrom(...Operations.all),
  version: fc.constantFrom("1.1" as const, "1.2" as const),
  job: fc.nat({ max: 2 })
}).map(({ op, version, job }) => {
  const content: Record<string, string> = {
    createJob: `<u:parameter id="A">1</u:parameter><u:executionDuration>60</u:executionDuration>`,
    getJobs: "<u:phase>PENDING</u:phase><u:last>3</u:last>",
    getPhase: "<u:wait>0</u:wait>",
    setTerminationTime: "<u:terminationTime>2099-01-01T00:00:00Z</u:terminationTime>",
    setExecutionDuration: "<u:executionDuration>30</u:executionDuration>"
  }
  return {
    op: op.name,
    version,
    xml: envelope(op.name, content[op.name] ?? "", {
      version,
      messageId: "urn:uuid:00000000-0000-4000-8000-000000000000",
      ...(op.jobSpecific ? { resourceId: `JOB${job}` } : {})
    })
  }
})

type Mutation = (xml: string) => string

const at = (xml: string, i: number) => Math.abs(i) % Math.max(1, xml.length)

/** Ways to break a document; each keeps a readable name for counterexamples. */
const mutation: fc.Arbitrary<[string, Mutation]> = fc.oneof(
  { weight: 1, arbitrary: fc.nat().map((i): [string, Mutation] => [`cut@${i}`, (x) => x.slice(0, at(x, i))]) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat()).map(([i, n]): [string, Mutation] => [`drop@${i}+${n % 20}`, (x) => x.slice(0, at(x, i)) + x.slice(at(x, i) + (n % 20) + 1)]) },
  { weight: 2, arbitrary: fc
    .tuple(fc.nat(), fc.constantFrom("<", ">", "&", "</x>", "<x>", '"', "]]>", "<!--", "\u0000", "\u0007", "&bogus;", "&#0;", "<?pi?>", "xmlns:u=\"urn:evil\" ", "<u:getJobs/>"))
    .map(([i, s]): [string, Mutation] => [`insert@${i}:${JSON.stringify(s)}`, (x) => x.slice(0, at(x, i)) + s + x.slice(at(x, i))]) },
  { weight: 6, arbitrary: fc.constantFrom<[string, Mutation]>(
    ["doctype", (x) => x.replace("?>", '?><!DOCTYPE s:Envelope [<!ENTITY e SYSTEM "file:///etc/passwd">]>')],
    ["billion-laughs", (x) => x.replace("?>", '?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>').replace("</s:Body>", "</s:Body>")],
    ["soap-ns→other", (x) => x.replace(/xmlns:s="[^"]*"/, 'xmlns:s="urn:not-soap"')],
    ["tns→other", (x) => x.replace(`xmlns:u="${TNS}"`, 'xmlns:u="urn:other"')],
    ["unbind-u", (x) => x.replace(`xmlns:u="${TNS}"`, "")],
    ["rename-op", (x) => x.replace(/<u:([A-Za-z]+)([ />])/, "<u:$1X$2").replace(/<\/u:([A-Za-z]+)>(<\/s:Body>)/, "</u:$1X>$2")],
    ["two-bodies", (x) => x.replace(/<s:Body>(.*)<\/s:Body>/, "<s:Body>$1</s:Body><s:Body>$1</s:Body>")],
    ["two-ops", (x) => x.replace(/<s:Body>(.*)<\/s:Body>/, "<s:Body>$1$1</s:Body>")],
    ["empty-body", (x) => x.replace(/<s:Body>.*<\/s:Body>/, "<s:Body></s:Body>")],
    ["no-body", (x) => x.replace(/<s:Body>.*<\/s:Body>/, "")],
    ["must-understand", (x) => x.replace("<s:Body>", '<s:Header><x:Sec xmlns:x="urn:sec" s:mustUnderstand="1"/></s:Header><s:Body>').replace("</s:Header><s:Header>", "")],
    ["duplicate-ResourceIdentifier", (x) => x.replace(/(<u:ResourceIdentifier>[^<]*<\/u:ResourceIdentifier>)/, "$1$1")],
    ["no-ResourceIdentifier", (x) => x.replace(/<u:ResourceIdentifier>[^<]*<\/u:ResourceIdentifier>/, "<x:Other xmlns:x=\"urn:x\"/>")],
    ["unknown-job", (x) => x.replace(/JOB\d/, "no-such-job")],
    ["bad-int", (x) => x.replace(/>(\d+)</, ">12x<")],
    ["bad-date", (x) => x.replace(/2099-01-01/, "2099-13-45")],
    ["extra-field", (x) => x.replace(/<\/u:([A-Za-z]+)><\/s:Body>/, "<u:surprise>1</u:surprise></u:$1></s:Body>")],
    ["text-in-body", (x) => x.replace("<s:Body>", "<s:Body>hello")],
    ["padding", (x) => x.replace("</s:Envelope>", `<!-- ${"p".repeat(5000)} --></s:Envelope>`)],
    ["junk-after-root", (x) => `${x}<junk/>`],
    ["not-xml", () => "this is not XML at all"],
    ["json", () => '{"op":"createJob"}']
  ) }
)

interface Transport {
  readonly name: string
  readonly headers: (version: "1.1" | "1.2", op: string) => Record<string, string>
}

const transports: ReadonlyArray<Transport> = [
  { name: "matching", headers: (v, op) => (v === "1.1" ? { "content-type": "text/xml", soapaction: `"${TNS}:${op}"` } : { "content-type": `application/soap+xml; action="${TNS}:${op}"` }) },
  { name: "swapped-version", headers: (v) => ({ "content-type": v === "1.1" ? "application/soap+xml" : "text/xml" }) },
  { name: "wrong-action", headers: (v) => (v === "1.1" ? { "content-type": "text/xml", soapaction: '"urn:wrong"' } : { "content-type": 'application/soap+xml; action="urn:wrong"' }) },
  { name: "json", headers: () => ({ "content-type": "application/json" }) },
  { name: "no-content-type", headers: () => ({}) },
  { name: "bad-charset", headers: () => ({ "content-type": "text/xml; charset=ebcdic-klingon" }) }
]

/** Mostly the right HTTP framing, so that the envelope's own faults get exercised. */
const transport: fc.Arbitrary<Transport> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(transports[0]!) },
  ...transports.slice(1).map((t) => ({ weight: 1, arbitrary: fc.constant(t) }))
)

const FAULT_STATUSES = new Set([400, 401, 404, 405, 413, 415, 500, 503])

/** Sends a request and checks the reply is a proper fault, or a proper reply. */
const exchange = async (body: Uint8Array | string, headers: Record<string, string>, method = "POST") => {
  const response = await soap.handler(new Request(BASE, { method, headers, body: typeof body === "string" ? body : new Uint8Array(body) }))
  const reply = await read(response)
  if (response.status >= 500 || reply.fault !== undefined || response.status !== 200) {
    expect(reply.fault, `status ${response.status} without a fault: ${reply.text.slice(0, 300)}`).toBeDefined()
    expect(FAULT_STATUSES.has(response.status), `status ${response.status}`).toBe(true)
    expect(reply.fault!.tag).not.toBe("")
    expect(reply.fault!.tag, reply.fault!.reason).not.toBe("InternalError")
    expect(reply.fault!.reason.length).toBeGreaterThan(10)
  }
  return reply
}

describe("malformed requests", () => {
  it("get faults and change nothing", async () => {
    const seen = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(validRequest, fc.array(mutation, { minLength: 1, maxLength: 3 }), transport, async (req, mutations, how) => {
        let xml = req.xml
        for (const [, m] of mutations) xml = m(xml)
        xml = xml.replace(/JOB(\d)/g, (_, i: string) => jobIds[Number(i)]!)
        const before = await quiet()
        const reply = await exchange(xml, how.headers(req.version, req.op))
        const tag = reply.fault?.tag ?? "ok"
        seen.set(tag, (seen.get(tag) ?? 0) + 1)
        if (reply.fault !== undefined) expect(await snapshot()).toEqual(before)
      }),
      { numRuns: propertyRuns(400) }
    )
    // The generator's power: mostly faults, of every kind a broken request can cause.
    const total = [...seen.values()].reduce((a, b) => a + b, 0)
    expect((seen.get("ok") ?? 0) / total).toBeLessThan(0.2)
    for (const tag of ["MalformedEnvelope", "ForbiddenDeclaration", "UnsupportedMediaType", "VersionMismatch", "EnvelopeTooLarge"]) {
      expect(seen.get(tag) ?? 0, `${tag} in ${JSON.stringify([...seen])}`).toBeGreaterThan(0)
    }
  })

  it("random bytes get faults and change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), transport, fc.constantFrom("1.1" as const, "1.2" as const), async (bytes, how, version) => {
        const before = await quiet()
        const reply = await exchange(bytes, how.headers(version, "getJobs"))
        expect(reply.fault).toBeDefined()
        expect(await snapshot()).toEqual(before)
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("a fault answers in the SOAP version the content type announced, echoing the MessageID it could read", async () => {
    const xml = envelope("getJobs", "<u:last>x</u:last>", { version: "1.2", messageId: "urn:uuid:abc" })
    const reply = await exchange(xml, { "content-type": "application/soap+xml" })
    expect(reply.contentType).toBe("application/soap+xml; charset=utf-8")
    expect(reply.status).toBe(400)
    expect(reply.root?.ns).toBe(Namespaces.soap12)
    expect(reply.header.find((h) => h.local === "RelatesTo")?.text).toBe("urn:uuid:abc")
  })
})
