/**
 * An Effect host: one `HttpLayerRouter` app of the host's own, with a route of its own and the
 * three bindings' `layer`s, served by `NodeHttpServer` over a real socket. The host's
 * authentication is a global middleware that provides `Identity.HostCaller`; each binding sees
 * that user as the readers of the other hosts do (the same exchanges).
 */
import { createServer } from "node:http"
import { HttpLayerRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Identity } from "@uws-kit/http"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { bindings, startServices, type Services } from "./bindings.js"
import { authenticate } from "./hosts.js"

let services: Services
beforeAll(async () => {
  services = await startServices()
})
afterAll(async () => {
  await services.close()
})

it("mounts REST, SOAP and the archive in the host's own router, each seeing the host's user", async () => {
  const edges = bindings.map((b) => b.make(services))

  // The host's authentication, for every route: its user becomes the bindings' caller.
  const Authenticated = HttpLayerRouter.middleware(
    (effect) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const user = authenticate(request.headers["x-user"])
        return user === undefined ? effect : Effect.provideService(effect, Identity.HostCaller, { id: user })
      }),
    { global: true }
  )
  const Own = HttpLayerRouter.add("GET", "/other", HttpServerResponse.text("Effect"))
  const App = Layer.mergeAll(Own, Authenticated, ...edges.map((edge) => edge.layer))
  const Server = HttpLayerRouter.serve(App, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )
  const host = ManagedRuntime.make(Server)
  try {
    const address = await host.runPromise(HttpServer.HttpServer.pipe(Effect.map((server) => server.address)))
    if (address._tag !== "TcpAddress") throw new Error("not listening on TCP")
    const origin = `http://127.0.0.1:${address.port}`
    for (const binding of bindings) await binding.exchange(`${origin}${binding.prefix}`)
    expect(await (await fetch(`${origin}/other`)).text()).toBe("Effect")
    expect((await fetch(`${origin}/nowhere`)).status).toBe(404)

  } finally {
    for (const edge of edges) await edge.dispose()
    await host.dispose()
  }
})
