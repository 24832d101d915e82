/**
 * The identity contract through the edge: anonymous by default; `identify` throwing (an
 * `Unauthorized` or anything else) or rejecting refuses with the binding's 401; an answer that is
 * no caller is a 500; a caller the host authenticated, passed with the request to the handler,
 * the listener, the context hook or `HostCaller`, wins over `identify`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as CoreIdentity from "@uws-kit/core/Identity"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { Edge, Identity } from "../src/index.js"

const serve = (options: Identity.Options, hooks?: Edge.ContextHooks) =>
  Edge.make(
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      return yield* Identity.resolve(
        request,
        options,
        {
          unauthorized: (e) => HttpServerResponse.text(`${e instanceof Error ? e.message : String(e)}`, { status: 401 }),
          notACaller: () => HttpServerResponse.text("500", { status: 500 })
        },
        () => `http://x${request.url}`
      ).pipe(
        Effect.map((caller) => HttpServerResponse.text(caller.id ?? "anonymous")),
        Effect.merge
      )
    }),
    { mount: "", dispose: async () => {}, context: hooks }
  )

const answer = async (res: Promise<Response>) => {
  const r = await res
  return `${r.status} ${await r.text()}`
}

let server: Server | undefined
afterEach(() => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))))
const listen = async (listener: (req: IncomingMessage, res: import("node:http").ServerResponse) => void) => {
  server = createServer(listener)
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe("Identity", () => {
  it("anonymous by default; identify's caller otherwise", async () => {
    expect(await answer(serve({}).handler(new Request("http://x/")))).toBe("200 anonymous")
    const edge = serve({ identify: (r) => CoreIdentity.user(r.headers.get("x-user") ?? "?") })
    expect(await answer(edge.handler(new Request("http://x/", { headers: { "x-user": "ann" } })))).toBe("200 ann")
  })

  it("a throw, an Unauthorized or a rejection is the binding's 401; no caller is a 500", async () => {
    expect(await answer(serve({ identify: () => { throw new Identity.Unauthorized({ message: "bad token" }) } }).handler(new Request("http://x/")))).toBe("401 bad token")
    expect(await answer(serve({ identify: () => Promise.reject(new Error("expired")) }).handler(new Request("http://x/")))).toBe("401 expired")
    const broken: Identity.Identify<Request> = () => JSON.parse("null") as CoreIdentity.Caller
    expect(await answer(serve({ identify: broken }).handler(new Request("http://x/")))).toBe("500 500")
  })

  it("the caller the host passes to the handler wins over identify; its context hook too, and its throw is a 401", async () => {
    const edge = serve({ identify: () => CoreIdentity.user("from-identify") })
    expect(await answer(edge.handler(new Request("http://x/"), { caller: CoreIdentity.user("host") }))).toBe("200 host")
    expect(await answer(edge.handler(new Request("http://x/")))).toBe("200 from-identify")
    const hooked = serve({}, { web: (r) => ({ caller: CoreIdentity.user(r.headers.get("x-user") ?? "nobody") }) })
    expect(await answer(hooked.handler(new Request("http://x/", { headers: { "x-user": "bea" } })))).toBe("200 bea")
    const refusing = serve({}, { web: () => Promise.reject(new Error("no session")) })
    expect(await answer(refusing.handler(new Request("http://x/")))).toBe("401 no session")
  })

  it("the caller the host passes to the listener (Express's req.user) wins; the node hook and identifyNode read the Node request", async () => {
    type Authenticated = IncomingMessage & { user?: string }
    const edge = serve({ identify: () => CoreIdentity.user("from-identify") })
    const base = await listen((req, res) => {
      const user = (req as Authenticated).user ?? req.headers["x-user"]
      edge.listener(req, res, typeof user === "string" ? { caller: CoreIdentity.user(user) } : undefined)
    })
    expect(await answer(fetch(`${base}/`, { headers: { "x-user": "cid" } }))).toBe("200 cid")
    expect(await answer(fetch(`${base}/`))).toBe("200 from-identify")
    server!.close()
    const hooked = serve({}, { node: (req) => ({ caller: CoreIdentity.user(String(req.headers["x-user"])) }) })
    const base2 = await listen((req, res) => hooked.listener(req, res))
    expect(await answer(fetch(`${base2}/`, { headers: { "x-user": "dee" } }))).toBe("200 dee")
    server!.close()
    const legacy = serve({ identifyNode: (req) => CoreIdentity.user(String(req.headers["x-user"])), identify: () => CoreIdentity.user("web") })
    const base3 = await listen((req, res) => legacy.listener(req, res))
    expect(await answer(fetch(`${base3}/`, { headers: { "x-user": "eve" } }))).toBe("200 eve")
  })

  it("an Effect host passes its caller with HostCaller", async () => {
    const edge = serve({ identify: () => CoreIdentity.user("from-identify") })
    const res = await Effect.runPromise(
      edge.app.pipe(
        Effect.provideService(Identity.HostCaller, CoreIdentity.user("effect-host")),
        Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(new Request("http://x/"))),
        Effect.scoped
      )
    )
    expect(res.status).toBe(200)
    expect(res.body._tag === "Uint8Array" ? new TextDecoder().decode(res.body.body) : "").toBe("effect-host")
  })
})
