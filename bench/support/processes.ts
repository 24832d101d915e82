/**
 * The processes of the HTTP benchmark: the demo as `npm start` runs it, the bare `node:http`
 * baselines (raw-server.ts), `wrk` or the Node load generator, and a client for single requests.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const demoScript = here("../../examples/server.ts")
const rawScript = here("./raw-server.ts")
const gcHook = here("./gc-hook.ts")
const loadScript = here("./load-generator.ts")

export interface Started {
  readonly child: ChildProcess
  /** Lines the process printed on stdout since it started. */
  readonly lines: Array<string>
  readonly stop: () => Promise<void>
}

const running = new Set<ChildProcess>()
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL")
})
// Interrupted (Ctrl-C, timeout): no process of the benchmark outlives it.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const c of running) c.kill("SIGKILL")
    process.exit(130)
  })
}

/** Spawns `args` with node and resolves once a stdout line matches `ready`. */
const startNode = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>, ready: RegExp, label: string) =>
  new Promise<Started & { readonly match: RegExpExecArray }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    running.add(child)
    const lines: Array<string> = []
    let out = ""
    let pending = ""
    let settled = false
    const timer = setTimeout(() => fail(new Error(`${label} did not start in 60 s:\n${out}`)), 60_000)
    const fail = (e: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill("SIGKILL")
      reject(e)
    }
    const stop = () =>
      new Promise<void>((done) => {
        running.delete(child)
        if (child.exitCode !== null || child.signalCode !== null) return done()
        const force = setTimeout(() => child.kill("SIGKILL"), 10_000)
        child.once("exit", () => {
          clearTimeout(force)
          done()
        })
        child.kill("SIGTERM")
      })
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d
      pending += d
      let nl: number
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        lines.push(line)
        const match = ready.exec(line)
        if (match !== null && !settled) {
          settled = true
          clearTimeout(timer)
          resolve({ child, lines, stop, match })
        }
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.on("error", (e) => fail(e))
    child.on("exit", (code) => fail(new Error(`${label} exited (${code}) before it was ready:\n${out}`)))
  })

export interface DemoProcess extends Started {
  readonly url: string
  /** The demo's resident set size (VmRSS), bytes, and its heap figures, after a forced collection. */
  readonly memory: () => Promise<{ readonly rss: number; readonly heapUsed: number; readonly external: number }>
}

/**
 * The demo as `npm start` runs it (`node --import tsx examples/server.ts`: the packages' built
 * `dist`, which `npm run bench` builds first; SQLite under `dataDir`), on a free port of 127.0.0.1, plus
 * `--expose-gc` and bench/support/gc-hook.ts (a collection on SIGUSR2) and `env`.
 */
export const startDemo = async (dataDir: string, env: Readonly<Record<string, string>> = {}): Promise<DemoProcess> => {
  const started = await startNode(
    ["--expose-gc", "--import", "tsx", "--import", gcHook, demoScript],
    { PORT: "0", HOST: "127.0.0.1", UWS_DATA_DIR: dataDir, ...env },
    /listening on (http:\/\/\S+?)\/?$/,
    "the demo"
  )
  const url = started.match[1]!.replace("//localhost:", "//127.0.0.1:")
  const memory = async () => {
    const before = started.lines.length
    started.child.kill("SIGUSR2")
    const deadline = Date.now() + 30_000
    for (;;) {
      const line = started.lines.slice(before).find((l) => l.startsWith("uws-bench-memory "))
      if (line !== undefined) {
        const heap = JSON.parse(line.slice("uws-bench-memory ".length)) as { heapUsed: number; external: number }
        return { rss: vmRss(started.child.pid!), heapUsed: heap.heapUsed, external: heap.external }
      }
      if (Date.now() > deadline) throw new Error("the demo did not answer SIGUSR2 with its memory figures")
      await sleep(20)
    }
  }
  return { ...started, url, memory }
}

/** A bare `node:http` baseline server (raw-server.ts) in its own process; its URL. */
export const startRaw = async (mode: "fixed" | "sink" | "sink2" | "file", file?: string): Promise<Started & { readonly url: string }> => {
  const started = await startNode(["--import", "tsx", rawScript, mode, ...(file === undefined ? [] : [file])], {}, /^listening (\d+)$/, `the raw ${mode} server`)
  return { ...started, url: `http://127.0.0.1:${started.match[1]}` }
}

/** VmRSS of a process, bytes (Linux). */
export const vmRss = (pid: number): number => {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`)
  return Number(kb) * 1024
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Load ----------------------------------------------------------------------------------------

export interface LoadResult {
  /** Answered requests per second (any status). */
  readonly rate: number
  readonly requests: number
  /** Answers with status ≥ 400, and connection errors/timeouts. */
  readonly failed: number
}

export interface LoadSpec {
  readonly url: string
  readonly method: "GET" | "POST"
  readonly concurrency: number
  readonly seconds: number
  readonly body?: string
  readonly headers?: Readonly<Record<string, string>>
}

/** Which load generator runs: wrk when installed, else the Node one (load-generator.ts). */
export const loadGenerator: "wrk" | "node" = spawnSync("sh", ["-c", "command -v wrk"]).status === 0 ? "wrk" : "node"

const collect = (child: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let out = ""
    let err = ""
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d))
    child.on("error", reject)
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`load generator exited ${code}: ${err}${out}`))))
  })

const lua = (s: string) => JSON.stringify(s) // a JSON string is a valid Lua string literal for ASCII

/** Drives `spec` with wrk (`-t2`, Lua for a method/body) or the Node load generator. */
export const drive = async (spec: LoadSpec, scriptFile: (text: string) => string): Promise<LoadResult> => {
  if (loadGenerator === "node") {
    const out = await collect(spawn(process.execPath, ["--import", "tsx", loadScript, JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] }))
    const r = JSON.parse(out.trim().split("\n").pop()!) as { requests: number; seconds: number; non2xx3xx: number; errors: number }
    return { rate: r.requests / r.seconds, requests: r.requests, failed: r.non2xx3xx + r.errors }
  }
  const script =
    `wrk.method = ${lua(spec.method)}\n` +
    (spec.body === undefined ? "" : `wrk.body = ${lua(spec.body)}\n`) +
    Object.entries(spec.headers ?? {})
      .map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}\n`)
      .join("")
  const args = ["-t2", `-c${spec.concurrency}`, `-d${spec.seconds}s`, "-s", scriptFile(script), spec.url]
  const out = await collect(spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] }))
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(out)
  if (m === null) throw new Error(`cannot read wrk's output:\n${out}`)
  const seconds = Number(m[2]) * { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[m[3] as "us" | "ms" | "s" | "m"]
  const requests = Number(m[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = socket === null ? 0 : socket.slice(1).reduce((n, x) => n + Number(x), 0)
  return { rate: requests / seconds, requests, failed: non2xx + errors }
}

// One request ---------------------------------------------------------------------------------

export interface Answer {
  readonly status: number
  readonly location: string | undefined
  readonly body: string
  /** performance.now() when the answer's last byte arrived. */
  readonly at: number
}

/** One request on `agent`'s keep-alive connections; a streamed `upload` is sent as the body. */
export const send = (
  agent: Agent,
  method: string,
  url: string,
  body?: string | { readonly stream: () => Readable; readonly length: number },
  headers: Readonly<Record<string, string>> = {}
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const length = body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.length
    const req = request(
      url,
      {
        method,
        agent,
        headers: {
          ...(typeof body === "string" ? { "content-type": "application/x-www-form-urlencoded" } : {}),
          ...(body === undefined ? {} : { "content-length": String(length) }),
          ...headers
        }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString("utf8"), at: performance.now() })
        )
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    if (body === undefined || typeof body === "string") req.end(body)
    else body.stream().on("error", reject).pipe(req)
  })

/** Reads an answer to the end, counting its bytes without keeping them. */
export const download = (agent: Agent, url: string): Promise<{ readonly status: number; readonly bytes: number }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let bytes = 0
      res.on("data", (c: Buffer) => (bytes += c.length))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end()
  })
