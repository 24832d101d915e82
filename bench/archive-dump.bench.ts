/**
 * Export throughput of the verifiable dumps (#14): one export of the whole archive into BagIt
 * chunks (every document read from its filesystem storage, its SHA-256 checked, its SHA-512
 * computed, written into a tar and fsynced) against `tar -cf` of the same stored files, in the
 * same run. Also `tar` followed by `sha512sum` of the files (what a hand-made verifiable dump
 * costs). Medians of REPEAT runs, each export into a fresh dumps folder.
 *
 * `UWS_BENCH_DUMP_CONTAINERS` (default 200) containers of `UWS_BENCH_DUMP_KIB` KiB (default 256),
 * one 4 KiB signature each.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Archive, Dumps, FilesystemStorage, Plugins } from "@uws-kit/adapter-archive"
import { Identity } from "@uws-kit/core"
import { Effect, Exit, Scope } from "effect"
import type { Benchmark } from "./report.js"

const COUNT = Number(process.env["UWS_BENCH_DUMP_CONTAINERS"] ?? 200)
const KIB = Number(process.env["UWS_BENCH_DUMP_KIB"] ?? 256)
const REPEAT = 3

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const timed = async (f: () => Promise<void> | void) => {
  const t = performance.now()
  await f()
  return performance.now() - t
}

const bench: Benchmark = async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "uws-bench-dump-"))
  const folder = path.join(root, "storage")
  const scope = Effect.runSync(Scope.make())
  const plugins = await Effect.runPromise(
    Scope.extend(Plugins.fromObjects({ storages: [{ name: "fs", plugin: FilesystemStorage.make(), parameters: { DocumentsFolderPath: folder } }] }), scope)
  )
  const { archive, close } = await Archive.start({ plugins, storages: [{ id: 1, name: "Default" }], concurrency: 2 })
  try {
    for (let i = 0; i < COUNT; i++) {
      await Effect.runPromise(
        archive.upload(
          { id: "bench" },
          {
            containerName: `c${i}`,
            saveType: "Permanent",
            storageId: 1,
            document: Archive.fileFromBytes(`doc-${i}.bin`, "application/octet-stream", randomBytes(KIB * 1024)),
            signatures: [Archive.fileFromBytes(`doc-${i}.sig`, "application/pkcs7-signature", randomBytes(4096))]
          }
        )
      )
    }
    for (;;) {
      const page = await Effect.runPromise(archive.search(Identity.system, { filters: { status: 4 }, page: 1, pageSize: 1 }))
      if (page.totalRecords === COUNT) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const bytes = COUNT * (KIB * 1024 + 4096)

    const tarRuns: Array<number> = []
    const tarHashRuns: Array<number> = []
    const exportRuns: Array<number> = []
    for (let r = 0; r < REPEAT; r++) {
      const out = path.join(root, `tar-${r}.tar`)
      tarRuns.push(await timed(() => void spawnSync("tar", ["-cf", out, "-C", folder, "."], { stdio: "ignore" })))
      await fs.rm(out, { force: true })
      tarHashRuns.push(
        await timed(() => {
          spawnSync("tar", ["-cf", out, "-C", folder, "."], { stdio: "ignore" })
          spawnSync("sh", ["-c", `find . -type f -print0 | xargs -0 sha512sum > ${JSON.stringify(path.join(root, "sums.txt"))}`], { cwd: folder, stdio: "ignore" })
        })
      )
      await fs.rm(out, { force: true })

      const started = await Dumps.start({ archive, plugins, directory: path.join(root, `dumps-${r}`), settleMillis: 0, maxContainersPerChunk: COUNT })
      exportRuns.push(
        await timed(async () => {
          const job = await Effect.runPromise(started.dumps.exportDump(Identity.system))
          const done = await Effect.runPromise(started.dumps.uws.waitForChange(Identity.system, job.jobId, { timeout: "600 seconds", untilFinal: true }))
          if (done.phase !== "COMPLETED") throw new Error(`the export ended ${done.phase}: ${done.errorSummary?.message}`)
        })
      )
      await started.close()
      await fs.rm(path.join(root, `dumps-${r}`), { recursive: true, force: true })
    }
    const mb = bytes / 1e6
    const ours = mb / (median(exportRuns) / 1000)
    const tar = mb / (median(tarRuns) / 1000)
    const tarHash = mb / (median(tarHashRuns) / 1000)
    return {
      title: `archive dump export: ${COUNT} containers of ${KIB} KiB + 4 KiB signature (${mb.toFixed(1)} MB), medians of ${REPEAT}`,
      figures: [
        { name: "BagIt chunk export (read, SHA-256 check, SHA-512, tar, fsync)", value: ours, unit: "MB/s" },
        { name: "tar -cf of the same stored files (baseline)", value: tar, unit: "MB/s" },
        { name: "tar -cf then sha512sum of the files", value: tarHash, unit: "MB/s" },
        { name: "export / tar", value: ours / tar, unit: "×" },
        { name: "export / (tar + sha512sum)", value: ours / tarHash, unit: "×" }
      ]
    }
  } finally {
    await close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(root, { recursive: true, force: true })
  }
}

export default bench
