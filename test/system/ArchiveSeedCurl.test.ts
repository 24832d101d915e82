/**
 * The seed's own curl commands (../shared/seeds/001_*.txt: upload with two detached signatures,
 * search, get, status, sign) against the demo service, their answers checked field by field.
 *
 * What is changed in the commands, and only that:
 * - the host and port (`https://archive.cryptopro.ru:32764` → the demo's URL);
 * - in the sign command, the seed's container id → the id our upload answered (the seed says to
 *   use the id the upload returns);
 * - the trailing spaces after the line-continuation backslashes of the upload command (a
 *   PDF-to-text artefact: with them bash reads `\ ` as an escaped space and the command breaks).
 * The seed prints no curl for search, get and status (only Swagger forms); those three are written
 * in the Swagger-generated style of the other two, with the search the seed describes (status
 * "archival storage", source system 4, first page of one).
 *
 * The demo's archive clock starts at the seed's date (UWS_ARCHIVE_DEMO_CLOCK), so the temporary
 * container filed until 21.07.2023 is accepted as it was then.
 *
 * Needs the `curl` binary; fails (does not skip) without it.
 */
import { execFile, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { unzip } from "../../packages/adapter-archive/test/support/unzip.js"
import { startDemo, type Demo } from "../../examples/server.js"
import { repoRoot, requireTool } from "./support.js"

const fixtures = join(repoRoot, "test/fixtures/archive")
const SEED_HOST = "https://archive.cryptopro.ru:32764"
const SEED_ID = "bc32d0e9-d085-4236-9e46-ba88d0490a41"
const SEED_CLOCK = "2023-05-30T20:00:32+03:00"

// Verbatim from the seed (trailing spaces after the backslashes removed, see above).
const UPLOAD = `curl -X 'POST' \\
  'https://archive.cryptopro.ru:32764/api/document/content' \\
  -H 'accept: text/plain' \\
  -H 'Content-Type: multipart/form-data' \\
  -F 'ContainerName=MyContainer' \\
  -F 'ArchiveDate=21.07.2023' \\
  -F 'StorageId=4' \\
  -F 'Signs=@xlt1-detached.sig;type=application/sig' \\
  -F 'Signs=@a-detached.sig;type=application/sig' \\
  -F 'SaveType=Temporary' \\
  -F 'Content=@document.txt;type=text/plain' \\
  -F 'UseArchiveCa=false'`

// Verbatim from the seed.
const SIGN = `curl -X 'GET' \\
'https://archive.cryptopro.ru:32764/api/document/bc32d0e9-d085-4236-9e46-ba88d0490a41/sign' \\
-H 'accept: */*'`

// In the style of the seed's Swagger-generated commands (the seed shows only the forms).
const SEARCH = `curl -X 'POST' \\
  'https://archive.cryptopro.ru:32764/api/document/search' \\
  -H 'accept: text/plain' \\
  -H 'Content-Type: application/json' \\
  -d '{"filters":{"sourceSystemId":4,"status":4},"pageSize":1,"page":1}'`
const GET = `curl -X 'GET' \\
  'https://archive.cryptopro.ru:32764/api/document/bc32d0e9-d085-4236-9e46-ba88d0490a41' \\
  -H 'accept: text/plain'`
const STATUS = `curl -X 'GET' \\
  'https://archive.cryptopro.ru:32764/api/document/bc32d0e9-d085-4236-9e46-ba88d0490a41/status' \\
  -H 'accept: text/plain'`

let demo: Demo
let id = ""

const bash = (command: string) =>
  new Promise<Buffer>((resolve, reject) => {
    const replaced = command.replaceAll(SEED_HOST, demo.url).replaceAll(SEED_ID, id)
    // Asynchronous on purpose: the demo answers from this very process.
    execFile("bash", ["-c", replaced], { cwd: fixtures, encoding: "buffer", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${replaced}\nfailed: ${error.message}\n${stderr.toString()}`))
    )
  })
const curlJson = async (command: string) => JSON.parse((await bash(command)).toString("utf8")) as Record<string, any>

const file = (name: string) => readFileSync(join(fixtures, name))
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("base64")
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

beforeAll(async () => {
  requireTool("curl", () => spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0, "apt-get install -y curl")
  process.env["UWS_ARCHIVE_DEMO_CLOCK"] = SEED_CLOCK
  try {
    demo = await startDemo({ port: 0 })
  } finally {
    delete process.env["UWS_ARCHIVE_DEMO_CLOCK"]
  }
})
afterAll(async () => {
  await demo?.close()
})

describe("the seed's curl commands against the demo", () => {
  it("upload: two detached signatures; the answer is the container's GUID in the envelope", async () => {
    const answer = await curlJson(UPLOAD)
    expect(Object.keys(answer).sort()).toEqual(["data", "errorCode", "errorDescription"])
    expect(answer["errorCode"]).toBeNull()
    expect(answer["errorDescription"]).toBeNull()
    expect(answer["data"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    id = answer["data"]
    // The background step runs after the answer: wait (bounded) for archival storage.
    let status: unknown
    for (let i = 0; i < 400 && status !== 4; i++) {
      status = (await curlJson(STATUS))["data"]
      if (status !== 4) await new Promise((r) => setTimeout(r, 25))
    }
    expect(status).toBe(4)
  })

  it("search: archival storage, source system 4, first page of one", async () => {
    const answer = await curlJson(SEARCH)
    expect(answer["errorCode"]).toBeNull()
    expect(answer["errorDescription"]).toBeNull()
    expect(answer["data"]).toEqual({
      documents: [{ id, name: "MyContainer", status: 4, isArchived: true }],
      totalRecords: 1
    })
  })

  it("get: every field of the seed's example", async () => {
    const answer = await curlJson(GET)
    expect(answer["errorCode"]).toBeNull()
    expect(answer["errorDescription"]).toBeNull()
    const d = answer["data"]
    expect(d.storage).toEqual({ id: 4, name: "Техническое сопровождение" })
    expect(d.sourceSystem).toEqual({ id: 4, name: "Служба технического сопровождения" })
    // Ours carry their algorithm (the seed's bare base64 values do not): document, then each signature.
    expect(d.hashes).toEqual([
      { of: "document", algorithm: "SHA-256", encoding: "base64", value: sha256(file("document.txt")) },
      { of: "signature-1", algorithm: "SHA-256", encoding: "base64", value: sha256(file("xlt1-detached.sig")) },
      { of: "signature-2", algorithm: "SHA-256", encoding: "base64", value: sha256(file("a-detached.sig")) }
    ])
    expect(d.signatures).toEqual([file("xlt1-detached.sig").toString("base64"), file("a-detached.sig").toString("base64")])
    expect(d.isToBeSigned).toBe(false)
    expect(d.useArchiveCa).toBe(false)
    expect(d.documentType).toBe("text/plain")
    expect(d.saveType).toBe(1)
    expect(d.structureName).toBeNull()
    for (const key of ["modifiedDate", "isCreateDate", "createDate", "signatureUpdateDate", "archiveUntilDate"]) {
      expect(d[key], key).toMatch(ISO)
    }
    // Created on the seed's date, with the seed's clock.
    expect(d.createDate.slice(0, 10)).toBe("2023-05-30")
    expect(d.isCreateDate).toBe(d.createDate)
    expect(Date.parse(d.modifiedDate)).toBeGreaterThanOrEqual(Date.parse(d.createDate))
    expect(Date.parse(d.signatureUpdateDate)).toBeGreaterThan(Date.parse(d.createDate))
    // 21.07.2023 at +03:00, as the seed's "2023-07-21T00:00:00+03:00".
    expect(d.archiveUntilDate).toBe("2023-07-20T21:00:00.000Z")
    expect(d.isAvailable).toBe(true)
    expect(d.id).toBe(id)
    expect(d.name).toBe("MyContainer")
    expect(d.status).toBe(4)
    expect(d.isArchived).toBe(true)
    // And what the seed leaves implicit: no upgrader is configured, and it says so.
    expect(d.upgrade).toEqual({ state: "not-configured" })
    expect(d.postProcessing).toEqual([{ plugin: "SanConnector_01", outcome: "ok" }])
  })

  it("status: the number", async () => {
    expect(await curlJson(STATUS)).toEqual({ data: 4, errorCode: null, errorDescription: null })
  })

  it("sign: signatures.zip with both signatures, byte-identical on every download", async () => {
    const first = await bash(SIGN)
    const second = await bash(SIGN)
    expect(first.equals(second)).toBe(true)
    const entries = unzip(first)
    expect(entries.map((e) => e.name)).toEqual(["xlt1-detached.sig", "a-detached.sig"])
    expect(entries.map((e) => e.method)).toEqual([0, 0]) // STORE
    expect(entries[0]!.data.equals(file("xlt1-detached.sig"))).toBe(true)
    expect(entries[1]!.data.equals(file("a-detached.sig"))).toBe(true)
    // The headers the seed shows, through curl too.
    const headers = (await bash(`curl -sS -D - -o /dev/null '${SEED_HOST}/api/document/${SEED_ID}/sign' -H 'accept: */*'`)).toString("utf8")
    expect(headers).toMatch(/^HTTP\/1\.1 200/)
    expect(headers).toMatch(/^content-type: application\/zip\r$/im)
    expect(headers).toMatch(/^content-disposition: attachment; filename=signatures\.zip; filename\*=UTF-8''signatures\.zip\r$/im)
    expect(headers).toMatch(new RegExp(`^content-length: ${first.length}\\r$`, "im"))
  })
})
