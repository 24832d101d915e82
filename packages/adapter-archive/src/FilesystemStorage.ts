/**
 * The built-in `filesystem` storage: the seed's example plugin, done right.
 *
 * - **Atomic writes.** An object is streamed to `tmp/<uuid>.part`, fsynced, then renamed into
 *   place and its directory fsynced. A crash mid-write leaves at most a `.part` file that no
 *   locator points to (swept at start-up once older than `TempMaxAgeSeconds`); an object whose
 *   save answered is on disk.
 * - **Fixity.** SHA-256 is computed while streaming and becomes part of the file name, so `stat`
 *   knows it without a side file, and every read is verified against it (a corrupted file fails
 *   the read at its end instead of being served as good), unless the host says it checks the
 *   bytes itself (`ReadOptions.hostVerifies`: a mirrored read), so they are hashed once.
 * - **Layout for millions of files.** `objects/<2 hex>/<2 hex>/<uuid>.<sha256>`: 65,536 leaf
 *   directories filled evenly by random UUIDs (~150 files each at ten million objects). The
 *   locator is that relative path; locators are checked against this shape, so no locator can
 *   reach outside the storage.
 *
 * Parameters (case-insensitive): `DocumentsFolderPath` (required), `Fsync` (default `true`),
 * `VerifyOnRead` (default `true`), `TempMaxAgeSeconds` (default 3600).
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import { constants as fsConstants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Plugin, Result } from "@uws-kit/core"
import type { Locator, ReadOptions, StorageObject, StoragePlugin, StorageStat, StoredObject } from "./StoragePlugin.js"

const LAYOUT = { layout: "uuid-2x2-sha256", version: 1 } as const
const LAYOUT_FILE = "uws-archive-storage.json"
const LOCATOR = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-f]{64})$/

const right = <A>(a: A): Result.Result<string, A> => ({ _tag: "Right", right: a })
const left = <A = never>(message: string): Result.Result<string, A> => ({ _tag: "Left", left: message })
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))
const isMissing = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === "ENOENT"

const flag = (value: string | undefined, fallback: boolean): boolean | undefined => {
  if (value === undefined || value === "") return fallback
  const v = value.trim().toLowerCase()
  return v === "true" || v === "1" || v === "yes" ? true : v === "false" || v === "0" || v === "no" ? false : undefined
}

/** fsync a directory so that a rename or unlink in it survives a power loss. */
const syncDirectory = async (dir: string) => {
  const handle = await fs.open(dir, fsConstants.O_RDONLY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Bytes that may wait beside the write in flight before a save stops taking chunks. */
const WRITE_BEHIND_BYTES = 8 * 1024 * 1024

/** Bytes written between two flushes of a save under way (when the storage syncs at all). */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024

/** Writes all of `chunks` at the file's current position (a short write goes on where it stopped). */
const writeAll = async (handle: fs.FileHandle, chunks: ReadonlyArray<Uint8Array>) => {
  let left = chunks
  while (left.length > 0) {
    let { bytesWritten } = await handle.writev(left as Array<Uint8Array>)
    let i = 0
    while (i < left.length && bytesWritten >= left[i]!.length) bytesWritten -= left[i++]!.length
    left = i < left.length && bytesWritten > 0 ? [left[i]!.subarray(bytesWritten), ...left.slice(i + 1)] : left.slice(i)
  }
}

/**
 * A file written behind its reader: chunks are taken at once while one write is in flight, and
 * those that gathered meanwhile go out together in the next (one `writev`), so the upload is
 * read while the disk writes instead of one chunk per thread-pool round trip. `push` answers a
 * promise to wait for once WRITE_BEHIND_BYTES wait; `end` resolves once everything is written
 * (and flushed so far, with `flushEvery`).
 *
 * - `copy`: a chunk kept past its turn is copied, since a source may reuse its buffer (the storage
 *   contract), unless the host said it never does (`StorageObject.stableChunks`).
 * - `flushEvery`: after that many bytes written, a `fdatasync` starts (one at a time) while the
 *   upload goes on, so the disk writes as the bytes arrive and the final fsync finds little left
 *   (left to the kernel, a mirrored 200 MiB upload's last ~120 ms of ~1 s were that fsync waiting).
 */
const writeBehind = (handle: fs.FileHandle, options: { readonly copy: boolean; readonly flushEvery: number | undefined }) => {
  const { copy, flushEvery } = options
  let queued: Array<Uint8Array> = []
  let queuedBytes = 0
  let draining: Promise<void> | undefined
  let failure: { readonly error: unknown } | undefined
  let unflushed = 0
  let flushing: Promise<void> | undefined
  const flushed = () => {
    flushing = undefined
  }
  const drain = async () => {
    try {
      while (queued.length > 0 && failure === undefined) {
        const chunks = queued
        const bytes = queuedBytes
        queued = []
        queuedBytes = 0
        await writeAll(handle, chunks)
        unflushed += bytes
        if (flushEvery !== undefined && unflushed >= flushEvery && flushing === undefined) {
          unflushed = 0
          flushing = handle.datasync().then(flushed, (error: unknown) => {
            failure ??= { error }
            flushed()
          })
        }
      }
    } catch (error) {
      failure = { error }
    } finally {
      draining = undefined
    }
  }
  const check = () => {
    if (failure !== undefined) throw failure.error
  }
  return {
    push: (chunk: Uint8Array): Promise<void> | undefined => {
      check()
      queued.push(copy ? Buffer.from(chunk) : chunk)
      queuedBytes += chunk.length
      if (draining === undefined) draining = drain()
      return queuedBytes >= WRITE_BEHIND_BYTES ? draining : undefined
    },
    end: async () => {
      for (let pending = draining ?? flushing; pending !== undefined; pending = draining ?? flushing) await pending
      check()
    }
  }
}

interface Settings {
  readonly root: string
  readonly objects: string
  readonly tmp: string
  readonly fsync: boolean
  readonly verifyOnRead: boolean
}

/** Checks a stream against the SHA-256 it was stored with, failing at the end on a mismatch. */
async function* verified(source: AsyncIterable<Uint8Array>, expected: string, locator: string): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256")
  for await (const chunk of source) {
    hash.update(chunk)
    yield chunk
  }
  const actual = hash.digest("hex")
  if (actual !== expected) {
    throw new Error(`object ${locator} is corrupted: its SHA-256 is ${actual}, it was stored as ${expected}`)
  }
}

/**
 * A new, uninitialised filesystem storage (the plugin's parameterless constructor).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): StoragePlugin => {
  let settings: Settings | undefined

  const resolve = (locator: Locator) => {
    if (settings === undefined) return left<{ file: string; dir: string; sha256: string }>("the storage is not initialised")
    const m = typeof locator === "string" ? LOCATOR.exec(locator) : null
    if (m === null || !m[3]!.startsWith(m[1]! + m[2]!)) {
      return left<{ file: string; dir: string; sha256: string }>(`"${String(locator)}" is not a locator of this filesystem storage`)
    }
    const dir = path.join(settings.objects, m[1]!, m[2]!)
    return right({ file: path.join(dir, `${m[3]}.${m[4]}`), dir, sha256: m[4]! })
  }

  const initialize = async (parameters: Plugin.PluginParameters): Promise<Result.Result<string, void>> => {
    const folder = parameters.require("DocumentsFolderPath")
    if (folder._tag === "Left") return folder
    const fsync = flag(parameters.get("Fsync"), true)
    const verifyOnRead = flag(parameters.get("VerifyOnRead"), true)
    const maxAgeText = parameters.get("TempMaxAgeSeconds")
    const maxAge = maxAgeText === undefined ? 3600 : Number(maxAgeText)
    const problems = [
      ...(fsync === undefined ? [`Fsync must be true or false, not "${parameters.get("Fsync")}"`] : []),
      ...(verifyOnRead === undefined ? [`VerifyOnRead must be true or false, not "${parameters.get("VerifyOnRead")}"`] : []),
      ...(!Number.isFinite(maxAge) || maxAge < 0 ? [`TempMaxAgeSeconds must be a number of seconds ≥ 0, not "${maxAgeText}"`] : [])
    ]
    if (problems.length > 0) return left(problems.join("; "))
    const root = path.resolve(folder.right)
    try {
      await fs.mkdir(path.join(root, "objects"), { recursive: true })
      await fs.mkdir(path.join(root, "tmp"), { recursive: true })
      const layoutPath = path.join(root, LAYOUT_FILE)
      let layout: string | undefined
      try {
        layout = await fs.readFile(layoutPath, "utf8")
      } catch (e) {
        if (!isMissing(e)) throw e
      }
      if (layout === undefined) {
        await fs.writeFile(layoutPath, JSON.stringify(LAYOUT) + "\n", { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "EEXIST") throw e
        })
      } else {
        const found = JSON.parse(layout) as { layout?: unknown; version?: unknown }
        if (found.layout !== LAYOUT.layout || found.version !== LAYOUT.version) {
          return left(`${root} holds a storage of another layout (${layout.trim()}); this plugin writes ${JSON.stringify(LAYOUT)}`)
        }
      }
      // Partial writes of a crashed process: nothing refers to them. Recent ones may belong to
      // another live process sharing the folder, so only old ones go.
      const tmp = path.join(root, "tmp")
      const now = Date.now()
      for (const name of await fs.readdir(tmp)) {
        if (!name.endsWith(".part")) continue
        const file = path.join(tmp, name)
        const info = await fs.stat(file).catch(() => undefined)
        if (info !== undefined && now - info.mtimeMs >= maxAge * 1000) await fs.rm(file, { force: true })
      }
      settings = { root, objects: path.join(root, "objects"), tmp, fsync: fsync!, verifyOnRead: verifyOnRead! }
      return right(undefined)
    } catch (e) {
      return left(`cannot use ${root}: ${errorText(e)}`)
    }
  }

  const save = async (object: StorageObject): Promise<Result.Result<string, Locator>> => {
    if (settings === undefined) return left("the storage is not initialised")
    const s = settings
    const id = randomUUID()
    const part = path.join(s.tmp, `${id}.part`)
    let handle: fs.FileHandle | undefined
    try {
      handle = await fs.open(part, "wx")
      // The host hashes what it hands over (once, for every copy of it): hash here only without it.
      const hash = object.digest === undefined ? createHash("sha256") : undefined
      const file = writeBehind(handle, { copy: object.stableChunks !== true, flushEvery: s.fsync ? FLUSH_EVERY_BYTES : undefined })
      for await (const chunk of object.content) {
        if (chunk.length === 0) continue
        hash?.update(chunk)
        const full = file.push(chunk)
        if (full !== undefined) await full
      }
      await file.end()
      if (s.fsync) await handle.sync()
      await handle.close()
      handle = undefined
      const sha256 = hash === undefined ? object.digest!() : hash.digest("hex")
      if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`the host gave no SHA-256 of the content (${String(sha256)})`)
      const dir = path.join(s.objects, id.slice(0, 2), id.slice(2, 4))
      // mkdir answers the first folder it created, if any: only new folders' parents need a sync.
      const created = await fs.mkdir(dir, { recursive: true })
      await fs.rename(part, path.join(dir, `${id}.${sha256}`))
      if (s.fsync) {
        await syncDirectory(dir)
        if (created !== undefined) {
          for (let d = path.dirname(dir); d.length >= path.dirname(created).length; d = path.dirname(d)) await syncDirectory(d)
        }
      }
      return right(`${id.slice(0, 2)}/${id.slice(2, 4)}/${id}.${sha256}`)
    } catch (e) {
      await handle?.close().catch(() => {})
      await fs.rm(part, { force: true }).catch(() => {})
      return left(`cannot save ${object.name} of container ${object.containerId}: ${errorText(e)}`)
    }
  }

  const get = async (locator: Locator, options?: ReadOptions): Promise<Result.Result<string, StoredObject>> => {
    const where = resolve(locator)
    if (where._tag === "Left") return where
    let handle: fs.FileHandle
    try {
      handle = await fs.open(where.right.file, "r")
    } catch (e) {
      return left(isMissing(e) ? `no object ${locator} in this storage` : `cannot read ${locator}: ${errorText(e)}`)
    }
    try {
      const { size } = await handle.stat()
      // Large reads: fewer chunks to hash and hand on per byte sent (the page cache serves them).
      const stream = handle.createReadStream({ highWaterMark: 512 * 1024 })
      // A host that checks the bytes itself (a mirrored read) needs them hashed only once.
      const content = settings!.verifyOnRead && options?.hostVerifies !== true ? verified(stream, where.right.sha256, locator) : stream
      return right({ content, size })
    } catch (e) {
      await handle.close().catch(() => {})
      return left(`cannot read ${locator}: ${errorText(e)}`)
    }
  }

  const stat = async (locator: Locator): Promise<Result.Result<string, StorageStat | null>> => {
    const where = resolve(locator)
    if (where._tag === "Left") return where
    try {
      const info = await fs.stat(where.right.file)
      return right({ size: info.size, sha256: where.right.sha256, modified: Math.floor(info.mtimeMs) })
    } catch (e) {
      return isMissing(e) ? right(null) : left(`cannot stat ${locator}: ${errorText(e)}`)
    }
  }

  const remove = async (locator: Locator): Promise<Result.Result<string, void>> => {
    const where = resolve(locator)
    if (where._tag === "Left") return where
    try {
      await fs.unlink(where.right.file)
      if (settings!.fsync) await syncDirectory(where.right.dir)
      return right(undefined)
    } catch (e) {
      return isMissing(e) ? right(undefined) : left(`cannot delete ${locator}: ${errorText(e)}`)
    }
  }

  return { initialize, save, get, stat, delete: remove }
}

/**
 * The name under which `plugin-config.json` refers to this storage (`AssemblyName`).
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinName = "filesystem"
