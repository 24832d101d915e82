/**
 * RFC 3161 time-stamps of the archive's signatures against a real TSA on loopback (OpenSSL's
 * `ts -reply` behind an HTTP server, see localTsa.ts), configured through plugin-config.json:
 *
 * - each signature of an uploaded container gets a token, verified and kept in the filesystem
 *   storage beside the signatures; `openssl ts -verify` accepts every kept token;
 * - before the TSA certificate expires (RenewBeforeDays) a renewal run, a UWS job, stamps again
 *   over the signature and the previous token; openssl accepts that chain too;
 * - TSA down, stalling, answering garbage, a token over other data, an expired TSA certificate:
 *   the run keeps nothing, says why, and is tried again after RetryMinutes.
 *
 * The archive's clock is moved forward (the TSA's own clock is not): that is how a TSA
 * certificate comes near its expiry in a test. Needs `openssl`; fails (does not skip) without it.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Archive, ArchiveAdapter, PluginConfig, Plugins, TimeStampUpgrader } from "@uws-kit/adapter-archive"
import type { TimeStampCatalogue } from "@uws-kit/adapter-archive"
import { Identity } from "@uws-kit/core"
import type { Job } from "@uws-kit/core"
import { Clock, Effect, Either, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fixture } from "../../packages/adapter-archive/test/support/harness.js"
import { requireOpenssl, startLocalTsa, type LocalTsa } from "./localTsa.js"

const DAY = 86_400_000
const PORT = 21710
const admin = Identity.system

/** The system clock, `offset` ms ahead; the offset can be moved. */
const movableClock = () => {
  const base = Clock.make()
  const state = { offset: 0 }
  const millis = () => base.unsafeCurrentTimeMillis() + state.offset
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
    sleep: (d) => base.sleep(d)
  }
  return { clock, state }
}

const eventually = async <A>(what: string, f: () => Promise<A | undefined> | A | undefined, ms = 30_000): Promise<A> => {
  const until = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })

const opensslVerify = (work: string, token: Uint8Array, data: Uint8Array, caFile: string) => {
  const tok = join(work, `t-${Math.random().toString(36).slice(2)}.tst`)
  const dat = `${tok}.data`
  writeFileSync(tok, token)
  writeFileSync(dat, data)
  return spawnSync("openssl", ["ts", "-verify", "-token_in", "-in", tok, "-data", dat, "-CAfile", caFile], { encoding: "utf8" })
}

describe("RFC 3161 time-stamps from a TSA on loopback", () => {
  let tsa: LocalTsa
  let work: string
  let docs: string
  let scope: Scope.CloseableScope
  let archive: Archive.ArchiveService
  let plugins: Plugins.LoadedPlugins
  let api: ArchiveAdapter.ArchiveAdapter
  let catalogue: TimeStampCatalogue.TimeStampCatalogue
  let settings: TimeStampUpgrader.Settings
  let closeArchive: () => Promise<void>
  const time = movableClock()

  const read = (part: { storage: string; locator: string }) =>
    Effect.runPromise(Archive.readPart(plugins, part as never)).then((b) => new Uint8Array(b))
  const upload = (name: string) =>
    Effect.runPromise(
      archive.upload(
        { id: "4" },
        {
          containerName: name,
          saveType: "Permanent",
          storageId: 4,
          document: Archive.fileFromBytes("document.txt", "text/plain", fixture("document.txt")),
          signatures: [
            Archive.fileFromBytes("xlt1-detached.sig", "application/sig", fixture("xlt1-detached.sig")),
            Archive.fileFromBytes("a-detached.sig", "application/sig", fixture("a-detached.sig"))
          ]
        }
      )
    )
  const settled = (id: string) =>
    eventually(`container ${id} settled`, async () => {
      const c = await Effect.runPromise(archive.get(admin, id))
      return c.phase === "COMPLETED" || c.phase === "ERROR" ? c : undefined
    })
  const entry = (id: string) => catalogue.get(id, settings)
  const runs = async (id: string): Promise<ReadonlyArray<Job.Job>> => {
    const page = await Effect.runPromise(archive.uws.list(admin, { phases: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED"] }))
    // Parameter names are kept in lower case (UWS: case-insensitive).
    return page.jobs.filter((j) => j.parameters.some((p) => p.name === "container" && p.value === id))
  }
  const finalRun = (jobId: string) =>
    eventually(`run ${jobId} final`, async () => {
      const j = await Effect.runPromise(archive.uws.get(admin, jobId))
      return j.phase === "COMPLETED" || j.phase === "ERROR" ? j : undefined
    })
  /** Objects in the filesystem storage (document, signatures, tokens: one file each). */
  const objects = () => filesUnder(join(docs, "objects")).length

  beforeAll(async () => {
    requireOpenssl()
    tsa = await startLocalTsa({ port: PORT, days: 30 })
    work = mkdtempSync(join(tmpdir(), "uws-ts-test-"))
    docs = join(work, "docs")
    const config = Either.getOrThrow(
      PluginConfig.parse({
        Plugins: {
          DocumentStorage: [{ IsEnabled: true, PluginName: "filesystem_01", AssemblyName: "filesystem", Parameters: { DocumentsFolderPath: docs } }],
          SignatureUpgrader: [
            {
              IsEnabled: true,
              PluginName: "tsa_01",
              AssemblyName: "rfc3161",
              Parameters: { TsaUrl: tsa.url, TrustAnchors: tsa.caFile, RenewBeforeDays: 10, RetryMinutes: 1, TimeoutSeconds: 2, CheckIntervalMinutes: 0.005 }
            }
          ]
        }
      })
    )
    scope = Effect.runSync(Scope.make())
    plugins = await Effect.runPromise(Scope.extend(Plugins.load(config, { directory: work }), scope))
    const started = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }], clock: time.clock })
    archive = started.archive
    closeArchive = started.close
    api = ArchiveAdapter.makeArchiveAdapter({
      archive,
      identify: (request) => (request.headers.get("x-caller") === "admin" ? { id: "admin", admin: true } : { id: request.headers.get("x-caller") ?? "4" })
    })
    const upgrader = plugins.upgrader!.plugin
    if (!TimeStampUpgrader.isTimeStampUpgrader(upgrader)) throw new Error("the configured upgrader is not the RFC 3161 one")
    catalogue = upgrader.catalogue
    settings = upgrader.settings()!
  })
  afterAll(async () => {
    await api?.dispose()
    await closeArchive?.()
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    await tsa?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  let first: string

  it("stamps each signature at upload and keeps tokens that openssl ts -verify accepts", async () => {
    first = (await upload("stamped")).id
    const c = await settled(first)
    expect(c.status).toBe(4)
    expect(c.upgrade).toMatchObject({ state: "upgraded", by: "tsa_01", profile: TimeStampUpgrader.profile })
    // The next archive time-stamp: RenewBeforeDays before the TSA certificate's notAfter.
    const notAfter = Date.parse(execFileSync("openssl", ["x509", "-in", tsa.certFile(), "-noout", "-enddate"], { encoding: "utf8" }).split("=")[1]!)
    expect(c.signatureUpdateDate).toBe(notAfter - 10 * DAY)

    const e = entry(first)!
    expect(e.state).toBe("stamped")
    expect(e.stamps.map((s) => [s.signature, s.generation, s.tsa, s.expires])).toEqual([
      ["signature-1", 1, "CN=uws-kit test TSA 1, O=uws-kit tests", notAfter],
      ["signature-2", 1, "CN=uws-kit test TSA 1, O=uws-kit tests", notAfter]
    ])
    expect(e.renewAt).toBe(notAfter - 10 * DAY)
    // Kept as files of the filesystem storage, beside the signatures.
    expect(objects()).toBe(5) // the document, two signatures, two tokens
    for (const [i, s] of e.stamps.entries()) {
      expect(Math.abs(s.stampedAt - Date.now())).toBeLessThan(60_000)
      const token = await read(s.token)
      const signature = fixture(i === 0 ? "xlt1-detached.sig" : "a-detached.sig")
      const ok = opensslVerify(work, token, signature, tsa.caFile)
      expect(ok.stdout + ok.stderr).toContain("Verification: OK")
      // And openssl refuses it over other bytes: the imprint is the signature's.
      const other = opensslVerify(work, token, Buffer.from("not the signature"), tsa.caFile)
      expect(other.stdout + other.stderr).toContain("Verification: FAILED")
    }
    // The container's record through the HTTP API.
    const detail = (await (await api.handler(new Request(`http://archive.test/api/document/${first}`))).json()) as any
    expect(detail.data.upgrade.state).toBe("upgraded")
    expect(detail.data.signatureUpdateDate).toBe(new Date(notAfter - 10 * DAY).toISOString())
  })

  it("renews before the TSA certificate expires, as a UWS job, over the signature and the previous token", async () => {
    const before = entry(first)!
    // The TSA's operator has a new certificate by then; the archive's time reaches the renewal date.
    tsa.rotate(365)
    time.state.offset = before.renewAt! - Date.now() + 1000
    const renewed = await eventually("the renewal", () => {
      const e = entry(first)
      return e?.state === "stamped" && e.stamps.every((s) => s.generation === 2) ? e : undefined
    })
    const [run] = await runs(first)
    expect(run).toMatchObject({ phase: "COMPLETED", ownerId: null })
    expect(run!.parameters).toEqual(expect.arrayContaining([{ name: "action", value: "UpgradeSignatures" }, { name: "container", value: first }]))
    expect(run!.jobInfo?.["upgrade"]).toBe("upgraded")
    expect(renewed.stamps.map((s) => s.tsa)).toEqual(["CN=uws-kit test TSA 2, O=uws-kit tests", "CN=uws-kit test TSA 2, O=uws-kit tests"])
    const notAfter = Date.parse(execFileSync("openssl", ["x509", "-in", tsa.certFile(), "-noout", "-enddate"], { encoding: "utf8" }).split("=")[1]!)
    expect(renewed.renewAt).toBe(notAfter - 10 * DAY)
    expect(objects()).toBe(7) // the first tokens stay: the new ones chain to them
    // The container's record shows the next renewal date, not the first one.
    expect((await Effect.runPromise(archive.get(admin, first))).signatureUpdateDate).toBe(notAfter - 10 * DAY)
    for (const [i, s] of renewed.stamps.entries()) {
      const previous = before.stamps[i]!
      const chained = Buffer.concat([fixture(i === 0 ? "xlt1-detached.sig" : "a-detached.sig"), await read(previous.token)])
      const ok = opensslVerify(work, await read(s.token), chained, tsa.caFile)
      expect(ok.stdout + ok.stderr).toContain("Verification: OK")
    }
    // Not due again: no second run starts at the next checks.
    await new Promise((r) => setTimeout(r, 1000))
    expect((await runs(first)).length).toBe(1)
  })

  const ids: Array<string> = []
  const failing = async (mode: "down" | "garbage" | "wrong-imprint" | "stall", expected: RegExp) => {
    const files = objects() + 3 // the document and two signatures
    const requests = tsa.requests()
    if (mode === "down") await tsa.stop()
    else tsa.mode = mode
    try {
      const id = (await upload(`while TSA ${mode}`)).id
      ids.push(id)
      // The container is archived all the same: its time-stamp is pending, with the reason.
      const c = await settled(id)
      expect(c.status).toBe(4)
      expect(c.upgrade.state).toBe("pending")
      expect(c.upgrade.message).toMatch(expected)
      expect(objects()).toBe(files)
      expect(entry(id)).toMatchObject({ state: "pending", stamps: [] })
      // The renewal after RetryMinutes fails the same way: its job ends in ERROR, nothing kept.
      time.state.offset += 2 * 60_000
      const [run] = await eventually("a retry", async () => {
        const r = await runs(id)
        return r.length > 0 ? r : undefined
      })
      const ended = await finalRun(run!.jobId)
      expect(ended.phase).toBe("ERROR")
      expect(ended.errorSummary?.message).toMatch(expected)
      const e = await eventually("the failure in the catalogue", () => (entry(id)?.state === "failed" ? entry(id) : undefined))
      expect(e.message).toMatch(expected)
      expect(e.renewAt).toBe(ended.endTime! + 60_000)
      expect((await Effect.runPromise(archive.get(admin, id))).upgrade).toMatchObject({ state: "failed", message: expect.stringMatching(expected) })
      expect(objects()).toBe(files)
      if (mode !== "down") expect(tsa.requests()).toBeGreaterThan(requests)
    } finally {
      if (mode === "down") await tsa.restart()
      tsa.mode = "ok"
    }
    // Once the TSA answers properly again, the next retry stamps it.
    const id = ids.at(-1)!
    time.state.offset += 2 * 60_000
    const stamped = await eventually("the stamp after the TSA recovered", () => (entry(id)?.state === "stamped" ? entry(id) : undefined))
    expect(stamped.stamps.map((s) => s.generation)).toEqual([1, 1])
    expect(objects()).toBe(files + 2)
  }

  it("TSA down: nothing kept, the container still archived, tried again later", () => failing("down", /could not be reached/))
  it("TSA stalling: abandoned after TimeoutSeconds, nothing kept", () => failing("stall", /no answer in time/))
  it("TSA answering garbage: refused, nothing kept", () => failing("garbage", /not an RFC 3161 time-stamp response/))
  it("a token over other data: refused, nothing kept", () => failing("wrong-imprint", /message imprint .* is not the SHA-256 of what was sent/))

  it("an expired TSA certificate: refused, nothing kept, the run ends in ERROR", async () => {
    tsa.rotate(30, "uws-kit test TSA short-lived")
    const notAfter = Date.parse(execFileSync("openssl", ["x509", "-in", tsa.certFile(), "-noout", "-enddate"], { encoding: "utf8" }).split("=")[1]!)
    // The archive's time is past that certificate's end (the TSA still signs with it).
    time.state.offset = notAfter - Date.now() + DAY
    const files = objects()
    const job = await Effect.runPromise(archive.upgradeSignatures(admin, first))
    const ended = await finalRun(job.jobId)
    expect(ended.phase).toBe("ERROR")
    expect(ended.errorSummary?.message).toMatch(/the TSA certificate \(CN=uws-kit test TSA short-lived, O=uws-kit tests\) expired on/)
    expect(objects()).toBe(files)
    expect(entry(first)).toMatchObject({ state: "failed" })
    expect(entry(first)!.stamps.every((s) => s.generation === 2)).toBe(true)
  })

  it("shows the time-stamps over HTTP, serves the tokens, and lets only an operator stamp again", async () => {
    const call = (method: string, path: string, caller = "4") =>
      api.handler(new Request(`http://archive.test/api/document/${first}${path}`, { method, headers: { "x-caller": caller } }))
    const state = (await (await call("GET", "/timestamps")).json()) as any
    expect(state.errorCode).toBeNull()
    expect(state.data).toMatchObject({ state: "failed", message: expect.stringMatching(/expired on/) })
    expect(state.data.stamps.map((s: any) => [s.signature, s.generation, s.tsa])).toEqual([
      ["signature-1", 2, "CN=uws-kit test TSA 2, O=uws-kit tests"],
      ["signature-2", 2, "CN=uws-kit test TSA 2, O=uws-kit tests"]
    ])
    const token = await call("GET", "/timestamps/signature-1")
    expect(token.status).toBe(200)
    expect(token.headers.get("content-type")).toBe(TimeStampUpgrader.tokenMimeType)
    const bytes = new Uint8Array(await token.arrayBuffer())
    expect(Buffer.from(bytes).equals(Buffer.from(await read(entry(first)!.stamps[0]!.token)))).toBe(true)
    const missing = (await (await call("GET", "/timestamps/signature-9")).json()) as any
    expect(missing).toMatchObject({ data: null, errorCode: "NotFound" })

    const refused = await call("POST", "/timestamps")
    expect(refused.status).toBe(403)
    const body = (await refused.json()) as any
    expect(body).toMatchObject({ data: null, errorCode: "Forbidden" })
    expect(body.errorDescription).toMatch(/container/)
    expect(body.errorDescription).not.toMatch(/job/i)
  })
})
