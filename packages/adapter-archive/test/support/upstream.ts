/**
 * A real upstream HTTP server for fetch tests (node:http on loopback), counting the requests
 * each path gets, with the misbehaviours the fetch must survive: missing documents, stalls,
 * answers shorter than they announce, wrong bytes, wrong announced digests, no answer at all.
 */
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface Upstream {
  readonly url: string
  /** Requests per path (decoded). */
  readonly hits: Map<string, number>
  readonly total: () => number
  /** Documents it serves, by path (without the leading slash). */
  readonly documents: Map<string, Uint8Array>
  /** Holds every answer until released (for concurrency tests). */
  readonly hold: () => { readonly release: () => void }
  readonly close: () => Promise<void>
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

export const startUpstream = async (): Promise<Upstream> => {
  const hits = new Map<string, number>()
  const documents = new Map<string, Uint8Array>()
  const open = new Set<IncomingMessage>()
  let gate: Promise<void> | undefined
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const p = decodeURIComponent((req.url ?? "/").split("?")[0]!.slice(1))
    hits.set(p, (hits.get(p) ?? 0) + 1)
    if (gate !== undefined) await gate
    const doc = documents.get(p)
    if (doc !== undefined) {
      res.writeHead(200, { "content-type": "application/pdf", "content-length": doc.length })
      res.end(doc)
      return
    }
    if (p.startsWith("stall/")) {
      // Headers and a first part, then nothing (the socket stays open).
      res.writeHead(200, { "content-type": "application/pdf", "content-length": 100_000 })
      res.write(new Uint8Array(1000))
      return
    }
    if (p.startsWith("silent/")) return // never answers
    if (p.startsWith("short/")) {
      // Announces 100,000 bytes, sends 5,000, hangs up.
      res.writeHead(200, { "content-type": "application/pdf", "content-length": 100_000 })
      res.write(new Uint8Array(5000).fill(7), () => res.socket?.destroy())
      return
    }
    if (p.startsWith("big/")) {
      // No length announced, more than the upstream's MaxBytes.
      res.writeHead(200, { "content-type": "application/octet-stream" })
      for (let i = 0; i < 40; i++) res.write(new Uint8Array(16 * 1024).fill(i))
      res.end()
      return
    }
    if (p.startsWith("announced-big/")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": 10_000_000 })
      res.write(new Uint8Array(1000))
      return
    }
    if (p.startsWith("bad-digest/")) {
      const bytes = new TextEncoder().encode("these bytes are not the ones announced")
      res.writeHead(200, { "content-type": "text/plain", "content-length": bytes.length, "repr-digest": `sha-256=:${createHash("sha256").update("other").digest("base64")}:` })
      res.end(bytes)
      return
    }
    if (p.startsWith("sha256:")) {
      // A content-addressed request answered with other bytes.
      const bytes = new TextEncoder().encode("not the document whose hash was asked for")
      res.writeHead(200, { "content-type": "text/plain", "content-length": bytes.length })
      res.end(bytes)
      return
    }
    if (p.startsWith("broken/")) {
      res.writeHead(500, { "content-type": "text/plain" })
      res.end("upstream trouble")
      return
    }
    res.writeHead(404, { "content-type": "text/plain" })
    res.end("not here")
  }
  const server = createServer((req, res) => {
    open.add(req)
    res.on("close", () => open.delete(req))
    void answer(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    documents,
    hold: () => {
      let release = () => {}
      gate = new Promise<void>((resolve) => (release = resolve))
      return {
        release: () => {
          gate = undefined
          release()
        }
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const req of open) req.socket.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A loopback port nothing listens on. */
export const closedPort = async (): Promise<number> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
