/**
 * BagIt 1.0 (RFC 8493): the format of the archive's dumps, written and checked here.
 *
 * - Manifest paths are percent-encoded as the RFC says (§2.1.3): `%` as `%25`, CR as `%0D`, LF as
 *   `%0A`, and nothing else. bagit-python encodes CR and LF only (its issue #157), so a name with
 *   a `%` is the one case where it and we disagree; every other name validates in both.
 * - Paths are compared in Unicode NFC (a bag made on macOS names files in NFD): we write NFC,
 *   and a bag whose file names differ from its manifest only in normalization is still complete.
 * - `validateDirectory` checks a bag completely before anyone uses it: `bagit.txt`, every payload
 *   manifest (complete both ways, every digest), every tag manifest, `Payload-Oxum`; a holey bag
 *   (`fetch.txt`) is refused. Its answer lists every problem at once.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { lstat, readdir, readFile } from "node:fs/promises"
import * as path from "node:path"
import { Data, Effect } from "effect"

/**
 * The digest algorithms a bag may use (RFC 8493 §2.4: SHA-256 and SHA-512 are a MUST; MD5 and
 * SHA-1 are read for older bags). We write SHA-512.
 *
 * @since 0.1.0
 * @category constants
 */
export const algorithms = ["sha512", "sha256", "sha1", "md5"] as const

/**
 * @since 0.1.0
 * @category models
 */
export type Algorithm = (typeof algorithms)[number]

const isAlgorithm = (s: string): s is Algorithm => (algorithms as ReadonlyArray<string>).includes(s)

/**
 * The `bagit.txt` of a BagIt 1.0 bag.
 *
 * @since 0.1.0
 * @category constants
 */
export const bagitTxt = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

/**
 * A manifest path as written: NFC, then `%` → `%25`, CR → `%0D`, LF → `%0A` (in that order, so
 * an encoded CR is not encoded again).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePath = (p: string): string => p.normalize("NFC").replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")

/**
 * A manifest path as read: `%0D`, `%0A` and `%25` decoded (any case), in one pass so `%250A`
 * stays `%0A`; any other `%` is kept as it is (bags from tools that do not encode `%`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const decodePath = (p: string): string =>
  p.replace(/%(0[dD]|0[aA]|25)/g, (_, code: string) => (code === "25" ? "%" : code.toLowerCase() === "0d" ? "\r" : "\n"))

/**
 * One manifest line: digest, path.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestEntry {
  /** Lowercase hex. */
  readonly digest: string
  /** The path relative to the bag's root, decoded and in NFC, e.g. `data/a b.pdf`. */
  readonly path: string
}

/**
 * A manifest's text (lines end in LF; entries in the order given).
 *
 * @since 0.1.0
 * @category encoding
 */
export const formatManifest = (entries: ReadonlyArray<ManifestEntry>): string =>
  entries.map((e) => `${e.digest.toLowerCase()}  ${encodePath(e.path)}\n`).join("")

/**
 * Reads a manifest: `digest<whitespace>path` per line (LF or CRLF), blank lines ignored. Refused:
 * a digest that is not hex of the algorithm's length, a path that leaves the bag (`..`, absolute,
 * backslashes), a path listed twice (after NFC).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseManifest = (
  text: string,
  algorithm: Algorithm
): { readonly entries: ReadonlyArray<ManifestEntry>; readonly problems: ReadonlyArray<string> } => {
  const hexLength = { sha512: 128, sha256: 64, sha1: 40, md5: 32 }[algorithm]
  const entries: Array<ManifestEntry> = []
  const problems: Array<string> = []
  const seen = new Set<string>()
  const lines = text.split("\n")
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (line.trim() === "") return
    // `s`: a path may hold U+2028/U+2029, which `.` would not match (only LF ends a line here).
    const m = /^([0-9A-Fa-f]+)[ \t]+(.+)$/s.exec(line)
    if (m === null) {
      problems.push(`line ${i + 1} is not "digest path": ${JSON.stringify(line.slice(0, 200))}`)
      return
    }
    const digest = m[1]!.toLowerCase()
    if (digest.length !== hexLength) {
      problems.push(`line ${i + 1}: a ${algorithm} digest has ${hexLength} hex digits, not ${digest.length}`)
      return
    }
    const p = decodePath(m[2]!).normalize("NFC")
    const unsafe = unsafePath(p)
    if (unsafe !== undefined) {
      problems.push(`line ${i + 1}: ${JSON.stringify(p)} ${unsafe}`)
      return
    }
    if (seen.has(p)) {
      problems.push(`line ${i + 1}: ${JSON.stringify(p)} is listed twice`)
      return
    }
    seen.add(p)
    entries.push({ digest, path: p })
  })
  return { entries, problems }
}

const unsafePath = (p: string): string | undefined => {
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) return "is absolute"
  if (p.includes("\\")) return "contains a backslash"
  if (p.includes("\u0000")) return "contains a NUL"
  if (p.split("/").some((s) => s === ".." || s === "." || s === "")) return "is not a plain relative path"
  return undefined
}

/**
 * A tag file (`bag-info.txt`): `Label: value` lines, in the order given. CR and LF in a value
 * would start a new line, so they become spaces.
 *
 * @since 0.1.0
 * @category encoding
 */
export const formatTags = (tags: ReadonlyArray<readonly [string, string]>): string =>
  tags.map(([label, value]) => `${label}: ${value.replace(/[\r\n]+/g, " ")}\n`).join("")

/**
 * Reads a tag file: labels with their values (a line starting with whitespace continues the
 * previous value, as RFC 8493 §2.2.2 allows).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseTags = (text: string): ReadonlyArray<readonly [string, string]> => {
  const out: Array<[string, string]> = []
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === "") continue
    if (/^[ \t]/.test(raw) && out.length > 0) {
      out[out.length - 1]![1] += ` ${raw.trim()}`
      continue
    }
    const colon = raw.indexOf(":")
    if (colon <= 0) continue
    out.push([raw.slice(0, colon).trim(), raw.slice(colon + 1).trim()])
  }
  return out
}

/**
 * `Payload-Oxum`: octets, then the number of payload files.
 *
 * @since 0.1.0
 * @category encoding
 */
export const oxum = (bytes: number, files: number): string => `${bytes}.${files}`

/**
 * Digests of a file, every algorithm in one read.
 *
 * @since 0.1.0
 * @category hashing
 */
export const digestFile = async (file: string, algs: ReadonlyArray<Algorithm>): Promise<{ readonly size: number; readonly digests: Record<string, string> }> => {
  const hashes = algs.map((a) => [a, createHash(a)] as const)
  let size = 0
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    size += chunk.length
    for (const [, h] of hashes) h.update(chunk)
  }
  return { size, digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest("hex")])) }
}

/**
 * A bag that is not complete or not valid; `problems` lists all that was found.
 *
 * @since 0.1.0
 * @category errors
 */
export class BagInvalid extends Data.TaggedError("BagInvalid")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    const shown = this.problems.slice(0, 20).join("; ")
    return `the bag is not valid BagIt: ${shown}${this.problems.length > 20 ? ` (and ${this.problems.length - 20} more)` : ""}`
  }
}

/**
 * What a valid bag holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidBag {
  readonly version: string
  readonly algorithms: ReadonlyArray<Algorithm>
  /** The payload files: NFC path (as in the manifest) → the file's path on disk relative to the bag. */
  readonly payload: ReadonlyMap<string, string>
  readonly payloadBytes: number
  readonly info: ReadonlyArray<readonly [string, string]>
}

/** Every regular file under `dir`, as paths relative to `root` with `/`; anything else is a problem. */
const walk = async (root: string, dir: string, problems: Array<string>): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = dir === "" ? entry.name : `${dir}/${entry.name}`
    if (entry.isDirectory()) out.push(...(await walk(root, rel, problems)))
    else if (entry.isFile()) out.push(rel)
    else problems.push(`${JSON.stringify(rel)} is not a regular file or folder`)
  }
  return out
}

/**
 * Checks the bag at `dir` completely: structure, completeness and every digest of every payload
 * and tag manifest, and `Payload-Oxum`. `onProgress` hears the bytes hashed so far.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateDirectory = (dir: string, onProgress?: (hashedBytes: number) => void): Effect.Effect<ValidBag, BagInvalid> =>
  Effect.tryPromise({
    try: () => validate(dir, onProgress ?? (() => {})),
    catch: (e) => new BagInvalid({ problems: [`the bag could not be read: ${e instanceof Error ? e.message : String(e)}`] })
  }).pipe(Effect.flatMap((r) => (r.problems.length > 0 ? Effect.fail(new BagInvalid({ problems: r.problems })) : Effect.succeed(r.bag))))

const validate = async (dir: string, onProgress: (hashedBytes: number) => void): Promise<{ readonly problems: ReadonlyArray<string>; readonly bag: ValidBag }> => {
  const problems: Array<string> = []
  const text = async (name: string) => {
    try {
      const buf = await readFile(path.join(dir, name))
      const decoded = new TextDecoder("utf-8", { fatal: true }).decode(buf)
      return decoded.startsWith("\uFEFF") ? decoded.slice(1) : decoded
    } catch (e) {
      problems.push(`${name}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : e instanceof Error ? e.message : String(e)}`)
      return undefined
    }
  }
  const empty: ValidBag = { version: "", algorithms: [], payload: new Map(), payloadBytes: 0, info: [] }

  const declaration = await text("bagit.txt")
  let version = ""
  if (declaration !== undefined) {
    const tags = new Map(parseTags(declaration))
    version = tags.get("BagIt-Version") ?? ""
    if (version !== "1.0" && version !== "0.97") problems.push(`bagit.txt: BagIt-Version is "${version}", not 1.0 (or 0.97)`)
    const encoding = tags.get("Tag-File-Character-Encoding") ?? ""
    if (encoding.toUpperCase() !== "UTF-8") problems.push(`bagit.txt: Tag-File-Character-Encoding is "${encoding}"; only UTF-8 is read`)
  }
  const data = await lstat(path.join(dir, "data")).catch(() => undefined)
  if (data === undefined || !data.isDirectory()) problems.push("data/: the payload folder is missing")
  const all = await walk(dir, "", problems)
  if (all.includes("fetch.txt")) problems.push("fetch.txt: a holey bag (files to fetch) is not accepted; send a complete bag")
  if (problems.length > 0) return { problems, bag: empty }

  const onDisk = new Map<string, string>()
  for (const f of all) {
    const nfc = f.normalize("NFC")
    if (onDisk.has(nfc)) problems.push(`${JSON.stringify(f)} and ${JSON.stringify(onDisk.get(nfc))} are the same name in NFC`)
    onDisk.set(nfc, f)
  }
  const payloadFiles = [...onDisk.keys()].filter((f) => f.startsWith("data/"))
  const manifestName = /^manifest-([a-z0-9]+)\.txt$/
  const tagManifestName = /^tagmanifest-([a-z0-9]+)\.txt$/
  const manifests = all.filter((f) => manifestName.test(f))
  const tagManifests = all.filter((f) => tagManifestName.test(f))
  if (manifests.length === 0) problems.push("no payload manifest (manifest-<algorithm>.txt)")

  // What is to be hashed: file → algorithm → expected digest (and which manifest said so).
  const expected = new Map<string, Map<Algorithm, { digest: string; from: string }>>()
  const usedAlgorithms = new Set<Algorithm>()
  const read = async (manifest: string, alg: string, payload: boolean) => {
    if (!isAlgorithm(alg)) {
      problems.push(`${manifest}: the algorithm "${alg}" is not one of ${algorithms.join(", ")}`)
      return
    }
    usedAlgorithms.add(alg)
    const body = await text(manifest)
    if (body === undefined) return
    const parsed = parseManifest(body, alg)
    for (const p of parsed.problems) problems.push(`${manifest}: ${p}`)
    const listed = new Set<string>()
    for (const e of parsed.entries) {
      listed.add(e.path)
      if (payload !== e.path.startsWith("data/")) {
        problems.push(`${manifest}: ${JSON.stringify(e.path)} ${payload ? "is not in the payload folder data/" : "is a payload file; a tag manifest lists tag files"}`)
        continue
      }
      if (!payload && tagManifestName.test(e.path)) {
        problems.push(`${manifest}: lists ${e.path}, a tag manifest`)
        continue
      }
      if (!onDisk.has(e.path)) {
        problems.push(`${manifest}: ${JSON.stringify(e.path)} is listed but not in the bag`)
        continue
      }
      const per = expected.get(e.path) ?? new Map()
      per.set(alg, { digest: e.digest, from: manifest })
      expected.set(e.path, per)
    }
    if (payload) {
      for (const f of payloadFiles) if (!listed.has(f)) problems.push(`${manifest}: ${JSON.stringify(f)} is in the bag but not listed`)
    }
  }
  for (const m of manifests) await read(m, manifestName.exec(m)![1]!, true)
  for (const m of tagManifests) await read(m, tagManifestName.exec(m)![1]!, false)

  const infoText = all.includes("bag-info.txt") ? await text("bag-info.txt") : undefined
  const info = infoText === undefined ? [] : parseTags(infoText)
  let payloadBytes = 0
  const sizes = new Map<string, number>()
  for (const f of payloadFiles) {
    const st = await lstat(path.join(dir, onDisk.get(f)!))
    sizes.set(f, st.size)
    payloadBytes += st.size
  }
  const oxums = info.filter(([label]) => label.toLowerCase() === "payload-oxum").map(([, v]) => v)
  if (oxums.length > 1) problems.push("bag-info.txt: Payload-Oxum is given more than once")
  if (oxums.length === 1) {
    const m = /^(\d+)\.(\d+)$/.exec(oxums[0]!)
    if (m === null) problems.push(`bag-info.txt: Payload-Oxum "${oxums[0]}" is not octets.files`)
    else if (Number(m[1]) !== payloadBytes || Number(m[2]) !== payloadFiles.length) {
      problems.push(`bag-info.txt: Payload-Oxum says ${m[1]} bytes in ${m[2]} files; the payload has ${payloadBytes} bytes in ${payloadFiles.length} files`)
    }
  }
  // Structure first: no file is hashed for a bag already known to be refused.
  if (problems.length > 0) return { problems, bag: empty }

  let hashed = 0
  for (const [file, per] of expected) {
    const { size, digests } = await digestFile(path.join(dir, onDisk.get(file)!), [...per.keys()])
    hashed += size
    onProgress(hashed)
    for (const [alg, want] of per) {
      if (digests[alg] !== want.digest) problems.push(`${want.from}: ${JSON.stringify(file)} has ${alg} ${digests[alg]}, not ${want.digest}`)
    }
  }
  return {
    problems,
    bag: {
      version,
      algorithms: [...usedAlgorithms],
      payload: new Map(payloadFiles.map((f) => [f, onDisk.get(f)!])),
      payloadBytes,
      info
    }
  }
}
