/**
 * The core's limits under the archive: an archive keeps working under the defaults (a container
 * of many signatures with long names), and a limit the host sets is refused in the archive's
 * error envelope, naming the limit, with nothing stored.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { MemoryStorage } from "@uws-kit/adapter-archive"
import type { Policy } from "@uws-kit/core/Policy"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { fixture, isErrorEnvelope, makeHarness, seedForm, type Harness } from "./support/harness.js"

const open: Array<Harness> = []
const dirs: Array<string> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true })
})

const setup = async (policy: Partial<Policy> = {}, gate?: Promise<void>) => {
  const memory = MemoryStorage.make()
  const spool = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-spool-"))
  dirs.push(spool)
  const h = await makeHarness({
    storages: [{ name: "memory", plugin: memory }],
    // A post-processor that holds each container in its background step until `gate` opens.
    ...(gate === undefined ? {} : { postProcessors: [{ name: "hold", plugin: { process: () => gate.then(() => ({ _tag: "Right" as const, right: undefined })) } }] }),
    archive: { policy },
    adapter: { spoolDirectory: spool }
  })
  open.push(h)
  return { h, memory }
}
const post = (h: Harness, form: FormData, caller = "4") => h.json("POST", "/api/document/content", form, { "x-caller": caller })

describe("limits under the archive", () => {
  it("keep a container of 64 signatures with long file names possible under the defaults", async () => {
    const { h } = await setup()
    const form = seedForm({}, { signs: 0 })
    const sig = fixture("a-detached.sig")
    for (let i = 0; i < 64; i++) form.append("Signs", new Blob([sig], { type: "application/sig" }), `${"s".repeat(200)}-${i}.sig`)
    const res = await post(h, form)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.errorCode).toBeNull()
    // Its manifest is about 28 KB here; a storage with longer locators could pass a public
    // service's 64 KiB per value, which is why the archive's policy allows 1 MiB.
    const [job] = (await Effect.runPromise(h.archive.uws.list({ id: null, admin: true }, {}))).jobs
    expect(Buffer.byteLength(job!.parameters.find((p) => p.name.toLowerCase() === "manifest")!.value)).toBeGreaterThan(20_000)
  })

  it("refuse a parameter past the host's limit with 413 LimitExceeded naming it; nothing is stored", async () => {
    const { h, memory } = await setup({ maxParameterValueBytes: 100 })
    const res = await post(h, seedForm())
    expect(res.status).toBe(413)
    expect(isErrorEnvelope(res.body, "LimitExceeded")).toBe(true)
    expect(res.body.errorDescription).toContain("parameter values (and RUNID) of at most 100 bytes each")
    expect(memory.locators()).toEqual([])
    expect((await Effect.runPromise(h.archive.uws.list({ id: null, admin: true }, {}))).jobs).toEqual([])
  })

  it("refuse a caller's N+1-th active container with 429 QuotaExceeded naming the limit; another caller is unaffected", async () => {
    let open_: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (open_ = resolve))
    const { h, memory } = await setup({ maxActiveJobsPerOwner: 1 }, gate)
    try {
      expect((await post(h, seedForm(), "alice")).status).toBe(200)
      const stored = memory.locators().length
      const refused = await post(h, seedForm(), "alice")
      expect(refused.status).toBe(429)
      expect(isErrorEnvelope(refused.body, "QuotaExceeded")).toBe(true)
      expect(refused.body.errorDescription).toContain('"alice" may have at most 1 active containers (maxActiveJobsPerOwner)')
      expect(memory.locators().length).toBe(stored)
      expect((await post(h, seedForm(), "bob")).status).toBe(200)
    } finally {
      open_()
      await h.settle()
    }
  })

  it("refuse a container past the stored-jobs limit the host sets, with 429 naming it", async () => {
    const { h, memory } = await setup({ maxStoredJobs: 1 })
    expect((await post(h, seedForm())).status).toBe(200)
    await h.settle()
    const stored = memory.locators().length
    const refused = await post(h, seedForm())
    expect(refused.status).toBe(429)
    expect(refused.body.errorDescription).toContain("this service keeps at most 1 containers (maxStoredJobs)")
    expect(memory.locators().length).toBe(stored)
  })
})
