/**
 * The upload in one pass and the document download (issue 12), over real sockets with the
 * filesystem storage: a file part is written straight into its storage while it arrives (no
 * spooled bytes, one save per part, its SHA-256 taken once); a storage named after the files
 * gets them copied and the first copies removed; a client slower than the storage's time limit
 * is not the storage's fault; a cut-off upload keeps nothing; `GET …/content` streams the
 * document with its headers, and a copy corrupted on disk is never sent whole.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { connect } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { FilesystemStorage, MemoryStorage } from "@uws-kit/adapter-archive"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import { afterEach, describe, expect, it, vi } from "vitest"
import { fixture, makeHarness, type Harness } from "./support/harness.js"

const dirs: Array<string> = []
const open: Array<{ h: Harness; server: Server }> = []
afterEach(async () => {
  for (const { h, server } of open.splice(0)) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await h.close()
  }
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const tmp = async (prefix: string) => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  dirs.push(d)
  return d
}
const filesUnder = async (dir: string): Promise<Array<{ file: string; size: number }>> => {
  const out: Array<{ file: string; size: number }> = []
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const file = path.join(e.parentPath, e.name)
    out.push({ file, size: (await fs.stat(file).catch(() => ({ size: 0 }))).size })
  }
  return out
}

/** An archive over a filesystem storage (default) and a memory one, served by node:http. */
const setup = async (options: { timeout?: string } = {}) => {
  const root = await tmp("uws-onepass-fs-")
  const spool = await tmp("uws-onepass-spool-")
  const filesystem = FilesystemStorage.make()
  const saves: Array<string> = []
  const counted: StoragePlugin.StoragePlugin = { ...filesystem, save: (object) => (saves.push(object.name), filesystem.save(object)) }
  const memory = MemoryStorage.make()
  const h = await makeHarness({
    storages: [
      { name: "fs", plugin: counted, parameters: { DocumentsFolderPath: root } },
      { name: "memory", plugin: memory }
    ],
    adapter: { spoolDirectory: spool },
    ...(options.timeout === undefined ? {} : { timeout: options.timeout })
  })
  const server = createServer((req, res) => void h.api.listener(req, res))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  open.push({ h, server })
  return { h, port: (server.address() as AddressInfo).port, root, spool, saves, memory }
}

/** A multipart body with the parts in the order given. */
const multipart = (parts: ReadonlyArray<{ name: string; value: string } | { name: string; file: string; bytes: Uint8Array }>) => {
  const boundary = `----onepass${randomBytes(8).toString("hex")}`
  const chunks: Array<Buffer> = []
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`))
    if ("file" in p) chunks.push(Buffer.from(`; filename="${p.file}"\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(p.bytes))
    else chunks.push(Buffer.from(`\r\n\r\n${p.value}`))
    chunks.push(Buffer.from("\r\n"))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) }
}
const seedFields = [
  { name: "ContainerName", value: "one pass" },
  { name: "StorageId", value: "4" },
  { name: "SaveType", value: "Permanent" }
]
const signatures = [
  { name: "Signs", file: "xlt1-detached.sig", bytes: fixture("xlt1-detached.sig") },
  { name: "Signs", file: "a-detached.sig", bytes: fixture("a-detached.sig") }
]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** POSTs the body in `pieces`, `pause` ms apart; `during` runs between pieces. */
const post = (port: number, form: { contentType: string; body: Buffer }, pieces = 1, pause = 0, during: () => Promise<void> = async () => {}) =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/api/document/content", headers: { "content-type": form.contentType, "content-length": form.body.length, "x-caller": "4" } },
      (res) => {
        const got: Array<Buffer> = []
        res.on("data", (c: Buffer) => got.push(c))
        res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(got).toString("utf8")) }))
      }
    )
    req.on("error", reject)
    void (async () => {
      const size = Math.ceil(form.body.length / pieces)
      for (let at = 0; at < form.body.length; at += size) {
        req.write(form.body.subarray(at, at + size))
        if (at + size < form.body.length) {
          await during()
          await sleep(pause)
        }
      }
      req.end()
    })()
  })

const objects = (root: string) => filesUnder(path.join(root, "objects"))

describe("an upload in one pass", () => {
  it("writes each file straight into its storage while it arrives: nothing spooled, one save per part, the stored copy exact", async () => {
    const { h, port, root, spool, saves } = await setup()
    const document = randomBytes(6 * 1024 * 1024 + 17)
    const form = multipart([...seedFields, ...signatures, { name: "Content", file: "big.bin", bytes: document }])
    let spooled = 0
    const answer = await post(port, form, 12, 20, async () => {
      spooled = Math.max(spooled, ...(await filesUnder(spool)).map((f) => f.size), 0)
    })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(spooled).toBe(0)
    expect(saves).toEqual(["signature-1", "signature-2", "document"])
    const stored = await objects(root)
    expect(stored).toHaveLength(3)
    const copy = stored.find((f) => f.size === document.length)!
    expect(path.basename(copy.file).endsWith(`.${sha256(document)}`)).toBe(true)
    expect(sha256(await fs.readFile(copy.file))).toBe(sha256(document))
    expect(await fs.readdir(path.join(root, "tmp"))).toEqual([])
    await h.settle()
    const detail = await h.json("GET", `/api/document/${answer.body.data}`, undefined, { "x-caller": "4" })
    expect(detail.body.data.status).toBe(4)
    expect(detail.body.data.hashes[0]).toEqual({ of: "document", algorithm: "SHA-256", encoding: "base64", value: createHash("sha256").update(document).digest("base64") })
    await vi.waitFor(async () => expect(await filesUnder(spool)).toEqual([]))
  })

  it("copies the files to a storage named after them, and keeps no copy in the default one", async () => {
    const { h, port, root, memory } = await setup()
    const document = randomBytes(300 * 1024)
    const answer = await post(port, multipart([...seedFields, { name: "Content", file: "d.bin", bytes: document }, ...signatures, { name: "ArchiveCaPluginName", value: "memory" }]))
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(memory.locators()).toHaveLength(3)
    expect(await objects(root)).toEqual([])
    await h.settle()
    expect((await h.json("GET", `/api/document/${answer.body.data}/status`)).body.data).toBe(4)
  })

  it("does not count a slow client against the storage's time limit", async () => {
    const { h, port } = await setup({ timeout: "1 second" })
    const document = randomBytes(512 * 1024)
    // The document arrives over about 2.5 s: longer than the storage may take for its save.
    const answer = await post(port, multipart([...seedFields, { name: "Content", file: "slow.bin", bytes: document }]), 6, 500)
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    await h.settle()
    expect((await h.json("GET", `/api/document/${answer.body.data}/status`)).body.data).toBe(4)
  })

  it("keeps nothing of an upload cut off mid-document: no object, no partial file, no spool, no container", async () => {
    const { h, port, root, spool } = await setup()
    const form = multipart([...seedFields, { name: "Content", file: "cut.bin", bytes: randomBytes(4 * 1024 * 1024) }])
    const socket = connect(port, "127.0.0.1")
    socket.on("error", () => {})
    socket.write(`POST /api/document/content HTTP/1.1\r\nhost: archive.test\r\nx-caller: 4\r\ncontent-type: ${form.contentType}\r\ncontent-length: ${form.body.length}\r\n\r\n`)
    socket.write(form.body.subarray(0, 2 * 1024 * 1024))
    // The storage is writing it: its partial file exists.
    await vi.waitFor(async () => expect((await filesUnder(path.join(root, "tmp"))).length).toBe(1))
    socket.destroy()
    await vi.waitFor(async () => {
      expect(await filesUnder(path.join(root, "tmp"))).toEqual([])
      expect(await filesUnder(spool)).toEqual([])
    })
    expect(await objects(root)).toEqual([])
    expect((await h.json("POST", "/api/document/search", "{}")).body.data.totalRecords).toBe(0)
  })
})

/** GET over node:http: what arrived, what was declared, and how it ended. */
const download = (port: number, id: string, method = "GET", headers: Record<string, string> = {}) =>
  new Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer; declared: number; ended: "complete" | "short" | "reset" }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path: `/api/document/${id}/content`, headers: { "x-caller": "4", ...headers } }, (res) => {
      const got: Array<Buffer> = []
      const declared = Number(res.headers["content-length"])
      const done = (ended: "complete" | "short" | "reset") => {
        const bytes = Buffer.concat(got)
        resolve({ status: res.statusCode!, headers: res.headers, bytes, declared, ended })
      }
      res.on("data", (c: Buffer) => got.push(c))
      res.on("end", () => done(method === "HEAD" || Buffer.concat(got).length === declared ? "complete" : "short"))
      res.on("aborted", () => done("reset"))
      res.on("error", () => done("reset"))
    })
    req.on("error", reject)
    req.end()
  })

describe("GET /api/document/{id}/content", () => {
  it("streams the document with its length, type, name and ETag; HEAD and a matching ETag send no body", async () => {
    const { h, port } = await setup()
    const document = randomBytes(3 * 1024 * 1024 + 5)
    const id = (await post(port, multipart([...seedFields, { name: "Content", file: "Отчёт 2023.bin", bytes: document }]))).body.data as string
    const got = await download(port, id)
    expect(got.status).toBe(200)
    expect(got.ended).toBe("complete")
    expect(got.bytes.equals(document)).toBe(true)
    expect(got.headers["content-type"]).toBe("application/octet-stream")
    expect(got.headers["etag"]).toBe(`"${sha256(document)}"`)
    expect(got.headers["content-disposition"]).toBe(`attachment; filename="_____ 2023.bin"; filename*=UTF-8''${encodeURIComponent("Отчёт 2023.bin")}`)
    const head = await download(port, id, "HEAD")
    expect([head.status, head.declared, head.bytes.length]).toEqual([200, document.length, 0])
    const cached = await download(port, id, "GET", { "if-none-match": `"${sha256(document)}"` })
    expect([cached.status, cached.bytes.length]).toEqual([304, 0])
    // The web handler (fetch hosts) answers the same bytes.
    const web = await h.call("GET", `/api/document/${id}/content`, undefined, { "x-caller": "4" })
    expect(Buffer.from(await web.arrayBuffer()).equals(document)).toBe(true)
    const missing = await h.json("GET", "/api/document/no-such-container/content", undefined, { "x-caller": "4" })
    expect([missing.status, missing.body.errorCode]).toEqual([404, "ContainerNotFound"])
  })

  it("never sends a copy corrupted on disk whole: the hash check fails at its end and the connection is reset short", async () => {
    const { h, port, root } = await setup()
    const document = randomBytes(2 * 1024 * 1024)
    const id = (await post(port, multipart([...seedFields, { name: "Content", file: "d.bin", bytes: document }]))).body.data as string
    await h.settle()
    const copy = (await objects(root)).find((f) => f.size === document.length)!
    const bytes = await fs.readFile(copy.file)
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff
    await fs.writeFile(copy.file, bytes)
    const got = await download(port, id)
    expect(got.status).toBe(200)
    expect(got.ended).not.toBe("complete")
    expect(got.bytes.length).toBeLessThan(document.length)
  })
})
