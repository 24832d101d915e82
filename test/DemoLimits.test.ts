/**
 * The demo's defences against slow and greedy clients (issue #8, item 4), with short configured
 * time-outs: a client trickling its headers or its body is disconnected while normal requests
 * are answered meanwhile; a blocking WAIT longer than the request time-out still answers (the
 * time-out covers receiving the request, not the response); connections over the per-address
 * cap are closed at once; the limits come from the environment too.
 */
import { connect, type Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultLimits, limitsFromEnv, startDemo, type Demo } from "../examples/server.js"

const portOf = (demo: Demo) => Number(new URL(demo.url).port)

/** Writes `head`, then one byte of `trickle` every 50 ms; answers what the server sent once it closed the connection. */
const trickle = (port: number, head: string, drip: string) =>
  new Promise<{ readonly answer: string; readonly sent: number }>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let answer = ""
    let sent = 0
    let timer: NodeJS.Timeout | undefined
    socket.on("data", (d) => (answer += d.toString("latin1")))
    socket.on("close", () => {
      clearInterval(timer)
      resolve({ answer, sent })
    })
    socket.on("error", () => {})
    socket.on("connect", () => {
      socket.write(head)
      timer = setInterval(() => {
        // Bounded: a server that never cuts the client fails the test instead of hanging it.
        if (sent >= 400) {
          clearInterval(timer)
          socket.destroy()
          reject(new Error("the server kept a trickling client for 400 drips"))
          return
        }
        socket.write(drip[sent % drip.length]!)
        sent++
      }, 50)
    })
  })

describe("slow clients (short time-outs)", () => {
  let demo: Demo
  beforeAll(async () => {
    demo = await startDemo({ port: 0, host: "127.0.0.1", headersTimeout: 600, requestTimeout: 1500, connectionsCheckingInterval: 100, keepAliveTimeout: 500 })
  })
  afterAll(async () => {
    await demo?.close()
  })

  it("disconnects a client trickling its headers; other requests are answered meanwhile", async () => {
    const slow = trickle(portOf(demo), "GET /uws/echo/jobs HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", "abcdefgh")
    const normal = await fetch(`${demo.url}/uws/echo/jobs`)
    expect(normal.status).toBe(200)
    const { answer } = await slow
    expect(answer === "" || answer.startsWith("HTTP/1.1 408")).toBe(true)
  })

  it("disconnects a client trickling its body; other requests are answered meanwhile", async () => {
    const slow = trickle(
      portOf(demo),
      "POST /uws/echo/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nA=",
      "x"
    )
    const created = await fetch(`${demo.url}/uws/echo/jobs`, { method: "POST", body: new URLSearchParams({ A: "1" }), redirect: "manual" })
    expect(created.status).toBe(303)
    const { answer } = await slow
    expect(answer === "" || answer.startsWith("HTTP/1.1 408")).toBe(true)
  })

  it("still answers a blocking WAIT that lasts longer than the request time-out", async () => {
    // A PENDING job changes by no one's hand: WAIT=3 blocks the whole 3 s, twice the request time-out.
    const created = await fetch(`${demo.url}/uws/echo/jobs`, { method: "POST", body: new URLSearchParams({ A: "1" }), redirect: "manual" })
    const job = created.headers.get("location")!
    const started = Date.now()
    const waited = await fetch(`${job}?WAIT=3`, { headers: { accept: "application/json" } })
    expect(waited.status).toBe(200)
    expect(((await waited.json()) as { phase: string }).phase).toBe("PENDING")
    expect(Date.now() - started).toBeGreaterThan(1500)
  })
})

describe("the per-address connection cap", () => {
  let demo: Demo
  beforeAll(async () => {
    demo = await startDemo({ port: 0, host: "127.0.0.1", maxConnectionsPerIp: 4 })
  })
  afterAll(async () => {
    await demo?.close()
  })

  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(s))
      s.on("error", reject)
    })

  it("closes connections over the cap at once, and serves again once they are gone", async () => {
    const port = portOf(demo)
    const held = [await open(port), await open(port), await open(port), await open(port)]
    const extra = connect(port, "127.0.0.1")
    extra.on("error", () => {})
    const closed = await new Promise<string>((resolve) => {
      let data = ""
      extra.on("data", (d) => (data += d.toString()))
      extra.on("connect", () => extra.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
      extra.on("close", () => resolve(data))
    })
    expect(closed).toBe("")
    // The held connections still work.
    const answered = await new Promise<string>((resolve) => {
      let data = ""
      held[0]!.on("data", (d) => {
        data += d.toString()
        if (data.includes("</html>")) resolve(data)
      })
      held[0]!.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    })
    expect(answered).toMatch(/^HTTP\/1\.1 200/)
    await Promise.all(held.map((s) => new Promise<void>((resolve) => (s.once("close", () => resolve()), s.destroy()))))
    await expect.poll(async () => (await fetch(`${demo.url}/`).catch(() => undefined))?.status, { timeout: 10_000 }).toBe(200)
  })
})

describe("limits from the environment", () => {
  it("reads each limit, and refuses what is not a whole number ≥ 1", () => {
    expect(limitsFromEnv({ UWS_HEADERS_TIMEOUT_MS: "2000", UWS_REQUEST_TIMEOUT_MS: "60000", UWS_KEEP_ALIVE_TIMEOUT_MS: "1000", UWS_MAX_CONNECTIONS_PER_IP: "10", UWS_MAX_CONNECTIONS: "100" })).toEqual({
      headersTimeout: 2000,
      requestTimeout: 60000,
      keepAliveTimeout: 1000,
      maxConnectionsPerIp: 10,
      maxConnections: 100
    })
    expect(limitsFromEnv({})).toEqual({})
    for (const bad of ["0", "-1", "1.5", "soon"]) expect(() => limitsFromEnv({ UWS_REQUEST_TIMEOUT_MS: bad })).toThrow(/UWS_REQUEST_TIMEOUT_MS must be a whole number/)
    expect(defaultLimits.requestTimeout).toBeGreaterThan(0)
  })
})
