/**
 * The REST binding mounted under a path prefix in each host a service may already run: plain
 * node:http (with and without stripping the prefix), Express 5, Fastify 5 and Hono 4, over real
 * sockets. Each host runs the same client flow: create (with an inline upload) → 303 to the right
 * absolute URL, read, run, blocking wait, result download, sync facade, delete → 303 to the list.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { serve } from "@hono/node-server"
import express from "express"
import Fastify from "fastify"
import { Hono } from "hono"
import { mount } from "hono/mount"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Job as Jobs, Uws, Worker } from "@uws-kit/core"
import { RestAdapter } from "@uws-kit/adapter-rest"

const PREFIX = "/uws/echo"

const worker = Worker.make({
  name: "echo",
  run: async (job) => [{ id: "result", mimeType: "text/plain", content: `echo ${Jobs.parameter(job, "TEXT") ?? ""}` }]
})

let started: Uws.Started
beforeAll(async () => {
  started = await Uws.start({ worker, maxWait: 10_000 })
})
afterAll(async () => {
  await started.close()
})

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

const text = (xml: string, element: string) => new RegExp(`<uws:${element}>([^<]*)</uws:${element}>`).exec(xml)?.[1]

/** The whole client flow against a service whose public base URL is `base`. */
const flow = async (base: string, headers: Record<string, string> = {}, publicBase = base) => {
  const form = new FormData()
  form.append("TEXT", "hi")
  form.append("table", new Blob(["a,b\n1,2\n"], { type: "text/csv" }), "t.csv")
  const created = await fetch(`${base}/jobs`, { method: "POST", body: form, redirect: "manual", headers })
  expect(created.status, await created.clone().text()).toBe(303)
  const job = created.headers.get("location")!
  expect(job).toMatch(new RegExp(`^${publicBase.replace(/[.]/g, "\\.")}/jobs/[a-z2-7]{16}$`))
  const local = job.replace(publicBase, base)

  const read = await fetch(local, { headers })
  expect(read.status).toBe(200)
  const xml = await read.text()
  expect(text(xml, "phase")).toBe("PENDING")
  expect(xml).toContain(`<uws:parameter id="table" byReference="true">${job}/parameters/table</uws:parameter>`)
  expect(await (await fetch(`${local}/parameters/table`, { headers })).text()).toBe("a,b\n1,2\n")

  const run = await fetch(`${local}/phase`, { method: "POST", body: new URLSearchParams({ PHASE: "RUN" }), redirect: "manual", headers })
  expect(run.status).toBe(303)
  expect(run.headers.get("location")).toBe(job)

  let phase = ""
  for (let i = 0; i < 20 && phase !== "COMPLETED"; i++) {
    phase = text(await (await fetch(`${local}?WAIT=-1`, { headers })).text(), "phase")!
  }
  expect(phase).toBe("COMPLETED")

  const result = await fetch(`${local}/results/result`, { headers })
  expect(result.headers.get("content-type")).toBe("text/plain")
  expect(await result.text()).toBe("echo hi")

  // The sync facade: two redirects (to /sync/{id}, then to the result), followed as a proxy's
  // client would (the public URLs are mapped back to this server).
  let sync = await fetch(`${base}/sync?TEXT=now`, { headers, redirect: "manual" })
  const hops: Array<string> = []
  while (sync.status === 303) {
    const next = sync.headers.get("location")!
    hops.push(next)
    sync = await fetch(next.replace(publicBase, base), { headers, redirect: "manual" })
  }
  expect(hops[0]).toMatch(new RegExp(`^${publicBase.replace(/[.]/g, "\\.")}/sync/[a-z2-7]{16}$`))
  expect(hops[1]).toMatch(new RegExp(`^${publicBase.replace(/[.]/g, "\\.")}/jobs/[a-z2-7]{16}/results/result$`))
  expect(sync.status).toBe(200)
  expect(await sync.text()).toBe("echo now")

  const deleted = await fetch(local, { method: "DELETE", redirect: "manual", headers })
  expect(deleted.status).toBe(303)
  expect(deleted.headers.get("location")).toBe(`${publicBase}/jobs`)
  expect((await fetch(`${base}/jobs`, { headers })).status).toBe(200)
  expect((await fetch(local, { headers })).status).toBe(404)
}

describe("node:http", () => {
  it("routes the prefix to the listener without stripping it (basePath)", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: PREFIX })
    const server = createServer((req, res) => {
      if (req.url?.startsWith(`${PREFIX}/`)) return rest.listener(req, res)
      res.writeHead(404).end("not ours")
    })
    const port = await listen(server)
    try {
      await flow(`http://127.0.0.1:${port}${PREFIX}`)
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404)
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })

  it("works when the host strips the prefix, and behind a proxy (X-Forwarded-*)", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: PREFIX, trustForwarded: true }) // behind a proxy (the second flow)
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.url = req.url!.slice(PREFIX.length) || "/"
      rest.listener(req, res)
    })
    const port = await listen(server)
    try {
      await flow(`http://127.0.0.1:${port}${PREFIX}`)
      await flow(
        `http://127.0.0.1:${port}${PREFIX}`,
        { "x-forwarded-proto": "https", "x-forwarded-host": "archive.example.org", "x-forwarded-prefix": "/api" },
        `https://archive.example.org/api${PREFIX}`
      )
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })
})

describe("node:http limits", () => {
  it("answers 413 to an oversize body, streamed or not, and closes that connection; the next request works", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service, maxBodyBytes: 1000 })
    const server = createServer(rest.listener)
    const port = await listen(server)
    const url = `http://127.0.0.1:${port}/jobs`
    try {
      const sized = await fetch(url, { method: "POST", body: `A=${"x".repeat(5000)}`, headers: { "content-type": "application/x-www-form-urlencoded" } })
      expect(sized.status).toBe(413)
      expect(sized.headers.get("connection")).toBe("close")
      const chunks = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 50; i++) c.enqueue(new TextEncoder().encode("x".repeat(100)))
          c.close()
        }
      })
      const streamed = await fetch(url, { method: "POST", body: chunks, duplex: "half", headers: { "content-type": "application/x-www-form-urlencoded" } } as RequestInit)
      expect(streamed.status).toBe(413)
      const upload = new FormData()
      upload.append("f", new Blob([new Uint8Array(5000)]), "f.bin")
      expect((await fetch(url, { method: "POST", body: upload })).status).toBe(413)
      expect((await fetch(url)).status).toBe(200)
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })
})

describe("Express 5", () => {
  it("app.use(prefix, listener): the mount path comes from req.originalUrl, no basePath needed", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service })
    const app = express()
    app.use(PREFIX, rest.listener)
    app.use(express.urlencoded({ extended: false })) // the host's own parser, after the mount
    app.post("/other", (req, res) => {
      res.json(req.body)
    })
    const server = createServer(app)
    const port = await listen(server)
    try {
      await flow(`http://127.0.0.1:${port}${PREFIX}`)
      expect(await (await fetch(`http://127.0.0.1:${port}/other`, { method: "POST", body: new URLSearchParams({ a: "1" }) })).json()).toEqual({ a: "1" })
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })

  it("takes the caller from the host's authentication on the Node request (identifyNode)", async () => {
    const rest = RestAdapter.makeRestAdapter({
      service: started.service,
      identifyNode: (req) => ({ id: (req as IncomingMessage & { user?: string }).user ?? null })
    })
    const app = express()
    app.use((req, _res, next) => {
      ;(req as IncomingMessage & { user?: string }).user = req.headers["x-api-key"] === "k-alice" ? "alice" : "bob"
      next()
    })
    app.use(PREFIX, rest.listener)
    const server = createServer(app)
    const port = await listen(server)
    const base = `http://127.0.0.1:${port}${PREFIX}`
    try {
      const created = await fetch(`${base}/jobs`, { method: "POST", headers: { "x-api-key": "k-alice" }, redirect: "manual" })
      const job = created.headers.get("location")!
      expect(await (await fetch(`${job}/owner`, { headers: { "x-api-key": "k-alice" } })).text()).toBe("alice")
      expect((await fetch(job)).status).toBe(403)
      expect((await fetch(job, { method: "DELETE" })).status).toBe(403)
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })

  it("says so clearly (no hang) when a host body parser read the body first", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service })
    const app = express()
    app.use(express.urlencoded({ extended: false }))
    app.use(PREFIX, rest.listener)
    const server = createServer(app)
    const port = await listen(server)
    try {
      const res = await fetch(`http://127.0.0.1:${port}${PREFIX}/jobs`, { method: "POST", body: new URLSearchParams({ A: "1" }), redirect: "manual" })
      expect(res.status).toBe(500)
      expect(await res.text()).toMatch(/mount the UWS adapter before body parsers/)
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })
})

describe("Fastify 5", () => {
  it("an encapsulated plugin with a pass-through body parser hands the raw request to the listener", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: PREFIX })
    const app = Fastify()
    await app.register(
      async (scope) => {
        scope.removeAllContentTypeParsers()
        scope.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined))
        scope.all("/*", (request, reply) => {
          reply.hijack()
          rest.listener(request.raw, reply.raw)
        })
      },
      { prefix: PREFIX }
    )
    app.get("/other", async () => ({ ok: true }))
    await app.listen({ port: 0, host: "127.0.0.1" })
    const port = (app.server.address() as AddressInfo).port
    try {
      await flow(`http://127.0.0.1:${port}${PREFIX}`)
      expect(await (await fetch(`http://127.0.0.1:${port}/other`)).json()).toEqual({ ok: true })
    } finally {
      await rest.dispose()
      app.server.closeAllConnections()
      await app.close()
    }
  })
})

describe("Hono 4", () => {
  it("mount() strips the prefix; basePath puts it back in the URLs", async () => {
    const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: PREFIX })
    const app = new Hono()
    app.all(`${PREFIX}/*`, mount(rest.handler))
    app.get("/other", (c) => c.text("hono"))
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false }) as Server
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())))
    const port = (server.address() as AddressInfo).port
    try {
      await flow(`http://127.0.0.1:${port}${PREFIX}`)
      expect(await (await fetch(`http://127.0.0.1:${port}/other`)).text()).toBe("hono")
    } finally {
      await rest.dispose()
      await closeServer(server)
    }
  })
})
