/**
 * Every spooled byte of a refused or failed upload is removed (issue #8, item 7): a multipart
 * body with several file parts is cut at a point fast-check picks — anywhere, and around every
 * landmark (inside a delimiter, inside a part's headers, at the blank line, inside a part's
 * content) — then either ended there (Content-Length = the cut) or abandoned mid-way (the
 * connection reset). Afterwards the binding's own spool folder (its `spoolDirectory` option) is
 * listed and must be empty. Before the fix, the REST binding left `uws-upload-*\/0` behind when
 * two file parts arrived before its folder was created (20 of 20 tries).
 *
 * Driven over real sockets, through the Node listeners, as a client would.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises"
import { createServer, type RequestListener, type Server } from "node:http"
import { connect, type AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Uws, Worker } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"

const BOUNDARY = "----uwsKitCut7MA4YWxkTrZu0gW"

interface Part {
  readonly name: string
  readonly filename?: string
  readonly type?: string
  readonly content: Uint8Array
}

/** A multipart body and the offsets where its framing pieces start. */
const multipart = (parts: ReadonlyArray<Part>) => {
  const chunks: Array<Buffer> = []
  const landmarks: Array<number> = []
  let at = 0
  const push = (b: Buffer, mark = false) => {
    if (mark) landmarks.push(at)
    chunks.push(b)
    at += b.length
  }
  for (const p of parts) {
    push(Buffer.from(`--${BOUNDARY}\r\n`), true)
    const disposition = `Content-Disposition: form-data; name="${p.name}"${p.filename === undefined ? "" : `; filename="${p.filename}"`}\r\n`
    push(Buffer.from(disposition), true)
    push(Buffer.from(p.type === undefined ? "" : `Content-Type: ${p.type}\r\n`), true)
    push(Buffer.from("\r\n"), true)
    push(Buffer.from(p.content), true)
    push(Buffer.from("\r\n"), true)
  }
  push(Buffer.from(`--${BOUNDARY}--\r\n`), true)
  const body = Buffer.concat(chunks)
  const shape = parts.map((p) => `${p.name}${p.filename === undefined ? "" : `@${p.filename}`}:${p.content.length}B`).join(", ")
  // What a counterexample prints: the parts, not a megabyte of bytes.
  return { body, landmarks, [fc.toStringMethod]: () => `multipart(${shape}; ${body.length} bytes)` }
}

const fileContent = (seed: number, size: number, first = 0x30) => {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i * 7) & 0xff
  if (size > 0) b[0] = first
  return b
}

/** Where to cut: anywhere, or within a few bytes of a landmark (never the whole body). */
// A cut in the CRLF after the close delimiter (`--boundary--`) leaves a complete body (the CRLF
// is epilogue), which a server rightly accepts: cuts stop before it.
const cutPoint = (length: number, landmarks: ReadonlyArray<number>) =>
  fc
    .oneof(
      fc.integer({ min: 0, max: length - 3 }),
      fc.tuple(fc.constantFrom(...landmarks), fc.integer({ min: -4, max: 40 })).map(([at, d]) => Math.min(length - 3, Math.max(0, at + d)))
    )
    .filter((n) => n < length - 2)

type Ending = "ended" | "reset"

/** Sends the first `cut` bytes over a raw socket; answers the status line when the server answered. */
const send = (port: number, path: string, body: Buffer, cut: number, ending: Ending, headers: Record<string, string> = {}) =>
  new Promise<string | undefined>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    let answer = ""
    socket.on("data", (d) => (answer += d.toString("latin1")))
    socket.on("error", () => resolve(answer.split("\r\n")[0] || undefined))
    socket.on("close", () => resolve(answer.split("\r\n")[0] || undefined))
    const head =
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("") +
      `Content-Length: ${ending === "ended" ? cut : body.length}\r\nConnection: close\r\n\r\n`
    // "ended": the body is complete as far as Content-Length goes; the server answers and closes.
    socket.write(Buffer.concat([Buffer.from(head), body.subarray(0, cut)]), () => {
      if (ending === "reset") setImmediate(() => socket.destroy())
    })
  })

const listen = async (listener: RequestListener): Promise<{ server: Server; port: number }> => {
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

/** The spool folder is empty once the server is done with the request (bounded wait). */
const emptied = async (dir: string) => {
  await vi.waitFor(async () => expect(await readdir(dir, { recursive: true })).toEqual([]), { timeout: 10_000, interval: 20 })
}

describe("REST: refused or abandoned multipart uploads leave nothing in the spool folder", () => {
  let spool: string
  let started: Awaited<ReturnType<typeof Uws.start>>
  let rest: RestAdapter.RestAdapter
  let server: Server
  let port: number

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), "uws-spool-rest-"))
    started = await Uws.start({ worker: Worker.noop })
    rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws", spoolDirectory: spool })
    ;({ server, port } = await listen(rest.listener))
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await rest.dispose()
    await started.close()
    await rm(spool, { recursive: true, force: true })
  })

  const parts = fc
    .tuple(fc.integer({ min: 2, max: 4 }), fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 4, maxLength: 4 }), fc.boolean())
    .map(([files, sizes, field]) =>
      multipart([
        ...(field ? [{ name: "TEXT", content: Buffer.from("hello") }] : []),
        ...Array.from({ length: files }, (_, i) => ({ name: `FILE${i}`, filename: `f${i}.bin`, type: "application/octet-stream", content: fileContent(i, sizes[i]!) }))
      ])
    )

  it("a complete upload with several files is accepted and leaves nothing behind", async () => {
    const { body } = multipart([
      { name: "A", filename: "a.bin", content: fileContent(1, 100_000) },
      { name: "B", filename: "b.bin", content: fileContent(2, 10) }
    ])
    const status = await send(port, "/uws/jobs", Buffer.concat([body, Buffer.alloc(0)]), body.length, "ended")
    expect(status).toBe("HTTP/1.1 303 See Other")
    await emptied(spool)
  })

  it("for every cut point, ended or reset", async () => {
    await fc.assert(
      fc.asyncProperty(
        parts.chain((m) => fc.tuple(fc.constant(m), cutPoint(m.body.length, m.landmarks), fc.constantFrom<Ending>("ended", "reset"))),
        async ([{ body }, cut, ending]) => {
          const status = await send(port, "/uws/jobs", body, cut, ending)
          if (ending === "ended") expect(status, `cut at ${cut} of ${body.length}`).toMatch(/^HTTP\/1\.1 (400|415)/)
          await emptied(spool)
        }
      ),
      { numRuns: propertyRuns(40) }
    )
  })
})

describe("archive: refused or abandoned container uploads leave nothing in the spool folder", () => {
  let spool: string
  let scope: Scope.CloseableScope
  let started: Archive.Started
  let api: ArchiveAdapter.ArchiveAdapter
  let server: Server
  let port: number

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), "uws-spool-archive-"))
    scope = Effect.runSync(Scope.make())
    const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "memory", plugin: MemoryStorage.make() }] }), scope))
    started = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }] })
    api = ArchiveAdapter.makeArchiveAdapter({ archive: started.archive, spoolDirectory: spool })
    ;({ server, port } = await listen(api.listener))
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await api.dispose()
    await started.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await rm(spool, { recursive: true, force: true })
  })

  const parts = fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 4, maxLength: 4 }))
    .map(([signs, sizes]) =>
      multipart([
        ...Array.from({ length: signs }, (_, i) => ({ name: "Signs", filename: `s${i}.sig`, type: "application/octet-stream", content: fileContent(i, sizes[i]!) })),
        { name: "StorageId", content: Buffer.from("4") },
        { name: "SaveType", content: Buffer.from("Permanent") },
        { name: "ContainerName", content: Buffer.from("Cut") },
        { name: "Content", filename: "document.txt", type: "text/plain", content: fileContent(9, sizes[3]!, 0x41) }
      ])
    )

  it("for every cut point, ended or reset", async () => {
    await fc.assert(
      fc.asyncProperty(
        parts.chain((m) => fc.tuple(fc.constant(m), cutPoint(m.body.length, m.landmarks), fc.constantFrom<Ending>("ended", "reset"))),
        async ([{ body }, cut, ending]) => {
          const status = await send(port, "/api/document/content", body, cut, ending)
          if (ending === "ended") expect(status, `cut at ${cut} of ${body.length}`).toMatch(/^HTTP\/1\.1 (400|413|415)/)
          await emptied(spool)
        }
      ),
      { numRuns: propertyRuns(40) }
    )
  })
})
