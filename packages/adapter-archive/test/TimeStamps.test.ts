/**
 * The time-stamp upgrader's parts that need no TSA: its section of plugin-config.json, its
 * parameters, the catalogue folded from jobs (a property: any order of the same jobs gives the
 * same state), the renewal run's parameters, and answers that are not time-stamp responses.
 * Against a real TSA (OpenSSL): test/system/TimeStamps.test.ts.
 */
import { Archive, MemoryStorage, PluginConfig, Plugins, Rfc3161, TimeStampCatalogue } from "@uws-kit/adapter-archive"
import { Identity } from "@uws-kit/core"
import type { Job } from "@uws-kit/core"
import { propertyRuns, testJob } from "@uws-kit/core/testing"
import { Effect, Either, Exit, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

const upgraderEntry = (fields: Record<string, unknown> = {}) => ({
  IsEnabled: true,
  PluginName: "tsa_01",
  AssemblyName: "rfc3161",
  Parameters: { TsaUrl: "http://127.0.0.1:21799/", TrustAnchors: "/nonexistent/ca.pem" },
  ...fields
})

describe("the SignatureUpgrader section of plugin-config.json", () => {
  it("is read like the others, at most one enabled, never ReadOnly; absent, nothing changes", () => {
    const ok = PluginConfig.parse({ Plugins: { DocumentStorage: [], SignatureUpgrader: [upgraderEntry()] } })
    expect(Either.getOrThrow(ok).signatureUpgrader?.map((e) => [e.name, e.assembly, e.parameters["TsaUrl"]])).toEqual([["tsa_01", "rfc3161", "http://127.0.0.1:21799/"]])
    expect(Either.getOrThrow(PluginConfig.parse({ Plugins: { DocumentStorage: [] } })).signatureUpgrader).toBeUndefined()

    const two = PluginConfig.parse({ Plugins: { SignatureUpgrader: [upgraderEntry(), upgraderEntry({ PluginName: "tsa_02" })] } })
    expect(Either.isLeft(two) && two.left.problems).toEqual(["Plugins.SignatureUpgrader: at most one may be enabled (enabled: tsa_01, tsa_02)"])
    const readOnly = PluginConfig.parse({ Plugins: { SignatureUpgrader: [upgraderEntry({ ReadOnly: true })] } })
    expect(Either.isLeft(readOnly) && readOnly.left.problems).toEqual(["Plugins.SignatureUpgrader[0].ReadOnly: applies to DocumentStorage plugins only"])
    const disabled = PluginConfig.parse({ Plugins: { SignatureUpgrader: [upgraderEntry(), upgraderEntry({ PluginName: "tsa_02", IsEnabled: false })] } })
    expect(Either.isRight(disabled)).toBe(true)
  })

  it("a misconfigured upgrader is reported failed, with every problem in one message", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const config = Either.getOrThrow(
        PluginConfig.parse({
          Plugins: {
            DocumentStorage: [{ PluginName: "memory_01", AssemblyName: "memory" }],
            SignatureUpgrader: [upgraderEntry({ Parameters: { TsaUrl: "ftp://tsa", TrustAnchors: "/nonexistent/ca.pem", RenewBeforeDays: "-3" } })]
          }
        })
      )
      const plugins = await Effect.runPromise(Scope.extend(Plugins.load(config, { directory: "/tmp" }), scope))
      const report = plugins.report().find((r) => r.section === "SignatureUpgrader")!
      expect(report).toMatchObject({ name: "tsa_01", assembly: "rfc3161", state: "failed" })
      expect(report.failure).toContain('TsaUrl must be an http or https URL (got "ftp://tsa")')
      expect(report.failure).toContain("TrustAnchors /nonexistent/ca.pem cannot be read")
      expect(report.failure).toContain('RenewBeforeDays must be a positive number (got "-3")')
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})

describe("renewal runs", () => {
  it("are UWS jobs of the archive with checked parameters; without an upgrader none is started", async () => {
    const scope = Effect.runSync(Scope.make())
    const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "memory", plugin: MemoryStorage.make() }] }), scope))
    const { archive, close } = await Archive.start({ plugins, storages: [{ id: 4, name: "Technical support" }] })
    try {
      const create = (parameters: ReadonlyArray<{ name: string; value: string }>) =>
        Effect.runPromise(Effect.flip(archive.uws.create(Identity.system, { parameters })))
      expect((await create([{ name: "Action", value: "Reformat" }])).message).toContain("Action must be UpgradeSignatures")
      expect((await create([{ name: "ACTION", value: "UpgradeSignatures" }])).message).toContain("Container (the id of the container) is required")

      const c = await Effect.runPromise(
        archive.upload(
          { id: "4" },
          {
            containerName: "c",
            saveType: "Permanent",
            storageId: 4,
            document: Archive.fileFromBytes("d.txt", "text/plain", "document"),
            signatures: [Archive.fileFromBytes("s.sig", "application/sig", "signature")]
          }
        )
      )
      const refused = await Effect.runPromise(Effect.flip(archive.upgradeSignatures(Identity.system, c.id)))
      expect(refused._tag).toBe("InvalidParameter")
      expect(refused.message).toContain("no signature upgrader is configured")
      expect(await Effect.runPromise(archive.timeStamps(Identity.system, c.id))).toBeNull()
    } finally {
      await close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})

describe("Rfc3161", () => {
  it("refuses what is not a time-stamp response, and PEM without certificates", async () => {
    const request = Rfc3161.request(new TextEncoder().encode("signature"))
    expect(request.imprint.length).toBe(32)
    for (const garbage of [new Uint8Array([]), new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x09]), new TextEncoder().encode("<html>busy</html>")]) {
      const answer = await Rfc3161.verifyResponse(garbage, { request, data: new Uint8Array([1]), trustAnchors: [], now: 0 })
      expect(Either.isLeft(answer) && answer.left).toMatch(/not an RFC 3161 time-stamp response|could not be read/)
    }
    expect(Either.isLeft(Rfc3161.certificatesOfPem("no certificate here"))).toBe(true)
  })
})

// ---- the catalogue ------------------------------------------------------------------------

const part = (name: string) => ({ name, fileName: `${name}.bin`, mimeType: "application/octet-stream", size: 1, sha256: "00", storage: "memory", locator: `loc-${name}` })
const SIGS = ["signature-1", "signature-2"]
const stamp = (signature: string, generation: number, expires: number) => ({
  signature,
  generation,
  token: part(`${signature}.timestamp-${generation}`),
  tsa: `CN=TSA ${generation}`,
  tsaUrl: "http://tsa",
  serial: String(generation),
  stampedAt: generation * 1000,
  expires
})
const records = (generation: number, expires: number) =>
  Object.fromEntries(SIGS.map((s) => [`upgrader.${TimeStampCatalogue.recordKey(s)}`, JSON.stringify(stamp(s, generation, expires))]))

const containerJob = (endTime: number, expires: number): Job.Job =>
  testJob({
    jobId: "c1",
    phase: "COMPLETED",
    creationTime: 0,
    endTime,
    parameters: [
      { name: "containername", value: "c" },
      { name: "savetype", value: "Permanent" },
      { name: "storageid", value: "4" },
      { name: "manifest", value: JSON.stringify({ version: 1, document: part("document"), signatures: SIGS.map(part) }) }
    ],
    jobInfo: { stage: "postProcessed", upgrade: "upgraded", ...records(1, expires) }
  })

const runJob = (n: number, endTime: number, outcome: { ok: true; generation: number; expires: number } | { ok: false }): Job.Job =>
  testJob({
    jobId: `r${n}`,
    phase: outcome.ok ? "COMPLETED" : "ERROR",
    creationTime: endTime - 1,
    endTime,
    parameters: [
      { name: "action", value: "UpgradeSignatures" },
      { name: "container", value: "c1" }
    ],
    jobInfo: outcome.ok ? { upgrade: "upgraded", ...records(outcome.generation, outcome.expires) } : { upgrade: "pending" },
    errorSummary: outcome.ok ? null : { message: `run ${n} failed`, type: "transient", hasDetail: false }
  })

describe("TimeStampCatalogue", () => {
  const settings = { renewBefore: 10_000, retryAfter: 500 }

  it("property: the same jobs in any order give the same state; the newest stamps win; a last failure waits the retry", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 9, maxLength: 9 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (outcomes, gaps, seed) => {
          // A history: the container's stamp, then renewal runs that succeed (next generation) or fail.
          const jobs: Array<Job.Job> = [containerJob(100, 50_000)]
          let t = 100
          let generation = 1
          let lastOk = 100
          let lastFailed: number | null = null
          let inARow = 0
          outcomes.forEach((ok, i) => {
            t += gaps[i]!
            if (ok) {
              generation++
              jobs.push(runJob(i, t, { ok: true, generation, expires: 50_000 + generation * 1000 }))
              lastOk = t
              lastFailed = null
              inARow = 0
            } else {
              jobs.push(runJob(i, t, { ok: false }))
              lastFailed = t
              inARow++
            }
          })
          const fold = (order: ReadonlyArray<Job.Job>) => {
            const c = TimeStampCatalogue.make()
            for (const j of order) c.apply(j)
            return c.get("c1", settings)
          }
          const inOrder = fold(jobs)
          const shuffled = [...jobs]
          let s = seed
          for (let i = shuffled.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) % 2 ** 31
            const k = s % (i + 1)
            ;[shuffled[i], shuffled[k]] = [shuffled[k]!, shuffled[i]!]
          }
          expect(fold(shuffled)).toEqual(inOrder)
          expect(inOrder!.stamps.map((x) => x.generation)).toEqual([generation, generation])
          const expires = 50_000 + (generation === 1 ? 0 : generation * 1000)
          if (lastFailed !== null) {
            expect(inOrder!.state).toBe("failed")
            // Each failure in a row doubles the wait.
            expect(inOrder!.renewAt).toBe(Math.max(expires - settings.renewBefore, lastFailed + settings.retryAfter * 2 ** (inARow - 1)))
          } else {
            expect(inOrder!.state).toBe("stamped")
            expect(inOrder!.message).toBeNull()
            expect(inOrder!.renewAt).toBe(Math.max(expires - settings.renewBefore, lastOk + settings.retryAfter))
          }
        }
      ),
      { numRuns: propertyRuns(200) }
    )
  })

  it("backs off a day at most", () => {
    expect([1, 2, 3, 30].map((n) => TimeStampCatalogue.retryDelay({ renewBefore: 0, retryAfter: 3_600_000 }, n))).toEqual([3_600_000, 7_200_000, 14_400_000, 86_400_000])
    expect(TimeStampCatalogue.retryDelay({ renewBefore: 0, retryAfter: 2 * 86_400_000 }, 5)).toBe(2 * 86_400_000)
  })

  it("a running renewal is not due again; a deleted or expired container is forgotten", () => {
    const c = TimeStampCatalogue.make()
    c.apply(containerJob(100, 20_000))
    expect(c.due(15_000, settings, 10)).toEqual(["c1"])
    c.apply(testJob({ ...runJob(1, 0, { ok: false }), phase: "EXECUTING", endTime: null, errorSummary: null }))
    expect(c.get("c1", settings)?.state).toBe("running")
    expect(c.due(15_000, settings, 10)).toEqual([])
    c.remove(containerJob(100, 20_000))
    expect(c.get("c1", settings)).toBeUndefined()
    c.apply(containerJob(100, 20_000))
    c.apply({ ...containerJob(100, 20_000), phase: "ARCHIVED" })
    expect(c.size()).toBe(0)
  })
})
