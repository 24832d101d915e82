/**
 * Plugin fault injection: storages that throw, reject, hang, answer a Left or garbage, stall a
 * stream, fail to initialise, or are read-only; post-processors that do the same. The service
 * stays up, answers with envelopes, loses nothing it acknowledged and writes nothing to a
 * read-only storage.
 */
import { Effect, Exit, Scope } from "effect"
import { JobStore } from "@uws-kit/core"
import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import { afterEach, describe, expect, it } from "vitest"
import { faulty, recordingPostProcessor, type Mode } from "./support/faulty.js"
import { fixture, isErrorEnvelope, makeHarness, seedForm, type Harness } from "./support/harness.js"
import { unzip } from "./support/unzip.js"

const open: Array<Harness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})
const harness = async (options: Parameters<typeof makeHarness>[0]) => {
  const h = await makeHarness(options)
  open.push(h)
  return h
}

const FAULTS: ReadonlyArray<Mode> = ["throw", "reject", "hang", "left", "malformed"]

const upload = async (h: Harness, fields: Record<string, string> = {}, caller = "4") =>
  h.json("POST", "/api/document/content", seedForm(fields), { "x-caller": caller })

const signatures = [fixture("xlt1-detached.sig"), fixture("a-detached.sig")]

const expectZipOfSeedSignatures = async (response: Response) => {
  expect(response.status).toBe(200)
  const bytes = Buffer.from(await response.arrayBuffer())
  expect(Number(response.headers.get("content-length"))).toBe(bytes.length)
  const entries = unzip(bytes)
  expect(entries.map((e) => e.data.equals(signatures[entries.indexOf(e)]!))).toEqual([true, true])
  return bytes
}

describe("storages that fail on upload", () => {
  it("answer an envelope, create nothing, and leave the service and earlier containers intact", async () => {
    const broken = Object.fromEntries(FAULTS.map((m) => [m, faulty({ save: m, get: m, stat: m, delete: m })]))
    const readOnly = faulty()
    const h = await harness({
      storages: [
        { name: "good", plugin: MemoryStorage.make() },
        ...FAULTS.map((m) => ({ name: m, plugin: broken[m]! })),
        { name: "read-only", plugin: readOnly, readOnly: true }
      ],
      timeout: "1 second"
    })
    const first = await upload(h)
    expect(first.status).toBe(200)
    const id = first.body.data as string
    await h.settle()
    const before = await (await h.call("GET", `/api/document/${id}/sign`)).arrayBuffer()

    for (const m of FAULTS) {
      const answer = await upload(h, { ArchiveCaPluginName: m })
      expect(answer.status, m).toBe(502)
      expect(isErrorEnvelope(answer.body, "PluginFailure"), JSON.stringify(answer.body)).toBe(true)
      expect(answer.body.errorDescription).toContain(`"${m}"`)
    }
    const refused = await upload(h, { ArchiveCaPluginName: "read-only" })
    expect(refused.status).toBe(400)
    expect(isErrorEnvelope(refused.body, "InvalidArgument")).toBe(true)
    expect(refused.body.errorDescription).toContain("read-only")
    expect(readOnly.calls.filter((c) => c === "save" || c === "delete")).toEqual([])

    // Nothing was created; what was acknowledged is whole.
    const search = await h.json("POST", "/api/document/search", "{}")
    expect(search.body.data.totalRecords).toBe(1)
    const detail = await h.json("GET", `/api/document/${id}`)
    expect(detail.body.data.status).toBe(4)
    expect(detail.body.data.signatures).toEqual(signatures.map((s) => s.toString("base64")))
    const after = await expectZipOfSeedSignatures(await h.call("GET", `/api/document/${id}/sign`))
    expect(after.equals(Buffer.from(before))).toBe(true)
  })

  it("a storage that fails to initialise is reported failed and never called; the others take the uploads", async () => {
    const broken = {
      ...faulty(),
      initialize: () => {
        throw new Error("cannot reach the SAN")
      }
    }
    const h = await harness({ storages: [{ name: "san", plugin: broken }, { name: "good", plugin: MemoryStorage.make() }] })
    const plugins = await h.json("GET", "/api/plugins", undefined, { "x-caller": "admin" })
    expect(plugins.body.data).toEqual([
      expect.objectContaining({ name: "san", state: "failed", failure: expect.stringContaining("cannot reach the SAN") }),
      expect.objectContaining({ name: "good", state: "ready", failure: null })
    ])
    const refused = await upload(h, { ArchiveCaPluginName: "san" })
    expect(refused.status).toBe(502)
    expect(refused.body.errorDescription).toContain("cannot reach the SAN")
    const accepted = await upload(h)
    expect(accepted.status).toBe(200)
    await h.settle()
    expect((await h.json("GET", `/api/document/${accepted.body.data}/status`)).body.data).toBe(4)
  })
})

describe("a storage that fails after it acknowledged", () => {
  for (const m of [...FAULTS, "stall" as const]) {
    it(`(${m}) serves metadata, answers envelopes for the documents, and serves them again once it recovers`, async () => {
      const storage = faulty()
      const h = await harness({ storages: [{ name: "flaky", plugin: storage }], timeout: "1 second" })
      const created = await upload(h, { SaveType: "Temporary", ArchiveDate: "2999-01-01" })
      const id = created.body.data as string
      await h.settle()
      const good = await expectZipOfSeedSignatures(await h.call("GET", `/api/document/${id}/sign`))

      if (m === "stall") storage.modes.get = "stall"
      else storage.set(m)
      const detail = await h.json("GET", `/api/document/${id}`)
      expect(detail.status).toBe(200)
      expect(detail.body.data).toMatchObject({ id, name: "MyContainer", status: 4, signatures: null, isAvailable: false })
      expect(typeof detail.body.data.unavailableReason).toBe("string")
      const sign = await h.call("GET", `/api/document/${id}/sign`)
      if (m === "stall") {
        // The stat before streaming succeeds; the stalled stream cuts the download short.
        await expect(sign.arrayBuffer()).rejects.toThrow()
      } else {
        expect(sign.status).toBe(502)
        expect(isErrorEnvelope(await sign.json(), "PluginFailure")).toBe(true)
      }
      if (m !== "stall") {
        const removed = await h.json("DELETE", `/api/document/${id}`, undefined, { "x-caller": "4" })
        expect(removed.status).toBe(503)
        expect(isErrorEnvelope(removed.body, "StorageFailure")).toBe(true)
        expect(removed.body.errorDescription).toContain("not deleted")
        expect((await h.json("GET", `/api/document/${id}/status`)).body.data).toBe(4)
      }

      storage.set("ok")
      const again = await expectZipOfSeedSignatures(await h.call("GET", `/api/document/${id}/sign`))
      expect(again.equals(good)).toBe(true)
    })
  }

  it("while the background step reads it back, leaves the container failed with the reason, its documents kept", async () => {
    const storage = faulty()
    const seen: Array<{ name: string; succeeded: boolean; failure: string | null }> = []
    const h = await harness({
      storages: [{ name: "flaky", plugin: storage }],
      postProcessors: [{ name: "report", plugin: recordingPostProcessor("ok", seen, "report") }]
    })
    storage.modes.get = "left"
    const created = await upload(h)
    expect(created.status).toBe(200)
    await h.settle()
    const detail = await h.json("GET", `/api/document/${created.body.data}`)
    expect(detail.body.data.status).toBe(3)
    expect(detail.body.data.phase).toBe("ERROR")
    expect(detail.body.data.error).toContain("quota exceeded")
    expect(seen).toEqual([{ name: "report", succeeded: false, failure: expect.stringContaining("quota exceeded") }])
    storage.set("ok")
    await expectZipOfSeedSignatures(await h.call("GET", `/api/document/${created.body.data}/sign`))
  })
})

describe("post-processors", () => {
  it("run in declared order; those that throw, reject, hang, answer Left or failed to initialise are recorded and undo nothing", async () => {
    const seen: Array<{ name: string; succeeded: boolean; failure: string | null }> = []
    const h = await harness({
      storages: [{ name: "good", plugin: MemoryStorage.make() }],
      postProcessors: [
        ...(["throw", "reject", "hang", "left", "ok"] as const).map((m) => ({ name: `pp-${m}`, plugin: recordingPostProcessor(m, seen, `pp-${m}`) })),
        { name: "pp-init", plugin: { initialize: () => Promise.reject(new Error("no licence")), process: () => ({ _tag: "Right", right: undefined }) } as never }
      ],
      timeout: "1 second"
    })
    const created = await upload(h)
    await h.settle()
    const d = (await h.json("GET", `/api/document/${created.body.data}`)).body.data
    expect(d.status).toBe(4)
    expect(seen.map((s) => s.name)).toEqual(["pp-throw", "pp-reject", "pp-hang", "pp-left", "pp-ok"])
    expect(seen.every((s) => s.succeeded)).toBe(true)
    expect(d.postProcessing).toEqual([
      { plugin: "pp-throw", outcome: "failed", message: expect.stringContaining("exploded") },
      { plugin: "pp-reject", outcome: "failed", message: expect.stringContaining("disk is on fire") },
      { plugin: "pp-hang", outcome: "failed", message: expect.stringContaining("did not answer") },
      { plugin: "pp-left", outcome: "failed", message: expect.stringContaining("quota exceeded") },
      { plugin: "pp-ok", outcome: "ok" },
      { plugin: "pp-init", outcome: "failed", message: expect.stringContaining("no licence") }
    ])
    await expectZipOfSeedSignatures(await h.call("GET", `/api/document/${created.body.data}/sign`))
  })
})

describe("a read-only storage", () => {
  it("serves what it holds and is never written: no save, no delete, not even at a temporary container's archive date", async () => {
    const jobStore = JobStore.makeMemory()
    const storage = faulty()
    // First life: the storage is writable and takes two containers.
    const first = await harness({ storages: [{ name: "vault", plugin: storage }], archive: { jobStore } })
    const permanent = (await upload(first)).body.data as string
    const temporary = (await upload(first, { SaveType: "Temporary", ArchiveDate: "2999-01-01" })).body.data as string
    await first.settle()
    await first.close()
    open.splice(open.indexOf(first), 1)

    // Second life: the operator made it read-only.
    storage.calls.length = 0
    const second = await harness({ storages: [{ name: "vault", plugin: storage, readOnly: true }], archive: { jobStore } })
    for (const id of [permanent, temporary]) {
      expect((await second.json("GET", `/api/document/${id}`)).body.data.signatures).toEqual(signatures.map((s) => s.toString("base64")))
      await expectZipOfSeedSignatures(await second.call("GET", `/api/document/${id}/sign`))
    }
    const removed = await second.json("DELETE", `/api/document/${temporary}`, undefined, { "x-caller": "4" })
    expect(removed.status).toBe(502)
    expect(removed.body.errorDescription).toContain("read-only")
    const refused = await upload(second)
    expect(refused.status).toBe(503)
    expect(isErrorEnvelope(refused.body, "StorageFailure")).toBe(true)
    expect(storage.calls.filter((c) => c === "save" || c === "delete")).toEqual([])
    expect(storage.inner.locators().length).toBe(6)
  })
})

describe("the service under misbehaving plugins", () => {
  it("never lets a plugin's throw escape as a crash (the Archive API used directly)", async () => {
    const storage = faulty({ save: "throw" })
    const scope = Effect.runSync(Scope.make())
    const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "x", plugin: storage }] }), scope))
    const { archive, close } = await Archive.start({ plugins })
    const result = await Effect.runPromise(
      Effect.either(
        archive.upload({ id: "a" }, {
          containerName: "c",
          saveType: "Permanent",
          storageId: 1,
          document: Archive.fileFromBytes("d.txt", "text/plain", "hello"),
          signatures: []
        })
      )
    )
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") expect(result.left._tag).toBe("PluginFailure")
    await close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    expect(ArchiveAdapter.errorTable.PluginFailure.status).toBe(502)
  })
})
