/**
 * Hosts that strip the mount path before the binding sees the request: Express's
 * `app.use(prefix, listener)` (the prefix survives only in `req.originalUrl`) and Hono's
 * `mount(prefix, handler)` (no trace of it). Every binding must still route, and build its URLs
 * with the prefix the client used.
 */
import { createServer, type Server } from "node:http"
import { serve } from "@hono/node-server"
import express from "express"
import { Hono } from "hono"
import { afterAll, beforeAll, describe, it } from "vitest"
import type { Edge } from "@uws-kit/http"
import { bindings, startServices, type Services } from "./bindings.js"
import { authenticate, closeServer, contextOf, listen } from "./hosts.js"

let services: Services
beforeAll(async () => {
  services = await startServices()
})
afterAll(async () => {
  await services.close()
})

const stripping: ReadonlyArray<readonly [string, (edge: Edge.Edge, prefix: string) => Promise<{ base: string; close: () => Promise<void> }>]> = [
  [
    "Express 5 app.use(prefix, listener)",
    async (edge, prefix) => {
      const app = express()
      app.use((req, _res, next) => {
        req.user = authenticate(req.headers["x-user"])
        next()
      })
      app.use(prefix, (req, res) => edge.listener(req, res, contextOf(req.user)))
      const server = createServer(app)
      const port = await listen(server)
      return { base: `http://127.0.0.1:${port}${prefix}`, close: () => closeServer(server) }
    }
  ],
  [
    "Hono 4 mount(prefix, handler)",
    async (edge, prefix) => {
      const app = new Hono()
      app.mount(prefix, (request) => edge.handler(request, contextOf(authenticate(request.headers.get("x-user")))))
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false }) as Server
      await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())))
      const port = (server.address() as { port: number }).port
      return { base: `http://127.0.0.1:${port}${prefix}`, close: () => closeServer(server) }
    }
  ]
]

describe.each(stripping)("%s", (_hostName, mount) => {
  it.each(bindings.map((b) => [b.name, b] as const))("%s routes and answers under the stripped prefix", async (_name, binding) => {
    const edge = binding.make(services)
    const host = await mount(edge, binding.prefix)
    try {
      await binding.exchange(host.base)
    } finally {
      await edge.dispose()
      await host.close()
    }
  })
})
