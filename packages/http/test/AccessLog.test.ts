/**
 * AccessLog: route templates (the metrics' labels: bounded, whatever the path) and one log line a
 * request with its fields, over a real Node server.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, HashMap, Logger, Metric } from "effect"
import fc from "fast-check"
import { propertyRuns } from "@uws-kit/core/testing"
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
})

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
})
