/**
 * A BagIt bag as one tar file (tar-stream): written in one pass, payload digests computed while
 * the bytes go by, and read back into a folder without trusting the tar (no links, no paths
 * outside the folder, sizes bounded).
 */
import { createHash } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdir, open } from "node:fs/promises"
import * as path from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as tar from "tar-stream"
import * as BagIt from "../BagIt.js"

/** A payload file of a bag to write: its path under `data/`, its exact size, its bytes. */
export interface PayloadFile {
  /** Relative to `data/` (NFC is applied). */
  readonly path: string
  readonly size: number
  readonly open: () => AsyncIterable<Uint8Array>
  /** The SHA-256 the bytes must have (lowercase hex); a mismatch fails the write. */
  readonly sha256?: string
}

export interface WrittenBag {
  readonly payloadBytes: number
  readonly payloadFiles: number
  /** SHA-512 of the tar file. */
  readonly sha512: string
  readonly size: number
}

/**
 * Writes the bag `name` (the tar's one top-level folder) to `file` and fsyncs it. Tag files
 * first (`bag-info.txt` gets `Payload-Oxum` from the sizes given), then the payload, then the
 * manifests: nothing is read twice.
 */
export const writeBagTar = async (options: {
  readonly file: string
  readonly name: string
  readonly info: ReadonlyArray<readonly [string, string]>
  readonly payload: ReadonlyArray<PayloadFile>
  readonly mtime: Date
  readonly onFile?: (done: number, bytes: number) => void
}): Promise<WrittenBag> => {
  const pack = tar.pack()
  const tarHash = createHash("sha512")
  let tarSize = 0
  const out = createWriteStream(options.file, { flags: "wx" })
  // A Transform, not an async generator: one promise hop less per chunk of the tar.
  const hashed = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      tarHash.update(chunk)
      tarSize += chunk.length
      callback(null, chunk)
    }
  })
  const written = pipeline(pack, hashed, out)
  // A failed write ends the pack; its error is the one to report.
  written.catch(() => {})
  const root = options.name
  const mode = 0o644
  const add = (name: string, body: string) =>
    new Promise<void>((resolve, reject) => pack.entry({ name: `${root}/${name}`, mtime: options.mtime, mode }, body, (e) => (e ? reject(e) : resolve())))
  const tagDigests: Array<BagIt.ManifestEntry> = []
  const addTag = async (name: string, body: string) => {
    await add(name, body)
    tagDigests.push({ path: name, digest: createHash("sha512").update(body).digest("hex") })
  }
  try {
    const payloadBytes = options.payload.reduce((n, f) => n + f.size, 0)
    await addTag("bagit.txt", BagIt.bagitTxt)
    await addTag("bag-info.txt", BagIt.formatTags([...options.info, ["Payload-Oxum", BagIt.oxum(payloadBytes, options.payload.length)]]))
    const manifest: Array<BagIt.ManifestEntry> = []
    let bytes = 0
    for (const [i, f] of options.payload.entries()) {
      const rel = `data/${f.path.normalize("NFC")}`
      const sha512 = createHash("sha512")
      const sha256 = createHash("sha256")
      let size = 0
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: `${root}/${rel}`, size: f.size, mtime: options.mtime, mode }, (e) => (e ? reject(e) : resolve()))
        const copy = async () => {
          for await (const chunk of f.open()) {
            sha512.update(chunk)
            sha256.update(chunk)
            size += chunk.length
            if (size > f.size) throw new Error(`${rel} has more than its ${f.size} bytes`)
            if (!entry.write(chunk)) await new Promise<void>((r) => entry.once("drain", () => r()))
          }
          if (size !== f.size) throw new Error(`${rel} has ${size} bytes, not ${f.size}`)
          const got = sha256.digest("hex")
          if (f.sha256 !== undefined && got !== f.sha256) throw new Error(`${rel} has SHA-256 ${got}, not the ${f.sha256} recorded`)
          entry.end()
        }
        // The error is reported by the rejection; the entry's own 'error' event would be uncaught.
        entry.on("error", () => {})
        copy().catch((e: unknown) => {
          entry.destroy(e instanceof Error ? e : new Error(String(e)))
          reject(e)
        })
      })
      bytes += size
      manifest.push({ path: rel, digest: sha512.digest("hex") })
      options.onFile?.(i + 1, bytes)
    }
    await addTag("manifest-sha512.txt", BagIt.formatManifest(manifest))
    await add("tagmanifest-sha512.txt", BagIt.formatManifest(tagDigests))
    pack.finalize()
    await written
    const handle = await open(options.file, "r+")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    return { payloadBytes, payloadFiles: options.payload.length, sha512: tarHash.digest("hex"), size: tarSize }
  } catch (e) {
    pack.destroy(e instanceof Error ? e : new Error(String(e)))
    await written.catch(() => {})
    throw e
  }
}

/**
 * Extracts the tar at `file` into `into` (which must be empty). Only folders and regular files
 * are accepted, each path relative and inside; at most `maxBytes` in all. Returns the names at
 * the top level (a bag made by `tar -C parent -cf x.tar bag` has one: the bag's folder).
 */
export const extractTar = async (file: string, into: string, maxBytes: number): Promise<ReadonlyArray<string>> => {
  const extract = tar.extract()
  const top = new Set<string>()
  let total = 0
  const source = createReadStream(file)
  const feeding = pipeline(source, extract).catch((e: unknown) => {
    extract.destroy(e instanceof Error ? e : new Error(String(e)))
  })
  for await (const entry of extract) {
    const h = entry.header
    const name = h.name.replace(/\/+$/, "").replace(/^(\.\/)+/, "")
    if (name === "." || name === "") {
      entry.resume()
      continue
    }
    const parts = name.split("/")
    if (name.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === "") || name.includes("\\") || name.includes("\u0000")) {
      throw new Error(`the tar holds ${JSON.stringify(h.name)}, a path outside the bag`)
    }
    const target = path.join(into, ...parts)
    if (!target.startsWith(into + path.sep)) throw new Error(`the tar holds ${JSON.stringify(h.name)}, a path outside the bag`)
    top.add(parts[0]!)
    if (h.type === "directory") {
      await mkdir(target, { recursive: true })
      entry.resume()
      continue
    }
    if (h.type !== "file" && h.type !== "contiguous-file") throw new Error(`the tar holds ${JSON.stringify(h.name)}, a ${h.type}; only files and folders are accepted`)
    total += h.size ?? 0
    if (total > maxBytes) throw new Error(`the tar holds more than ${maxBytes} bytes`)
    await mkdir(path.dirname(target), { recursive: true })
    await pipeline(entry, createWriteStream(target, { flags: "wx" }))
  }
  await feeding
  return [...top]
}
