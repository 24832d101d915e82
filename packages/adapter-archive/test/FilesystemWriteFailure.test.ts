/**
 * The filesystem storage writes behind its reader (one write in flight while the next chunks
 * gather): a write that fails on the disk (EIO here, after the first MiB) still fails the save,
 * stops it reading, and leaves neither an object nor a partial file.
 */
import * as os from "node:os"
import * as path from "node:path"
import { PluginParameters } from "@uws-kit/core/Plugin"
import { FilesystemStorage } from "@uws-kit/adapter-archive"
import type { Result } from "@uws-kit/core"
import { afterEach, describe, expect, it, vi } from "vitest"

const failing = vi.hoisted(() => ({ afterBytes: Infinity }))
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>()
  const open = async (...args: Parameters<typeof fs.open>) => {
    const handle = await fs.open(...args)
    if (!String(args[0]).endsWith(".part")) return handle
    let written = 0
    const writev = handle.writev.bind(handle)
    handle.writev = (async (buffers: ReadonlyArray<NodeJS.ArrayBufferView>, position?: number) => {
      const size = buffers.reduce((n, b) => n + b.byteLength, 0)
      if (written + size > failing.afterBytes) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" })
      written += size
      return writev(buffers as Array<NodeJS.ArrayBufferView>, position)
    }) as typeof handle.writev
    return handle
  }
  return { ...fs, default: { ...fs, open }, open }
})

const dirs: Array<string> = []
afterEach(async () => {
  const fs = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises")
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})

describe("a filesystem save whose write fails", () => {
  it("fails, stops reading, and keeps no object and no partial file", async () => {
    const fs = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises")
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-fs-eio-"))
    dirs.push(dir)
    const storage = FilesystemStorage.make()
    const init = (await storage.initialize!(new PluginParameters({ DocumentsFolderPath: dir, Fsync: "false" }))) as Result.Result<unknown, unknown>
    expect(init._tag).toBe("Right")
    failing.afterBytes = 1024 * 1024
    const chunk = new Uint8Array(64 * 1024).fill(7)
    let read = 0
    const content = (async function* () {
      for (let i = 0; i < 1024; i++) {
        read++
        yield chunk
      }
    })()
    const saved = (await storage.save({ containerId: "c", name: "document", content, digest: () => "0".repeat(64) })) as Result.Result<string, string>
    expect(saved._tag).toBe("Left")
    expect(saved._tag === "Left" ? saved.left : "").toContain("EIO")
    // Reading stopped soon after the failure: not the whole 64 MiB.
    expect(read).toBeLessThan(512)
    expect(await fs.readdir(path.join(dir, "tmp"))).toEqual([])
    const objects = await fs.readdir(path.join(dir, "objects"), { recursive: true }).catch(() => [])
    expect(objects.filter((f) => String(f).includes("."))).toEqual([])
  })
})
