/**
 * What mirrors cost (#14): a 10 MB document written to a primary and two mirrors (one teed
 * stream, each copy verified by its storage's digest) against one storage, and read through the
 * replicated storage (hashed as it streams, last chunk held until it verifies) against the
 * primary alone and against `fs.createReadStream` of the same file, in the same run. Filesystem
 * storages in a temporary folder, fsync off (the disk's flush is not what is compared).
 * `UWS_BENCH_REPLICAS_ROUNDS` (default 15) rounds each, interleaved; medians. Ratios are of
 * this process's CPU time (user + system) per operation, which other processes' load on the
 * shared cores moves far less than wall time; the MB/s figures are wall time.
 */
import { randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { FilesystemStorage, Plugins, Replicas } from "@uws-kit/adapter-archive"
import type { Storage } from "@uws-kit/adapter-archive"
import { Effect, Exit, Scope, Stream } from "effect"
import type { Benchmark } from "./report.js"

const ROUNDS = Number(process.env["UWS_BENCH_REPLICAS_ROUNDS"] ?? 15)
const SIZE = 10 * 1024 * 1024
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const cpu: Record<string, Array<number>> = {}
const time = async (f: () => Promise<unknown>, label?: string) => {
  const t = process.hrtime.bigint()
  const c = process.cpuUsage()
  await f()
  const used = process.cpuUsage(c)
  if (label !== undefined) (cpu[label] ??= []).push((used.user + used.system) / 1000)
  return Number(process.hrtime.bigint() - t) / 1e6
}
const drain = (s: Storage.Storage, locator: string) => Effect.runPromise(Effect.flatMap(s.get(locator), (o) => Stream.runDrain(o.stream)))
const save = (s: Storage.Storage, bytes: Uint8Array, i: number) =>
  Effect.runPromise(
    s.save({
      containerId: `bench-${i}`,
      name: "document",
      size: bytes.length,
      content: (async function* () {
        for (let o = 0; o < bytes.length; o += 64 * 1024) yield bytes.subarray(o, o + 64 * 1024)
      })()
    })
  )

const bench: Benchmark = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-bench-replicas-"))
  const scope = Effect.runSync(Scope.make())
  try {
    const names = ["primary", "mirror-1", "mirror-2", "single"]
    const plugins = await Effect.runPromise(
      Scope.extend(
        Plugins.fromObjects({
          storages: names.map((name) => ({ name, plugin: FilesystemStorage.make(), parameters: { DocumentsFolderPath: path.join(dir, name), Fsync: "false" } }))
        }),
        scope
      )
    )
    const { replicas } = await Effect.runPromise(Scope.extend(Replicas.make(plugins, { primary: "primary", mirrors: ["mirror-1", "mirror-2"] }), scope))
    const single = plugins.storages.find((s) => s.name === "single")!
    const primary = plugins.storages.find((s) => s.name === "primary")!
    const writes = { replicated: [] as Array<number>, single: [] as Array<number> }
    const reads = { replicated: [] as Array<number>, primary: [] as Array<number>, file: [] as Array<number> }
    for (let i = 0; i < ROUNDS; i++) {
      // Fresh content each round: no dedup shortcut in the write figures.
      const bytes = randomBytes(SIZE)
      writes.single.push(await time(() => save(single, bytes, i), "write-single"))
      let locator = ""
      writes.replicated.push(await time(async () => (locator = await save(replicas.storage, bytes, i)), "write-replicated"))
      const content = (await Effect.runPromise(replicas.contentOf(locator)))!
      const copy = content.copies.find((c) => c.storage === "primary")!.locator!
      reads.replicated.push(await time(() => drain(replicas.storage, locator), "read-replicated"))
      reads.primary.push(await time(() => drain(primary, copy), "read-primary"))
      reads.file.push(
        await time(
          () =>
            new Promise<void>((resolve, reject) => {
              const s = createReadStream(path.join(dir, "primary", "objects", copy), { highWaterMark: 64 * 1024 })
              s.on("data", () => {})
              s.on("end", resolve)
              s.on("error", reject)
            }),
          "read-file"
        )
      )
    }
    const mbps = (ms: number) => SIZE / 1024 / 1024 / (ms / 1000)
    return {
      title: `Replicas: 10 MB document, primary + 2 mirrors vs one storage (filesystem, fsync off; median of ${ROUNDS})`,
      figures: [
        { name: "write, replicated (3 verified copies, one stream)", value: mbps(median(writes.replicated)), unit: "MB/s" },
        { name: "write, one storage", value: mbps(median(writes.single)), unit: "MB/s" },
        { name: "write CPU ratio replicated / one", value: median(cpu["write-single"]!) / median(cpu["write-replicated"]!), unit: "×" },
        { name: "read, replicated (verified)", value: mbps(median(reads.replicated)), unit: "MB/s" },
        { name: "read, primary storage alone (its own check)", value: mbps(median(reads.primary)), unit: "MB/s" },
        { name: "read, fs.createReadStream of the same file", value: mbps(median(reads.file)), unit: "MB/s" },
        { name: "read CPU ratio replicated / createReadStream", value: median(cpu["read-file"]!) / median(cpu["read-replicated"]!), unit: "×", target: "≥ 0.7 (issue 14's GET target)" },
        { name: "read CPU ratio replicated / primary alone", value: median(cpu["read-primary"]!) / median(cpu["read-replicated"]!), unit: "×" },
        { name: "read, replicated, CPU per document", value: median(cpu["read-replicated"]!), unit: "ms" },
        { name: "read, primary alone, CPU per document", value: median(cpu["read-primary"]!), unit: "ms" }
      ]
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(dir, { recursive: true, force: true })
  }
}

export default bench
