/**
 * An answer given before the end of the request's body (a refusal) reaches a client that sends
 * its whole body before reading, as Python's http.client does: the rest of the body is read and
 * dropped, within bounds, before the connection closes; a kept-alive connection goes on.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { connect, type AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { Linger } from "../src/index.js"

const servers: Array<{ close: () => Promise<void> }> = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

/**
 * A server that refuses every body after its first chunk, as a binding does past its limit: it
 * stops reading (pause) and answers 413.
 */
const refusing = async (linger: Linger.Limits | false) => {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (linger !== false) Linger.afterAnswer(req, res, linger)
    if (req.method === "GET") return void res.end("next\n")
    req.once("data", () => {
      req.pause()
      res.writeHead(413, { "content-type": "text/plain" }).end("too large\n")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const s = {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  servers.push(s)
  return s
}

interface Exchange {
  /** Everything the client read. */
  readonly answer: string
  /** The client's socket error, if any (EPIPE, ECONNRESET). */
  readonly error: string | undefined
  readonly ms: number
}

/**
 * A client that writes its whole request and reads only then (its socket reads nothing before),
 * then writes `after` (a next request on the same connection) and reads until `until` matches or
 * the server closes.
 */
const writeThenRead = (port: number, request: string, body: Buffer, after = "", until?: RegExp) =>
  new Promise<Exchange>((resolve) => {
    const start = performance.now()
    const socket = connect(port, "127.0.0.1")
    socket.pause()
    const chunks: Array<Buffer> = []
    let error: string | undefined
    const done = () => resolve({ answer: Buffer.concat(chunks).toString("latin1"), error, ms: performance.now() - start })
    socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code))
    socket.on("close", done)
    socket.write(request, "latin1")
    socket.write(body, (e) => {
      if (e) return
      if (after !== "") socket.write(after, "latin1")
      socket.on("data", (d: Buffer) => {
        chunks.push(d)
        if (until !== undefined && until.test(Buffer.concat(chunks).toString("latin1"))) socket.destroy()
      })
      socket.resume()
    })
  })

const post = (length: number, connection: "close" | "keep-alive") =>
  `POST /upload HTTP/1.1\r\nhost: linger.test\r\ncontent-type: application/octet-stream\r\ncontent-length: ${length}\r\nconnection: ${connection}\r\n\r\n`

const big = Buffer.alloc(8 * 1024 * 1024, 0x78)

describe("Linger", () => {
  it("a client that sends its whole body before reading gets the refusal (Connection: close)", async () => {
    const server = await refusing(Linger.defaultLimits)
    const got = await writeThenRead(server.port, post(big.length, "close"), big)
    expect(got.error).toBeUndefined()
    expect(got.answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(got.answer).toContain("too large")
  })

  it("without it, the same client sees a reset or a broken pipe, never the answer", async () => {
    const server = await refusing(false)
    const got = await writeThenRead(server.port, post(big.length, "close"), big)
    expect(got.answer).toBe("")
    expect(["EPIPE", "ECONNRESET"]).toContain(got.error)
  })

  it("a kept-alive connection carries the next request once the rest of the refused body is dropped", async () => {
    const server = await refusing(Linger.defaultLimits)
    const got = await writeThenRead(server.port, post(big.length, "keep-alive"), big, "GET /next HTTP/1.1\r\nhost: linger.test\r\n\r\n", /next\n$/)
    expect(got.error).toBeUndefined()
    expect(got.answer).toMatch(/^HTTP\/1\.1 413 [\s\S]*too large\n[\s\S]*HTTP\/1\.1 200 [\s\S]*next\n$/)
  })

  it("cuts the connection past maxBytes of the rest of a body", async () => {
    const server = await refusing({ maxBytes: 1024 * 1024, maxMs: 10_000 })
    const got = await writeThenRead(server.port, post(big.length, "close"), big)
    expect(["EPIPE", "ECONNRESET"]).toContain(got.error)
  })

  it("cuts the connection past maxMs when the rest of the body does not come", async () => {
    const server = await refusing({ maxBytes: 1024 * 1024, maxMs: 200 })
    // This client reads at once, sends a part of the body it announced and then nothing.
    const got = await new Promise<Exchange>((resolve) => {
      const start = performance.now()
      const socket = connect(server.port, "127.0.0.1")
      const chunks: Array<Buffer> = []
      let error: string | undefined
      socket.on("data", (d: Buffer) => chunks.push(d))
      socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code))
      socket.on("close", () => resolve({ answer: Buffer.concat(chunks).toString("latin1"), error, ms: performance.now() - start }))
      socket.write(post(1000, "keep-alive") + "x".repeat(100), "latin1")
    })
    expect(got.answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(got.ms).toBeGreaterThanOrEqual(150)
    expect(got.ms).toBeLessThan(3000)
  })
})
