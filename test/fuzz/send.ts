/**
 * Sends a generated request and reads the whole answer, under a watchdog: in process through a
 * binding's fetch handler, or as raw bytes over a loopback socket (so that what `fetch` would
 * refuse to send — lying Content-Length, TRACE, header garbage — reaches node:http's parser).
 */
import { connect } from "node:net"
import { bodyBytes, type FuzzRequest } from "./arbitraries.js"
import { mounts, type SystemUnderTest } from "./system.js"

export interface Answer {
  /**
   * HTTP status; `"closed"` when the server closed the connection without answering; `"hung up"`
   * when the client cut the connection on purpose (no answer expected).
   */
  readonly status: number | "closed" | "hung up"
  readonly contentType: string
  /** The start of the body (enough to recognise an error document or a SOAP fault). */
  readonly body: string
  readonly elapsedMs: number
  /** Sent in process, or over the socket because fetch could not express it. */
  readonly via: "fetch" | "node"
  /**
   * The client half-closed the connection after a request whose framing headers lie (over the
   * socket: nothing else could end the body); node:http then answers the parse error or nothing.
   */
  readonly clientEnded?: boolean
  /**
   * Over the socket, framing headers that lie (a Content-Length other than the body's, a
   * Transfer-Encoding over a plain body): node:http dispatches the request once its head is
   * parsed, then answers the parse error in the body (400) or the client's half-close (nothing)
   * and closes; the answer seen then says nothing about what the handler did with the request.
   */
  readonly framingLies?: boolean
}

export class NoAnswer extends Error {}

/** A request's concrete path: placeholders replaced by an existing id (or a made-up one). */
export const resolvePath = (r: FuzzRequest, ids: { jobs: ReadonlyArray<string>; containers: ReadonlyArray<string> }) => {
  const pick = (list: ReadonlyArray<string>, fallback: string) => (list.length === 0 ? fallback : list[r.pick % list.length]!)
  return `${mounts[r.target]}${r.path}`.replaceAll("{job}", pick(ids.jobs, "nojob0000000000")).replaceAll("{container}", pick(ids.containers, "00000000-0000-0000-0000-000000000000"))
}

const withWatchdog = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoAnswer(`no answer within ${ms / 1000} s: ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

/** A body stream that delivers `bytes` and then fails, as a client that went away mid-upload. */
const failingStream = (bytes: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes)
      setTimeout(() => controller.error(new Error("the client went away")), 5)
    }
  })

const makeRequest = (r: FuzzRequest, url: string, body: Uint8Array | null) =>
  new Request(url, {
    method: r.method,
    headers: r.headers.map(([k, v]) => [k, v] as [string, string]),
    ...(body === null ? {} : { body: r.body?.hangUp === true ? failingStream(body) : body, duplex: "half" }),
    redirect: "manual"
  } as RequestInit)

const viaFetch = async (system: SystemUnderTest, r: FuzzRequest, path: string, body: Uint8Array | null): Promise<Omit<Answer, "elapsedMs">> => {
  const request = makeRequest(r, `http://uws.test${path}${r.query}`, body)
  const response = await system.handlers[r.target](request)
  const text = await response.text()
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: text.slice(0, 4000), via: "fetch" }
}

/**
 * Raw HTTP/1.1 over a socket: our headers as generated (a missing Content-Length is added, a
 * generated one is kept even when it lies), `Connection: close`, then the body. When the framing
 * headers lie (a Content-Length other than the body's, a Transfer-Encoding), the write side is
 * then ended, so a server waiting for more body sees the end of the stream; otherwise it stays
 * open, as real clients do, and the server closes after its answer.
 */
const viaSocket = (system: SystemUnderTest, r: FuzzRequest, path: string, body: Uint8Array | null): Promise<Omit<Answer, "elapsedMs">> =>
  new Promise((resolve, reject) => {
    const hasLength = r.headers.some(([k]) => k.toLowerCase() === "content-length" || k.toLowerCase() === "transfer-encoding")
    const announced = r.body?.hangUp === true && r.body !== null ? bodyBytes({ label: r.body.label, pieces: r.body.pieces }).length : body?.length
    // A cut at or past the body's end sent the whole request: the server may act on it, and
    // the client reads its answer like any other (only a short body is a hang-up).
    const hangUp = r.body?.hangUp === true && (body?.length ?? 0) < (announced ?? 0)
    const head =
      `${r.method} ${path}${r.query} HTTP/1.1\r\nhost: 127.0.0.1:${system.port}\r\n` +
      r.headers.map(([k, v]) => `${k}: ${v}\r\n`).join("") +
      (hasLength || body === null ? "" : `content-length: ${announced}\r\n`) +
      "connection: close\r\n\r\n"
    const lies = r.headers.some(([k, v]) => (k.toLowerCase() === "content-length" && v !== String(body?.length ?? 0)) || k.toLowerCase() === "transfer-encoding")
    const socket = connect(system.port, "127.0.0.1")
    if (hangUp) {
      socket.on("error", () => {})
      socket.write(head, "latin1")
      if (body !== null && body.length > 0) socket.write(body)
      setTimeout(() => {
        socket.destroy()
        resolve({ status: "hung up", contentType: "", body: "", via: "node" })
      }, 20)
      return
    }
    const chunks: Array<Buffer> = []
    socket.on("data", (d) => chunks.push(d))
    socket.on("error", (e) => {
      // A reset after the server answered (it stopped reading an oversized body) still counts as the answer.
      if (chunks.length > 0) finish()
      else if ((e as NodeJS.ErrnoException).code === "ECONNRESET" || (e as NodeJS.ErrnoException).code === "EPIPE") finish()
      else reject(e)
    })
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      // Interim answers (100 Continue) come before the real one.
      const raw = Buffer.concat(chunks).toString("latin1").replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, "")
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1]
      const split = raw.indexOf("\r\n\r\n")
      const headers = split < 0 ? raw : raw.slice(0, split)
      resolve({
        status: status === undefined ? "closed" : Number(status),
        contentType: /\r\ncontent-type: *([^\r]*)/i.exec(headers)?.[1] ?? "",
        body: split < 0 ? "" : Buffer.from(raw.slice(split + 4), "latin1").toString("utf8").slice(0, 4000),
        via: "node",
        clientEnded: lies,
        framingLies: lies
      })
    }
    socket.on("end", finish)
    socket.on("close", finish)
    socket.write(head, "latin1")
    if (body !== null && body.length > 0) socket.write(body)
    // A client that half-closes after its complete request must still get its answer.
    if (lies || r.halfClose === true) socket.end()
  })

/** Methods and headers fetch refuses to send; such requests go over the socket instead. */
const fetchCannotSend = (r: FuzzRequest, url: string, body: Uint8Array | null) => {
  // A half-close is a socket's doing.
  if (r.halfClose === true) return true
  try {
    makeRequest(r, url, body)
    return false
  } catch {
    return true
  }
}

export const send = async (system: SystemUnderTest, r: FuzzRequest, watchdogMs: number): Promise<Answer> => {
  const path = resolvePath(r, await system.ids())
  const body = r.body === null ? null : bodyBytes(r.body)
  const socket = r.transport === "node" || fetchCannotSend(r, `http://uws.test${path}${r.query}`, body)
  const start = performance.now()
  const answer = await withWatchdog(socket ? viaSocket(system, r, path, body) : viaFetch(system, r, path, body), watchdogMs, `${r.method} ${path}`)
  return { ...answer, elapsedMs: performance.now() - start }
}
