/**
 * The `uws` command line end to end, as real processes against the demo (and against the broken
 * fixture for a failing run). Standard error is not a terminal here, so progress comes as one
 * line per step (the no-TTY fallback), which is what these tests read.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../../examples/server.js"
import * as BrokenServer from "./fixtures/BrokenServer.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const uws = (...args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(process.execPath, ["--conditions=@uws-kit/source", "--import", "tsx", bin, ...args], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout, stderr })
    })
  })

let demo: Demo
let tmp: string

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  tmp = mkdtempSync(path.join(os.tmpdir(), "uws-cli-"))
})

afterAll(async () => {
  await demo?.close()
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
})

describe("uws conform", { timeout: 180_000 }, () => {
  it("passes the demo's echo list, with progress, a JSON report and a JUnit report, and exits 0", async () => {
    const json = path.join(tmp, "report.json")
    const junit = path.join(tmp, "report.xml")
    const r = await uws("conform", `${demo.url}/uws/echo/jobs`, "A=1", "--error", "ERROR=boom", "--runs", "10", "--seed", "5", "--json", json, "--junit", junit)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^UWS 1\.1 conformance of http:\/\/.*\/uws\/echo\/jobs \(seed 5\)$/m)
    expect(r.stdout).toMatch(/^PASS {2}§2\.2\.1\.2 +wait\.change: /m)
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed, 0 skipped in [\d.]+ s$/m)
    // No terminal: one progress line per step, ending with the whole bar.
    const progress = r.stderr.trim().split("\n")
    expect(progress[0]).toMatch(/^\[-+\] 0\/\d+ create$/)
    expect(progress.at(-1)).toMatch(/^\[#+\] (\d+)\/\1 done$/)
    expect(r.stderr).not.toContain("\r")
    const report = JSON.parse(readFileSync(json, "utf8")) as { failed: number; seed: number; checks: Array<{ id: string }> }
    expect(report).toMatchObject({ failed: 0, seed: 5 })
    expect(report.checks.map((c) => c.id)).toContain("xml.schema")
    const xml = readFileSync(junit, "utf8")
    expect(xml).toMatch(/<testsuites name="uws conform" tests="\d+" failures="0"/)
    expect(xml.match(/<testcase /g)?.length).toBe(report.checks.length + 1)
  })

  it("exits 1 on a faulty server, naming the fault with the request that showed it", async () => {
    const server = await BrokenServer.start("ownerLiteral")
    try {
      const r = await uws("conform", server.url, "DURATION=20", "--slow", "DURATION=60000", "--error", "FAIL=boom", "--runs", "0")
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/^FAIL {2}§2\.2\.2 +job\.owner: /m)
      expect(r.stdout).toContain(`/owner says "NULL" but the job's ownerId is nil`)
      expect(r.stdout).toMatch(/curl -sS -i http:\/\/127\.0\.0\.1:\d+\/jobs\/j\d+\/owner/)
      expect(r.stdout).toMatch(/^\d+ passed, 1 failed, 0 skipped/m)
    } finally {
      await server.close()
    }
  })

  it("on a terminal, redraws one progress bar in place", async () => {
    // util-linux's script gives the process a pseudo-terminal (bsdutils is Essential in Debian).
    const command = [process.execPath, "--conditions=@uws-kit/source", "--import", "tsx", bin, "conform", `${demo.url}/uws/echo/jobs`, "A=1", "--error", "ERROR=boom", "--runs", "0"].join(" ")
    const r = await new Promise<Run>((resolve) =>
      execFile("script", ["-qec", command, "/dev/null"], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
      )
    )
    expect(r.code, r.stdout).toBe(0)
    const redraws = r.stdout.split("\r\x1b[2K").slice(1)
    expect(redraws[0]).toMatch(/^\[-+\] 0\/\d+ create$/)
    expect(redraws.at(-1)).toMatch(/^\[#+\] (\d+)\/\1 done\r?\n/)
    expect(r.stdout).toMatch(/\d+ passed, 0 failed, 0 skipped/)
  })

  it("refuses what is not NAME=VALUE, and a missing URL", async () => {
    const r = await uws("conform", `${demo.url}/uws/echo/jobs`, "oops")
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`uws: a parameter "oops" is not NAME=VALUE.`)
    const none = await uws("conform")
    expect(none.code).toBe(1)
    expect(none.stderr + none.stdout).toContain("Missing argument <job-list-URL>")
  })
})

describe("uws submit, watch, list, results, abort, delete", { timeout: 180_000 }, () => {
  it("submit --wait follows a sleep job to COMPLETED with its progress", async () => {
    const r = await uws("submit", `${demo.url}/uws/sleep/jobs`, "SECONDS=0.3", "--wait")
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^http:\/\/.*\/uws\/sleep\/jobs\/\S+ {2}COMPLETED {2}1\/1$/m)
    expect(r.stderr).toMatch(/^\[#+\] 1\/1 COMPLETED$/m)
  })

  it("a job's life from the command line: submit --run, watch, list, results, abort refused, delete", async () => {
    const submitted = await uws("submit", `${demo.url}/uws/echo/jobs`, "A=1", "B=x y", "--run", "--json")
    expect(submitted.code, submitted.stderr).toBe(0)
    const job = JSON.parse(submitted.stdout) as { url: string; jobId: string; parameters: Array<{ name: string; value: string }> }
    expect(job.parameters).toEqual([
      { name: "a", value: "1" },
      { name: "b", value: "x y" }
    ])
    const watched = await uws("watch", job.url)
    expect(watched.code).toBe(0)
    expect(watched.stdout.trim()).toBe(`${job.url}  COMPLETED`)
    const listed = await uws("list", `${demo.url}/uws/echo/jobs`, "--phase", "COMPLETED", "--last", "1", "--json")
    expect(JSON.parse(listed.stdout)).toMatchObject([{ jobId: job.jobId, phase: "COMPLETED", url: job.url }])
    const dir = path.join(tmp, "results")
    const results = await uws("results", job.url, "--out", dir)
    expect(results.code, results.stderr).toBe(0)
    expect(readdirSync(dir)).toEqual(["result"])
    expect(readFileSync(path.join(dir, "result"), "utf8")).toContain("<VOTABLE")
    expect(results.stderr).toMatch(/^\[#+\] result (\d+)\/\1 bytes$/m)
    const aborted = await uws("abort", job.url)
    expect(aborted.code).toBe(1)
    expect(aborted.stderr).toMatch(/^uws: the server answered with an error: POST .*\/phase: 403 Forbidden: ABORT is not allowed in COMPLETED/m)
    const deleted = await uws("delete", job.url, "--json")
    expect(deleted.code).toBe(0)
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: job.url })
    expect((await fetch(job.url)).status).toBe(404)
  })

  it("says clearly when the server cannot be reached, is not UWS, or answers an HTTP error", async () => {
    const unreachable = await uws("list", "http://127.0.0.1:1/jobs")
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/^uws: cannot reach the server/m)
    const conform = await uws("conform", "http://127.0.0.1:1/jobs", "A=1", "--runs", "0")
    expect(conform.code).toBe(1)
    expect(conform.stdout).toMatch(/^FAIL {2}§2\.2\.3\.1 +create: .*\n +the check could not talk to the server: POST http:\/\/127\.0\.0\.1:1\/jobs: /m)
    const notUws = await uws("list", `${demo.url}/`)
    expect(notUws.code).toBe(1)
    expect(notUws.stderr).toMatch(/^uws: the answer is not a UWS document: .*HTML page/m)
    const missing = await uws("watch", `${demo.url}/uws/echo/jobs/no-such-job`)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^uws: the server answered with an error: GET .*no-such-job: 404/m)
  })
})
