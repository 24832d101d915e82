/**
 * The filesystem storage writes behind its reader (one write in flight while the next chunks
 * gather): a write that fails on the disk (EIO here, after the first MiB) still fails the save,
 * stops it reading, and leaves neither an object nor a partial file; with fsync on, the bytes
 * are flushed while the upload still arrives (not all at its end), and a flush that fails fails
 * the save the same way; chunks the host says are its own (`stableChunks`) are written as they
 * are, any others copied (a source may reuse its buffer).
 */
import * as os from "node:os"
import * as path from "node:path"
import { PluginParameters } from "@uws-kit/core/Plugin"
import { FilesystemStorage } from "@uws-kit/adapter-archive"
import type { StoragePlugin } from "@uws-kit/adapter-archive"
import type { Result } from "@uws-kit/core"
import { afterEach, describe, expect, it, vi } from "vitest"

/** What the part files' handles did: failures to inject, and what was seen. */
const disk = vi.hoisted(() => ({
  failWritesAfter: Infinity,
  failFlushes: false,
  flushes: [] as Array<number>,
  written: [] as Array<NodeJS.ArrayBufferView>
}))
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>()
  const open = async (...args: Parameters<typeof fs.open>) => {
    const handle = await fs.open(...args)
    if (!String(args[0]).endsWith(".part")) return handle
    let written = 0
    const writev = handle.writev.bind(handle)
    handle.writev = (async (buffers: ReadonlyArray<NodeJS.ArrayBufferView>, position?: number) => {
      const size = buffers.reduce((n, b) => n + b.byteLength, 0)
      if (written + size > disk.failWritesAfter) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" })
      written += size
      disk.written.push(...buffers)
      return writev(buffers as Array<NodeJS.ArrayBufferView>, position)
    }) as typeof handle.writev
    const datasync = handle.datasync.bind(handle)
    handle.datasync = async () => {
      // The bytes written when the flush started.
      disk.flushes.push(written)
      if (disk.failFlushes) throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" })
      return datasync()
    }
    return handle
  }
  return { ...fs, default: { ...fs, open }, open }
})

const dirs: Array<string> = []
afterEach(async () => {
  const fs = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises")
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
  Object.assign(disk, { failWritesAfter: Infinity, failFlushes: false, flushes: [], written: [] })
})

const MiB = 1024 * 1024

/** A filesystem storage in a fresh folder; `fsync` as its Fsync parameter. */
const storageIn = async (fsync: boolean) => {
  const fs = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises")
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-fs-behind-"))
  dirs.push(dir)
  const storage = FilesystemStorage.make()
  const init = (await storage.initialize!(new PluginParameters({ DocumentsFolderPath: dir, Fsync: String(fsync) }))) as Result.Result<unknown, unknown>
  expect(init._tag).toBe("Right")
  /** Nothing kept: no object, no partial file. */
  const empty = async () => {
    expect(await fs.readdir(path.join(dir, "tmp"))).toEqual([])
    const objects = await fs.readdir(path.join(dir, "objects"), { recursive: true }).catch(() => [])
    expect(objects.filter((f) => String(f).includes("."))).toEqual([])
  }
  return { storage, empty }
}

/** `count` chunks of 64 KiB (the same one each time unless `fresh`), counting those read. */
const source = (count: number, fresh = false) => {
  const shared = new Uint8Array(64 * 1024).fill(7)
  const chunks: Array<Uint8Array> = []
  const state = { read: 0, chunks }
  const content = (async function* () {
    for (let i = 0; i < count; i++) {
      state.read++
      const chunk = fresh ? new Uint8Array(64 * 1024).fill(i % 251) : shared
      chunks.push(chunk)
      yield chunk
    }
  })()
  return { content, state }
}

const save = (storage: StoragePlugin.StoragePlugin, object: Omit<StoragePlugin.StorageObject, "containerId" | "name">) =>
  storage.save({ containerId: "c", name: "document", digest: () => "0".repeat(64), ...object }) as Promise<Result.Result<string, string>>

describe("a filesystem save whose write or flush fails", () => {
  it.each([
    { what: "a write (EIO after the first MiB)", fsync: false, fail: () => void (disk.failWritesAfter = MiB), reason: "write" },
    { what: "a flush during the upload", fsync: true, fail: () => void (disk.failFlushes = true), reason: "fdatasync" }
  ])("fails on $what, stops reading, and keeps no object and no partial file", async ({ fsync, fail, reason }) => {
    const { storage, empty } = await storageIn(fsync)
    fail()
    const { content, state } = source(1024)
    const saved = await save(storage, { content })
    expect(saved._tag).toBe("Left")
    expect(saved._tag === "Left" ? saved.left : "").toContain(`EIO: i/o error, ${reason}`)
    // Reading stopped soon after the failure: not the whole 64 MiB.
    expect(state.read).toBeLessThan(512)
    await empty()
  })
})

describe("a filesystem save with fsync on", () => {
  it("flushes its bytes while they arrive, not only at the end", async () => {
    const { storage } = await storageIn(true)
    const { content } = source(640) // 40 MiB
    const saved = await save(storage, { content })
    expect(saved._tag).toBe("Right")
    // Flushes began every 8 MiB or so, long before the 40 MiB were written.
    expect(disk.flushes.length).toBeGreaterThanOrEqual(2)
    expect(disk.flushes[0]).toBeLessThan(24 * MiB)
  })

  it("leaves flushing to the end with fsync off", async () => {
    const { storage } = await storageIn(false)
    const saved = await save(storage, { content: source(640).content })
    expect(saved._tag).toBe("Right")
    expect(disk.flushes).toEqual([])
  })
})

describe("the chunks a filesystem save keeps while it writes", () => {
  const writtenAsGiven = (chunks: ReadonlyArray<Uint8Array>) => {
    const given = new Set(chunks)
    return disk.written.filter((b) => given.has(b as Uint8Array)).length
  }

  it("are the host's own when it says they are stable", async () => {
    const { storage } = await storageIn(false)
    const { content, state } = source(64, true)
    expect((await save(storage, { content, stableChunks: true }))._tag).toBe("Right")
    expect(writtenAsGiven(state.chunks)).toBe(64)
  })

  it("are copies otherwise (the source may reuse its buffer)", async () => {
    const { storage } = await storageIn(false)
    const { content, state } = source(64, true)
    expect((await save(storage, { content }))._tag).toBe("Right")
    expect(writtenAsGiven(state.chunks)).toBe(0)
  })
})
