/**
 * AccessLog: route templates (the metrics' labels: bounded, whatever the path) and one log line a
 * request with its fields, over a real Node server.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, HashMap, Logger, ManagedRuntime, Metric } from "effect"
import fc from "fast-check"
import { propertyRuns } from "@uws-kit/core/testing"
import type { IncomingMessage, ServerResponse } from "node:http"
import { describe, expect, it } from "vitest"
import { AccessLog } from "@uws-kit/http"

const templates = AccessLog.routeTemplates(["/", "/uws/echo", "/uws/sleep", "/api", "/health"])

describe("AccessLog.routeTemplates", () => {
  it("templates UWS paths and names the job", () => {
    expect(templates("/uws/echo/jobs/abc123/results/out%20put")).toEqual({ template: "/uws/{service}/jobs/{id}/results/{result}", jobId: "abc123" })
    expect(templates("/uws/sleep/async/j9/phase")).toEqual({ template: "/uws/{service}/async/{id}/phase", jobId: "j9" })
    expect(templates("/uws/echo/jobs")).toEqual({ template: "/uws/{service}/jobs" })
    expect(templates("/")).toEqual({ template: "/" })
    expect(templates("/health")).toEqual({ template: "/health" })
    expect(templates("/nowhere/x")).toEqual({ template: "/{unmatched}" })
  })
  it("property: a template never carries a segment the client chose", () => {
    const segment = fc.oneof(fc.string(), fc.constantFrom("jobs", "results", "phase", "%zz", ".."))
    fc.assert(
      fc.property(fc.constantFrom("/uws/echo", "/api", "/x", ""), fc.array(segment, { maxLength: 6 }), (prefix, segments) => {
        const t = AccessLog.routeTemplates(["/", "/uws/echo", "/api"])(`${prefix}/${segments.map(encodeURIComponent).join("/")}`).template
        for (const part of t.split("/").filter((p) => p !== "")) {
          expect(["uws", "api", "jobs", "results", "phase", "{service}", "{id}", "{result}", "{name}", "{unmatched}"]).toContain(part)
        }
      }),
      { numRuns: propertyRuns(200) }
    )
  })
  it("property: a path templates the same after many others (the remembered paths are bounded)", () => {
    const prefixes = ["/", "/uws/echo", "/api"]
    const cached = AccessLog.routeTemplates(prefixes)
    // More distinct paths than it remembers, so later ones are templated again or evicted.
    for (let i = 0; i < 3000; i++) expect(cached(`/uws/echo/jobs/filler${i}`)).toEqual({ template: "/uws/{service}/jobs/{id}", jobId: `filler${i}` })
    const segment = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("jobs", "results", "phase", "%zz"))
    const path = fc.tuple(fc.constantFrom("/uws/echo", "/api", "/x"), fc.array(segment, { maxLength: 4 })).map(([p, ss]) => `${p}/${ss.map(encodeURIComponent).join("/")}`)
    fc.assert(
      fc.property(fc.array(path, { minLength: 1, maxLength: 40 }), (paths) => {
        for (const p of [...paths, ...paths]) {
          const got = cached(p)
          // Past its bound on templates, a long-lived one names new templates /{other} (next test).
          if (got.template !== "/{other}") expect(got).toEqual(AccessLog.routeTemplates(prefixes)(p))
        }
      }),
      { numRuns: propertyRuns(100) }
    )
  })
  it("property: no client can make more than 257 templates (the metrics' series), by depth or by word order", () => {
    const words = fc.constantFrom("jobs", "results", "phase", "async", "error", "quote", "owner", "x")
    fc.assert(
      fc.property(fc.array(fc.array(words, { minLength: 3, maxLength: 30 }), { minLength: 1000, maxLength: 2000 }), (paths) => {
        const route = AccessLog.routeTemplates(["/uws/echo"])
        const seen = new Set(paths.map((ss) => route(`/uws/echo/${ss.join("/")}`).template))
        expect(seen.size).toBeLessThanOrEqual(257)
        for (const t of seen) expect(t.split("/").length).toBeLessThanOrEqual(11)
      }),
      { numRuns: propertyRuns(10) }
    )
    expect(AccessLog.routeTemplates(["/uws/echo"])("/uws/echo/jobs/1/results/r/a/b/c/d/e").template).toBe("/uws/{service}/jobs/{id}/results/{result}/{name}/{name}/{more}")
  })
})

const serve = async (listener: (req: IncomingMessage, res: ServerResponse) => void, go: (url: string) => Promise<void>) => {
  const server = createServer(listener)
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  try {
    await go(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}
const requestsOf = (route: string, method: string, status: string) =>
  Effect.runSync(Metric.value(Metric.tagged(Metric.tagged(Metric.tagged(AccessLog.metrics.requests, "route", route), "method", method), "status", status))).count
const durationsOf = (route: string) => Effect.runSync(Metric.value(Metric.tagged(AccessLog.metrics.duration, "route", route))).count

describe("AccessLog.wrap", () => {
  it("logs method, path, status, bytes, duration, caller and job id, and counts by template", async () => {
    const lines: Array<Record<string, unknown>> = []
    const capture = Logger.make(({ annotations, message }) => {
      lines.push({ message: Array.isArray(message) ? message[0] : message, ...Object.fromEntries(HashMap.toEntries(annotations)) })
    })
    const listener = AccessLog.wrap(
      (_req, res) => {
        res.writeHead(201, { "content-type": "text/plain" })
        res.write("héllo ")
        res.end(Buffer.from("world"))
      },
      { route: templates, caller: () => "client:test", run: (e) => Effect.runSync(Effect.provide(e, Logger.replace(Logger.defaultLogger, capture))) }
    )
    const server = createServer(listener)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    try {
      const { port } = server.address() as AddressInfo
      const res = await fetch(`http://127.0.0.1:${port}/uws/echo/jobs/J1/phase?x=1`, { method: "POST" })
      expect(await res.text()).toBe("héllo world")
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      await new Promise((r) => server.close(r))
    }
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ message: "request", method: "POST", path: "/uws/echo/jobs/J1/phase", status: 201, bytes: 12, caller: "client:test", jobId: "J1" })
    expect(typeof lines[0]!["durationMs"]).toBe("number")
    const requests = Metric.tagged(Metric.tagged(Metric.tagged(AccessLog.metrics.requests, "route", "/uws/{service}/jobs/{id}/phase"), "method", "POST"), "status", "201")
    expect(Effect.runSync(Metric.value(requests)).count).toBe(1)
  })

  it("counts without logging and without running anything, into the series record keeps", async () => {
    const route = AccessLog.routeTemplates(["/count"])
    const listener = AccessLog.wrap((_req, res) => {
      res.statusCode = 418
      res.end("teapot")
    }, { route, log: false, run: () => { throw new Error("nothing is run when only counting") } })
    await serve(listener, async (url) => {
      for (let i = 0; i < 3; i++) expect((await fetch(`${url}/count/jobs?x=${i}`, { method: "PUT" })).status).toBe(418)
    })
    expect(requestsOf("/count/jobs", "PUT", "418")).toBe(3)
    expect(durationsOf("/count/jobs")).toBe(3)
    Effect.runSync(AccessLog.record({ method: "PUT", path: "/count/jobs", route: "/count/jobs", status: 418, bytes: 0, durationMs: 1 }))
    expect(requestsOf("/count/jobs", "PUT", "418")).toBe(4)
    expect(durationsOf("/count/jobs")).toBe(4)
  })

  it("counts and logs a request whose client went away as 499", async () => {
    const lines: Array<Record<string, unknown>> = []
    const capture = Logger.make(({ annotations }) => void lines.push(Object.fromEntries(HashMap.toEntries(annotations))))
    let reached: () => void
    const inside = new Promise<void>((r) => (reached = r))
    const listener = AccessLog.wrap(() => reached(), {
      route: AccessLog.routeTemplates(["/gone"]),
      run: (e) => Effect.runSync(Effect.provide(e, Logger.replace(Logger.defaultLogger, capture)))
    })
    await serve(listener, async (url) => {
      const aborting = new AbortController()
      const sent = fetch(`${url}/gone/away`, { signal: aborting.signal }).catch(() => undefined)
      await inside
      aborting.abort()
      await sent
      for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    })
    expect(lines).toMatchObject([{ path: "/gone/away", status: 499, bytes: 0, method: "GET" }])
    expect(requestsOf("/gone/{name}", "GET", "499")).toBe(1)
  })

  it("logs every line of a burst once, the held ones at close, and none after it (the runtime may be gone)", async () => {
    const lines: Array<string> = []
    const capture = Logger.make(({ annotations }) => void lines.push(String(HashMap.unsafeGet(annotations, "path"))))
    const runtime = ManagedRuntime.make(Logger.replace(Logger.defaultLogger, capture))
    let atClose: Array<string> | undefined
    const listener: AccessLog.Observed = AccessLog.wrap((req, res) => {
      if (req.url === "/burst/last") {
        // After the wrapper's own close listener: this request's line is held, not yet logged.
        res.once("close", () => {
          listener.close()
          atClose = [...lines]
        })
      }
      res.end("ok")
    }, { route: AccessLog.routeTemplates(["/burst"]), run: (e) => runtime.runSync(e) })
    await serve(listener, async (url) => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${url}/burst/${i}`).then((r) => r.text())))
      await new Promise((r) => setTimeout(r, 20))
      expect(lines.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `/burst/${i}`).sort())
      await (await fetch(`${url}/burst/last`)).text()
      await new Promise((r) => setTimeout(r, 20))
      expect(atClose).toContain("/burst/last")
      await runtime.dispose()
      // Served after close: counted, not logged, and nothing runs on the disposed runtime.
      expect((await fetch(`${url}/burst/after`)).status).toBe(200)
      await new Promise((r) => setTimeout(r, 20))
    })
    expect(lines).toHaveLength(21)
    expect(requestsOf("/burst/{name}", "GET", "200")).toBe(22)
  })
})
