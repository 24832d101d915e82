/**
 * The baselines of the HTTP benchmark (bench/http.bench.ts): a bare `node:http` server in a
 * process of its own, doing the least a server can for each row.
 *
 *     node --import tsx bench/support/raw-server.ts fixed        any request: read the body, answer a fixed 600-byte body
 *     node --import tsx bench/support/raw-server.ts sink FILE    POST: write the body to FILE, fsync, answer 200
 *     node --import tsx bench/support/raw-server.ts sink2 FILE   POST: the same into FILE.1 and FILE.2 at once (two copies)
 *     node --import tsx bench/support/raw-server.ts file FILE    GET: stream FILE with its Content-Length
 *
 * Prints `listening <port>` once it listens on 127.0.0.1 (port 0: any free one).
 */
import { createReadStream, createWriteStream } from "node:fs"
import { stat } from "node:fs/promises"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { pipeline } from "node:stream/promises"

const [mode, file] = process.argv.slice(2)
const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${"<x>raw</x>".repeat(60)}`.slice(0, 600))

const fail = (res: ServerResponse, e: unknown) => {
  if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
  res.end(String(e))
}

const handlers: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  fixed: (req, res) => {
    req.resume()
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/xml", "content-length": body.length })
      res.end(body)
    })
  },
  sink: (req, res) => {
    void (async () => {
      // flush: fsync before the file is closed, and the pipeline ends once it is closed.
      await pipeline(req, createWriteStream(file!, { flush: true }))
      res.writeHead(200, { "content-type": "application/json" })
      res.end('{"data":"ok"}')
    })().catch((e: unknown) => fail(res, e))
  },
  sink2: (req, res) => {
    void (async () => {
      // Two copies at once, as a storage mirrored to another writes them: the body is read at
      // the pace of the slower file.
      const copies = [1, 2].map((n) => createWriteStream(`${file!}.${n}`, { flush: true }))
      await Promise.all(copies.map((copy) => pipeline(req, copy)))
      res.writeHead(200, { "content-type": "application/json" })
      res.end('{"data":"ok"}')
    })().catch((e: unknown) => fail(res, e))
  },
  file: (req, res) => {
    req.resume()
    void (async () => {
      const { size } = await stat(file!)
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size })
      await pipeline(createReadStream(file!), res)
    })().catch((e: unknown) => fail(res, e))
  }
}

const handler = handlers[mode ?? ""]
if (handler === undefined || (mode !== "fixed" && file === undefined)) {
  console.error("usage: raw-server.ts fixed | sink FILE | sink2 FILE | file FILE")
  process.exit(2)
}
const server = createServer(handler)
server.keepAliveTimeout = 5_000
server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as AddressInfo).port}`))
process.on("SIGTERM", () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
