/**
 * Slow clients against the demo service (issue #8): the demo (examples/server.ts) runs as a real
 * process on a free port; p50/p99 latency of normal requests over loopback (create a job with
 * POST, GET a job's XML; a fresh connection each, as independent clients) is measured quiet —
 * the baseline, in the same run — and then while thousands of connections trickle their request
 * headers or their body one byte a second. Prints both, their ratio, how many flood connections
 * the server closed (while measuring, and after holding the flood `UWS_BENCH_FLOOD_HOLD_S`, default
 * 20 s, longer), and how many normal requests failed or timed out. Nothing is asserted.
 *
 *     npm run bench -- flood
 *     UWS_BENCH_FLOOD_CONNECTIONS=6000 UWS_BENCH_FLOOD_REQUESTS=400 npm run bench -- flood
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { request as httpRequest } from "node:http"
import { connect, type Socket } from "node:net"
import { fileURLToPath } from "node:url"
import type { Benchmark, Figure } from "./report.js"

const CONNECTIONS = Number(process.env["UWS_BENCH_FLOOD_CONNECTIONS"] ?? 3000)
const REQUESTS = Number(process.env["UWS_BENCH_FLOOD_REQUESTS"] ?? 200)
/** How long the flood is held after measuring, to see whether the server ever lets go of it. */
const HOLD_S = Number(process.env["UWS_BENCH_FLOOD_HOLD_S"] ?? 20)
/** A normal request that takes longer than this counts as failed (and as this long in the percentiles). */
const REQUEST_TIMEOUT_MS = 10_000
/** File descriptors kept free for everything but the flood (normal requests, the child's own files). */
const FD_MARGIN = 300

const server = fileURLToPath(new URL("../examples/server.ts", import.meta.url))

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** The open-files limit of a shell started now (what this process and the demo inherit). */
const fdLimit = (flag: "-n" | "-Hn") => {
  const out = spawnSync("sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).stdout.trim()
  return out === "unlimited" ? Number.POSITIVE_INFINITY : Number(out)
}

/** Starts the demo with its open-files limit raised as far as the hard limit allows. */
const startDemo = (fds: number, dataDir: string) =>
  new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const child = spawn(
      "sh",
      ["-c", `ulimit -n ${fds} 2>/dev/null; exec "$0" --conditions=@uws-kit/source --import tsx "$1"`, process.execPath, server],
      { env: { ...process.env, PORT: "0", HOST: "127.0.0.1", UWS_DATA_DIR: dataDir }, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    const timer = setTimeout(() => reject(new Error(`the demo did not start in 60 s:\n${out}`)), 60_000)
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d
      const url = /listening on (http:\/\/\S+?)\/\n/.exec(out)?.[1]
      if (url !== undefined) {
        clearTimeout(timer)
        resolve({ child, url: url.replace("localhost", "127.0.0.1") })
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.on("exit", (code) => reject(new Error(`the demo exited (${code}) before listening:\n${out}`)))
  })

/** One normal request on a fresh connection: its latency, or null when it failed or timed out. */
const timed = (url: string, method: "GET" | "POST", path: string, body?: string) =>
  new Promise<{ ms: number; status: number | null; location: string | null }>((resolve) => {
    const start = performance.now()
    const done = (status: number | null, location: string | null = null) => resolve({ ms: performance.now() - start, status, location })
    const req = httpRequest(`${url}${path}`, {
      method,
      agent: false,
      // The flood comes from 127.0.0.1; the demo caps connections per address, so the normal
      // clients come from another one, as independent clients would.
      localAddress: "127.0.0.2",
      headers: body === undefined ? { accept: "application/xml" } : { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) }
    })
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error("timeout")))
    req.on("response", (res) => {
      res.resume()
      res.on("end", () => done(res.statusCode ?? null, res.headers.location ?? null))
      res.on("error", () => done(null))
    })
    req.on("error", () => done(null))
    req.end(body)
  })

/** Alternates creating a job and reading one job's XML; latencies of both, and the failures. */
const measure = async (url: string, jobPath: string) => {
  const latencies: Array<number> = []
  let failed = 0
  for (let i = 0; i < REQUESTS; i++) {
    const r = i % 2 === 0 ? await timed(url, "POST", "/uws/echo/jobs", `RUNID=bench-${i}&PHASE=RUN`) : await timed(url, "GET", jobPath)
    const ok = r.status === (i % 2 === 0 ? 303 : 200)
    if (!ok) failed++
    latencies.push(ok ? r.ms : Math.max(r.ms, REQUEST_TIMEOUT_MS))
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed }
}

interface Flood {
  readonly opened: () => number
  readonly refused: () => number
  readonly closedByServer: () => number
  readonly stop: () => void
}

/**
 * Opens `count` connections in batches: half send a request line and then one header byte a
 * second, never ending the headers; half send complete headers of a POST announcing 1 MB and
 * then one body byte a second.
 */
const flood = async (port: number, count: number): Promise<Flood> => {
  const sockets = new Set<Socket>()
  let opened = 0
  let refused = 0
  let closedByServer = 0
  let stopping = false
  const open = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = connect(port, "127.0.0.1")
      socket.setNoDelay(true)
      socket.on("connect", () => {
        opened++
        sockets.add(socket)
        socket.write(
          i % 2 === 0
            ? "GET /uws/echo/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            : "POST /uws/echo/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\nRUNID="
        )
        resolve()
      })
      socket.on("data", () => {})
      socket.on("error", () => {
        if (!sockets.has(socket)) {
          refused++
          resolve()
        }
      })
      socket.on("close", () => {
        if (sockets.delete(socket) && !stopping) closedByServer++
      })
    })
  for (let i = 0; i < count; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, count - i) }, (_, j) => open(i + j)))
  }
  const trickle = setInterval(() => {
    for (const s of sockets) if (s.writable) s.write("a")
  }, 1000)
  return {
    opened: () => opened,
    refused: () => refused,
    closedByServer: () => closedByServer,
    stop: () => {
      stopping = true
      clearInterval(trickle)
      for (const s of sockets) s.destroy()
      sockets.clear()
    }
  }
}

const bench: Benchmark = async () => {
  const soft = fdLimit("-n")
  const hard = fdLimit("-Hn")
  const wanted = CONNECTIONS + FD_MARGIN
  // This process holds the client end of every flood connection: it needs the fds as much as the demo does.
  let connections = CONNECTIONS
  if (soft < wanted) {
    connections = Math.max(0, soft - FD_MARGIN)
    console.log(
      `flood: the open-files limit (ulimit -n) is ${soft}, under the ${wanted} this flood needs; flooding with ${connections} connections. ` +
        `Raise it (up to the hard limit, ${hard}) with \`ulimit -n ${Math.min(wanted, hard)}\` before \`npm run bench\` for the full flood.`
    )
  }
  // A data folder of each run's own: the demo keeps its jobs, and an earlier run's (or repeat's)
  // jobs would count against this run's quotas.
  const dataDir = mkdtempSync(join(tmpdir(), "uws-bench-flood-"))
  const { child, url } = await startDemo(Math.min(hard, Math.max(wanted, soft)), dataDir)
  const port = Number(new URL(url).port)
  try {
    const created = await timed(url, "POST", "/uws/echo/jobs", "RUNID=bench-target")
    if (created.status !== 303 || created.location === null) throw new Error(`creating the job to read failed: ${created.status}`)
    const jobPath = new URL(created.location).pathname
    await measure(url, jobPath) // warm-up
    const quiet = await measure(url, jobPath)

    const f = await flood(port, connections)
    const closedBefore = f.closedByServer()
    const loaded = await measure(url, jobPath)
    const closedDuring = f.closedByServer() - closedBefore
    await new Promise((resolve) => setTimeout(resolve, HOLD_S * 1000))
    const closedAtEnd = f.closedByServer()
    const opened = f.opened()
    const refused = f.refused()
    f.stop()

    const figures: Array<Figure> = [
      { name: "quiet: p50", value: quiet.p50, unit: "ms" },
      { name: "quiet: p99", value: quiet.p99, unit: "ms" },
      { name: "quiet: failed requests", value: quiet.failed, unit: `of ${REQUESTS}` },
      { name: "flood: connections opened", value: opened, unit: `of ${connections} (refused ${refused})` },
      { name: "flood: p50", value: loaded.p50, unit: "ms", target: "ratio ≤ 2", baseline: "quiet: p50" },
      { name: "flood: p99", value: loaded.p99, unit: "ms", target: "ratio ≤ 5", baseline: "quiet: p99" },
      { name: "flood: failed requests", value: loaded.failed, unit: `of ${REQUESTS} (timeout ${REQUEST_TIMEOUT_MS / 1000} s)` },
      { name: "flood connections closed by the server (before measuring)", value: closedBefore, unit: `of ${opened}` },
      { name: "flood connections closed by the server (while measuring)", value: closedDuring, unit: `of ${opened}` },
      { name: `flood connections closed by the server (all, after holding ${HOLD_S} s more)`, value: closedAtEnd, unit: `of ${opened}` }
    ]
    return { title: `Slow-client flood on the demo (${connections} connections, ${REQUESTS} normal requests each phase)`, figures }
  } finally {
    child.kill("SIGTERM")
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const force = setTimeout(() => child.kill("SIGKILL"), 10_000)
      child.on("exit", () => {
        clearTimeout(force)
        resolve()
      })
    })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

export default bench
