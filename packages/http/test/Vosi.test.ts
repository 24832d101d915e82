/**
 * VOSI documents and routing: `match` finds exactly `{base}/availability|capabilities` (or the
 * same below a stripped mount) and nothing else; `serve` answers them in front of an app and
 * passes everything else on; values are escaped.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { propertyRuns } from "@uws-kit/core/testing"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Edge, Vosi } from "../src/index.js"

const segment = fc.stringMatching(/^[a-z0-9-]{1,8}$/)
const basePath = fc.array(segment, { maxLength: 3 }).map((s) => s.map((x) => `/${x}`).join(""))

describe("Vosi.match", () => {
  it("matches {base}/doc and /doc only", () => {
    fc.assert(
      fc.property(basePath, fc.array(segment, { maxLength: 4 }), fc.constantFrom("availability", "capabilities", "capability", "jobs"), (base, path, last) => {
        const p = `${path.map((s) => `/${s}`).join("")}/${last}`
        const before = p.slice(0, p.lastIndexOf("/"))
        const expected = (last === "availability" || last === "capabilities") && (before === base || before === "")
        const got = Vosi.match(p, base)
        expect(got !== undefined).toBe(expected)
        if (got !== undefined) expect(got).toEqual({ document: last, mount: before })
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("a job or result named like a document is not one", () => {
    expect(Vosi.match("/uws/echo/jobs/capabilities", "/uws/echo")).toBeUndefined()
    expect(Vosi.match("/uws/echo/capabilities/x", "/uws/echo")).toBeUndefined()
    expect(Vosi.match("/uws/echo/capabilities", "/uws/echo")).toEqual({ document: "capabilities", mount: "/uws/echo" })
  })
})

describe("Vosi.serve", () => {
  const app = Vosi.serve(Effect.succeed(HttpServerResponse.text("app")), {
    basePath: "/svc",
    trustForwarded: true,
    isAvailable: () => false,
    upSince: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    capabilities: (root) => [Vosi.uwsCapability(`${root}/jobs`, "a <b> & \"c\""), ...Vosi.vosiCapabilities(root)]
  })
  const edge = Edge.make(app, { mount: "/svc", dispose: async () => {} })

  it("answers the documents, with URLs from the (forwarded) request", async () => {
    const r = await edge.handler(new Request("http://h/svc/capabilities", { headers: { "x-forwarded-proto": "https", "x-forwarded-host": "pub.example", "x-forwarded-prefix": "/p" } }))
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toMatch(/^text\/xml/)
    const xml = await r.text()
    expect(xml).toContain(`<accessURL use="full">https://pub.example/p/svc/jobs</accessURL>`)
    expect(xml).toContain(`<description>a &lt;b&gt; &amp; "c"</description>`)
    expect(xml).toContain(`standardID="ivo://ivoa.net/std/VOSI#availability"`)
  })

  it("says when the binding is not taking requests, and since when it was up", async () => {
    const xml = await (await edge.handler(new Request("http://h/svc/availability"))).text()
    expect(xml).toContain("<vosi:available>false</vosi:available><vosi:upSince>2026-01-02T03:04:05Z</vosi:upSince>")
  })

  it("refuses changes (405) and leaves every other path to the app", async () => {
    const post = await edge.handler(new Request("http://h/svc/availability", { method: "POST" }))
    expect(post.status).toBe(405)
    expect(post.headers.get("allow")).toBe("GET, HEAD")
    expect(await (await edge.handler(new Request("http://h/svc/jobs"))).text()).toBe("app")
    expect(await (await edge.handler(new Request("http://h/other/capabilities"))).text()).toBe("app")
  })

  it("TableAccess: default ADQL 2.0 and VOTable, after the interfaces", () => {
    const xml = Vosi.capabilities([Vosi.tapCapability("http://h/tap")])
    expect(xml).toMatch(/<\/interface><language><name>ADQL<\/name><version ivo-id="ivo:\/\/ivoa.net\/std\/ADQL#v2.0">2.0<\/version>/)
    expect(xml).toContain("<outputFormat><mime>application/x-votable+xml</mime><alias>votable</alias></outputFormat>")
  })
})
