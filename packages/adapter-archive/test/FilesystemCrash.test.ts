/**
 * Crash safety of the filesystem storage: a process killed (SIGKILL) in the middle of a write
 * leaves no partial object visible and loses none it acknowledged; a write whose source fails
 * leaves nothing behind; a corrupted file is never served as good.
 */
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { FilesystemStorage, Storage } from "@uws-kit/adapter-archive"
import { Effect, Either, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"

const here = path.dirname(fileURLToPath(import.meta.url))
const repo = path.resolve(here, "../../..")
const dirs: Array<string> = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})
const tempDir = async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-crash-"))
  dirs.push(d)
  return d
}
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const open = (dir: string, extra: Record<string, string> = {}) =>
  Effect.runPromise(Storage.host("fs", FilesystemStorage.make(), { DocumentsFolderPath: dir, ...extra }))

/** Every file under objects/, with its name. */
const objectFiles = async (dir: string) => {
  const out: Array<{ file: string; locator: string }> = []
  const root = path.join(dir, "objects")
  for (const a of await fs.readdir(root)) {
    for (const b of await fs.readdir(path.join(root, a))) {
      for (const name of await fs.readdir(path.join(root, a, b))) out.push({ file: path.join(root, a, b, name), locator: `${a}/${b}/${name}` })
    }
  }
  return out
}

describe("filesystem storage crash safety", () => {
  it("a process killed mid-write leaves no partial object and loses none it acknowledged", async () => {
    const dir = await tempDir()
    const child = spawn(process.execPath, ["--conditions=@uws-kit/source", "--import", "tsx", path.join(here, "support/crash-writer.ts"), dir], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    const acknowledged: Array<{ locator: string; sha256: string }> = []
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)))
    await new Promise<void>((resolve, reject) => {
      let buffer = ""
      child.stdout.on("data", (d: Buffer) => {
        buffer += d.toString()
        let nl: number
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          const [word, locator, digest] = line.split(" ")
          if (word === "ACK") acknowledged.push({ locator: locator!, sha256: digest! })
          if (word === "WRITING") resolve()
        }
      })
      child.on("exit", () => reject(new Error(`the writer ended before the interrupted write began: ${stderr}`)))
    })
    // The write is under way: a partial file exists, and only in tmp/.
    const partial = (await fs.readdir(path.join(dir, "tmp"))).filter((n) => n.endsWith(".part"))
    expect(partial.length).toBe(1)
    expect((await fs.stat(path.join(dir, "tmp", partial[0]!))).size).toBeGreaterThan(0)
    child.kill("SIGKILL")
    expect(await exited).toBe("SIGKILL")

    expect(acknowledged.length).toBe(5)
    const files = await objectFiles(dir)
    // Exactly the acknowledged objects are visible, each whole (its content hashes to its name).
    expect(files.map((f) => f.locator).sort()).toEqual(acknowledged.map((a) => a.locator).sort())
    for (const f of files) expect(sha256(await fs.readFile(f.file))).toBe(f.locator.split(".")[1])

    const storage = await open(dir)
    for (const a of acknowledged) {
      expect((Either.getOrThrow(await Effect.runPromise(Effect.either(storage.stat(a.locator)))))?.sha256).toBe(a.sha256)
      expect(sha256(await Effect.runPromise(Storage.readAll(storage, a.locator)))).toBe(a.sha256)
    }
    // A recent partial file may belong to a live writer: kept. An old one is swept at start-up.
    expect((await fs.readdir(path.join(dir, "tmp"))).length).toBe(1)
    await open(dir, { TempMaxAgeSeconds: "0" })
    expect(await fs.readdir(path.join(dir, "tmp"))).toEqual([])
    expect((await objectFiles(dir)).length).toBe(5)
  })

  it("a write whose source fails answers a Left and leaves nothing behind", async () => {
    const dir = await tempDir()
    const storage = await open(dir)
    const kept = await Effect.runPromise(storage.save({ containerId: "c", name: "kept", content: (async function* () { yield randomBytes(10) })() }))
    const failed = await Effect.runPromise(
      Effect.either(
        storage.save({
          containerId: "c",
          name: "document",
          content: (async function* () {
            yield randomBytes(100_000)
            throw new Error("the client hung up")
          })()
        })
      )
    )
    expect(Either.isLeft(failed) && failed.left.reason).toContain("the client hung up")
    expect(await fs.readdir(path.join(dir, "tmp"))).toEqual([])
    expect((await objectFiles(dir)).map((f) => f.locator)).toEqual([kept])
  })

  /** A storage holding one object whose file then had a byte flipped on disk. */
  const damagedObject = async () => {
    const dir = await tempDir()
    const storage = await open(dir)
    const bytes = randomBytes(200_000)
    const locator = await Effect.runPromise(storage.save({ containerId: "c", name: "document", content: (async function* () { yield bytes })() }))
    const [only] = await objectFiles(dir)
    const damaged = Buffer.from(bytes)
    damaged[123_456] = damaged[123_456]! ^ 0xff
    await fs.writeFile(only!.file, damaged)
    return { storage, locator, damaged }
  }

  it("never serves a corrupted file as good: the read fails at its end", async () => {
    const { storage, locator } = await damagedObject()
    const read = await Effect.runPromise(Effect.either(Storage.readAll(storage, locator)))
    expect(Either.isLeft(read) && read.left.reason).toContain("corrupted")
  })

  it("leaves the check to a host that says it checks the bytes itself (a mirrored read): the file as it is, hashed once", async () => {
    const { storage, locator, damaged } = await damagedObject()
    const opened = await Effect.runPromise(storage.get(locator, { hostVerifies: true }))
    const read = Buffer.concat(await Effect.runPromise(Stream.runCollect(opened.stream).pipe(Effect.map((c) => Array.from(c)))))
    expect(read.equals(damaged)).toBe(true)
    // Without the word, the same read still fails.
    expect(Either.isLeft(await Effect.runPromise(Effect.either(Storage.readAll(storage, locator))))).toBe(true)
  })

  it("refuses a folder of another layout instead of writing into it", async () => {
    const dir = await tempDir()
    await fs.writeFile(path.join(dir, "uws-archive-storage.json"), JSON.stringify({ layout: "flat", version: 7 }))
    const storage = await open(dir)
    expect(storage.state()).toBe("failed")
    expect(storage.failure()).toContain("another layout")
  })
})
