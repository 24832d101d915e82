/**
 * The HTTP edge of the SOAP binding against browsers (issue #8): a SOAP call sent by another
 * site's page (the literal headers Chromium sends for a cross-site `fetch` and for a
 * `enctype="text/plain"` form) is refused with a 403 fault and changes nothing; same-origin
 * pages, `Sec-Fetch-Site: none`, allowed origins and SOAP clients (no such headers) are served;
 * HEAD on every GET resource changes nothing.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SoapAdapter, Wsdl } from "@uws-kit/adapter-soap"
import { Identity, Uws, Worker } from "@uws-kit/core"
import { BASE, call, envelope, field, read, request } from "./helpers.js"

const echo = Worker.make({ name: "echo", run: async () => [{ id: "result", mimeType: "text/plain", content: "hello" }] })

let started: Awaited<ReturnType<typeof Uws.start>>
let adapter: SoapAdapter.SoapAdapter

beforeAll(async () => {
  started = await Uws.start({ worker: echo })
  adapter = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap", allowedOrigins: ["https://portal.example"] })
})

afterAll(async () => {
  await adapter.dispose()
  await started.close()
})

const jobs = async () =>
  JSON.stringify(
    await Effect.runPromise(
      started.service.list(Identity.system, { phases: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD", "SUSPENDED", "ARCHIVED", "UNKNOWN"] })
    )
  )

/** Chromium's headers on a cross-origin `fetch(…, { method: "POST", mode: "no-cors" })` from `origin`. */
const chromiumFetch = (origin: string, site: string): Record<string, string> => ({
  "sec-ch-ua": '"Chromium";v="120", "Not?A_Brand";v="8"',
  "sec-ch-ua-mobile": "?0",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "sec-ch-ua-platform": '"Linux"',
  accept: "*/*",
  origin,
  "sec-fetch-site": site,
  "sec-fetch-mode": "no-cors",
  "sec-fetch-dest": "empty",
  referer: `${origin}/`,
  "accept-encoding": "gzip, deflate, br",
  "accept-language": "en-US,en;q=0.9"
})

describe("cross-site SOAP calls (CSRF)", () => {
  it("refuses another site's page with a 403 fault in the request's SOAP version, and creates nothing", async () => {
    const before = await jobs()
    for (const version of ["1.1", "1.2"] as const) {
      const reply = await call(adapter.handler, "createJob", "<u:run>1</u:run>", { version, httpHeaders: chromiumFetch("http://evil.example", "cross-site") })
      expect(reply.status).toBe(403)
      expect(reply.fault?.tag).toBe("CrossSiteRequest")
      expect(reply.fault?.code).toBe(version === "1.1" ? "soap:Client" : "soap:Sender")
      expect(reply.fault?.reason).toContain("another site (http://evil.example)")
    }
    // A form with enctype="text/plain" carrying an envelope-looking text (Firefox's literal headers).
    const form = await adapter.handler(
      new Request(BASE, {
        method: "POST",
        headers: {
          "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
          "content-type": "text/plain",
          origin: "http://evil.example",
          "sec-fetch-dest": "document",
          "sec-fetch-mode": "navigate",
          "sec-fetch-site": "cross-site",
          "sec-fetch-user": "?1"
        },
        body: envelope("createJob", "<u:run>1</u:run>")
      })
    )
    expect(form.status).toBe(403)
    expect((await read(form)).fault?.tag).toBe("CrossSiteRequest")
    expect(await jobs()).toBe(before)
  })

  it("serves same-origin pages, the user's own navigation, allowed origins and SOAP clients", async () => {
    for (const headers of [
      chromiumFetch("http://uws.test", "same-origin"),
      chromiumFetch("http://uws.test", "none"),
      chromiumFetch("https://portal.example", "cross-site"),
      { origin: "http://uws.test" },
      {}
    ]) {
      const reply = await call(adapter.handler, "createJob", "", { httpHeaders: headers })
      expect(reply.status, JSON.stringify(headers)).toBe(200)
      expect(field(reply, "jobId")).toBeDefined()
    }
  })
})

describe("HEAD changes nothing", () => {
  it("on the WSDL, the schemas, the description and a result download", async () => {
    const created = await call(adapter.handler, "createJob", "<u:run>1</u:run>")
    const jobId = field(created, "jobId")!
    for (let i = 0; i < 50; i++) {
      const phase = field(await call(adapter.handler, "getPhase", "<u:wait>5</u:wait>", { resourceId: jobId }), "phase")
      if (phase === "COMPLETED") break
    }
    const before = await jobs()
    for (const query of ["?wsdl", ...Wsdl.schemaNames.map((n) => `?xsd=${n}`), "", `?job=${jobId}&result=result`, "?job=nope&result=x", "?xsd=nope"]) {
      const res = await adapter.handler(new Request(`${BASE}${query}`, { method: "HEAD" }))
      expect(res.status, query).toBeLessThan(500)
    }
    // A HEAD carrying an envelope is not a SOAP call.
    const head = await adapter.handler(new Request(BASE, { method: "HEAD", headers: { "content-type": "text/xml; charset=utf-8", soapaction: "createJob" } }))
    expect(head.status).toBe(200)
    expect(await jobs()).toBe(before)
    expect(request(envelope("getPhase", ""), "getPhase").method).toBe("POST")
  })

  it("the description page carries the pages' security headers", async () => {
    const res = await adapter.handler(new Request(BASE))
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'")
    expect(res.headers.get("x-frame-options")).toBe("DENY")
    expect(res.headers.get("referrer-policy")).toBe("same-origin")
    expect(res.headers.get("x-content-type-options")).toBe("nosniff")
  })
})
