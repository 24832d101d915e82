/**
 * Several instances on one PostgreSQL database, as real processes: three demo instances
 * (examples/server.ts, as `npm run start:cluster` runs them) on loopback against a database this
 * test creates and drops. 100 `sleep` jobs are sent to them round-robin; while they run, one
 * instance is killed with SIGKILL. Every job must end in a final phase (the killed instance's
 * running jobs in ERROR, "the instance running this job stopped", as the `sleep` application is
 * not restartable; its claimed-but-not-started jobs run elsewhere): none lost, none stuck, none
 * run twice at the same time, never more than the policy's concurrency (4) at once across the
 * instances. Each instance appends `start`/`end` lines per run to a side file
 * (UWS_RUN_LOG), which is how "never twice at once" is checked. WAITs on the surviving instances
 * return for jobs the others change.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freeze, kill9, killAll, startDemoProcess, thaw } from "./support/demoProcess.js"
import { makePgDatabase } from "../packages/store-sql/test/databases.js"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  killAll()
  for (const f of cleanups.reverse()) await f().catch(() => undefined)
})

const startInstance = async (name: string, databaseUrl: string, dataDir: string, runLog: string) => ({
  name,
  ...(await startDemoProcess(
    { DATABASE_URL: databaseUrl, UWS_INSTANCE: name, UWS_DATA_DIR: path.join(dataDir, name), UWS_RUN_LOG: runLog, UWS_LEASE_MS: "2000" },
    name
  ))
})

const phaseOf = async (jobUrl: string) => (await (await fetch(`${jobUrl}/phase`)).text()).trim()
const FINAL = ["COMPLETED", "ERROR", "ABORTED", "ARCHIVED"]

interface Run {
  readonly instance: string
  readonly jobId: string
  readonly start: number
  end: number | undefined
}
const readRuns = async (file: string): Promise<Array<Run>> => {
  const runs: Array<Run> = []
  const text = await fs.readFile(file, "utf8").catch(() => "")
  for (const line of text.split("\n")) {
    const [what, instance, app, jobId, t] = line.split(" ")
    if (app !== "sleep" || instance === undefined || jobId === undefined) continue
    if (what === "start") runs.push({ instance, jobId, start: Number(t), end: undefined })
    else if (what === "end") {
      const open = runs.find((r) => r.instance === instance && r.jobId === jobId && r.end === undefined)
      if (open !== undefined) open.end = Number(t)
    }
  }
  return runs
}

describe("three instances on one PostgreSQL database", () => {
  it("100 sleep jobs across them, one instance killed with SIGKILL: none lost, none stuck, none run twice at once", async () => {
    const db = await makePgDatabase()
    cleanups.push(db.drop)
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-cluster-"))
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
    const runLog = path.join(dir, "runs.log")
    const instances = await Promise.all(["one", "two", "three"].map((n) => startInstance(n, db.url, dir, runLog)))

    for (const i of instances) expect(await (await fetch(`${i.url}/`)).text()).toContain(`Answered by instance <strong>${i.name}</strong>`)

    // 100 jobs, sent round-robin; each runs 0.3 s, at most 4 at once across the three instances.
    const jobs: Array<string> = []
    for (let n = 0; n < 100; n++) {
      const to = instances[n % 3]!
      const res = await fetch(`${to.url}/uws/sleep/jobs`, {
        method: "POST",
        body: new URLSearchParams({ SECONDS: "0.3", PHASE: "RUN" }),
        redirect: "manual"
      })
      expect(res.status).toBe(303)
      jobs.push(new URL(res.headers.get("location")!).pathname.split("/").pop()!)
    }
    const on = (i: { readonly url: string }, jobId: string) => `${i.url}/uws/sleep/jobs/${jobId}`

    // A WAIT on one instance returns when another instance changes the job (here: runs it).
    const [one, two, three] = instances as [typeof instances[0], typeof instances[0], typeof instances[0]]
    const watched = jobs.slice(60, 72)
    const woken = await Promise.all(
      watched.map(async (jobId) => {
        const res = await fetch(`${on(three, jobId)}?WAIT=50&PHASE=QUEUED`, { headers: { accept: "application/json" } })
        return ((await res.json()) as { phase: string }).phase
      })
    )
    for (const phase of woken) expect(phase).not.toBe("QUEUED")

    // Kill an instance that is running something right now, with no chance to let go. It is
    // frozen first and the run log read again, so the run is known to be open when it dies (a
    // run seen open may otherwise end between the read and the kill).
    let victim: typeof one | undefined
    let killedAt = 0
    const openOn = async (name: string) => (await readRuns(runLog)).some((r) => r.end === undefined && r.instance === name)
    while (victim === undefined) {
      const running = (await readRuns(runLog)).find((r) => r.end === undefined && r.instance !== "three")
      const candidate = running && instances.find((i) => i.name === running.instance)!
      if (candidate !== undefined) {
        await freeze(candidate.child)
        killedAt = Date.now()
        if (await openOn(candidate.name)) {
          victim = candidate
          await kill9(victim.child)
        } else thaw(candidate.child)
      } else await new Promise((r) => setTimeout(r, 20))
    }
    const survivors = instances.filter((i) => i !== victim)

    // Every job reaches a final phase on the survivors (WAIT until it is final; no job stuck).
    const finals = new Map<string, string>()
    for (const [n, jobId] of jobs.entries()) {
      const at = survivors[n % survivors.length]!
      const deadline = Date.now() + 60_000
      let phase = await phaseOf(on(at, jobId))
      while (!FINAL.includes(phase) && Date.now() < deadline) {
        await fetch(`${on(at, jobId)}?WAIT=10`)
        phase = await phaseOf(on(at, jobId))
      }
      finals.set(jobId, phase)
    }
    expect([...finals.values()].filter((p) => !FINAL.includes(p))).toEqual([])
    expect(finals.size).toBe(100)

    const runs = await readRuns(runLog)
    // The killed instance's runs end when it died.
    for (const r of runs) if (r.instance === victim!.name && r.end === undefined) r.end = killedAt
    expect(runs.filter((r) => r.end === undefined)).toEqual([])
    // Never two runs of one job at the same time (on any instances).
    for (const jobId of jobs) {
      const mine = runs.filter((r) => r.jobId === jobId).sort((a, b) => a.start - b.start)
      for (let k = 1; k < mine.length; k++) expect(mine[k]!.start).toBeGreaterThanOrEqual(mine[k - 1]!.end!)
    }
    // The jobs cut short by the kill are in ERROR with the reason. So may be a job whose run had
    // just returned on the killed instance, its completion not yet committed: only jobs last run
    // there. Every other job completed, after exactly one run.
    const cut = new Set(runs.filter((r) => r.instance === victim!.name && r.end === killedAt).map((r) => r.jobId))
    expect(cut.size).toBeGreaterThan(0)
    const lastRunOn = (jobId: string) => runs.filter((r) => r.jobId === jobId).sort((a, b) => a.start - b.start).pop()?.instance
    for (const jobId of jobs) {
      if (cut.has(jobId)) expect(finals.get(jobId)).toBe("ERROR")
      if (finals.get(jobId) === "ERROR") {
        expect(lastRunOn(jobId)).toBe(victim!.name)
        const error = await (await fetch(`${on(survivors[0]!, jobId)}/error`)).text()
        expect(error).toContain("the instance running this job stopped")
      } else {
        expect(finals.get(jobId)).toBe("COMPLETED")
        expect(runs.filter((r) => r.jobId === jobId)).toHaveLength(1)
      }
    }
    // Never more than the policy's concurrency (4) runs at once, counted over all instances.
    const edges = runs.flatMap((r) => [[r.start, 1], [r.end!, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1])
    let now = 0
    let most = 0
    for (const [, d] of edges) most = Math.max(most, (now += d))
    expect(most).toBeLessThanOrEqual(4)
    expect(most).toBeGreaterThan(1)
    // Some of the WAITs on instance three were woken by runs on the other instances.
    expect(runs.some((r) => watched.includes(r.jobId) && r.instance !== "three")).toBe(true)
    // Runs were spread over the instances, and the survivors went on after the kill.
    expect(new Set(runs.map((r) => r.instance)).size).toBe(3)
    expect(runs.some((r) => r.start > killedAt)).toBe(true)

    for (const i of survivors) {
      await new Promise<void>((resolve) => {
        i.child.once("exit", () => resolve())
        i.child.kill("SIGTERM")
      })
    }
  }, 180_000)
})
