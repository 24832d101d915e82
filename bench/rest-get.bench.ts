/**
 * REST's hot read path over real sockets: GET one job's XML through the binding's Node listener,
 * against a bare `node:http` server answering a fixed 600-byte body, both on loopback and driven
 * by the same keep-alive client at concurrency 16, rounds alternating so that machine noise hits
 * both alike; the median round counts. The client runs in this process, so the ratio is
 * compressed towards 1 compared with an external load generator (wrk); it is for before/after
 * comparisons of the binding, in the same run. Nothing is asserted.
 */
import { createServer, Agent, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Uws, Worker } from "@uws-kit/core"
import type { Benchmark } from "./report.js"

const REQUESTS = Number(process.env["UWS_BENCH_GET_REQUESTS"] ?? 4000)
const CONCURRENCY = 16
const ROUNDS = 7

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

const get = (agent: Agent, port: number, path: string) =>
  new Promise<number>((resolve, reject) => {
    const req = request({ agent, host: "127.0.0.1", port, path }, (res) => {
      res.on("data", () => {})
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("error", reject)
    req.end()
  })

/** Requests per second for `REQUESTS` GETs of `path`, `CONCURRENCY` at a time. */
const load = async (port: number, path: string): Promise<number> => {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const status = await get(agent, port, path)
        if (status !== 200) throw new Error(`GET ${path} answered ${status}`)
      }
    })
  )
  agent.destroy()
  return REQUESTS / ((performance.now() - started) / 1000)
}

const bench: Benchmark = async () => {
  const { service, close } = await Uws.start({ worker: Worker.noop, policy: { maxActiveJobsPerOwner: null, maxStoredJobs: null } })
  const rest = RestAdapter.makeRestAdapter({ service, basePath: "/uws" })
  const restServer = createServer(rest.listener)
  const body = "x".repeat(600)
  const rawServer = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/xml", "content-length": body.length })
    res.end(body)
  })
  const restPort = await listen(restServer)
  const rawPort = await listen(rawServer)
  const created = await fetch(`http://127.0.0.1:${restPort}/uws/jobs`, { method: "POST", body: new URLSearchParams({ TEXT: "hello" }), redirect: "manual" })
  const jobPath = new URL(created.headers.get("location")!).pathname
  await load(restPort, jobPath) // warm-up
  await load(rawPort, "/")
  const restRounds: Array<number> = []
  const rawRounds: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    restRounds.push(await load(restPort, jobPath))
    rawRounds.push(await load(rawPort, "/"))
  }
  restServer.closeAllConnections()
  rawServer.closeAllConnections()
  await new Promise((resolve) => restServer.close(resolve))
  await new Promise((resolve) => rawServer.close(resolve))
  await rest.dispose()
  await close()
  const restRate = median(restRounds)
  const rawRate = median(rawRounds)
  return {
    title: `REST GET of one job's XML over loopback (${REQUESTS} requests, concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds)`,
    figures: [
      { name: "REST GET job", value: Math.round(restRate), unit: "req/s", baseline: "node:http fixed 600 B" },
      { name: "node:http fixed 600 B", value: Math.round(rawRate), unit: "req/s" }
    ]
  }
}

export default bench
