/**
 * Serve if stored, else fetch (issue 14), over real sockets on loopback:
 *
 * 1. a stored 10 MB document served by `GET /api/fetch/{identifier}` (filesystem storage, its
 *    default read verification on) against a bare node:http server piping `fs.createReadStream`
 *    of the same file, in the same run, rounds interleaved (target ≥ 0.7×);
 * 2. fetch-through of 1,000 small (2 KiB) documents from a local upstream at concurrency 16
 *    (each: 202, fetched, verified, stored with fsync, read back, then `?WAIT` answers it),
 *    against 1,000 direct GETs of the upstream at the same concurrency.
 *
 * `UWS_BENCH_FETCH_ITEMS` changes the count of (2).
 */
import { randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import { createServer, type RequestListener, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Archive, ArchiveAdapter, FilesystemStorage, HttpUpstream, Plugins } from "@uws-kit/adapter-archive"
import { Effect, Exit, Scope } from "effect"
import type { Benchmark, Figure } from "./report.js"

const ITEMS = Number(process.env["UWS_BENCH_FETCH_ITEMS"] ?? 1000)
const DOC_BYTES = 10 * 1000 * 1000
const ROUNDS = 15

const listen = async (listener: RequestListener): Promise<{ server: Server; url: string }> => {
  const server = createServer(listener)
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** GETs a URL and reads the whole body; answers the status and the byte count. */
const drain = async (url: string) => {
  const r = await fetch(url)
  let n = 0
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length
  return { status: r.status, bytes: n }
}

const pool = async (count: number, concurrency: number, task: (i: number) => Promise<void>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++)
    })
  )
}

const bench: Benchmark = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-bench-fetch-"))
  const doc = randomBytes(DOC_BYTES)
  const small = randomBytes(2048)
  const upstream = await listen((req, res) => {
    const body = req.url === "/big" ? doc : small
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length })
    res.end(body)
  })
  const scope = Effect.runSync(Scope.make())
  const plugins = await Effect.runPromise(
    Scope.extend(
      Plugins.fromObjects({
        storages: [{ name: "fs", plugin: FilesystemStorage.make(), parameters: { DocumentsFolderPath: path.join(dir, "store"), VerifyOnRead: process.env["UWS_BENCH_FETCH_VERIFY"] ?? "true", Fsync: process.env["UWS_BENCH_FETCH_FSYNC"] ?? "true" } }],
        upstreams: [{ name: "local", plugin: HttpUpstream.make(), parameters: { UrlTemplate: `${upstream.url}/{path}` } }]
      }),
      scope
    )
  )
  const started = await Archive.start({ plugins, concurrency: 16, fetch: { upstreams: plugins.upstreams!, spoolDirectory: path.join(dir, "spool") } })
  const api = ArchiveAdapter.makeArchiveAdapter({ archive: started.archive })
  const archive = await listen((req, res) => void api.listener(req, res))
  const figures: Array<Figure> = []
  try {
    // ---- 1: a stored 10 MB document against createReadStream of its file
    const first = await drain(`${archive.url}/api/fetch/big?WAIT=60`)
    if (first.status !== 200 || first.bytes !== DOC_BYTES) throw new Error(`the big document was not fetched: ${first.status}`)
    const files = (await fs.readdir(path.join(dir, "store"), { recursive: true })) as Array<string>
    const file = path.join(dir, "store", files.find((f) => /[0-9a-f]{64}$/.test(f))!)
    const bare = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": DOC_BYTES })
      createReadStream(file).pipe(res)
    })
    // Wall time, and this process's CPU time (server and client both run here): on a loaded
    // machine the CPU time is the steadier measure of the work each answer takes.
    let archiveMs = 0
    let bareMs = 0
    let archiveCpu = 0
    let bareCpu = 0
    const cpu = () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1000
    }
    for (let i = 0; i < ROUNDS + 2; i++) {
      const t0 = performance.now()
      const c0 = cpu()
      const a = await drain(`${archive.url}/api/fetch/big`)
      const t1 = performance.now()
      const c1 = cpu()
      const b = await drain(bare.url)
      const t2 = performance.now()
      const c2 = cpu()
      if (a.bytes !== DOC_BYTES || b.bytes !== DOC_BYTES) throw new Error("short read")
      if (i >= 2) {
        archiveMs += t1 - t0
        bareMs += t2 - t1
        archiveCpu += c1 - c0
        bareCpu += c2 - c1
      }
    }
    await close(bare.server)
    const mbps = (ms: number) => (DOC_BYTES * ROUNDS) / 1e6 / (ms / 1000)
    figures.push(
      { name: "stored 10 MB GET /api/fetch/{id} (verify on read)", value: mbps(archiveMs), unit: "MB/s" },
      { name: "createReadStream of the same file (node:http)", value: mbps(bareMs), unit: "MB/s" },
      { name: "ratio archive / createReadStream (wall time)", value: bareMs / archiveMs, unit: "×", target: "≥ 0.7" },
      { name: "CPU per 10 MB GET: archive", value: archiveCpu / ROUNDS, unit: "ms" },
      { name: "CPU per 10 MB GET: createReadStream", value: bareCpu / ROUNDS, unit: "ms" },
      { name: "ratio archive / createReadStream (CPU time)", value: bareCpu / archiveCpu, unit: "×", target: "≥ 0.7" }
    )

    // ---- 2: fetch-through of small documents at concurrency 16, against direct GETs
    const t0 = performance.now()
    await pool(ITEMS, 16, async (i) => {
      const r = await drain(`${upstream.url}/direct/${i}`)
      if (r.status !== 200) throw new Error(`upstream answered ${r.status}`)
    })
    const directMs = performance.now() - t0
    const t1 = performance.now()
    await pool(ITEMS, 16, async (i) => {
      const asked = await fetch(`${archive.url}/api/fetch/item/${i}`)
      await asked.arrayBuffer()
      if (asked.status !== 202) throw new Error(`item ${i}: ${asked.status}`)
      const served = await drain(`${archive.url}/api/fetch/item/${i}?WAIT=60`)
      if (served.status !== 200 || served.bytes !== small.length) throw new Error(`item ${i} not served: ${served.status}`)
    })
    const throughMs = performance.now() - t1
    figures.push(
      { name: `fetch-through of ${ITEMS} × 2 KiB, concurrency 16`, value: ITEMS / (throughMs / 1000), unit: "documents/s" },
      { name: `direct upstream GETs of ${ITEMS} × 2 KiB, concurrency 16`, value: ITEMS / (directMs / 1000), unit: "documents/s" },
      { name: "fetch-through time per document", value: throughMs / ITEMS, unit: "ms" }
    )
  } finally {
    await close(archive.server)
    await api.dispose()
    await started.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await close(upstream.server)
    await fs.rm(dir, { recursive: true, force: true })
  }
  return { title: "archive: serve if stored, else fetch (issue 14)", figures }
}

export default bench
