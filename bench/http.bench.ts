/**
 * The demo end to end over loopback (issue 12's table): the demo runs as `npm start` runs it
 * (`node --import tsx examples/server.ts`, the packages as built by `tsc -b`, a fresh temporary
 * UWS_DATA_DIR, so the SQLite store, at the demo's default synchronous = NORMAL; the environment's
 * UWS_SQLITE_SYNC=full reaches the demo for a flush per commit) in a process of its own on a free port, with its job quotas
 * lifted (`UWS_MAX_STORED_JOBS=none`, `UWS_MAX_ACTIVE_JOBS_PER_OWNER=none`: the rows store 20,000
 * jobs and create from one address), `--expose-gc` and bench/support/gc-hook.ts (a collection
 * on SIGUSR2, for the memory row). The baselines are bare `node:http` servers in processes of
 * their own (bench/support/raw-server.ts) and `dd`; the load comes from outside: `wrk -t2 -c16`
 * (Debian's /usr/bin/wrk), or, when wrk is missing, a Node load generator in another process
 * (bench/support/load-generator.ts; the title says which ran). Each repeat starts fresh processes.
 *
 *     npm run bench -- http
 *     UWS_BENCH_HTTP_ROWS=get,create UWS_BENCH_REPEATS=1 npm run bench -- http
 *
 * Knobs: `UWS_BENCH_HTTP_ROWS` (get, create, lifecycle, wake, memory, archive; default all),
 * `UWS_BENCH_HTTP_SECONDS` (each wrk run, 5), `UWS_BENCH_HTTP_LIFECYCLES` (200),
 * `UWS_BENCH_HTTP_WAKES` (50), `UWS_BENCH_HTTP_JOBS` (20,000), `UWS_BENCH_HTTP_ARCHIVE_MIB` (200),
 * `UWS_BENCH_HTTP_ARCHIVE_WARMUPS` (3) and `UWS_BENCH_HTTP_ARCHIVE_UPLOADS` (3, the rounds measured),
 * `UWS_BENCH_HTTP_WARMUP_MS` (the lifecycle and wake rows' warm-up, 2,000).
 *
 * Every row measures the demo warmed up, as a service that has been running serves: the GET and
 * creation rows after a second of the same load, the lifecycle and wake rows after
 * UWS_BENCH_HTTP_WARMUP_MS of their own steps (twenty lifecycles, as before, left much of the
 * code unoptimised by V8: on 2026-12-01 the lifecycle measured 4.9 ms without warm-up, 3.2 ms
 * after two seconds of it), the archive rows after ARCHIVE_WARMUPS uploads and a download of each kind.
 */
import { spawnSync } from "node:child_process"
import { closeSync, cpSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs"
import { Agent } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { randomBytes } from "node:crypto"
import { download, drive, loadGenerator, send, sleep, startDemo, startRaw, type DemoProcess } from "./support/processes.js"
import { median, type Benchmark, type Figure } from "./report.js"

const env = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback)
  if (!(n > 0)) throw new Error(`${name} must be a positive number`)
  return n
}
const SECONDS = env("UWS_BENCH_HTTP_SECONDS", 5)
const LIFECYCLES = env("UWS_BENCH_HTTP_LIFECYCLES", 200)
const WAKES = env("UWS_BENCH_HTTP_WAKES", 50)
/** Wakes of one kind in a row (see wakeRows). */
const WAKE_BLOCK = 10
const WARMUP_MS = env("UWS_BENCH_HTTP_WARMUP_MS", 2_000)
const JOBS = env("UWS_BENCH_HTTP_JOBS", 20_000)
const ARCHIVE_MIB = env("UWS_BENCH_HTTP_ARCHIVE_MIB", 200)
const ARCHIVE_WARMUPS = (() => {
  const n = Number(process.env["UWS_BENCH_HTTP_ARCHIVE_WARMUPS"] ?? 3)
  if (!Number.isInteger(n) || n < 0) throw new Error("UWS_BENCH_HTTP_ARCHIVE_WARMUPS must be a whole number (0 measures a fresh process's first uploads)")
  return n
})()
const ARCHIVE_UPLOADS = env("UWS_BENCH_HTTP_ARCHIVE_UPLOADS", 3)
const ROWS = new Set((process.env["UWS_BENCH_HTTP_ROWS"] ?? "get,create,lifecycle,wake,memory,archive").split(",").map((r) => r.trim()))
const CONCURRENCY = 16
const MiB = 1024 * 1024
const noQuotas = { UWS_MAX_STORED_JOBS: "none", UWS_MAX_ACTIVE_JOBS_PER_OWNER: "none", UWS_LOG_FORMAT: "off" }
const form = "A=1&B=2"

const ok = (status: number, expected: number, what: string, body = "") => {
  if (status !== expected) throw new Error(`${what} answered ${status}, not ${expected}: ${body.slice(0, 300)}`)
}

const phaseOf = (xml: string) => /<uws:phase>([A-Z]+)<\/uws:phase>/.exec(xml)?.[1]

/**
 * A folder of this process's own for the demo's data, the scripts and the archive's files, under
 * `UWS_BENCH_HTTP_DIR` (default the OS temporary folder). On a machine whose disk is shared with
 * other fsync-heavy work, `UWS_BENCH_HTTP_DIR=/dev/shm` (tmpfs: fsync costs nothing, files are not
 * in the demo's RSS) measures the service rather than the disk's flush latency; say so with the figures.
 */
const scratch = mkdtempSync(join(process.env["UWS_BENCH_HTTP_DIR"] || tmpdir(), "uws-bench-http-"))
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }))
let files = 0
const scratchFile = (text: string) => {
  const file = join(scratch, `f${files++}`)
  writeFileSync(file, text)
  return file
}

/** `size` random bytes in a file (once per process), the first byte 0x30 (a DER signature starts so). */
const randomFile = (() => {
  const made = new Map<number, string>()
  return (size: number) => {
    let file = made.get(size)
    if (file === undefined) {
      file = join(scratch, `random-${size}`)
      const fd = openSync(file, "w")
      for (let at = 0; at < size; at += MiB) {
        const chunk = randomBytes(Math.min(MiB, size - at))
        if (at === 0) chunk[0] = 0x30
        writeSync(fd, chunk)
      }
      closeSync(fd)
      made.set(size, file)
    }
    return file
  }
})()

/** Progress on stderr: a row under load can take minutes. */
const note = (what: string) => process.stderr.write(`  http: ${what}\n`)

const clientAgent = () => new Agent({ keepAlive: true, maxSockets: 1 })

// Rows ----------------------------------------------------------------------------------------

/** GET one job's XML and POST creations under wrk against the demo and the raw server. */
const loadRows = async (demo: DemoProcess, raw: string, rows: Set<string>) => {
  const figures: Array<Figure> = []
  const agent = clientAgent()
  if (rows.has("get")) {
    note("GET one job's XML")
    const created = await send(agent, "POST", `${demo.url}/uws/echo/jobs`, form)
    ok(created.status, 303, "creating the job to read")
    const job = created.location!
    const spec = (url: string) => ({ url, method: "GET" as const, concurrency: CONCURRENCY, seconds: SECONDS, headers: { accept: "application/xml" } })
    await drive({ ...spec(job), seconds: 1 }, scratchFile) // warm-up
    await drive({ ...spec(raw), seconds: 1 }, scratchFile)
    const got = await drive(spec(job), scratchFile)
    const base = await drive(spec(raw), scratchFile)
    figures.push(
      { name: "GET one job's XML", value: Math.round(got.rate), unit: "req/s", target: "ratio ≥ 0.3", baseline: "node:http fixed 600 B (GET)" },
      { name: "node:http fixed 600 B (GET)", value: Math.round(base.rate), unit: "req/s" },
      { name: "GET one job's XML: failed answers", value: got.failed, unit: `of ${got.requests}` }
    )
  }
  if (rows.has("create")) {
    note("creations")
    const spec = (url: string) => ({ url, method: "POST" as const, concurrency: CONCURRENCY, seconds: SECONDS, body: form, headers: { "content-type": "application/x-www-form-urlencoded" } })
    await drive({ ...spec(`${demo.url}/uws/echo/jobs`), seconds: 1 }, scratchFile) // warm-up
    const made = await drive(spec(`${demo.url}/uws/echo/jobs`), scratchFile)
    const base = await drive(spec(raw), scratchFile)
    figures.push(
      { name: "job creations (POST, 2 parameters)", value: Math.round(made.rate), unit: "/s", target: "≥ 5,000/s", baseline: "node:http fixed 600 B (POST)" },
      { name: "node:http fixed 600 B (POST)", value: Math.round(base.rate), unit: "req/s" },
      { name: "job creations: failed answers", value: made.failed, unit: `of ${made.requests}` }
    )
  }
  agent.destroy()
  return figures
}

/** Create, PHASE=RUN, WAIT until COMPLETED, GET the result, DELETE: ms, and the requests it took. */
const lifecycle = async (agent: Agent, url: string) => {
  const start = performance.now()
  const created = await send(agent, "POST", `${url}/uws/echo/jobs`, form)
  ok(created.status, 303, "create")
  const job = created.location!
  ok((await send(agent, "POST", `${job}/phase`, "PHASE=RUN")).status, 303, "PHASE=RUN")
  let requests = 2
  for (;;) {
    const got = await send(agent, "GET", `${job}?WAIT=30`)
    requests++
    ok(got.status, 200, "WAIT")
    const phase = phaseOf(got.body)
    if (phase === "COMPLETED") break
    if (phase !== "QUEUED" && phase !== "EXECUTING") throw new Error(`the echo job ended ${phase}`)
  }
  const result = await send(agent, "GET", `${job}/results/result`)
  ok(result.status, 200, "GET result", result.body)
  ok((await send(agent, "DELETE", job)).status, 303, "DELETE")
  return { ms: performance.now() - start, requests: requests + 2 }
}

/** The same number of sequential requests to the raw server (POST, POST, GETs, DELETE). */
const rawLifecycle = async (agent: Agent, raw: string, requests: number) => {
  const start = performance.now()
  for (let i = 0; i < requests; i++) {
    const method = i < 2 ? "POST" : i === requests - 1 ? "DELETE" : "GET"
    ok((await send(agent, method, raw, method === "POST" ? form : undefined)).status, 200, "raw")
  }
  return performance.now() - start
}

const lifecycleRows = async (demo: DemoProcess, raw: string) => {
  note("lifecycles")
  const agent = clientAgent()
  for (const start = performance.now(); performance.now() - start < WARMUP_MS; ) await lifecycle(agent, demo.url)
  const ms: Array<number> = []
  const rawMs: Array<number> = []
  const counts: Array<number> = []
  for (let i = 0; i < LIFECYCLES; i++) {
    const l = await lifecycle(agent, demo.url)
    ms.push(l.ms)
    counts.push(l.requests)
    rawMs.push(await rawLifecycle(agent, raw, l.requests))
  }
  agent.destroy()
  return [
    { name: `full lifecycle over HTTP, median of ${LIFECYCLES} (create, RUN, WAIT, result, DELETE)`, value: median(ms), unit: "ms", target: "≤ 3 ms", baseline: "the same number of requests to node:http, median" },
    { name: "the same number of requests to node:http, median", value: median(rawMs), unit: "ms" },
    { name: "requests per lifecycle, median", value: median(counts), unit: "requests" }
  ]
}

/** Blocking WAITs the demo counts for the `sleep` service (`uws_wait_waiters` on /metrics). */
const sleepWaiters = async (agent: Agent, url: string) => {
  const text = (await send(agent, "GET", `${url}/metrics`)).body
  return Number(/^uws_wait_waiters\{service="sleep"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

/**
 * A client blocked in `?WAIT=30&PHASE=EXECUTING` on an executing `sleep` job; another client
 * ABORTs it. Time from sending the ABORT, and from the ABORT's answer, to the WAIT's answer,
 * measured two ways in turn:
 * - at once: the ABORT is sent as soon as the demo's /metrics shows the WAIT blocked
 *   (`uws_wait_waiters`); baseline: a request to node:http sent right after another;
 * - after 20 ms idle: the ABORT is sent 20 ms after the WAIT, nothing running meanwhile;
 *   baseline: a request to node:http after the same 20 ms. On this 2-core VM a process that
 *   has slept for milliseconds runs several times slower for a while (a job's XML renders in
 *   6 µs in a loop, 80 µs after a 20 ms sleep), so both the demo and the bare server are slower.
 * The two ways take turns in blocks of WAKE_BLOCK, not one by one: the slowdown outlasts the
 * iteration that slept, and the next iteration's ABORT, sent at once, took 462 µs in the demo
 * instead of 352 µs (median, ABORT's request event to the WAIT's answer written, /tmp trace).
 * The first iteration of each block is not measured.
 */
const wakeRows = async (demo: DemoProcess, raw: string) => {
  note("WAIT wake after ABORT")
  const waiter = clientAgent()
  const changer = clientAgent()
  const kinds = ["at once", "after 20 ms idle"] as const
  const perKind = (): Record<(typeof kinds)[number], Array<number>> => ({ "at once": [], "after 20 ms idle": [] })
  const fromSent = perKind()
  const fromAnswer = perKind()
  const rtt = perKind()
  const warmUntil = performance.now() + WARMUP_MS
  for (let i = 0; kinds.some((k) => fromSent[k].length < WAKES); i++) {
    const kind = kinds[Math.floor(i / WAKE_BLOCK) % 2]!
    const created = await send(changer, "POST", `${demo.url}/uws/sleep/jobs`, "SECONDS=30&PHASE=RUN")
    ok(created.status, 303, "create sleep")
    const job = created.location!
    for (let phase = "QUEUED"; phase !== "EXECUTING"; ) {
      const got = await send(changer, "GET", `${job}?WAIT=5&PHASE=QUEUED`)
      phase = phaseOf(got.body) ?? "?"
      if (phase !== "QUEUED" && phase !== "EXECUTING") throw new Error(`the sleep job is ${phase}`)
    }
    const woken = send(waiter, "GET", `${job}?WAIT=30&PHASE=EXECUTING`)
    if (kind === "at once") {
      // The WAIT is blocked once the demo counts it.
      for (let tries = 0; (await sleepWaiters(changer, demo.url)) < 1; tries++) {
        if (tries > 5_000) throw new Error("the WAIT never blocked")
        await sleep(1)
      }
    } else await sleep(20)
    const sent = performance.now()
    const aborted = await send(changer, "POST", `${job}/phase`, "PHASE=ABORT")
    ok(aborted.status, 303, "ABORT")
    const answer = await woken
    if (phaseOf(answer.body) !== "ABORTED") throw new Error(`the WAIT answered ${phaseOf(answer.body)}, not ABORTED`)
    ok((await send(changer, "DELETE", job)).status, 303, "DELETE")
    // The baseline as the ABORT was sent: right after another request, or after the same idle.
    if (kind === "at once") ok((await send(changer, "GET", raw)).status, 200, "raw")
    else await sleep(20)
    const start = performance.now()
    ok((await send(changer, "GET", raw)).status, 200, "raw")
    const took = performance.now() - start
    if (i < 10 || i % WAKE_BLOCK === 0 || performance.now() < warmUntil || fromSent[kind].length >= WAKES) continue // warm-up, the first of a block
    fromSent[kind].push(answer.at - sent)
    fromAnswer[kind].push(answer.at - aborted.at)
    rtt[kind].push(took)
  }
  waiter.destroy()
  changer.destroy()
  return [
    { name: `WAIT wake after ABORT, from ABORT sent, median of ${WAKES}`, value: median(fromSent["at once"]), unit: "ms", target: "≤ 1 ms", baseline: "one request to node:http, median" },
    { name: "WAIT wake after ABORT, from the ABORT's answer, median", value: median(fromAnswer["at once"]), unit: "ms" },
    { name: "one request to node:http, median", value: median(rtt["at once"]), unit: "ms" },
    { name: `WAIT wake after ABORT sent after 20 ms idle, median of ${WAKES}`, value: median(fromSent["after 20 ms idle"]), unit: "ms", target: "≤ 1 ms", baseline: "one request to node:http after 20 ms idle, median" },
    { name: "WAIT wake after 20 ms idle, from the ABORT's answer, median", value: median(fromAnswer["after 20 ms idle"]), unit: "ms" },
    { name: "one request to node:http after 20 ms idle, median", value: median(rtt["after 20 ms idle"]), unit: "ms" }
  ]
}

/** Bytes of the demo's SQLite files (its job store's on-disk size). */
const sqliteBytes = (dataDir: string) =>
  readdirSync(dataDir)
    .filter((f) => f.startsWith("uws.sqlite"))
    .reduce((n, f) => n + statSync(join(dataDir, f)).size, 0)

/**
 * RSS per stored job: echo jobs with 2 parameters, run to COMPLETED (one small result each),
 * created over HTTP at concurrency 16; RSS (VmRSS) on a collected heap at JOBS/4 and JOBS
 * stored jobs, the slope between them. A fresh demo.
 */
const memoryRows = async () => {
  const dataDir = join(scratch, `memory-${files++}`)
  const demo = await startDemo(dataDir, noQuotas)
  try {
    const agents = Array.from({ length: CONCURRENCY }, clientAgent)
    let made = 0
    const fill = async (total: number) => {
      await Promise.all(
        agents.map(async (agent) => {
          while (made < total) {
            made++
            ok((await send(agent, "POST", `${demo.url}/uws/echo/jobs`, `${form}&PHASE=RUN`)).status, 303, "create")
          }
        })
      )
      // Until every job has run: none QUEUED or EXECUTING.
      for (;;) {
        const list = await send(agents[0]!, "GET", `${demo.url}/uws/echo/jobs?PHASE=QUEUED&PHASE=EXECUTING`)
        if (!list.body.includes("<uws:jobref")) break
        await sleep(100)
      }
      await sleep(1000) // settle: the store's background work, timers
      return { ...(await demo.memory()), disk: sqliteBytes(dataDir) }
    }
    const n1 = Math.round(JOBS / 4)
    note("memory: warm-up")
    await fill(Math.min(500, Math.floor(n1 / 2))) // code compiled, caches at size
    note(`memory: filling to ${n1}`)
    const a = await fill(n1)
    note(`memory: filling to ${JOBS}`)
    const b = await fill(JOBS)
    for (const agent of agents) agent.destroy()
    const per = (k: "rss" | "heapUsed" | "disk") => (b[k] - a[k]) / (JOBS - n1)
    const span = `${n1.toLocaleString("en-US")} → ${JOBS.toLocaleString("en-US")} jobs`
    return [
      { name: `RSS per stored job over HTTP (slope ${span})`, value: Math.round(per("rss")), unit: "B", target: "≤ 2,048 B", baseline: "SQLite file bytes per stored job (slope)" },
      { name: "V8 heap per stored job (slope, collected heap)", value: Math.round(per("heapUsed")), unit: "B" },
      { name: "SQLite file bytes per stored job (slope)", value: Math.round(per("disk")), unit: "B" },
      { name: `demo RSS at ${JOBS.toLocaleString("en-US")} jobs`, value: Math.round(b.rss / MiB), unit: "MiB" }
    ]
  } finally {
    await demo.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const boundary = "uws-bench-boundary-7d1f"
/** A multipart body of the archive's upload: fields, then files as `Content` or `Signs` parts. */
const multipart = (fields: Readonly<Record<string, string>>, parts: ReadonlyArray<{ readonly field: string; readonly file: string; readonly name: string }>) => {
  const head = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join("")
  const partHead = (p: (typeof parts)[number]) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"; filename="${p.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`
  const tail = `--${boundary}--\r\n`
  const length =
    Buffer.byteLength(head) + parts.reduce((n, p) => n + Buffer.byteLength(partHead(p)) + statSync(p.file).size + 2, 0) + Buffer.byteLength(tail)
  const stream = () =>
    Readable.from(
      (async function* () {
        yield Buffer.from(head)
        for (const p of parts) {
          yield Buffer.from(partHead(p))
          for await (const chunk of createReadStream(p.file, { highWaterMark: MiB })) yield chunk as Buffer
          yield Buffer.from("\r\n")
        }
        yield Buffer.from(tail)
      })()
    )
  return { stream, length, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } }
}

const ddSeconds = (source: string, target: string) => {
  const start = performance.now()
  const r = spawnSync("dd", [`if=${source}`, `of=${target}`, "bs=1M", "conv=fsync"], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`)
  return (performance.now() - start) / 1000
}

/** Waits until a container's background step is over (status neither Accepted nor Processing). */
const settled = async (agent: Agent, url: string, id: string) => {
  for (const until = performance.now() + 300_000; performance.now() < until; await sleep(50)) {
    const got = await send(agent, "GET", `${url}/api/document/${id}`)
    ok(got.status, 200, "container detail", got.body)
    const status = (JSON.parse(got.body) as { data: { status: number } }).data.status
    if (status !== 1 && status !== 2) return
  }
  throw new Error(`the background step of container ${id} did not end in 300 s`)
}

/**
 * The example plugin configuration without its `Replication` section (filesystem_01 not mirrored:
 * an upload writes one copy), in a folder of its own with the plugins it loads; its path.
 */
const oneCopyPluginConfig = () => {
  const examples = fileURLToPath(new URL("../examples", import.meta.url))
  const folder = join(scratch, `one-copy-${files++}`)
  mkdirSync(join(folder, "plugins"), { recursive: true })
  cpSync(join(examples, "plugins"), join(folder, "plugins"), { recursive: true })
  const config = JSON.parse(readFileSync(join(examples, "plugin-config.json"), "utf8")) as Record<string, unknown>
  delete config["Replication"]
  const file = join(folder, "plugin-config.json")
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

/**
 * Uploads of ARCHIVE_MIB as a container's document (multipart, as the seed's curl sends it): to
 * the demo as it ships (its storage mirrored: two copies written and flushed) against a raw sink
 * writing the same two copies at once (write, fsync), and to a second demo whose storage is not
 * mirrored (one copy, as the demo was when issue 12 set the target) against a raw sink writing
 * one; `dd conv=fsync` of the file beside them. Like the other rows, warmed up first: a fresh
 * process's first uploads run its code unoptimised (on 2026-12-02 a fresh demo's first two took
 * 0.85–0.95 s and 1.2–1.5 s of CPU, its fourth to sixth 0.43–0.54 s and 0.5–0.7 s, a raw sink's
 * 0.43–0.56 s throughout), so ARCHIVE_WARMUPS uploads to each, then ARCHIVE_UPLOADS rounds taking
 * turns (host drift falls on all four alike), the median of each; every demo upload waits for its
 * container's background step (reading the copies back, hashing) to end before the next upload.
 * Download of that document (`GET /document/{id}/content`) against a raw server streaming the
 * same file, likewise warmed up and taking turns, and of ARCHIVE_MIB of signatures
 * (`GET /document/{id}/sign`, a zip made on the fly) beside it, once.
 */
const archiveRows = async (demo: DemoProcess) => {
  const size = ARCHIVE_MIB * MiB
  const source = randomFile(size)
  const agent = clientAgent()
  const fields = { ContainerName: "bench", StorageId: "4", SaveType: "Permanent" }
  const upload = multipart(fields, [{ field: "Content", file: source, name: "document.bin" }])
  const seconds = async (run: () => Promise<unknown>) => {
    const start = performance.now()
    await run()
    return (performance.now() - start) / 1000
  }
  const oneCopyDir = join(scratch, `demo-${files++}`)
  const oneCopy = await startDemo(oneCopyDir, { ...noQuotas, UWS_ARCHIVE_PLUGIN_CONFIG: oneCopyPluginConfig() })
  const sink = await startRaw("sink", join(scratch, "sink"))
  const sink2 = await startRaw("sink2", join(scratch, "sink"))
  const serve = await startRaw("file", source)
  try {
    let docId = ""
    const toDemo = (target: DemoProcess, what: string) => async () => {
      let answer = { status: 0, body: "" }
      const s = await seconds(async () => (answer = await send(agent, "POST", `${target.url}/api/document/content`, upload, upload.headers)))
      ok(answer.status, 200, what, answer.body)
      const id = (JSON.parse(answer.body) as { data: string }).data
      await settled(agent, target.url, id)
      if (target === demo) docId = id
      return s
    }
    const toSink = (target: { readonly url: string }, copies: ReadonlyArray<string>, what: string) => async () => {
      let status = 0
      const s = await seconds(async () => (status = (await send(agent, "POST", target.url, upload, upload.headers)).status))
      ok(status, 200, what)
      for (const f of copies) rmSync(join(scratch, f), { force: true })
      return s
    }
    const uploads = {
      mirrored: toDemo(demo, "archive upload"),
      oneCopy: toDemo(oneCopy, "archive upload, one copy"),
      sink: toSink(sink, ["sink"], "raw sink"),
      sink2: toSink(sink2, ["sink.1", "sink.2"], "raw sink of two copies")
    }
    const times = { mirrored: [] as Array<number>, oneCopy: [] as Array<number>, sink: [] as Array<number>, sink2: [] as Array<number>, dd: [] as Array<number> }
    note(`archive: ${ARCHIVE_WARMUPS} warm-up uploads to each`)
    for (let i = 0; i < ARCHIVE_WARMUPS; i++) for (const run of Object.values(uploads)) await run()
    note(`archive: ${ARCHIVE_UPLOADS} rounds of uploads`)
    for (let i = 0; i < ARCHIVE_UPLOADS; i++) {
      for (const [kind, run] of Object.entries(uploads)) times[kind as keyof typeof uploads].push(await run())
      times.dd.push(ddSeconds(source, join(scratch, "dd")))
      rmSync(join(scratch, "dd"), { force: true })
    }

    note("archive: downloads")
    // Permanent containers are not deleted through the API: the demos' data folders go at the end.
    const downloads = {
      doc: async () => {
        let got = { status: 0, bytes: 0 }
        const s = await seconds(async () => (got = await download(agent, `${demo.url}/api/document/${docId}/content`)))
        ok(got.status, 200, "document download")
        if (got.bytes !== size) throw new Error(`the document download gave ${got.bytes} bytes, not ${size}`)
        return s
      },
      raw: async () => {
        let got = { status: 0, bytes: 0 }
        const s = await seconds(async () => (got = await download(agent, serve.url)))
        if (got.bytes !== size) throw new Error(`the raw server gave ${got.bytes} bytes, not ${size}`)
        return s
      }
    }
    const downTimes = { doc: [] as Array<number>, raw: [] as Array<number> }
    for (const run of Object.values(downloads)) await run()
    for (let i = 0; i < ARCHIVE_UPLOADS; i++) for (const [kind, run] of Object.entries(downloads)) downTimes[kind as keyof typeof downloads].push(await run())

    // Signatures of at most 16 MiB each (the API's limit), ARCHIVE_MIB in all.
    const count = Math.ceil(size / (15 * MiB))
    const sig = randomFile(Math.floor(size / count))
    const signed = multipart(fields, [
      { field: "Content", file: randomFile(MiB), name: "document.bin" },
      ...Array.from({ length: count }, (_, i) => ({ field: "Signs", file: sig, name: `s${i}.sig` }))
    ])
    const made = await send(agent, "POST", `${demo.url}/api/document/content`, signed, signed.headers)
    ok(made.status, 200, "archive upload of signatures", made.body)
    const signedId = (JSON.parse(made.body) as { data: string }).data
    await settled(agent, demo.url, signedId)
    let got = { status: 0, bytes: 0 }
    const downS = await seconds(async () => (got = await download(agent, `${demo.url}/api/document/${signedId}/sign`)))
    ok(got.status, 200, "signatures download")
    let rawBytes = 0
    const rawS = await seconds(async () => (rawBytes = (await download(agent, serve.url)).bytes))
    const rawDownS = rawS * (got.bytes / rawBytes)
    const mib = `${ARCHIVE_MIB} MiB`
    const of = `median of ${ARCHIVE_UPLOADS} after ${ARCHIVE_WARMUPS} warm-up`
    return [
      { name: `archive upload of ${mib}, mirrored: two copies (the demo as it ships; multipart POST /api/document/content), ${of}`, value: median(times.mirrored), unit: "s", target: "ratio ≤ 1.5", baseline: "raw node:http sink writing two copies at once (write, fsync)" },
      { name: "raw node:http sink writing two copies at once (write, fsync)", value: median(times.sink2), unit: "s" },
      { name: `archive upload of ${mib}, one copy (the demo's storage not mirrored), ${of}`, value: median(times.oneCopy), unit: "s", target: "ratio ≤ 1.5", baseline: "raw node:http sink of the same body (write, fsync)" },
      { name: "raw node:http sink of the same body (write, fsync)", value: median(times.sink), unit: "s", baseline: `dd bs=1M conv=fsync of the ${mib}` },
      { name: `archive upload of ${mib}, mirrored, against the one-copy sink`, value: median(times.mirrored), unit: "s", baseline: "raw node:http sink of the same body (write, fsync)" },
      { name: `dd bs=1M conv=fsync of the ${mib}`, value: median(times.dd), unit: "s" },
      { name: `archive download of the ${mib} document (GET /document/{id}/content), median of ${ARCHIVE_UPLOADS} after one`, value: median(downTimes.doc), unit: "s", target: "ratio ≤ 1.3", baseline: "raw node:http streaming the same file" },
      { name: "raw node:http streaming the same file", value: median(downTimes.raw), unit: "s" },
      { name: `archive download of ${(got.bytes / MiB).toFixed(0)} MiB of signatures (GET /document/{id}/sign, ${count} in a zip)`, value: downS, unit: "s", baseline: "raw node:http streaming a file of that size" },
      { name: "raw node:http streaming a file of that size", value: rawDownS, unit: "s" }
    ]
  } finally {
    agent.destroy()
    await oneCopy.stop()
    rmSync(oneCopyDir, { recursive: true, force: true })
    await sink.stop()
    await sink2.stop()
    await serve.stop()
  }
}

const bench: Benchmark = async () => {
  const figures: Array<Figure> = []
  const shared = ["get", "create", "lifecycle", "wake", "archive"].some((r) => ROWS.has(r))
  if (shared) {
    const dataDir = join(scratch, `demo-${files++}`)
    const demo = await startDemo(dataDir, noQuotas)
    const raw = await startRaw("fixed")
    try {
      figures.push(...(await loadRows(demo, raw.url, ROWS)))
      if (ROWS.has("lifecycle")) figures.push(...(await lifecycleRows(demo, raw.url)))
      if (ROWS.has("wake")) figures.push(...(await wakeRows(demo, raw.url)))
      if (ROWS.has("archive")) figures.push(...(await archiveRows(demo)))
    } finally {
      await demo.stop()
      await raw.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  if (ROWS.has("memory")) figures.push(...(await memoryRows()))
  return {
    title: `The demo end to end over loopback (load: ${loadGenerator === "wrk" ? `wrk -t2 -c${CONCURRENCY} -d${SECONDS}s` : `the Node load generator (no wrk: apt-get install wrk), ${CONCURRENCY} connections, ${SECONDS} s`})`,
    figures
  }
}

export default bench
