/**
 * Routing from declared routes: each declared method answers, every other method gets the
 * binding's 405 with an `Allow` derived from the declaration, OPTIONS lists it, HEAD is answered
 * by GET unless the GET has effects, and an undeclared path is not routed (the binding's 404).
 */
import * as HttpApp from "@effect/platform/HttpApp"
import { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Routes } from "../src/index.js"

const text = (s: string) => () => Effect.succeed(HttpServerResponse.text(s))
const routes: ReadonlyArray<Routes.Route<string, never, never>> = [
  { path: "/jobs", methods: { GET: text("list"), POST: text("created") } },
  { path: "/jobs/:id", methods: { GET: (p, input) => Effect.succeed(HttpServerResponse.text(`${input} ${p["id"]}`)), DELETE: text("deleted") } },
  { path: "/sync", methods: { GET: text("ran"), POST: text("ran") }, effectfulGet: true }
]
const route = Routes.make(routes, {
  methodNotAllowed: (method, allow) => Effect.succeed(HttpServerResponse.text(`no ${method}`, { status: 405, headers: { allow } }))
})
const app = Effect.flatMap(
  HttpServerRequest,
  (request) => route(request.method, request.url, "job") ?? Effect.succeed(HttpServerResponse.text("none", { status: 404 }))
)
const handler = HttpApp.toWebHandler(app)
const call = (path: string, method = "GET") => handler(new Request(`http://x${path}`, { method }))

describe("Routes", () => {
  it("answers the declared methods, with path parameters", async () => {
    expect(await (await call("/jobs")).text()).toBe("list")
    expect(await (await call("/jobs", "POST")).text()).toBe("created")
    expect(await (await call("/jobs/a%20b")).text()).toBe("job a b")
  })

  it("405 with Allow from the declaration for any other method, OPTIONS lists it, unknown paths are not found", async () => {
    const put = await call("/jobs/1", "PUT")
    expect(put.status).toBe(405)
    expect(put.headers.get("allow")).toBe("GET, DELETE, HEAD, OPTIONS")
    expect(await put.text()).toBe("no PUT")
    const options = await call("/jobs", "OPTIONS")
    expect(options.status).toBe(204)
    expect(options.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS")
    const trace = await call("/jobs", "PROPFIND")
    expect(trace.status).toBe(405)
    expect(trace.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS")
    expect((await call("/nothing")).status).toBe(404)
    expect((await call("/JOBS")).status).toBe(404)
  })

  it("routes a path parameter of any length (find-my-way's default bound of 100 made it a 404)", async () => {
    const long = "j".repeat(5000)
    expect(await (await call(`/jobs/${long}`)).text()).toBe(`job ${long}`)
    expect(await (await call(`/jobs/${"%C3%A9".repeat(200)}`)).text()).toBe(`job ${"é".repeat(200)}`)
  })

  it("a method named like an Object member is not declared: 405", async () => {
    const res = await call("/jobs", "toString")
    expect(res.status).toBe(405)
    expect(res.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS")
  })

  it("HEAD is answered by GET, except where GET has effects", async () => {
    const head = await call("/jobs", "HEAD")
    expect(head.status).toBe(200)
    const sync = await call("/sync", "HEAD")
    expect(sync.status).toBe(405)
    expect(sync.headers.get("allow")).toBe("GET, POST, OPTIONS")
  })

  it("for any route and method, the method is answered iff declared (HEAD/OPTIONS by the rules), else 405 naming exactly the Allow", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"), async (route, method) => {
        const res = await call(route.path.replace(":id", "7"), method)
        const allow = Routes.allowOf(route).split(", ")
        if (allow.includes(method)) expect(res.status).toBe(method === "OPTIONS" ? 204 : 200)
        else {
          expect(res.status).toBe(405)
          expect(res.headers.get("allow")).toBe(Routes.allowOf(route))
        }
      })
    )
  })
})
