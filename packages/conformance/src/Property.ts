/**
 * The property-based part: fast-check generates random sequences of client actions (create,
 * create-and-run, run, abort, delete, read, set destruction or execution duration, list with a
 * PHASE filter), sends them to the server, and judges every answer with the permissive
 * {@link Model}. A failing sequence is shrunk to the shortest one that still fails and given as
 * curl lines; the seed replays the run.
 *
 * @since 0.1.0
 */
import { Documents } from "@uws-kit/client"
import * as Phases from "@uws-kit/core/Phase"
import type { Phase } from "@uws-kit/core/Phase"
import fc from "fast-check"
import type { Params } from "./Check.js"
import * as Exchange from "./Exchange.js"
import * as Model from "./Model.js"
import type * as Report from "./Report.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly quick: Params
  readonly runs: number
  readonly seed: number
  /** Most actions in one sequence (default 10). */
  readonly maxActions?: number
  readonly headers?: Readonly<Record<string, string>>
  readonly fetch?: (request: Request) => Promise<Response>
}

interface Job {
  readonly url: string
  seen: Model.Seen
}

interface Real {
  readonly list: string
  readonly http: Exchange.Recorder
  readonly quick: Params
  readonly jobs: Array<Job>
}

/** The model side: how many jobs the sequence has made (the real side holds what was seen). */
interface Count {
  jobs: number
}

class Violation extends Error {
  override readonly name = "Violation"
}

const fail = (message: string, e?: Exchange.Exchange): never => {
  throw new Violation(e === undefined ? message : `${message}\n${Exchange.describe(e, 300)}`)
}

/** Reads the job as it is now, and judges it against where the model says it may be. */
const observe = async (r: Real, job: Job, allowed: ReadonlySet<Model.Seen>, after: string): Promise<void> => {
  const e = await r.http.send({ method: "GET", url: job.url })
  let now: Model.Seen
  if (e.status === 404 || e.status === 410) now = "GONE"
  else {
    if (e.status !== 200) fail(`after ${after}, GET the job answered ${e.status}.`, e)
    try {
      now = Documents.parseJob(e.body, job.url).phase
    } catch (x) {
      return fail(`after ${after}, the job document does not read: ${x instanceof Error ? x.message : String(x)}`, e)
    }
  }
  if (!allowed.has(now)) fail(`after ${after} on a job last seen ${job.seen}, it is ${now}; UWS 1.1 allows ${[...allowed].join(", ")}.`, e)
  job.seen = now
}

const pick = (r: Real, slot: number): Job => r.jobs[slot % r.jobs.length]!

abstract class OnJob implements fc.AsyncCommand<Count, Real> {
  constructor(readonly slot: number) {}
  check(m: Readonly<Count>) {
    return m.jobs > 0
  }
  abstract run(m: Count, r: Real): Promise<void>
}

class Create implements fc.AsyncCommand<Count, Real> {
  constructor(readonly run_: boolean) {}
  check(m: Readonly<Count>) {
    return m.jobs < 4
  }
  async run(m: Count, r: Real) {
    const action: Model.Action = this.run_ ? "create+run" : "create"
    const e = await r.http.send({ method: "POST", url: r.list, form: this.run_ ? [...r.quick, ["PHASE", "RUN"]] : r.quick })
    // A server may refuse a job (a quota, say): 403, and the sequence goes on without it.
    if (e.status === 403) return
    if (e.status !== 303 || e.location === undefined) return fail(`${this}: expected 303 with a Location, got ${e.status}.`, e)
    const job: Job = { url: e.location, seen: "PENDING" }
    r.jobs.push(job)
    m.jobs++
    await observe(r, job, Model.allowedAfter("PENDING", action, true)!, `${this}`)
  }
  toString() {
    return this.run_ ? "create(PHASE=RUN)" : "create"
  }
}

class PhaseAction extends OnJob {
  constructor(
    slot: number,
    readonly action: "run" | "abort"
  ) {
    super(slot)
  }
  override async run(_m: Count, r: Real) {
    const job = pick(r, this.slot)
    const before = job.seen
    const e = await r.http.send({ method: "POST", url: `${job.url}/phase`, form: [["PHASE", this.action.toUpperCase()]] })
    const statuses = Model.allowedStatuses(before, this.action)
    if (!statuses.includes(e.status)) fail(`PHASE=${this.action.toUpperCase()} on a job last seen ${before}: expected ${statuses.join(" or ")}, got ${e.status}.`, e)
    const allowed = Model.allowedAfter(before, this.action, e.status === 303)
    if (allowed === undefined) return fail(`PHASE=${this.action.toUpperCase()} on a ${before} job was accepted.`, e)
    await observe(r, job, allowed, `${this}`)
  }
  override toString() {
    return `${this.action}(job ${this.slot})`
  }
}

class Delete extends OnJob {
  override async run(_m: Count, r: Real) {
    const job = pick(r, this.slot)
    const before = job.seen
    const e = await r.http.send({ method: "DELETE", url: job.url })
    const statuses = Model.allowedStatuses(before, "delete")
    if (!statuses.includes(e.status)) fail(`DELETE on a job last seen ${before}: expected ${statuses.join(" or ")}, got ${e.status}.`, e)
    await observe(r, job, Model.allowedAfter(before, "delete", e.status === 303)!, `${this}`)
  }
  override toString() {
    return `delete(job ${this.slot})`
  }
}

class Read extends OnJob {
  override async run(_m: Count, r: Real) {
    const job = pick(r, this.slot)
    await observe(r, job, Model.allowedAfter(job.seen, "read", true)!, `${this}`)
  }
  override toString() {
    return `read(job ${this.slot})`
  }
}

class Update extends OnJob {
  constructor(
    slot: number,
    readonly what: "destruction" | "executionduration"
  ) {
    super(slot)
  }
  override async run(_m: Count, r: Real) {
    const job = pick(r, this.slot)
    const before = job.seen
    const value = this.what === "destruction" ? new Date(Date.now() + 3 * 86_400_000).toISOString() : "600"
    const e = await r.http.send({ method: "POST", url: `${job.url}/${this.what}`, form: [[this.what.toUpperCase(), value]] })
    const statuses = Model.allowedStatuses(before, "update")
    if (!statuses.includes(e.status)) fail(`${this.what.toUpperCase()} on a job last seen ${before}: expected ${statuses.join(" or ")}, got ${e.status}.`, e)
    await observe(r, job, Model.allowedAfter(before, "update", e.status === 303)!, `${this}`)
  }
  override toString() {
    return `set ${this.what}(job ${this.slot})`
  }
}

class List implements fc.AsyncCommand<Count, Real> {
  constructor(readonly phases: ReadonlyArray<Phase>) {}
  check() {
    return true
  }
  async run(_m: Count, r: Real) {
    const query = this.phases.map((p) => `PHASE=${p}`).join("&")
    const e = await r.http.send({ method: "GET", url: `${r.list}${query === "" ? "" : `?${query}`}` })
    // A server may bound its list with a 303 to a LAST=… URL (§2.2.2.1).
    if (e.status === 303) return
    if (e.status !== 200) return fail(`${this}: expected 200, got ${e.status}.`, e)
    let refs: ReadonlyArray<{ readonly jobId: string; readonly url: string; readonly phase: Phase }>
    try {
      refs = Documents.parseJobList(e.body, r.list).jobs
    } catch (x) {
      return fail(`${this}: the job list does not read: ${x instanceof Error ? x.message : String(x)}`, e)
    }
    const shown = this.phases.length === 0 ? Phases.all.filter((p) => p !== "ARCHIVED") : this.phases
    const stray = refs.filter((j) => !shown.includes(j.phase))
    if (stray.length > 0) fail(`${this} lists ${stray.map((j) => `${j.jobId} in ${j.phase}`).join(", ")}.`, e)
    // Our own jobs in a final phase (where they stay) and in the filter must be listed.
    const norm = (u: string) => u.replace(/\/+$/, "")
    for (const job of r.jobs) {
      if (job.seen === "GONE" || !Phases.isFinal(job.seen) || job.seen === "ARCHIVED" || !shown.includes(job.seen)) continue
      if (!refs.some((j) => norm(j.url) === norm(job.url))) fail(`${this} does not list ${job.url}, which is ${job.seen}.`, e)
    }
  }
  toString() {
    return `list(${this.phases.length === 0 ? "" : `PHASE=${this.phases.join("&PHASE=")}`})`
  }
}

const listPhases: ReadonlyArray<Phase> = ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED"]

const actions = [
  fc.boolean().map((run) => new Create(run)),
  fc.nat(3).map((s) => new PhaseAction(s, "run")),
  fc.nat(3).map((s) => new PhaseAction(s, "abort")),
  fc.nat(3).map((s) => new Delete(s)),
  fc.nat(3).map((s) => new Read(s)),
  fc.tuple(fc.nat(3), fc.constantFrom("destruction" as const, "executionduration" as const)).map(([s, w]) => new Update(s, w)),
  fc.subarray([...listPhases], { maxLength: 3 }).map((ps) => new List(ps))
]

/**
 * Runs `options.runs` random sequences against the job list; the report's property part.
 *
 * @since 0.1.0
 * @category running
 */
export const run = async (list: string, options: Options): Promise<Report.PropertyResult> => {
  const started = Date.now()
  const recorderOptions = {
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.headers === undefined ? {} : { headers: options.headers })
  }
  let lastFailure: { readonly exchanges: ReadonlyArray<Exchange.Exchange>; readonly message: string } | undefined
  const property = fc.asyncProperty(fc.commands(actions, { maxCommands: options.maxActions ?? 10 }), async (cmds) => {
    const real: Real = { list, http: Exchange.recorder(recorderOptions), quick: options.quick, jobs: [] }
    try {
      await fc.asyncModelRun(() => ({ model: { jobs: 0 }, real }), cmds)
    } catch (e) {
      lastFailure = { exchanges: real.http.exchanges(), message: e instanceof Error ? e.message : String(e) }
      throw e
    } finally {
      const cleanup = Exchange.recorder(recorderOptions)
      await Promise.all(real.jobs.map((j) => cleanup.send({ method: "DELETE", url: j.url }).catch(() => undefined)))
    }
  })
  const out = await fc.check(property, { numRuns: options.runs, seed: options.seed })
  const millis = Date.now() - started
  if (!out.failed) return { outcome: "pass", runs: out.numRuns, seed: options.seed, millis }
  const steps = out.counterexample === null ? "" : String(out.counterexample[0])
  return {
    outcome: "fail",
    runs: out.numRuns,
    seed: options.seed,
    message: `${lastFailure?.message ?? String(out.errorInstance)}\nshrunk sequence: ${steps}`,
    counterexample: (lastFailure?.exchanges ?? []).map((e) => `${Exchange.curl(e)}  → ${e.status}`),
    millis
  }
}
