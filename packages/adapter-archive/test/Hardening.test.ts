/**
 * The HTTP edge of the archive API (issue #8): cross-site uploads, searches and deletes sent by
 * another site's page are refused (403 envelope) and change nothing, while same-origin pages and
 * clients that are not browsers work; HEAD changes nothing, in process and over node:http,
 * whatever body it carries; a client that half-closes after its complete upload is answered; an
 * upload refused before the end of its body is answered over node:http, even to a client that
 * reads only once its whole body is sent; an upload aborted mid-body leaves no spool once its
 * request is over; a delete during a signature download leaves the download complete or cleanly
 * reset, and nothing logged as unhandled.
 */
import * as fs from "node:fs/promises"
import { createServer, request } from "node:http"
import { connect, type AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { FilesystemStorage, MemoryStorage } from "@uws-kit/adapter-archive"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import { afterEach, describe, expect, it, vi } from "vitest"
import { isErrorEnvelope, makeHarness, seedForm, type Harness } from "./support/harness.js"

const open: Array<Harness> = []
const dirs: Array<string> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})

const memoryHarness = async (adapter: Record<string, unknown> = {}) => {
  const h = await makeHarness({ storages: [{ name: "memory", plugin: MemoryStorage.make() }], adapter })
  open.push(h)
  return h
}

const containers = async (h: Harness) =>
  JSON.stringify(await Effect.runPromise(h.archive.uws.list({ id: null, admin: true }, { phases: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD", "SUSPENDED", "ARCHIVED", "UNKNOWN"] })))

/** Chromium's headers on a form (multipart) posted from a page of `origin`. */
const chromiumForm = (origin: string, site: string): Record<string, string> => ({
  "cache-control": "max-age=0",
  "sec-ch-ua": '"Chromium";v="120", "Not?A_Brand";v="8"',
  "sec-ch-ua-mobile": "?0",
  "sec-ch-ua-platform": '"Linux"',
  "upgrade-insecure-requests": "1",
  origin,
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
  "sec-fetch-site": site,
  "sec-fetch-mode": "navigate",
  "sec-fetch-user": "?1",
  "sec-fetch-dest": "document",
  referer: `${origin}/`,
  "accept-language": "en-US,en;q=0.9"
})

/** Firefox's headers on a cross-origin `fetch(url, { method: "DELETE" })` (sent after a preflight, or by a no-cors POST). */
const firefoxFetch = (origin: string, site: string): Record<string, string> => ({
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  accept: "*/*",
  "accept-language": "en-US,en;q=0.5",
  referer: `${origin}/`,
  origin,
  "sec-fetch-dest": "empty",
  "sec-fetch-mode": "cors",
  "sec-fetch-site": site
})

describe("cross-site requests (CSRF)", () => {
  it("refuses another site's upload, search and delete with a 403 envelope, and changes nothing", async () => {
    const h = await memoryHarness()
    const id = (await h.json("POST", "/api/document/content", seedForm({ SaveType: "Temporary", ArchiveDate: "2099-01-01" }), { "x-caller": "4" })).body.data as string
    await h.settle()
    const before = await containers(h)
    const upload = await h.json("POST", "/api/document/content", seedForm(), { ...chromiumForm("http://evil.example", "cross-site"), "x-caller": "4" })
    expect(upload.status).toBe(403)
    expect(isErrorEnvelope(upload.body, "CrossSiteRequest")).toBe(true)
    expect(upload.body.errorDescription).toContain("another site (http://evil.example)")
    const search = await h.json("POST", "/api/document/search", "{}", { ...firefoxFetch("http://evil.example", "cross-site"), "content-type": "text/plain;charset=UTF-8", "x-caller": "4" })
    expect(search.status).toBe(403)
    const remove = await h.json("DELETE", `/api/document/${id}`, undefined, { ...firefoxFetch("http://evil.example", "cross-site"), "x-caller": "4" })
    expect(remove.status).toBe(403)
    expect(isErrorEnvelope(remove.body, "CrossSiteRequest")).toBe(true)
    expect(await containers(h)).toBe(before)
  })

  it("serves same-origin pages, the user's own navigation, allowed origins and clients that are not browsers", async () => {
    const h = await memoryHarness({ allowedOrigins: ["https://portal.example"] })
    for (const headers of [
      chromiumForm("http://archive.test", "same-origin"),
      chromiumForm("http://archive.test", "none"),
      chromiumForm("https://portal.example", "cross-site"),
      { origin: "http://archive.test" },
      { "user-agent": "curl/8.5.0", accept: "*/*" }
    ]) {
      const upload = await h.json("POST", "/api/document/content", seedForm(), { ...headers, "x-caller": "4" })
      expect(upload.status, JSON.stringify(headers)).toBe(200)
    }
    expect((await h.json("POST", "/api/document/search", "{}", { ...firefoxFetch("http://archive.test", "same-origin"), "x-caller": "4" })).status).toBe(200)
  })

  it("believes X-Forwarded-* only when told to (behind a proxy): a direct client cannot forge its way to same-origin", async () => {
    const proxied = { origin: "https://archive.example", "x-forwarded-host": "archive.example", "x-forwarded-proto": "https", "x-caller": "4" }
    const direct = await memoryHarness()
    const forged = await direct.json("POST", "/api/document/content", seedForm(), proxied)
    expect(forged.status).toBe(403)
    expect(isErrorEnvelope(forged.body, "CrossSiteRequest")).toBe(true)
    const behindProxy = await memoryHarness({ trustForwarded: true })
    expect((await behindProxy.json("POST", "/api/document/content", seedForm(), proxied)).status).toBe(200)
  })
})

describe("HEAD changes nothing", () => {
  it("on every route: answered like GET where GET is a route, 405 elsewhere; the containers are the same after", async () => {
    const h = await memoryHarness()
    const id = (await h.json("POST", "/api/document/content", seedForm({ SaveType: "Temporary", ArchiveDate: "2099-01-01" }), { "x-caller": "4" })).body.data as string
    await h.settle()
    const before = await containers(h)
    for (const [route, expected] of [
      [`/api/document/${id}`, 200],
      [`/api/document/${id}/status`, 200],
      [`/api/document/${id}/sign`, 200],
      ["/api/dictionary/statuses", 200],
      ["/api/user/storages", 200],
      ["/api/plugins", 200],
      ["/api/document/content", 405],
      ["/api/document/search", 405],
      ["/api/document/4d7c8c2e-0000-4000-8000-000000000000", 404],
      ["/api/nothing", 404]
    ] as const) {
      const head = await h.call("HEAD", route, undefined, { "x-caller": "4" })
      const get = await h.call("GET", route, undefined, { "x-caller": "4" })
      expect(head.status, `HEAD ${route}`).toBe(expected)
      if (expected === 200) {
        expect(head.headers.get("content-type"), route).toBe(get.headers.get("content-type"))
        expect(head.headers.get("content-length"), route).toBe(get.headers.get("content-length"))
      }
    }
    expect(await containers(h)).toBe(before)
  })
})

/** Serves the adapter's Node listener on a loopback port; every listener promise is kept. */
const serve = async (h: Harness) => {
  const settled: Array<Promise<void>> = []
  const server = createServer((req, res) => void settled.push(h.api.listener(req, res)))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    /** Every request the server got, over (spool removed). */
    over: () => Promise.all(settled),
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Raw HTTP/1.1 over a socket: what a client writes, then the whole answer once the server closes. */
const exchange = (port: number, head: string, body: Buffer | string = "", then: "half-close" | "wait" = "wait") =>
  new Promise<{ readonly status: number | undefined; readonly headers: string; readonly body: string }>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    const chunks: Array<Buffer> = []
    socket.on("data", (d: Buffer) => chunks.push(d))
    // The server may answer and close before it read a body it does not need (EPIPE, reset).
    socket.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e)))
    socket.on("close", () => {
      const raw = Buffer.concat(chunks).toString("latin1")
      const split = raw.indexOf("\r\n\r\n")
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]) || undefined,
        headers: split < 0 ? raw : raw.slice(0, split).toLowerCase(),
        body: split < 0 ? "" : Buffer.from(raw.slice(split + 4), "latin1").toString("utf8")
      })
    })
    socket.write(head, "latin1")
    socket.write(body)
    if (then === "half-close") socket.end()
  })

const headerOf = (headers: string, name: string) => new RegExp(`\r\n${name}: *([^\r]*)`).exec(headers)?.[1]

/** The seed's upload as raw multipart bytes, with its boundary. */
const seedBody = async (fields: Record<string, string> = {}) => {
  const encoded = new Request("http://x/", { method: "POST", body: seedForm({ SaveType: "Temporary", ArchiveDate: "2099-01-01", ...fields }) })
  return { contentType: encoded.headers.get("content-type")!, bytes: Buffer.from(await encoded.arrayBuffer()) }
}

describe("over node:http (the Node listener)", () => {
  it("HEAD with a body (a many-part multipart form, 17 MiB of octets) is answered like GET, without a body, and changes nothing", async () => {
    const h = await memoryHarness()
    const id = (await h.json("POST", "/api/document/content", seedForm({ SaveType: "Temporary", ArchiveDate: "2099-01-01" }), { "x-caller": "4" })).body.data as string
    await h.settle()
    const before = await containers(h)
    const server = await serve(h)
    try {
      const boundary = "----formdata-undici-0123456789"
      const many = `--${boundary}\r\nContent-Disposition: form-data; name="Signs"; filename="s.sig"\r\n\r\nx\r\n`.repeat(500) + `--${boundary}--\r\n`
      const get = await exchange(server.port, `GET /api/document/${id} HTTP/1.1\r\nhost: archive.test\r\nx-caller: 4\r\nconnection: close\r\n\r\n`)
      expect(get.status).toBe(200)
      for (const [route, contentType, body, expected] of [
        [`/api/document/${id}`, `multipart/form-data; boundary=${boundary}`, many, get],
        [`/api/document/${id}`, "", "", get],
        ["/api/document/content", "application/octet-stream", Buffer.alloc(17 * 1024 * 1024, 0x78), { status: 405 }]
      ] as const) {
        const head = await exchange(
          server.port,
          `HEAD ${route} HTTP/1.1\r\nhost: archive.test\r\nx-caller: 4\r\n${contentType === "" ? "" : `content-type: ${contentType}\r\n`}content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
          body
        )
        expect(head.status, `HEAD ${route} (${contentType || "no body"})`).toBe(expected.status)
        expect(head.body).toBe("")
        if ("headers" in expected) {
          expect(headerOf(head.headers, "content-type")).toBe(headerOf(expected.headers, "content-type"))
          expect(headerOf(head.headers, "content-length")).toBe(headerOf(expected.headers, "content-length"))
        }
      }
      expect(await containers(h)).toBe(before)
    } finally {
      await server.close()
    }
  })

  it("an upload whose client half-closes right after the complete request is answered and stored", async () => {
    const h = await memoryHarness()
    const server = await serve(h)
    try {
      const { contentType, bytes } = await seedBody({ ContainerName: "half-closed" })
      const answer = await exchange(
        server.port,
        `POST /api/document/content HTTP/1.1\r\nhost: archive.test\r\nx-caller: 4\r\ncontent-type: ${contentType}\r\ncontent-length: ${bytes.length}\r\n\r\n`,
        bytes,
        "half-close"
      )
      expect(answer.status, answer.body).toBe(200)
      const id = (JSON.parse(answer.body) as { data: string }).data
      expect((await h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "4" })).body.data.name).toBe("half-closed")
    } finally {
      await server.close()
    }
  })

  it("an upload cut by its client leaves no spool once the listener is done with it", async () => {
    const spool = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-cut-"))
    dirs.push(spool)
    const h = await memoryHarness({ spoolDirectory: spool })
    const server = await serve(h)
    try {
      const { contentType, bytes } = await seedBody()
      const socket = connect(server.port, "127.0.0.1")
      socket.on("error", () => {})
      socket.write(`POST /api/document/content HTTP/1.1\r\nhost: archive.test\r\nx-caller: 4\r\ncontent-type: ${contentType}\r\ncontent-length: ${bytes.length}\r\n\r\n`)
      // Into the file parts: the spool exists, then the client is gone.
      socket.write(bytes.subarray(0, bytes.length - 200))
      await vi.waitFor(async () => expect(await fs.readdir(spool)).not.toEqual([]))
      socket.destroy()
      await server.over()
      expect(await fs.readdir(spool)).toEqual([])
    } finally {
      await server.close()
    }
  })
})

describe("an upload refused before the end of its body, over node:http", () => {
  const boundary = "----formdata-undici-0123456789"
  /** A Content part sent as text (refused at that part), then `rest` more bytes of a signature. */
  const refusedAtFirstPart = (rest: number) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="Content"\r\n\r\nMyContainer\r\n--${boundary}\r\nContent-Disposition: form-data; name="Signs"; filename="s.sig"\r\n\r\n`),
      Buffer.alloc(rest, 0x78),
      Buffer.from(`\r\n--${boundary}--\r\n`)
    ])
  const head = (length: number) =>
    `POST /api/document/content HTTP/1.1\r\nhost: archive.test\r\nx-caller: 4\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n`

  it("is answered with the refusal (the request, and its socket, are not destroyed before the answer)", async () => {
    // Fuzz seed -1430253458: the platform's body stream destroyed the unfinished Node request when
    // the parser stopped at the refused part, and with it the socket: no answer at all.
    const h = await memoryHarness()
    const before = await containers(h)
    const server = await serve(h)
    try {
      const body = refusedAtFirstPart(10)
      const answer = await exchange(server.port, head(body.length), body)
      expect(answer.status, answer.body).toBe(400)
      expect(isErrorEnvelope(JSON.parse(answer.body), "InvalidArgument")).toBe(true)
      await server.over()
      expect(await containers(h)).toBe(before)
    } finally {
      await server.close()
    }
  })

  it("reaches a client that sends its whole 17 MiB upload before reading (the rest is read and dropped)", async () => {
    const h = await memoryHarness()
    const server = await serve(h)
    try {
      const body = refusedAtFirstPart(17 * 1024 * 1024)
      // As Python's http.client: the socket reads nothing until the whole body is written.
      const answer = await new Promise<{ status: number | undefined; body: string; error: string | undefined }>((resolve) => {
        const socket = connect(server.port, "127.0.0.1")
        socket.pause()
        const chunks: Array<Buffer> = []
        let error: string | undefined
        socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code))
        socket.on("close", () => {
          const raw = Buffer.concat(chunks).toString("latin1")
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]) || undefined, body: raw.slice(raw.indexOf("\r\n\r\n") + 4), error })
        })
        socket.write(head(body.length), "latin1")
        socket.write(body, (e) => {
          if (e) return
          socket.on("data", (d: Buffer) => chunks.push(d))
          socket.resume()
        })
      })
      expect(answer.error).toBeUndefined()
      expect(answer.status, answer.body).toBe(400)
      expect(isErrorEnvelope(JSON.parse(answer.body), "InvalidArgument")).toBe(true)
    } finally {
      await server.close()
    }
  })
})

describe("an upload aborted while its client stalls mid-body (web handler)", () => {
  it("answers once its spool is removed, instead of holding the spool for good", async () => {
    const spool = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-stall-"))
    dirs.push(spool)
    const h = await memoryHarness({ spoolDirectory: spool })
    const { contentType, bytes } = await seedBody()
    const abort = new AbortController()
    // The body delivers most of the upload, then neither ends nor fails: a stalled client.
    const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(bytes.subarray(0, bytes.length - 200)) })
    const answer = h.api.handler(
      new Request("http://archive.test/api/document/content", { method: "POST", headers: { "x-caller": "4", "content-type": contentType }, body, duplex: "half", signal: abort.signal } as RequestInit)
    )
    await vi.waitFor(async () => expect(await fs.readdir(spool)).not.toEqual([]))
    abort.abort()
    // Today: the request never finished interrupting (a JS async generator between the body and
    // the parser cannot be returned while it waits), so its spool stayed for good.
    const response = await answer
    expect(response.status).toBeGreaterThanOrEqual(400)
    expect(await fs.readdir(spool)).toEqual([])
  })
})

describe("a delete during a signature download", () => {
  it("leaves the download complete or cleanly reset, and logs nothing as unhandled", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-download-delete-"))
    dirs.push(dir)
    const h = await makeHarness({ storages: [{ name: "fs", plugin: FilesystemStorage.make(), parameters: { DocumentsFolderPath: dir } }] })
    open.push(h)
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "Large", StorageId: "4", SaveType: "Temporary", ArchiveDate: "2099-01-01" })) form.append(k, v)
    for (let i = 0; i < 3; i++) {
      // Large enough that the download is still under way when the delete lands.
      const signature = Buffer.alloc(4 * 1024 * 1024, i + 1)
      signature[0] = 0x30
      form.append("Signs", new Blob([signature]), `s${i}.sig`)
    }
    form.append("Content", new Blob([Buffer.from("the document")]), "document.txt")
    const id = (await h.json("POST", "/api/document/content", form, { "x-caller": "4" })).body.data as string
    await h.settle()

    const logged: Array<string> = []
    const capture = (...args: Array<unknown>) => void logged.push(args.map((a) => (a instanceof Error ? `${a.name} ${a.message} ${a.stack}` : String(a))).join(" "))
    const spies = [
      vi.spyOn(console, "error").mockImplementation(capture),
      vi.spyOn(console, "warn").mockImplementation(capture),
      vi.spyOn(console, "info").mockImplementation(capture),
      vi.spyOn(console, "log").mockImplementation(capture)
    ]
    const stderrWrite = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: unknown, ...rest: Array<unknown>) => {
      logged.push(String(chunk))
      return true || stderrWrite(chunk as string, ...(rest as []))
    }) as typeof process.stderr.write
    const unhandled: Array<unknown> = []
    const onUnhandled = (e: unknown) => void unhandled.push(e)
    process.on("unhandledRejection", onUnhandled)
    process.on("uncaughtException", onUnhandled)

    const server = createServer(h.api.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const outcome = await new Promise<{ readonly received: number; readonly declared: number; readonly ended: "complete" | "reset" }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: `/api/document/${id}/sign`, headers: { "x-caller": "4" } }, (res) => {
          expect(res.statusCode).toBe(200)
          const declared = Number(res.headers["content-length"])
          let received = 0
          let deleted = false
          res.on("data", (chunk: Buffer) => {
            received += chunk.length
            if (deleted) return
            deleted = true
            res.pause()
            h.json("DELETE", `/api/document/${id}`, undefined, { "x-caller": "4" }).then((answer) => {
              expect(answer.status).toBe(200)
              res.resume()
            }, reject)
          })
          res.on("end", () => resolve({ received, declared, ended: received === declared ? "complete" : "reset" }))
          res.on("aborted", () => resolve({ received, declared, ended: "reset" }))
          res.on("error", () => resolve({ received, declared, ended: "reset" }))
        })
        req.on("error", reject)
        req.end()
      })
      if (outcome.ended === "complete") expect(outcome.received).toBe(outcome.declared)
      else expect(outcome.received).toBeLessThan(outcome.declared)
      // The server has finished with the request once its connection is gone.
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      server.closeAllConnections()
      for (const s of spies) s.mockRestore()
      process.stderr.write = stderrWrite
      process.off("unhandledRejection", onUnhandled)
      process.off("uncaughtException", onUnhandled)
    }
    expect(logged.filter((l) => /FiberFailure|unhandled|PluginFailure|Error/i.test(l))).toEqual([])
    expect(logged).toEqual([])
    expect(unhandled).toEqual([])
    expect((await h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "4" })).status).toBe(404)
  })
})

describe("a storage failing mid-read during a signature download", () => {
  it("resets the connection over node:http (never a short answer that looks whole), logging nothing", async () => {
    const memory = MemoryStorage.make()
    let failReads = false
    const failing: StoragePlugin.StoragePlugin = {
      ...memory,
      get: async (locator) => {
        const got = (await memory.get(locator)) as { _tag: "Left"; left: string } | { _tag: "Right"; right: StoragePlugin.StoredObject }
        if (!failReads || got._tag === "Left") return got
        return {
          _tag: "Right",
          right: {
            ...(got.right.size === undefined ? {} : { size: got.right.size }),
            content: (async function* () {
              yield new Uint8Array(1024).fill(0x30)
              throw new Error("the disk went away")
            })()
          }
        }
      }
    }
    const h = await makeHarness({ storages: [{ name: "failing", plugin: failing }] })
    open.push(h)
    const form = seedForm()
    const id = (await h.json("POST", "/api/document/content", form, { "x-caller": "4" })).body.data as string
    await h.settle()
    failReads = true
    const logged: Array<string> = []
    const spies = (["error", "warn", "info", "log"] as const).map((m) => vi.spyOn(console, m).mockImplementation((...a) => void logged.push(a.join(" "))))
    const server = createServer((req, res) => void h.api.listener(req, res))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const outcome = await new Promise<{ received: number; declared: number; ended: string }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: `/api/document/${id}/sign`, headers: { "x-caller": "4" } }, (res) => {
          const declared = Number(res.headers["content-length"])
          let received = 0
          res.on("data", (chunk: Buffer) => void (received += chunk.length))
          res.on("end", () => resolve({ received, declared, ended: received === declared ? "complete" : "short" }))
          res.on("aborted", () => resolve({ received, declared, ended: "reset" }))
          res.on("error", () => resolve({ received, declared, ended: "reset" }))
        })
        req.on("error", reject)
        req.end()
      })
      expect(outcome.ended).toBe("reset")
      expect(outcome.received).toBeLessThan(outcome.declared)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of spies) s.mockRestore()
    }
    expect(logged).toEqual([])
  })
})
