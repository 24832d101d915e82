/**
 * A time-stamp renewal cut by SIGKILL of the demo (`npm start`'s server, SQLite under a data
 * folder, the TSA from UWS_ARCHIVE_TSA_URL) while the TSA holds the request: after restart the
 * container's stamps are the last complete ones, the interrupted run has kept nothing, and the
 * retry renews over the newest kept token (checked with `openssl ts -verify`).
 *
 * Needs `openssl`; fails (does not skip) without it.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { fixture } from "../../packages/adapter-archive/test/support/harness.js"
import { kill9, killAll, startDemoProcess, type DemoProcess } from "../support/demoProcess.js"
import { startLocalTsa, type LocalTsa } from "./localTsa.js"

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })

const eventually = async <A>(what: string, f: () => Promise<A | undefined>, ms = 60_000): Promise<A> => {
  const until = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("a time-stamp renewal cut by kill -9 of the demo", () => {
  let tsa: LocalTsa | undefined
  let data: string | undefined
  afterAll(async () => {
    killAll()
    await tsa?.close()
    if (data !== undefined) rmSync(data, { recursive: true, force: true })
  })

  it("keeps nothing of the cut run and renews over the last kept token after restart", async () => {
    tsa = await startLocalTsa({ port: 21720, days: 30 })
    data = mkdtempSync(join(tmpdir(), "uws-ts-kill-"))
    // Renew 40 days before a 30-day certificate's end: due again as soon as RetryMinutes (1.2 s) allow.
    const env = {
      UWS_DATA_DIR: data,
      UWS_ARCHIVE_TSA_URL: tsa.url,
      UWS_ARCHIVE_TSA_TRUST_ANCHORS: tsa.caFile,
      UWS_ARCHIVE_TSA_PARAMETERS: JSON.stringify({ RenewBeforeDays: 40, RetryMinutes: 0.02, TimeoutSeconds: 25, CheckIntervalMinutes: 0.005 })
    }
    let demo: DemoProcess = await startDemoProcess(env)
    const api = (path: string, init?: RequestInit) => fetch(`${demo.url}/api${path}`, { ...init, headers: { "x-source-system": "4", ...init?.headers } })
    const form = new FormData()
    for (const [k, v] of Object.entries({ ContainerName: "kill", StorageId: "4", SaveType: "Permanent" })) form.append(k, v)
    form.append("Signs", new Blob([fixture("xlt1-detached.sig")]), "xlt1-detached.sig")
    form.append("Signs", new Blob([fixture("a-detached.sig")]), "a-detached.sig")
    form.append("Content", new Blob([fixture("document.txt")], { type: "text/plain" }), "document.txt")
    const id = ((await (await api("/document/content", { method: "POST", body: form })).json()) as any).data as string
    const stamps = async () => ((await (await api(`/document/${id}/timestamps`)).json()) as any).data

    const first = await eventually("the first stamps", async () => {
      const s = await stamps()
      return s.state === "stamped" ? s : undefined
    })
    // The SanConnector's report prints the seed's "Signature i expiration date": the token's TSA certificate end.
    const report = readFileSync(join(data, "archive", "SanConnector_01", id, "report.txt"), "utf8")
    expect(report).toContain(`Signature 0 expiration date: ${first.stamps[0].expires}.`)
    expect(report).toContain(`Signature 1 expiration date: ${first.stamps[1].expires}.`)
    // The TSA now holds every request: the next renewal run hangs on it, and the demo is killed.
    tsa.mode = "stall"
    const asked = tsa.requests()
    await eventually("a renewal waiting on the TSA", async () => (tsa!.requests() > asked ? true : undefined))
    const before = await stamps()
    expect(before.state).toBe("running")
    const generation = before.stamps[0].generation as number
    expect(before.stamps.map((s: any) => s.generation)).toEqual([generation, generation])
    await kill9(demo.child)

    const objects = join(data, "archive", "filesystem_01", "objects")
    expect(filesUnder(objects).length).toBe(3 + 2 * generation) // nothing of the cut run
    tsa.rotate(365)
    tsa.mode = "ok"
    demo = await startDemoProcess(env, "the demo after kill -9")
    const after = await eventually("the renewal after restart", async () => {
      const s = await stamps()
      return s.state === "stamped" && s.stamps.every((x: any) => x.generation === generation + 1) ? s : undefined
    })
    expect(after.stamps.map((s: any) => s.tsa)).toEqual(["CN=uws-kit test TSA 2, O=uws-kit tests", "CN=uws-kit test TSA 2, O=uws-kit tests"])
    // Its 365-day certificate is far from RenewBeforeDays: no further run.
    await new Promise((r) => setTimeout(r, 2000))
    expect((await stamps()).stamps[0].generation).toBe(generation + 1)
    expect(filesUnder(objects).length).toBe(3 + 2 * (generation + 1))

    // The new token covers the signature and the token kept before the kill.
    const previous = filesUnder(objects).find((f) => f.endsWith(`.${before.stamps[0].token.sha256}`))!
    const token = Buffer.from(await (await api(`/document/${id}/timestamps/signature-1`)).arrayBuffer())
    writeFileSync(join(data, "new.tst"), token)
    writeFileSync(join(data, "chained.bin"), Buffer.concat([fixture("xlt1-detached.sig"), readFileSync(previous)]))
    const verified = spawnSync("openssl", ["ts", "-verify", "-token_in", "-in", join(data, "new.tst"), "-data", join(data, "chained.bin"), "-CAfile", tsa.caFile], {
      encoding: "utf8"
    })
    expect(verified.stdout + verified.stderr).toContain("Verification: OK")
    await kill9(demo.child)
  })
})
