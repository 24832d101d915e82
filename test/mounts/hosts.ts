/**
 * The four hosts a binding is mounted in by the mount tests, each with its own tiny
 * authentication that leaves the user where that host keeps it (node:http: a header the host
 * reads; Express: `req.user`; Fastify: `request.user`, a decorated request; Hono:
 * `c.get("user")`) and passes it to the binding as the caller, typed, per request. The user is
 * named by an `x-user` header: it stands in for a session or a token check. Each host serves the
 * binding under a path prefix, over a real socket, and answers one route of its own.
 *
 * These mounts are the snippets the root README's "Embedding" section shows.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { serve } from "@hono/node-server"
import express from "express"
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify"
import { Hono } from "hono"
import type { Edge, Identity } from "@uws-kit/http"

/**
 * What the hosts' own authentication knows about a user: the name. (A string, so that this
 * program-wide `req.user` declaration agrees with the other suites' Express hosts.)
 */
export type HostUser = string

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      user?: HostUser | undefined
    }
  }
}

declare module "fastify" {
  interface FastifyRequest {
    user: HostUser | undefined
  }
}

/** The hosts' authentication: the user a request's `x-user` header names, if any. */
export const authenticate = (header: string | ReadonlyArray<string> | null | undefined): HostUser | undefined =>
  typeof header === "string" && header !== "" ? header : undefined

/** The context a host passes the binding: its user as the caller (none: the binding decides). */
export const contextOf = (user: HostUser | undefined): Identity.HostContext => ({ caller: user === undefined ? undefined : { id: user } })

export interface Served {
  /** The binding's public base: `http://127.0.0.1:{port}{prefix}`. */
  readonly base: string
  /** The host's own route, answered by the host, not the binding. */
  readonly other: string
  readonly close: () => Promise<void>
}

export type HostName = "node:http" | "Express 5" | "Fastify 5" | "Hono 4"

/** Mounts `edge` at `prefix` (the binding's `basePath`), serving every path at and below it. */
export type Mount = (edge: Edge.Edge, prefix: string) => Promise<Served>

/** Listens on a free port of 127.0.0.1. */
export const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

/** Closes the server, its kept-alive connections first. */
export const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

const served = (server: Server, port: number, prefix: string): Served => ({
  base: `http://127.0.0.1:${port}${prefix}`,
  other: `http://127.0.0.1:${port}/other`,
  close: () => closeServer(server)
})

/** Whether `url` is the prefix or below it. */
const under = (url: string | undefined, prefix: string) => url !== undefined && (url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`))

const nodeHttp: Mount = async (edge, prefix) => {
  const server = createServer((req, res) => {
    if (!under(req.url, prefix)) return void res.end("node:http")
    edge.listener(req, res, contextOf(authenticate(req.headers["x-user"])))
  })
  return served(server, await listen(server), prefix)
}

const expressHost: Mount = async (edge, prefix) => {
  const app = express()
  app.use((req, _res, next) => {
    req.user = authenticate(req.headers["x-user"])
    next()
  })
  // A route, not `app.use(prefix, …)`: the binding sees the whole path, at the prefix and below.
  app.all(`${prefix}{/*rest}`, (req, res) => edge.listener(req, res, contextOf(req.user)))
  app.get("/other", (_req, res) => void res.type("text/plain").send("Express 5"))
  const server = createServer(app)
  return served(server, await listen(server), prefix)
}

const fastifyHost: Mount = async (edge, prefix) => {
  const app = Fastify()
  app.decorateRequest("user", undefined)
  app.addHook("onRequest", async (request) => {
    request.user = authenticate(request.headers["x-user"])
  })
  await app.register(
    async (scope) => {
      // The binding reads the body itself: Fastify must leave it unread.
      scope.removeAllContentTypeParsers()
      scope.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined))
      const forward = (request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack()
        edge.listener(request.raw, reply.raw, contextOf(request.user))
      }
      scope.all("/", forward)
      scope.all("/*", forward)
    },
    { prefix }
  )
  app.get("/other", async (_request, reply) => reply.type("text/plain").send("Fastify 5"))
  await app.listen({ port: 0, host: "127.0.0.1" })
  const port = (app.server.address() as AddressInfo).port
  return {
    ...served(app.server, port, prefix),
    close: async () => {
      app.server.closeAllConnections()
      await app.close()
    }
  }
}

const honoHost: Mount = async (edge, prefix) => {
  const app = new Hono<{ Variables: { user: HostUser | undefined } }>()
  app.use(async (c, next) => {
    c.set("user", authenticate(c.req.header("x-user")))
    await next()
  })
  app.all(prefix, (c) => edge.handler(c.req.raw, contextOf(c.get("user"))))
  app.all(`${prefix}/*`, (c) => edge.handler(c.req.raw, contextOf(c.get("user"))))
  app.get("/other", (c) => c.text("Hono 4"))
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false }) as Server
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())))
  return served(server, (server.address() as AddressInfo).port, prefix)
}

/** Every host, by name. */
export const hosts: ReadonlyArray<readonly [HostName, Mount]> = [
  ["node:http", nodeHttp],
  ["Express 5", expressHost],
  ["Fastify 5", fastifyHost],
  ["Hono 4", honoHost]
]

/** The `x-user` header naming `name` to the hosts' authentication. */
export const as = (name: string): Record<string, string> => ({ "x-user": name })
