/**
 * The archive's HTTP API: bad input gets a clear envelope with a stable code and changes nothing;
 * routes, methods, identities and access; the signatures zip; deletes; mounting under a prefix in
 * node:http.
 */
import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { HttpLayerRouter } from "@effect/platform"
import { ArchiveAdapter, MemoryStorage } from "@uws-kit/adapter-archive"
import { Identity } from "@uws-kit/http"
import { Effect, Layer } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { fixture, isErrorEnvelope, makeHarness, seedForm, type Harness, type HarnessOptions } from "./support/harness.js"
import { unzip } from "./support/unzip.js"

const open: Array<Harness> = []
const dirs: Array<string> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})

const setup = async (options: Partial<HarnessOptions> = {}) => {
  const memory = MemoryStorage.make()
  const spool = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-spool-"))
  dirs.push(spool)
  const h = await makeHarness({
    storages: [{ name: "memory", plugin: memory }],
    ...options,
    adapter: { spoolDirectory: spool, ...options.adapter }
  })
  open.push(h)
  return { h, memory, spool }
}

const post = (h: Harness, form: FormData, caller = "4") => h.json("POST", "/api/document/content", form, { "x-caller": caller })
const formWith = (mutate: (form: FormData) => void, fields: Record<string, string> = {}, files: Parameters<typeof seedForm>[1] = {}) => {
  const form = seedForm(fields, files)
  mutate(form)
  return form
}

describe("upload: bad input", () => {
  it("gets an envelope naming the problem and changes nothing (no container, no stored object, no spooled file)", async () => {
    const { h, memory, spool } = await setup({ adapter: { limits: { maxDocumentSize: 1024, maxSignatureSize: 2048, maxSignatures: 3 } } })
    const cases: Array<[string, FormData | string, number, string, RegExp]> = [
      ["not multipart", JSON.stringify({ ContainerName: "x" }), 415, "UnsupportedMediaType", /multipart\/form-data/],
      ["nothing at all", new FormData(), 400, "InvalidArgument", /ContainerName is required.*StorageId is required.*SaveType is required.*Content is required/],
      ["unknown save type", seedForm({ SaveType: "Forever" }), 400, "InvalidArgument", /SaveType must be Temporary, Permanent or Cache, not "Forever"/],
      ["impossible date", seedForm({ SaveType: "Temporary", ArchiveDate: "31.02.2099" }), 400, "InvalidArgument", /ArchiveDate: "31\.02\.2099": the month has no day 31/],
      ["temporary without a date", seedForm({ SaveType: "Temporary" }), 400, "InvalidArgument", /ArchiveDate: is required when SaveType is Temporary/],
      ["temporary in the past", seedForm({ SaveType: "Temporary", ArchiveDate: "21.07.2023" }), 400, "InvalidArgument", /is not in the future/],
      ["permanent with a date", seedForm({ ArchiveDate: "2099-01-01" }), 400, "InvalidArgument", /applies to Temporary and Cache containers only/],
      ["unknown storage", seedForm({ StorageId: "99" }), 400, "InvalidArgument", /99 is not a storage you may use \(see GET \/api\/user\/storages: 4, 7\)/],
      ["storage id not a number", seedForm({ StorageId: "four" }), 400, "InvalidArgument", /StorageId must be a storage id/],
      ["unknown plugin", seedForm({ ArchiveCaPluginName: "s3" }), 400, "InvalidArgument", /"s3" is not a configured document storage \(configured: memory\)/],
      ["UseArchiveCa not a boolean", seedForm({ UseArchiveCa: "maybe" }), 400, "InvalidArgument", /UseArchiveCa must be true or false/],
      ["base64 signature as text", formWith((f) => f.append("Signs", fixture("a-detached.sig").toString("base64"))), 400, "InvalidArgument", /base64 text is not accepted/],
      [
        "PEM signature file",
        formWith((f) => f.append("Signs", new Blob(["-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n"]), "s.pem")),
        400,
        "InvalidArgument",
        /Signs #3 \(s\.pem\) is not a binary DER signature/
      ],
      ["document as a text field", formWith((f) => f.append("Content", "hello"), {}, { content: false }), 400, "InvalidArgument", /Content must be sent as a file part/],
      ["unknown field", formWith((f) => f.append("Colour", "red")), 400, "InvalidArgument", /"Colour" is not a field of this upload/],
      ["field twice", formWith((f) => f.append("ContainerName", "again")), 400, "InvalidArgument", /ContainerName is given more than once/],
      ["document twice", formWith((f) => f.append("Content", new Blob(["x"]), "d2.txt")), 400, "InvalidArgument", /Content is given more than once/],
      ["empty document", formWith((f) => f.append("Content", new Blob([]), "empty.txt"), {}, { content: false }), 400, "InvalidArgument", /Content: is empty/],
      ["too many signatures", seedForm({}, { signs: 4 }), 400, "InvalidArgument", /at most 3 signatures/],
      ["document too large", formWith((f) => f.append("Content", new Blob([new Uint8Array(1025)]), "big.bin"), {}, { content: false }), 413, "PayloadTooLarge", /Content is larger than this archive accepts \(1 KiB\)/],
      [
        "signature too large",
        formWith((f) => f.append("Signs", new Blob([new Uint8Array(2049).fill(0x30)]), "big.sig")),
        413,
        "PayloadTooLarge",
        /Signs #3 is larger than this archive accepts \(2 KiB\)/
      ]
    ]
    for (const [what, body, status, code, description] of cases) {
      const answer =
        typeof body === "string"
          ? await h.json("POST", "/api/document/content", body, { "content-type": "application/json", "x-caller": "4" })
          : await post(h, body)
      expect(answer.status, what).toBe(status)
      expect(isErrorEnvelope(answer.body, code), `${what}: ${JSON.stringify(answer.body)}`).toBe(true)
      expect(answer.body.errorDescription, what).toMatch(description)
    }
    const malformed = await h.json("POST", "/api/document/content", "--xyz\r\nContent-Disposition: form-data; name=\"ContainerName\"\r\n\r\nMy", {
      "content-type": "multipart/form-data; boundary=xyz"
    })
    expect(malformed.status).toBe(400)
    expect(isErrorEnvelope(malformed.body, "MalformedRequest")).toBe(true)

    expect((await h.json("POST", "/api/document/search", "")).body.data.totalRecords).toBe(0)
    expect(memory.locators()).toEqual([])
    expect(await fs.readdir(spool)).toEqual([])
  })

  it("an upload cut off mid-stream stores nothing and leaves no spooled file", async () => {
    const { h, memory, spool } = await setup()
    const boundary = "cut-off-boundary"
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="ContainerName"\r\n\r\nMy\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="Content"; filename="d.bin"\r\n\r\n`
    )
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(head)
        else if (sent < 20) controller.enqueue(new Uint8Array(64 * 1024).fill(sent))
        else controller.error(new Error("the client went away"))
        sent++
      }
    })
    const response = await h.api.handler(
      new Request("http://archive.test/api/document/content", {
        method: "POST",
        body,
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "x-caller": "4" },
        duplex: "half"
      } as RequestInit)
    )
    expect(response.status).toBe(400)
    expect(isErrorEnvelope(await response.json(), "MalformedRequest")).toBe(true)
    expect(memory.locators()).toEqual([])
    expect(await fs.readdir(spool)).toEqual([])
  })

  it("accepts the fields in any case and any order, ignores IsNeedArchivatorSign, keeps names as sent", async () => {
    const { h, spool } = await setup()
    const form = new FormData()
    form.append("content", new Blob([fixture("document.txt")], { type: "text/plain" }), "Договор № 17.txt")
    form.append("SIGNS", new Blob([fixture("a-detached.sig")]), "../../etc/подпись.sig")
    form.append("savetype", "permanent")
    form.append("storageid", "7")
    form.append("IsNeedArchivatorSign", "true")
    form.append("containerName", "Договор поставки")
    form.append("StructureName", "Бухгалтерия")
    const answer = await post(h, form, "7")
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    await h.settle()
    const d = (await h.json("GET", `/api/document/${answer.body.data}`)).body.data
    expect(d).toMatchObject({
      name: "Договор поставки",
      structureName: "Бухгалтерия",
      storage: { id: 7, name: "Accounting" },
      sourceSystem: { id: "7" },
      saveType: 2,
      document: { fileName: "Договор № 17.txt" },
      signatureFiles: [{ fileName: "подпись.sig" }],
      isToBeSigned: false,
      status: 4
    })
    expect(await fs.readdir(spool)).toEqual([])
  })
})

describe("the other routes", () => {
  it("answer envelopes for bad search bodies, unknown routes and wrong methods", async () => {
    const { h } = await setup()
    const notJson = await h.json("POST", "/api/document/search", "{filters:")
    expect(notJson.status).toBe(400)
    expect(isErrorEnvelope(notJson.body, "MalformedRequest")).toBe(true)
    const bad = await h.json("POST", "/api/document/search", JSON.stringify({ filters: { status: "archived" }, pageSize: 5000 }))
    expect(bad.status).toBe(400)
    expect(bad.body.errorDescription).toMatch(/filters\.status must be a status number/)
    expect(bad.body.errorDescription).toMatch(/pageSize must be a whole number from 1 to 1000/)
    const huge = await h.json("POST", "/api/document/search", JSON.stringify({ filters: { name: "x".repeat(70_000) } }))
    expect(huge.status).toBe(413)
    const unknown = await h.json("GET", "/api/documents")
    expect(unknown).toMatchObject({ status: 404, body: { data: null, errorCode: "RouteNotFound" } })
    const wrong = await h.call("GET", "/api/document/content")
    expect(wrong.status).toBe(405)
    // Allow is derived from the declared routes (the shared edge's Routes), OPTIONS included.
    expect(wrong.headers.get("allow")).toBe("POST, OPTIONS")
    expect(await wrong.json()).toMatchObject({ errorCode: "MethodNotAllowed" })
    const put = await h.call("PUT", "/api/document/abc")
    expect(put.status).toBe(405)
    expect(put.headers.get("allow")).toBe("GET, DELETE, HEAD, OPTIONS")
    expect(await put.json()).toMatchObject({ data: null, errorCode: "MethodNotAllowed" })
    const options = await h.call("OPTIONS", "/api/document/abc/status")
    expect([options.status, options.headers.get("allow")]).toEqual([204, "GET, HEAD, OPTIONS"])
    const trace = await h.call("PROPFIND", "/api/document/search")
    expect([trace.status, trace.headers.get("allow")]).toEqual([405, "POST, OPTIONS"])
    const absent = await h.json("GET", "/api/document/bc32d0e9-d085-4236-9e46-ba88d0490a41")
    expect(absent).toMatchObject({ status: 404, body: { data: null, errorCode: "ContainerNotFound" } })
    expect((await h.json("GET", "/api/document/bc32d0e9-d085-4236-9e46-ba88d0490a41/status")).status).toBe(404)
    expect((await h.json("GET", "/api/document/bc32d0e9-d085-4236-9e46-ba88d0490a41/sign")).status).toBe(404)
  })

  it("serve the statuses dictionary and the caller's storages", async () => {
    const { h } = await setup({ archive: { storageAccess: (caller, id) => caller.id !== "7" || id === 7 } })
    const statuses = (await h.json("GET", "/api/dictionary/statuses")).body.data
    expect(statuses.map((s: { id: number; name: string }) => [s.id, s.name])).toEqual([
      [1, "Accepted"],
      [2, "Processing"],
      [3, "Failed"],
      [4, "Archival storage"],
      [5, "Storage ended"]
    ])
    expect((await h.json("GET", "/api/user/storages", undefined, { "x-caller": "4" })).body.data).toEqual([
      { id: 4, name: "Technical support" },
      { id: 7, name: "Accounting" }
    ])
    expect((await h.json("GET", "/api/user/storages", undefined, { "x-caller": "7" })).body.data).toEqual([{ id: 7, name: "Accounting" }])
    // Source system 7 may neither file into nor see storage 4.
    const refused = await post(h, seedForm({ StorageId: "4" }), "7")
    expect(refused.body.errorDescription).toContain("see GET /api/user/storages: 7")
    const id = (await post(h, seedForm({ StorageId: "4" }), "4")).body.data
    expect((await h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "7" })).status).toBe(404)
    expect((await h.json("POST", "/api/document/search", "{}", { "x-caller": "7" })).body.data.totalRecords).toBe(0)
  })

  it("answer 401 in the envelope when identify throws or rejects, as REST and SOAP do", async () => {
    const { h } = await setup({
      adapter: {
        identify: (request) => {
          const auth = request.headers.get("authorization")
          if (auth === null) throw new Error("no credentials")
          if (auth === "Bearer expired") return Promise.reject(new Error("the token has expired"))
          return { id: "4" }
        }
      }
    })
    for (const [path, method] of [["/api/user/storages", "GET"], ["/api/document/search", "POST"], ["/api/document/x/status", "GET"]] as const) {
      expect(await h.json(method, path, method === "POST" ? "{}" : undefined)).toEqual({
        status: 401,
        body: { data: null, errorCode: "Unauthenticated", errorDescription: "who you are could not be established: no credentials" }
      })
    }
    const expired = await h.json("GET", "/api/user/storages", undefined, { authorization: "Bearer expired" })
    expect(expired).toMatchObject({ status: 401, body: { errorCode: "Unauthenticated", errorDescription: expect.stringContaining("the token has expired") } })
    expect((await h.json("GET", "/api/user/storages", undefined, { authorization: "Bearer x" })).status).toBe(200)
  })

  it("take the caller the host authenticated, per request, before identify", async () => {
    const { h } = await setup({ adapter: { identify: () => Promise.reject(new Error("not used when the host knows")) } })
    const asHost = (request: Request) => h.api.handler(request, { caller: { id: "4" } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
    const uploaded = await asHost(new Request("http://archive.test/api/document/content", { method: "POST", body: seedForm() }))
    expect(uploaded.status).toBe(200)
    await h.settle()
    const detail = await asHost(new Request(`http://archive.test/api/document/${uploaded.body.data}`))
    expect(detail.body.data.sourceSystem).toEqual({ id: "4", name: null })
    // Without the host's caller, identify decides (here: refuses).
    expect((await h.json("GET", `/api/document/${uploaded.body.data}`)).status).toBe(401)
  })

  it("mount in an Effect host's router through its layer, the host's caller passed as HostCaller", async () => {
    const { h } = await setup({ adapter: { identify: () => Promise.reject(new Error("the host authenticates")) } })
    const id = (await post(h, seedForm())).status
    expect(id).toBe(401)
    const hostCaller = HttpLayerRouter.middleware(
      (app) => Effect.provideService(app, Identity.HostCaller, { id: "4" }),
      { global: true }
    )
    const { handler, dispose } = HttpLayerRouter.toWebHandler(Layer.merge(h.api.layer, hostCaller), { disableLogger: true })
    try {
      const uploaded = await handler(new Request("http://host.test/api/document/content", { method: "POST", body: seedForm() }))
      expect(uploaded.status).toBe(200)
      const storages = (await (await handler(new Request("http://host.test/api/user/storages"))).json()) as any
      expect(storages.data).toEqual([{ id: 4, name: "Technical support" }, { id: 7, name: "Accounting" }])
      expect((await handler(new Request("http://host.test/elsewhere"))).status).toBe(404)
    } finally {
      await dispose()
    }
  })

  it("treat every caller as anonymous when the host gives no identify", async () => {
    const { h } = await setup()
    const bare = ArchiveAdapter.makeArchiveAdapter({ archive: h.archive })
    try {
      const answer = (request: Request) => bare.handler(request).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
      const uploaded = await answer(new Request("http://archive.test/api/document/content", { method: "POST", body: seedForm() }))
      expect(uploaded.status).toBe(200)
      await h.settle()
      const detail = await answer(new Request(`http://archive.test/api/document/${uploaded.body.data}`))
      expect(detail.body.data.sourceSystem).toEqual({ id: null, name: null })
    } finally {
      await bare.dispose()
    }
  })
})

describe("container detail", () => {
  it("inlines signatures up to a budget, and points to /sign beyond it", async () => {
    const { h } = await setup({ adapter: { maxInlineSignatureBytes: 1000 } })
    const id = (await post(h, seedForm())).body.data
    await h.settle()
    const d = (await h.json("GET", `/api/document/${id}`)).body.data
    expect(d.signatures).toBeNull()
    expect(d.isAvailable).toBe(true)
    expect(d.signaturesOmitted).toContain(`GET /api/document/${id}/sign`)
  })
})

describe("signatures.zip", () => {
  it("is streamed with its Content-Length, the same bytes (and ETag) every time, names kept unique", async () => {
    const { h } = await setup()
    const form = seedForm({}, { signs: 0 })
    form.append("Signs", new Blob([fixture("a-detached.sig")]), "same.sig")
    form.append("Signs", new Blob([fixture("xlt1-detached.sig")]), "same.sig")
    form.append("Signs", new Blob([fixture("a-detached.sig")]), "SAME.sig")
    const id = (await post(h, form)).body.data
    await h.settle()
    const first = await h.call("GET", `/api/document/${id}/sign`)
    const second = await h.call("GET", `/api/document/${id}/sign`)
    const a = Buffer.from(await first.arrayBuffer())
    const b = Buffer.from(await second.arrayBuffer())
    expect(a.equals(b)).toBe(true)
    expect(first.headers.get("content-length")).toBe(String(a.length))
    expect(first.headers.get("content-type")).toBe("application/zip")
    expect(first.headers.get("etag")).toBe(second.headers.get("etag"))
    const cached = await h.call("GET", `/api/document/${id}/sign`, undefined, { "if-none-match": first.headers.get("etag")! })
    expect(cached.status).toBe(304)
    expect((await cached.arrayBuffer()).byteLength).toBe(0)
    const entries = unzip(a)
    expect(entries.map((e) => e.name)).toEqual(["same.sig", "same (2).sig", "SAME (3).sig"])
    expect(entries.map((e) => e.data.equals(fixture(e.name === "same (2).sig" ? "xlt1-detached.sig" : "a-detached.sig")))).toEqual([true, true, true])
  })

  it("is an empty zip for a container without signatures (an attached signature is the document)", async () => {
    const { h } = await setup()
    const id = (await post(h, seedForm({}, { signs: 0 }))).body.data
    const zip = await h.call("GET", `/api/document/${id}/sign`)
    expect(zip.status).toBe(200)
    expect(unzip(Buffer.from(await zip.arrayBuffer()))).toEqual([])
  })
})

describe("delete", () => {
  it("lets the uploader delete a temporary container, an operator anything, and nobody else", async () => {
    const { h, memory } = await setup()
    const temporary = (await post(h, seedForm({ SaveType: "Temporary", ArchiveDate: "2999-12-31" }))).body.data
    const permanent = (await post(h, seedForm())).body.data
    await h.settle()
    expect(memory.locators().length).toBe(6)
    expect((await h.json("DELETE", `/api/document/${temporary}`, undefined, { "x-caller": "7" })).body).toMatchObject({ errorCode: "Forbidden" })
    expect((await h.json("DELETE", `/api/document/${temporary}`)).body).toMatchObject({ errorCode: "Forbidden" })
    const own = await h.json("DELETE", `/api/document/${permanent}`, undefined, { "x-caller": "4" })
    expect(own.status).toBe(403)
    expect(own.body.errorDescription).toContain("permanent containers are kept")
    expect((await h.json("DELETE", `/api/document/${temporary}`, undefined, { "x-caller": "4" })).body).toEqual({ data: temporary, errorCode: null, errorDescription: null })
    expect((await h.json("GET", `/api/document/${temporary}`)).status).toBe(404)
    expect(memory.locators().length).toBe(3)
    expect((await h.json("DELETE", `/api/document/${permanent}`, undefined, { "x-caller": "admin" })).status).toBe(200)
    expect(memory.locators()).toEqual([])
  })
})

describe("mounting", () => {
  it("serves under any prefix through its Node listener in node:http", async () => {
    const { h } = await setup({ adapter: { basePath: "/archive/v1/" } })
    const server = createServer(h.api.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/archive/v1`
      const created = await fetch(`${base}/document/content`, { method: "POST", body: seedForm(), headers: { "x-caller": "4" } })
      expect(created.status).toBe(200)
      const id = ((await created.json()) as { data: string }).data
      await h.settle()
      expect(await (await fetch(`${base}/document/${id}/status`)).json()).toEqual({ data: 4, errorCode: null, errorDescription: null })
      const zip = await fetch(`${base}/document/${id}/sign`)
      expect(unzip(Buffer.from(await zip.arrayBuffer())).length).toBe(2)
      expect((await fetch(`${base.replace("/v1", "")}/document/${id}`)).status).toBe(404)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
