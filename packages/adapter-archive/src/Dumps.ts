/**
 * Verifiable dumps of the archive: BagIt 1.0 bags (`BagIt`) in immutable, range-named,
 * append-only chunks, and their import. Export and import are jobs of a UWS application of their
 * own ("archive-dumps", its own job list), so they are watched, waited on, aborted and listed like
 * any job, with their progress in jobInfo.
 *
 * **Chunks** (the Anna's Archive Containers convention): the containers in catalogue order
 * (creation time, then id) are cut into ranges `[from, to)`; each range is one bag, one tar file
 * `chunks/uws-archive__<seq>__<from>--<to>.tar`, written once and never changed. An export
 * continues from the last chunk's `to`, stops before the first container still being verified
 * (so no record is missed), and writes chunks of at most `maxContainersPerChunk`. `index.json`
 * lists the chunks with their SHA-512, so a mirror fetches only the ones it lacks. A chunk
 * becomes visible by a link from the staging folder (all or nothing; never overwritten), after
 * its bytes are synced.
 *
 * Inside a bag, per container: `data/<id>/container.json` (the record: name, status, retention,
 * dates, hashes, signatures, upgrade state), `data/<id>/document/<file>`,
 * `data/<id>/signatures/<n>/<file>`, and `data/<id>/upgraded/<n>/<file>` where an upgraded
 * signature replaced the uploaded one. A container whose storage ended is a record without files.
 * A selection (search filters) is exported as one bag, `selections/<job id>.tar`, outside the
 * series.
 *
 * **Import** takes a tar of a bag, validates it completely (every manifest, tag manifest,
 * `Payload-Oxum`, every digest; our container records against their files) before it restores
 * anything, then restores each container under its own id, all or nothing per container (the
 * archive's upload undoes what it stored when the container cannot be created). A container
 * already present with the same content is left alone: importing twice changes nothing. A bag
 * without our records (e.g. made by bagit-python) becomes one permanent container per payload
 * file, with an id derived from the bag's name for the file and its digest, so it too imports
 * once. Both jobs are restartable: after a crash they run again from the start, which finds what
 * was done.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import { existsSync } from "node:fs"
import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Dispatcher, Errors, Identity, JobStore, ResultStore, Uws, Worker } from "@uws-kit/core"
import type { Job } from "@uws-kit/core"
import { Data, Effect, Either, Exit, Scope, Stream } from "effect"
import type { ArchiveService, IncomingFile } from "./Archive.js"
import * as BagIt from "./BagIt.js"
import * as Containers from "./Container.js"
import type { Container, PartRecord } from "./Container.js"
import { extractTar, writeBagTar, type PayloadFile } from "./internal/bagTar.js"
import type { LoadedPlugins } from "./Plugins.js"
import * as Search from "./Search.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface DumpsOptions {
  readonly archive: ArchiveService
  readonly plugins: LoadedPlugins
  /** Where chunks, selections, the index and the staging area live. */
  readonly directory: string
  /** The longest blocking wait on an export or import (ms; default the core's 55,000). */
  readonly maxWait?: number
  /** Containers per chunk at most (default 1000). */
  readonly maxContainersPerChunk?: number
  /** Containers created this recently wait for the next export (default 2000 ms): the clock's edge. */
  readonly settleMillis?: number
  /** How long an export waits for containers uploaded before it to settle (default 60 s). */
  readonly settleWaitMillis?: number
  /** Largest bag an import extracts (default 16 GiB). */
  readonly maxImportBytes?: number
  /** Who may import (default: operators only, since an import files containers for others). */
  readonly mayImport?: (caller: Identity.Caller) => boolean
  /** Who may export (default everyone; a selection holds only what the caller may see). */
  readonly mayExport?: (caller: Identity.Caller) => boolean
  /** The path the chunks are served under, for the jobs' result links (default `/dumps`). */
  readonly publicPath?: string
  /** Export and import jobs run at once (default 1). */
  readonly concurrency?: number
}

/**
 * An export or import the caller may not start.
 *
 * @since 0.1.0
 * @category errors
 */
export class DumpRefused extends Data.TaggedError("DumpRefused")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/**
 * A chunk of the series, as `index.json` lists it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chunk {
  /** The file name, `uws-archive__<seq>__<from>--<to>.tar`. */
  readonly name: string
  readonly sequence: number
  /** The range of creation times, `[from, to)` (ISO 8601). */
  readonly from: string
  readonly to: string
  readonly containers: number
  readonly payloadBytes: number
  /** Bytes of the tar file and its SHA-512 (lowercase hex). */
  readonly size: number
  readonly sha512: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Index {
  readonly format: "uws-kit-dump-index/1"
  readonly chunks: ReadonlyArray<Chunk>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DumpsService {
  /** The job list of exports and imports. */
  readonly uws: Uws.UwsService
  /** Starts an export: the next chunks of the series, or one bag of a selection when `filters` are given. */
  readonly exportDump: (caller: Identity.Caller, filters?: Search.Filters) => Effect.Effect<Job.Job, Errors.UwsError | DumpRefused>
  /** Starts the import of a tar file (moved into the dumps folder; the job removes it when done). */
  readonly importDump: (caller: Identity.Caller, tarFile: string) => Effect.Effect<Job.Job, Errors.UwsError | DumpRefused>
  readonly index: Effect.Effect<Index>
  /** The file of a chunk (`chunks/…`) or selection (`selections/…`), if it exists. */
  readonly file: (kind: "chunks" | "selections", name: string) => string | undefined
  /** Where an import's tar is received before its job is created (same file system as the dumps). */
  readonly incomingFile: () => string
}

/** jobInfo keys of the dump jobs. */
const Progress = {
  stage: "stage",
  containers: "containers",
  bytes: "bytes",
  chunks: "chunks",
  imported: "imported",
  present: "present",
  skipped: "skipped"
} as const

const Param = { Action: "Action", Filters: "Filters", Bag: "Bag" } as const
// Parameter names are case-insensitive in UWS (the core may hand them back lowercased).
const paramOf = (parameters: ReadonlyArray<Job.Parameter>, name: string) => parameters.find((p) => p.name.toLowerCase() === name.toLowerCase())?.value

const compactTime = (ms: number) => new Date(ms).toISOString().replace(/[-:.]/g, "")
const chunkPattern = /^uws-archive__(\d{6})__(\d{8}T\d{9}Z)--(\d{8}T\d{9}Z)\.tar$/
const parseCompact = (s: string) =>
  Date.parse(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`)

/** A container's record in a bag: what import needs to restore it. */
interface Record_ {
  readonly format: "uws-kit-container/1"
  readonly id: string
  readonly name: string
  readonly structureName: string | null
  readonly saveType: Containers.SaveType
  readonly storageId: number
  readonly ownerId: string | null
  readonly useArchiveCa: boolean
  readonly pluginName: string | null
  readonly createDate: string
  readonly modifiedDate: string
  readonly archiveUntilDate: string | null
  readonly signatureUpdateDate: string | null
  readonly status: number
  readonly statusName: string | null
  readonly storageEnded: boolean
  readonly hashes: ReadonlyArray<Containers.Hash>
  readonly upgrade: Containers.Upgrade
  readonly error: string | null
  readonly document: FileRecord | null
  readonly signatures: ReadonlyArray<FileRecord>
  /** Upgraded signatures, by the index of the uploaded one they replace. */
  readonly upgraded: ReadonlyArray<FileRecord & { readonly index: number }>
}

interface FileRecord {
  /** The file in the bag, relative to `data/`. */
  readonly path: string
  readonly fileName: string
  readonly mimeType: string
  readonly size: number
  readonly sha256: string
}

/**
 * A name safe as one path segment in a bag (the record keeps the real one). `%`, CR and LF are
 * replaced too, though the manifest could carry them percent-encoded: bagit-python does not
 * decode `%25`, and our chunks are to validate in it as well.
 */
const segment = (name: string) => {
  const clean = name.normalize("NFC").replace(/[/\\\u0000%\r\n]/g, "_")
  return clean === "" || clean === "." || clean === ".." ? "_" : clean
}

const recordOf = (c: Container): { readonly record: Record_; readonly files: ReadonlyArray<{ readonly file: FileRecord; readonly part: PartRecord }> } => {
  const files: Array<{ file: FileRecord; part: PartRecord }> = []
  const fileOf = (part: PartRecord, folder: string): FileRecord => {
    const file = { path: `${c.id}/${folder}/${segment(part.fileName)}`, fileName: part.fileName, mimeType: part.mimeType, size: part.size, sha256: part.sha256 }
    files.push({ file, part })
    return file
  }
  const available = !c.storageEnded
  const document = available ? fileOf(c.document, "document") : null
  const signatures = available ? c.uploadedSignatures.map((s, i) => fileOf(s, `signatures/${i + 1}`)) : []
  const upgraded = available
    ? c.signatures.flatMap((s, i) => {
        const u = c.uploadedSignatures[i]
        return u !== undefined && (u.storage !== s.storage || u.locator !== s.locator) ? [{ ...fileOf(s, `upgraded/${i + 1}`), index: i }] : []
      })
    : []
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
  return {
    record: {
      format: "uws-kit-container/1",
      id: c.id,
      name: c.name,
      structureName: c.structureName,
      saveType: c.saveType,
      storageId: c.storageId,
      ownerId: c.ownerId,
      useArchiveCa: c.useArchiveCa,
      pluginName: c.pluginName,
      createDate: new Date(c.originalCreatedAt).toISOString(),
      modifiedDate: new Date(c.modifiedAt).toISOString(),
      archiveUntilDate: iso(c.archiveUntil),
      signatureUpdateDate: iso(c.signatureUpdateDate),
      status: c.status,
      statusName: Containers.statusOf(c.status)?.name ?? null,
      storageEnded: c.storageEnded,
      hashes: c.hashes,
      upgrade: c.upgrade,
      error: c.error,
      document,
      signatures,
      upgraded
    },
    files
  }
}

const isFileRecord = (u: unknown): u is FileRecord => {
  const f = u as Record<string, unknown>
  return (
    typeof u === "object" &&
    u !== null &&
    typeof f["path"] === "string" &&
    typeof f["fileName"] === "string" &&
    typeof f["mimeType"] === "string" &&
    typeof f["size"] === "number" &&
    typeof f["sha256"] === "string" &&
    /^[0-9a-f]{64}$/.test(f["sha256"] as string)
  )
}

/** Reads a container record; a message saying what is wrong otherwise. */
const parseRecord = (text: string, folderId: string): Either.Either<Record_, string> => {
  let r: Record<string, unknown>
  try {
    r = JSON.parse(text) as Record<string, unknown>
  } catch (e) {
    return Either.left(`is not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (typeof r !== "object" || r === null || r["format"] !== "uws-kit-container/1") return Either.left(`is not a uws-kit-container/1 record`)
  if (r["id"] !== folderId) return Either.left(`names container ${JSON.stringify(r["id"])}, not the folder's ${folderId}`)
  if (typeof r["name"] !== "string" || r["name"].trim() === "") return Either.left("has no name")
  if (r["saveType"] !== "Temporary" && r["saveType"] !== "Permanent") return Either.left("has no saveType (Temporary or Permanent)")
  if (typeof r["storageId"] !== "number" || !Number.isSafeInteger(r["storageId"])) return Either.left("has no storageId")
  if (typeof r["createDate"] !== "string" || !Number.isFinite(Date.parse(r["createDate"]))) return Either.left("has no createDate")
  if (r["saveType"] === "Temporary" && (typeof r["archiveUntilDate"] !== "string" || !Number.isFinite(Date.parse(r["archiveUntilDate"])))) {
    return Either.left("is Temporary without an archiveUntilDate")
  }
  if (r["storageEnded"] !== true && !isFileRecord(r["document"])) return Either.left("has no document")
  if (!Array.isArray(r["signatures"]) || !r["signatures"].every(isFileRecord)) return Either.left("has malformed signatures")
  const upgraded = r["upgraded"]
  if (!Array.isArray(upgraded) || !upgraded.every((u) => isFileRecord(u) && Number.isSafeInteger((u as { index?: unknown }).index))) {
    return Either.left("has malformed upgraded signatures")
  }
  return Either.right(r as unknown as Record_)
}

/** A UUID-shaped id from a digest (version 8, "custom"): the same file of the same bag, the same id. */
const derivedId = (seed: string) => {
  const h = createHash("sha256").update(seed).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const fileSource = (file: string, fileName: string, mimeType: string, size: number, sha256: string): IncomingFile => ({
  fileName,
  mimeType,
  size,
  sha256,
  open: () => (async function* () {
    const { createReadStream } = await import("node:fs")
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)
  })()
})

const writeAtomically = async (file: string, text: string) => {
  const tmp = `${file}.${randomUUID()}.tmp`
  await writeFile(tmp, text, { flush: true })
  await rename(tmp, file)
}

/** Makes a file visible under `target` only if nothing is there yet (link, never overwrite). */
const publish = async (from: string, target: string) => {
  await link(from, target)
  await unlink(from)
}

/**
 * Builds the dumps service over the stores in context (its own job list).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: DumpsOptions): Effect.Effect<DumpsService, never, Scope.Scope | JobStore.JobStore | ResultStore.ResultStore> =>
  Effect.gen(function* () {
    const archive = options.archive
    const dir = path.resolve(options.directory)
    const chunksDir = path.join(dir, "chunks")
    const selectionsDir = path.join(dir, "selections")
    const stagingDir = path.join(dir, "staging")
    const incomingDir = path.join(dir, "incoming")
    const perChunk = Math.max(1, options.maxContainersPerChunk ?? 1000)
    const settle = options.settleMillis ?? 2000
    const settleWait = options.settleWaitMillis ?? 60_000
    const maxImportBytes = options.maxImportBytes ?? 16 * 1024 ** 3
    const mayImport = options.mayImport ?? ((c: Identity.Caller) => c.admin === true)
    const mayExport = options.mayExport ?? (() => true)
    const publicPath = (options.publicPath ?? "/dumps").replace(/\/+$/, "")
    const system = Identity.system

    yield* Effect.promise(async () => {
      for (const d of [chunksDir, selectionsDir, stagingDir, incomingDir]) await mkdir(d, { recursive: true })
    })

    // ---- the index: the chunk files are the truth, index.json their listing --------------------
    const sidecar = (name: string) => path.join(chunksDir, `${name}.json`)
    const readChunks = async (): Promise<Array<Chunk>> => {
      const names = (await readdir(chunksDir)).filter((n) => chunkPattern.test(n)).sort()
      const out: Array<Chunk> = []
      for (const name of names) {
        try {
          out.push(JSON.parse(await readFile(sidecar(name), "utf8")) as Chunk)
        } catch {
          // A chunk without its description (written by hand, or an older layout): describe it now.
          const m = chunkPattern.exec(name)!
          const file = path.join(chunksDir, name)
          const { size, digests } = await BagIt.digestFile(file, ["sha512"])
          const chunk: Chunk = {
            name,
            sequence: Number(m[1]),
            from: new Date(parseCompact(m[2]!)).toISOString(),
            to: new Date(parseCompact(m[3]!)).toISOString(),
            containers: -1,
            payloadBytes: -1,
            size,
            sha512: digests["sha512"]!
          }
          await writeAtomically(sidecar(name), JSON.stringify(chunk))
          out.push(chunk)
        }
      }
      return out
    }
    const writeIndex = async () => {
      const index: Index = { format: "uws-kit-dump-index/1", chunks: await readChunks() }
      await writeAtomically(path.join(dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`)
      return index
    }
    // At start: what a crash left staged is dropped, and the index follows the chunks on disk.
    yield* Effect.promise(async () => {
      for (const n of await readdir(stagingDir)) await rm(path.join(stagingDir, n), { recursive: true, force: true })
      for (const n of await readdir(chunksDir)) {
        if (n.endsWith(".tmp") || (n.endsWith(".json") && !existsSync(path.join(chunksDir, n.slice(0, -".json".length))))) await rm(path.join(chunksDir, n), { force: true })
      }
      await writeIndex()
    })

    // One export writes chunks at a time: the series has one next range.
    const exportLock = yield* Effect.makeSemaphore(1)
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

    const allContainers = async (caller: Identity.Caller, filters: Search.Filters) => {
      const out: Array<Container> = []
      for (let page = 1; ; page++) {
        const found = await run(archive.search(caller, { filters, page, pageSize: 1000 }))
        out.push(...found.documents)
        if (found.documents.length < 1000 || out.length >= found.totalRecords) break
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    }

    const storageOf = (part: PartRecord) => {
      const s = options.plugins.storages.find((x) => x.name === part.storage)
      return s === undefined
        ? Effect.fail(new Errors.PluginFailure({ plugin: part.storage, operation: "get", reason: "no such document storage is configured" }))
        : Effect.succeed(s)
    }
    const payloadOf = (containers: ReadonlyArray<Container>): Array<PayloadFile> =>
      containers.flatMap((c) => {
        const { record, files } = recordOf(c)
        const json = Buffer.from(`${JSON.stringify(record, null, 2)}\n`)
        const recordFile: PayloadFile = {
          path: `${c.id}/container.json`,
          size: json.length,
          open: async function* () {
            yield json
          }
        }
        return [
          recordFile,
          ...files.map(({ file, part }): PayloadFile => ({
            path: file.path,
            size: part.size,
            sha256: part.sha256,
            open: () => Stream.toAsyncIterable(Stream.unwrap(Effect.map(Effect.flatMap(storageOf(part), (s) => s.get(part.locator)), (o) => o.stream)))
          }))
        ]
      })

    const writeBag = async (file: string, name: string, info: ReadonlyArray<readonly [string, string]>, containers: ReadonlyArray<Container>, mtime: number, context: Worker.RunContext) => {
      const payload = payloadOf(containers)
      let lastReport = 0
      // A bag not written whole is not kept, even in staging.
      return writeBagTar({
        file,
        name,
        info: [
          ["Bag-Software-Agent", "uws-kit adapter-archive"],
          ["Bagging-Date", new Date(mtime).toISOString().slice(0, 10)],
          ["External-Identifier", name],
          ["Bag-Size", `${containers.length} containers`],
          ...info
        ],
        payload,
        mtime: new Date(mtime),
        onFile: (done, bytes) => {
          if (done === payload.length || Date.now() - lastReport > 500) {
            lastReport = Date.now()
            void context.progress({ [Progress.stage]: `writing ${name}`, [Progress.bytes]: String(bytes), files: `${done}/${payload.length}` })
          }
          if (context.signal.aborted) throw new Error("aborted")
        }
      }).catch(async (e: unknown) => {
        await rm(file, { force: true })
        throw e
      })
    }

    const exportSeries = async (job: Job.Job, context: Worker.RunContext) => {
      const written: Array<Worker.ResultSpec> = []
      const asked = await run(archive.now)
      for (;;) {
        if (context.signal.aborted) throw new Worker.JobFailure({ message: "the export was aborted" })
        const chunks = await readChunks()
        const last = chunks[chunks.length - 1]
        const from = last === undefined ? 0 : Date.parse(last.to)
        const now = await run(archive.now)
        const everything = (await allContainers({ id: null, admin: true }, {})).filter((c) => c.createdAt >= from)
        let to = now - settle
        // A container still being verified holds the range back: its record is not final yet.
        for (const c of everything) {
          if (c.status === Containers.StatusCode.Accepted || c.status === Containers.StatusCode.Processing) to = Math.min(to, c.createdAt)
        }
        let members = everything.filter((c) => c.createdAt < to)
        // Containers from before the export was asked for that are still settling (being
        // verified, or inside the clock's edge) are waited for, a while, so that the chunk
        // takes them rather than leaving them to a small chunk of their own.
        const waiting = everything.filter((c) => c.createdAt < asked && c.createdAt >= to).length
        if (waiting > 0 && members.length < perChunk && now - asked < settleWait) {
          await context.progress({ [Progress.stage]: `waiting for ${waiting} containers to settle` })
          await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, settle / 4))))
          continue
        }
        if (members.length > perChunk) {
          const cut = members[perChunk]!.createdAt
          const before = members.filter((c) => c.createdAt < cut)
          // Containers created in one millisecond stay together (a range never splits them).
          members = before.length > 0 ? before : members.filter((c) => c.createdAt <= cut)
          to = before.length > 0 ? cut : cut + 1
        }
        if (members.length === 0) {
          await context.progress({
            [Progress.stage]: waiting > 0 ? `up to date but for ${waiting} containers still being verified (the next export takes them)` : "up to date",
            [Progress.chunks]: String(written.length)
          })
          return written
        }
        const sequence = (last?.sequence ?? 0) + 1
        const name = `uws-archive__${String(sequence).padStart(6, "0")}__${compactTime(from)}--${compactTime(to)}.tar`
        const staged = path.join(stagingDir, `${job.jobId}.tar`)
        await rm(staged, { force: true })
        const bag = await writeBag(
          staged,
          name.slice(0, -".tar".length),
          [
            ["Range-From", new Date(from).toISOString()],
            ["Range-To", new Date(to).toISOString()],
            ["Chunk-Sequence", String(sequence)]
          ],
          members,
          to,
          context
        )
        const chunk: Chunk = {
          name,
          sequence,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          containers: members.length,
          payloadBytes: bag.payloadBytes,
          size: bag.size,
          sha512: bag.sha512
        }
        // The description first, then the chunk: a chunk is never visible without it.
        await writeAtomically(sidecar(name), JSON.stringify(chunk))
        await publish(staged, path.join(chunksDir, name))
        await writeIndex()
        written.push({ id: name, mimeType: "application/x-tar", href: `${publicPath}/chunks/${name}`, size: bag.size })
        await context.progress({ [Progress.chunks]: String(written.length), [Progress.containers]: String(members.length), lastChunk: name })
      }
    }

    const exportSelection = async (job: Job.Job, filters: Search.Filters, context: Worker.RunContext) => {
      const caller: Identity.Caller = { id: job.ownerId }
      const members = await allContainers(caller, filters)
      await context.progress({ [Progress.containers]: String(members.length) })
      const name = `${job.jobId}.tar`
      const staged = path.join(stagingDir, name)
      await rm(staged, { force: true })
      const now = await run(archive.now)
      const bag = await writeBag(staged, `uws-archive-selection__${job.jobId}`, [["Selection", JSON.stringify(filters)]], members, now, context)
      await rm(path.join(selectionsDir, name), { force: true })
      await publish(staged, path.join(selectionsDir, name))
      await context.progress({ [Progress.stage]: "written", sha512: bag.sha512 })
      return [{ id: "bag", mimeType: "application/x-tar", href: `${publicPath}/selections/${name}`, size: bag.size }]
    }

    // ---- import ---------------------------------------------------------------------------------
    interface Planned {
      readonly id: string
      readonly owner: Identity.Caller
      readonly record: Record_ | undefined
      readonly input: Parameters<ArchiveService["upload"]>[1] | undefined
    }

    const importBag = async (job: Job.Job, context: Worker.RunContext) => {
      const bagParam = paramOf(job.parameters, Param.Bag) ?? ""
      const tarFile = path.join(incomingDir, bagParam)
      if (!existsSync(tarFile)) throw new Worker.JobFailure({ message: "the bag to import is no longer there; send it again" })
      const work = path.join(stagingDir, `import-${job.jobId}`)
      await rm(work, { recursive: true, force: true })
      await mkdir(work, { recursive: true })
      try {
        await context.progress({ [Progress.stage]: "extracting" })
        let top: ReadonlyArray<string>
        try {
          top = await extractTar(tarFile, work, maxImportBytes)
        } catch (e) {
          throw new Worker.JobFailure({ message: `the bag could not be read from its tar: ${e instanceof Error ? e.message : String(e)}` })
        }
        const root = existsSync(path.join(work, "bagit.txt")) || top.length !== 1 ? work : path.join(work, top[0]!)
        await context.progress({ [Progress.stage]: "validating" })
        const validated = await Effect.runPromise(
          Effect.either(BagIt.validateDirectory(root, (bytes) => void context.progress({ [Progress.bytes]: String(bytes) })))
        )
        if (Either.isLeft(validated)) throw new Worker.JobFailure({ message: validated.left.message })
        const bag = validated.right
        const bagName = bag.info.find(([l]) => l === "External-Identifier")?.[1] ?? path.basename(root)
        const plan = await planImport(root, bag, bagName)
        if (Either.isLeft(plan)) throw new Worker.JobFailure({ message: `the bag is valid BagIt but cannot be imported: ${plan.left.join("; ")}` })

        // Accepted: now each container, all or nothing.
        await context.progress({ [Progress.stage]: "restoring", [Progress.containers]: String(plan.right.length) })
        let imported = 0
        let present = 0
        let skipped = 0
        const conflicts: Array<string> = []
        for (const p of plan.right) {
          if (context.signal.aborted) throw new Worker.JobFailure({ message: "the import was aborted" })
          let existing = await run(Effect.either(archive.get(system, p.id)))
          if (Either.isRight(existing) && p.input !== undefined && unfinishedRestore(existing.right, bagName)) {
            // Restored from this bag by a run that stopped (a crash) before the container was
            // verified: not kept yet, so it is restored again from the start.
            await run(archive.delete({ id: null, admin: true }, p.id))
            existing = await run(Effect.either(archive.get(system, p.id)))
          }
          if (Either.isRight(existing)) {
            const same = p.input === undefined || sameContent(existing.right, p.input)
            if (same) present++
            else conflicts.push(`container ${p.id} exists here with other documents`)
          } else if (p.input === undefined) {
            skipped++
          } else {
            let made = await run(Effect.either(archive.upload(p.owner, p.input)))
            // An owner's active containers are limited (the core's quota): wait for the archive
            // to verify some of those already restored, then go on.
            while (Either.isLeft(made) && made.left._tag === "QuotaExceeded" && !context.signal.aborted) {
              await new Promise((r) => setTimeout(r, 200))
              made = await run(Effect.either(archive.upload(p.owner, p.input)))
            }
            if (Either.isLeft(made)) {
              // Another import (or a retry) may have made it meanwhile.
              const again = await run(Effect.either(archive.get(system, p.id)))
              if (Either.isRight(again) && sameContent(again.right, p.input)) present++
              else conflicts.push(`container ${p.id} could not be restored: ${made.left.message}`)
            } else imported++
          }
          await context.progress({ [Progress.imported]: String(imported), [Progress.present]: String(present), [Progress.skipped]: String(skipped) })
        }
        await context.progress({ [Progress.stage]: "done", conflicts: String(conflicts.length) })
        if (conflicts.length > 0) {
          throw new Worker.JobFailure({
            message: `${imported} containers restored, ${present} already present, ${conflicts.length} not: ${conflicts.slice(0, 10).join("; ")}`
          })
        }
        return []
      } finally {
        await rm(work, { recursive: true, force: true })
      }
    }

    const unfinishedRestore = (c: Container, bagName: string) =>
      c.restoredFrom === bagName && c.status === Containers.StatusCode.Failed && c.hashes.length < 1 + c.uploadedSignatures.length

    const sameContent = (c: Container, input: Parameters<ArchiveService["upload"]>[1]) =>
      c.document.sha256 === input.document.sha256 &&
      c.uploadedSignatures.length === input.signatures.length &&
      c.uploadedSignatures.every((s, i) => s.sha256 === input.signatures[i]!.sha256)

    /** Reads every record and checks it against its files; nothing is restored unless all pass. */
    const planImport = async (root: string, bag: BagIt.ValidBag, bagName: string): Promise<Either.Either<ReadonlyArray<Planned>, ReadonlyArray<string>>> => {
      const problems: Array<string> = []
      const payload = bag.payload
      const recordPaths = [...payload.keys()].filter((p) => /^data\/[^/]+\/container\.json$/.test(p))
      const digest = async (p: string) => BagIt.digestFile(path.join(root, payload.get(p)!), ["sha256"])
      const now = await run(archive.now)
      const planned: Array<Planned> = []
      if (recordPaths.length === 0) {
        // A bag of plain files: one permanent container per file.
        const storage = archive.storages(system)[0]
        if (storage === undefined) return Either.left(["the archive has no logical storage to file the containers in"])
        for (const p of [...payload.keys()].sort()) {
          const { size, digests } = await digest(p)
          const rel = p.slice("data/".length)
          const id = derivedId(`${bagName}\u0000${rel}\u0000${digests["sha256"]}`)
          if (size === 0) {
            problems.push(`${rel} is empty; a container holds a document`)
            continue
          }
          planned.push({
            id,
            owner: system,
            record: undefined,
            input: {
              containerName: rel,
              saveType: "Permanent",
              storageId: storage.id,
              document: fileSource(path.join(root, payload.get(p)!), rel.split("/").pop()!, "application/octet-stream", size, digests["sha256"]!),
              signatures: [],
              restore: { containerId: id, createdAt: now, from: bagName, upgraded: [] }
            }
          })
        }
        return problems.length > 0 ? Either.left(problems) : Either.right(planned)
      }
      const claimed = new Set<string>(recordPaths)
      for (const rp of recordPaths) {
        const folderId = rp.split("/")[1]!
        const parsed = parseRecord(await readFile(path.join(root, payload.get(rp)!), "utf8"), folderId)
        if (Either.isLeft(parsed)) {
          problems.push(`${rp} ${parsed.left}`)
          continue
        }
        const r = parsed.right
        const check = async (f: FileRecord): Promise<IncomingFile | undefined> => {
          const p = `data/${f.path.normalize("NFC")}`
          if (!f.path.startsWith(`${folderId}/`) || !payload.has(p)) {
            problems.push(`${rp} lists ${JSON.stringify(f.path)}, which is not a file of its container in the bag`)
            return undefined
          }
          claimed.add(p)
          const { size, digests } = await digest(p)
          if (size !== f.size || digests["sha256"] !== f.sha256) {
            problems.push(`${p} has ${size} bytes, SHA-256 ${digests["sha256"]}; its record says ${f.size} bytes, SHA-256 ${f.sha256}`)
            return undefined
          }
          return fileSource(path.join(root, payload.get(p)!), f.fileName, f.mimeType, f.size, f.sha256)
        }
        const archiveUntil = r.archiveUntilDate === null ? undefined : Date.parse(r.archiveUntilDate)
        const owner: Identity.Caller = { id: r.ownerId }
        if (r.storageEnded || r.document === null || (archiveUntil !== undefined && archiveUntil <= now)) {
          // Nothing to restore: its documents are gone (or would be at once).
          for (const f of [...r.signatures, ...r.upgraded]) await check(f)
          planned.push({ id: r.id, owner, record: r, input: undefined })
          continue
        }
        const document = await check(r.document)
        const signatures = await Promise.all(r.signatures.map(check))
        const upgraded = await Promise.all(r.upgraded.map(async (u) => ({ index: u.index, file: await check(u) })))
        if (document === undefined || signatures.some((s) => s === undefined) || upgraded.some((u) => u.file === undefined)) continue
        planned.push({
          id: r.id,
          owner,
          record: r,
          input: {
            containerName: r.name,
            saveType: r.saveType,
            storageId: r.storageId,
            useArchiveCa: r.useArchiveCa,
            ...(r.structureName === null ? {} : { structureName: r.structureName }),
            ...(archiveUntil === undefined ? {} : { archiveDate: archiveUntil }),
            // The storage it asked for, where this archive has one by that name; else the default.
            ...(r.pluginName !== null && options.plugins.storages.some((x) => x.name === r.pluginName && x.writable()) ? { pluginName: r.pluginName } : {}),
            document,
            signatures: signatures as Array<IncomingFile>,
            restore: { containerId: r.id, createdAt: Date.parse(r.createDate), from: bagName, upgraded: upgraded as Array<{ index: number; file: IncomingFile }> }
          }
        })
      }
      for (const p of payload.keys()) if (!claimed.has(p)) problems.push(`${p} belongs to no container record`)
      return problems.length > 0 ? Either.left(problems) : Either.right(planned)
    }

    // ---- the job list -------------------------------------------------------------------------
    const worker = Worker.make({
      name: "archive-dumps",
      // Both run again from the start after a crash: an export continues the series from the
      // chunks on disk, an import finds the containers it already restored.
      restartable: true,
      validate: (parameters) => {
        const action = paramOf(parameters, Param.Action)
        if (action === "export") {
          const filters = paramOf(parameters, Param.Filters)
          if (filters !== undefined) {
            let parsed: unknown
            try {
              parsed = JSON.parse(filters)
            } catch {
              return { _tag: "Left", left: "Filters must be the JSON of a search's filters" }
            }
            const q = Search.parse({ filters: parsed })
            if (Either.isLeft(q)) return { _tag: "Left", left: q.left.join("; ") }
          }
          return { _tag: "Right", right: parameters }
        }
        if (action === "import") {
          const bag = paramOf(parameters, Param.Bag) ?? ""
          return /^[0-9a-f-]{36}\.tar$/.test(bag) ? { _tag: "Right", right: parameters } : { _tag: "Left", left: "an import names the bag it was sent" }
        }
        return { _tag: "Left", left: "dumps are made with POST /dumps/export and POST /dumps/import" }
      },
      run: (job, context) =>
        Effect.tryPromise({
          try: async () => {
            const action = paramOf(job.parameters, Param.Action)
            if (action === "import") {
              try {
                return await importBag(job, context)
              } finally {
                // Done with, whichever way it ended (a crash leaves it for the rerun).
                const bag = paramOf(job.parameters, Param.Bag)
                if (bag !== undefined) await rm(path.join(incomingDir, bag), { force: true })
              }
            }
            const filters = paramOf(job.parameters, Param.Filters)
            if (filters !== undefined) {
              const q = Search.parse({ filters: JSON.parse(filters) })
              return await exportSelection(job, Either.isRight(q) ? q.right.filters : {}, context)
            }
            return await run(exportLock.withPermits(1)(Effect.promise(() => exportSeries(job, context))))
          },
          catch: (e) => (e instanceof Worker.JobFailure ? e : new Worker.JobFailure({ message: e instanceof Error ? e.message : String(e) }))
        })
    })

    const uws = yield* Uws.make({
      worker,
      policy: {
        maxStoredJobs: null,
        defaultExecutionDuration: 24 * 3600,
        maxExecutionDuration: 7 * 24 * 3600,
        defaultDestructionLifetime: 30 * 24 * 3600,
        concurrency: options.concurrency ?? 1
      },
      ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait })
    })

    const service: DumpsService = {
      uws,
      exportDump: (caller, filters) =>
        mayExport(caller)
          ? uws.create(caller, {
              parameters: [{ name: Param.Action, value: "export" }, ...(filters === undefined ? [] : [{ name: Param.Filters, value: JSON.stringify(filters) }])],
              run: true
            })
          : Effect.fail(new DumpRefused({ reason: "you may not export the archive" })),
      importDump: (caller, tarFile) =>
        Effect.gen(function* () {
          if (!mayImport(caller)) {
            yield* Effect.promise(() => rm(tarFile, { force: true }))
            return yield* Effect.fail(new DumpRefused({ reason: "only an operator may import containers into the archive" }))
          }
          const name = `${randomUUID()}.tar`
          yield* Effect.promise(() => rename(tarFile, path.join(incomingDir, name)))
          return yield* uws.create(caller, { parameters: [{ name: Param.Action, value: "import" }, { name: Param.Bag, value: name }], run: true }).pipe(
            Effect.tapError(() => Effect.promise(() => rm(path.join(incomingDir, name), { force: true })))
          )
        }),
      index: Effect.promise(writeIndex),
      file: (kind, name) => {
        if (!/^[A-Za-z0-9_.-]+\.tar$/.test(name)) return undefined
        const file = path.join(kind === "chunks" ? chunksDir : selectionsDir, name)
        return existsSync(file) ? file : undefined
      },
      incomingFile: () => path.join(incomingDir, `receiving-${randomUUID()}.tar`)
    }
    return service
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly dumps: DumpsService
  readonly close: () => Promise<void>
}

/**
 * Starts the dumps service outside Effect (in-memory job list unless stores are given).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (
  options: DumpsOptions & {
    readonly jobStore?: JobStore.JobStoreService
    readonly resultStore?: ResultStore.ResultStoreService
    readonly dispatcher?: Dispatcher.DispatcherService
  }
): Promise<Started> => {
  const scope = Effect.runSync(Scope.make())
  let program = make(options).pipe(
    Scope.extend(scope),
    Effect.provideService(JobStore.JobStore, options.jobStore ?? JobStore.makeMemory()),
    Effect.provideService(ResultStore.ResultStore, options.resultStore ?? ResultStore.makeMemory())
  )
  if (options.dispatcher !== undefined) program = Effect.provideService(program, Dispatcher.Dispatcher, options.dispatcher)
  const dumps = await Effect.runPromise(program)
  return { dumps, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** The size of a file, or undefined. */
export const fileSize = async (file: string): Promise<number | undefined> => (await stat(file).catch(() => undefined))?.size
