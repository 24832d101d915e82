/**
 * Verifiable dumps against an independent implementation and real failures:
 * - the chunks the demo serves validate with the Library of Congress's bagit-python
 *   (test/tools/bagit, CC0), odd file names included; so does a bag with CR/LF in its names;
 * - a bag bagit-python made (`--sha512`) imports into ours, once;
 * - kill -9 of the demo during an export and during an import: after a restart no partial chunk
 *   is visible, the job runs again and completes, every container is whole and there once.
 */
import { execFile, spawnSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { extractTar, writeBagTar } from "../../packages/adapter-archive/src/internal/bagTar.js"
import { kill9, killAll, startDemoProcess, type DemoProcess } from "../support/demoProcess.js"
import { PYTHON, repoRoot, requireTool } from "./support.js"

const BAGIT = join(repoRoot, "test/tools/bagit/bagit.py")
const sig = readFileSync(join(repoRoot, "test/fixtures/archive/a-detached.sig"))

beforeAll(() => {
  requireTool(
    "python3 at /usr/bin/python3 (Debian python3), for bagit-python",
    () => existsSync(PYTHON) && spawnSync(PYTHON, ["--version"], { stdio: "ignore" }).status === 0,
    "apt-get install -y python3"
  )
  requireTool("tar (Debian tar)", () => spawnSync("tar", ["--version"], { stdio: "ignore" }).status === 0, "apt-get install -y tar")
})
afterAll(() => killAll())

/**
 * Runs a tool without blocking the event loop: a blocked loop let the demo's keep-alive time-out
 * close an idle connection unseen, and the next fetch reused it ("other side closed").
 */
const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<{ readonly status: number; readonly stderr: string }>((resolve) =>
    execFile(command, args, { encoding: "utf8" }, (error, _stdout, stderr) =>
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stderr })
    )
  )
const bagitValidate = (bag: string) => run(PYTHON, [BAGIT, "--validate", "--quiet", bag])
const untar = async (tarFile: string) => {
  const into = mkdtempSync(join(tmpdir(), "uws-sys-untar-"))
  const r = await run("tar", ["-xf", tarFile, "-C", into])
  expect(r.status, r.stderr).toBe(0)
  return join(into, readdirSync(into)[0]!)
}

const upload = async (url: string, name: string, fileName: string, bytes: Buffer) => {
  const form = new FormData()
  form.set("ContainerName", name)
  form.set("StorageId", "4")
  form.set("SaveType", "Permanent")
  form.set("Content", new Blob([new Uint8Array(bytes)]), fileName)
  form.set("Signs", new Blob([new Uint8Array(sig)]), "a-detached.sig")
  const r = await fetch(`${url}/api/document/content`, { method: "POST", body: form })
  const body = (await r.json()) as { data: string; errorDescription: string | null }
  expect(body.errorDescription).toBeNull()
  return body.data
}
const search = async (url: string) =>
  ((await (await fetch(`${url}/api/document/search`, { method: "POST", body: JSON.stringify({ pageSize: 1000 }) })).json()) as {
    data: { documents: Array<{ id: string; name: string; status: number }>; totalRecords: number }
  }).data
const settle = async (url: string, count: number) => {
  for (let i = 0; i < 600; i++) {
    const page = await search(url)
    if (page.totalRecords === count && page.documents.every((d) => d.status !== 1 && d.status !== 2)) return page.documents
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`the ${count} containers did not settle: ${JSON.stringify(await search(url))}`)
}
const dumpJob = async (url: string, id: string) =>
  ((await (await fetch(`${url}/dumps/jobs/${id}`)).json()) as { data: { phase: string; progress: Record<string, string>; error: string | null } }).data
const finish = async (url: string, id: string) => {
  for (let i = 0; i < 1200; i++) {
    const j = await dumpJob(url, id)
    if (["COMPLETED", "ERROR", "ABORTED"].includes(j.phase)) return j
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`dump ${id} did not finish`)
}
const post = async (url: string, path: string, body?: BodyInit) =>
  ((await (await fetch(`${url}${path}`, { method: "POST", ...(body === undefined ? {} : { body, headers: { "content-type": "application/x-tar" } }) })).json()) as {
    data: { id: string } | null
    errorDescription: string | null
  })
const index = async (url: string) => ((await (await fetch(`${url}/dumps/index.json`)).json()) as { chunks: Array<{ name: string; containers: number; sha512: string }> }).chunks
const download = async (url: string, name: string) => {
  const file = join(mkdtempSync(join(tmpdir(), "uws-sys-chunk-")), name)
  writeFileSync(file, Buffer.from(await (await fetch(`${url}/dumps/chunks/${name}`)).arrayBuffer()))
  return file
}

describe("bags validate with bagit-python", () => {
  let demo: DemoProcess
  const dataDir = mkdtempSync(join(tmpdir(), "uws-sys-bagit-"))
  beforeAll(async () => {
    demo = await startDemoProcess({ UWS_DATA_DIR: dataDir }, "the demo")
  })
  afterAll(async () => {
    await kill9(demo.child)
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("a chunk of the demo, with odd file names (spaces, %, NFD unicode, Cyrillic), is valid BagIt for bagit-python", async () => {
    const names = ["Cafe\u0301 report.txt", "100% done.pdf", "акт сверки.pdf", "a  b %0A c.txt"]
    for (const [i, n] of names.entries()) await upload(demo.url, `odd ${i}`, n, Buffer.from(`document ${i}`))
    await settle(demo.url, names.length)
    const started = await post(demo.url, "/dumps/export")
    expect((await finish(demo.url, started.data!.id)).phase).toBe("COMPLETED")
    const [chunk] = await index(demo.url)
    expect(chunk!.containers).toBe(names.length)
    const file = await download(demo.url, chunk!.name)
    expect(createHash("sha512").update(readFileSync(file)).digest("hex")).toBe(chunk!.sha512)
    const bag = await untar(file)
    const r = await bagitValidate(bag)
    expect(r.status, r.stderr).toBe(0)
    // The record keeps each file's real name.
    const records = readdirSync(join(bag, "data")).map((id) => JSON.parse(readFileSync(join(bag, "data", id, "container.json"), "utf8")) as { document: { fileName: string } })
    expect(records.map((x) => x.document.fileName.normalize("NFC")).sort()).toEqual(names.map((n) => n.normalize("NFC")).sort())
  })

  it("a bag with CR and LF in its file names (percent-encoded in the manifest) is valid for bagit-python", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uws-sys-crlf-"))
    const payload = ["line\nfeed.txt", "carriage\rreturn.txt", "Cafe\u0301.txt", "sp ace.txt"].map((p) => ({ p, b: Buffer.from(p) }))
    await writeBagTar({ file: join(dir, "b.tar"), name: "b", info: [], payload: payload.map(({ p, b }) => ({ path: p, size: b.length, open: async function* () { yield b } })), mtime: new Date() })
    await extractTar(join(dir, "b.tar"), join(dir, "x"), 1 << 20)
    const r = await bagitValidate(join(dir, "x", "b"))
    expect(r.status, r.stderr).toBe(0)
    // And bagit-python finds damage in it as we do.
    writeFileSync(join(dir, "x", "b", "data", "line\nfeed.txt"), "changed")
    expect((await bagitValidate(join(dir, "x", "b"))).status).not.toBe(0)
  })

  it("a bag made by bagit-python (--sha512) imports into ours, once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uws-sys-pybag-"))
    const bag = join(dir, "incoming")
    mkdirSync(join(bag, "scans"), { recursive: true })
    writeFileSync(join(bag, "scans", "page 1.tif"), randomBytes(5000))
    writeFileSync(join(bag, "letter.txt"), "a letter")
    const made = await run(PYTHON, [BAGIT, "--sha512", "--quiet", "--source-organization", "Somewhere", bag])
    expect(made.status, made.stderr).toBe(0)
    expect((await run("tar", ["-cf", join(dir, "bag.tar"), "-C", dir, "incoming"])).status).toBe(0)
    const before = (await search(demo.url)).totalRecords
    const first = await post(demo.url, "/dumps/import", readFileSync(join(dir, "bag.tar")))
    const done = await finish(demo.url, first.data!.id)
    expect(done.error).toBeNull()
    expect(done.progress["imported"]).toBe("2")
    const docs = await settle(demo.url, before + 2)
    expect(docs.map((d) => d.name)).toEqual(expect.arrayContaining(["letter.txt", "scans/page 1.tif"]))
    const again = await finish(demo.url, (await post(demo.url, "/dumps/import", readFileSync(join(dir, "bag.tar")))).data!.id)
    expect(again.progress["present"]).toBe("2")
    expect((await search(demo.url)).totalRecords).toBe(before + 2)
  })

  it("a damaged bag is refused with the file named, and nothing is imported", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uws-sys-bad-"))
    const bag = join(dir, "bad")
    mkdirSync(bag)
    writeFileSync(join(bag, "x.txt"), "original")
    expect((await run(PYTHON, [BAGIT, "--sha512", "--quiet", bag])).status).toBe(0)
    writeFileSync(join(bag, "data", "x.txt"), "tampered")
    expect((await run("tar", ["-cf", join(dir, "bag.tar"), "-C", dir, "bad"])).status).toBe(0)
    const before = (await search(demo.url)).totalRecords
    const done = await finish(demo.url, (await post(demo.url, "/dumps/import", readFileSync(join(dir, "bag.tar")))).data!.id)
    expect(done.phase).toBe("ERROR")
    expect(done.error).toMatch(/data\/x\.txt" has sha512/)
    expect((await search(demo.url)).totalRecords).toBe(before)
  })
})

describe("kill -9 during an export and during an import", () => {
  const big = 4 * 1024 * 1024
  const count = 8

  it("export: no partial chunk is ever visible; after restart the export runs again and its chunks hold every container", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "uws-sys-kill-export-"))
    let demo = await startDemoProcess({ UWS_DATA_DIR: dataDir }, "the demo")
    for (let i = 0; i < count; i++) await upload(demo.url, `big ${i}`, `big-${i}.bin`, randomBytes(big))
    await settle(demo.url, count)
    const id = (await post(demo.url, "/dumps/export")).data!.id
    const staging = join(dataDir, "archive", "dumps", "staging")
    const chunks = join(dataDir, "archive", "dumps", "chunks")
    let killedWhileWriting = false
    for (let i = 0; i < 4000; i++) {
      const staged = existsSync(staging) ? readdirSync(staging).filter((n) => n.endsWith(".tar")) : []
      if (staged.length > 0 && statSync(join(staging, staged[0]!)).size > big) {
        await kill9(demo.child)
        killedWhileWriting = true
        break
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(killedWhileWriting).toBe(true)
    // What is visible after the crash: no chunk (the one being written was only staged).
    expect(readdirSync(chunks).filter((n) => n.endsWith(".tar"))).toEqual([])
    demo = await startDemoProcess({ UWS_DATA_DIR: dataDir }, "the demo after kill -9")
    // Only the resumed export's own bag may be staged by now (it may restart writing at once).
    expect(readdirSync(staging).filter((n) => n !== `${id}.tar`)).toEqual([])
    const done = await finish(demo.url, id)
    expect(done.phase).toBe("COMPLETED")
    expect(readdirSync(staging)).toEqual([])
    const listed = await index(demo.url)
    expect(listed.reduce((n, c) => n + c.containers, 0)).toBe(count)
    for (const c of listed) {
      const r = await bagitValidate(await untar(await download(demo.url, c.name)))
      expect(r.status, r.stderr).toBe(0)
    }
    await kill9(demo.child)
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("import: after a kill -9 mid-restore the import runs again; every container is there once and whole", async () => {
    // A chunk to import, from a first demo.
    const sourceDir = mkdtempSync(join(tmpdir(), "uws-sys-kill-src-"))
    const source = await startDemoProcess({ UWS_DATA_DIR: sourceDir }, "the source demo")
    const sha = new Map<string, string>()
    for (let i = 0; i < count; i++) {
      const bytes = randomBytes(big)
      sha.set(await upload(source.url, `big ${i}`, `big-${i}.bin`, bytes), createHash("sha256").update(bytes).digest("base64"))
    }
    await settle(source.url, count)
    expect((await finish(source.url, (await post(source.url, "/dumps/export")).data!.id)).phase).toBe("COMPLETED")
    const [chunk] = await index(source.url)
    const tar = readFileSync(await download(source.url, chunk!.name))
    await kill9(source.child)

    const dataDir = mkdtempSync(join(tmpdir(), "uws-sys-kill-import-"))
    let demo = await startDemoProcess({ UWS_DATA_DIR: dataDir }, "the demo")
    const id = (await post(demo.url, "/dumps/import", tar)).data!.id
    let killedAt: Record<string, string> | undefined
    for (let i = 0; i < 4000; i++) {
      const j = await dumpJob(demo.url, id)
      const imported = Number(j.progress["imported"] ?? "0")
      if (j.progress["stage"] === "restoring" && imported >= 1 && imported < count) {
        await kill9(demo.child)
        killedAt = j.progress
        break
      }
      if (j.phase === "COMPLETED" || j.phase === "ERROR") break
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(killedAt, "the kill did not land while containers were being restored").toBeDefined()
    demo = await startDemoProcess({ UWS_DATA_DIR: dataDir }, "the demo after kill -9")
    const done = await finish(demo.url, id)
    expect(done.error).toBeNull()
    expect(Number(done.progress["imported"]) + Number(done.progress["present"])).toBe(count)
    const docs = await settle(demo.url, count)
    expect(docs.map((d) => d.id).sort()).toEqual([...sha.keys()].sort())
    for (const d of docs) {
      const detail = ((await (await fetch(`${demo.url}/api/document/${d.id}`)).json()) as { data: { status: number; hashes: Array<{ of: string; value: string }> } }).data
      expect(detail.status).toBe(4)
      expect(detail.hashes.find((h) => h.of === "document")?.value).toBe(sha.get(d.id))
    }
    await kill9(demo.child)
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(sourceDir, { recursive: true, force: true })
  })
})
