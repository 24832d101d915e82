/**
 * Model-based property test of the HTTP surface: random sequences of UWS operations sent as HTTP
 * requests to the binding (in process), interleaved with application completions and failures,
 * clock jumps and random malformed requests, compared after every step with the core's reference
 * model (`@uws-kit/core/testing`).
 *
 * Invariants: no response is a 5xx; every answer is the status the model predicts, and what the
 * client reads (job documents in JSON, XML or HTML, job lists, results) matches the model; a
 * rejected request changes nothing (every job, version included, is identical before and after).
 */
import { Effect, Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Phase, Uws } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import type { Policy } from "@uws-kit/core/Policy"
import {
  Model,
  checkScenarios,
  policies,
  describeOperation,
  operation,
  propertyRuns,
  runAgainstModel,
  type Answer,
  type ClientOperation,
  type Expected,
  type ModelDriver,
  type Operation
} from "@uws-kit/core/testing"
import { Iso8601, RestAdapter } from "@uws-kit/adapter-rest"
import * as Params from "../src/internal/params.js"
import { byHeader, parseXml } from "./support.js"

const B = "http://uws.test/svc"
const admin = { id: null, admin: true } as const
const MAX_BODY = 4096

/** What the standard says each predicted core error is over HTTP (written out, not imported). */
const STATUS_OF: Record<string, number> = {
  JobNotFound: 404,
  ResourceNotFound: 404,
  Forbidden: 403,
  InvalidTransition: 403,
  QuotaExceeded: 403,
  InvalidParameter: 400,
  LimitExceeded: 413
}

// ---- malformed requests ------------------------------------------------------------------------

type Malformed = { readonly _tag: "Malformed"; readonly kind: string; readonly index: number; readonly text: string }

const notA = (accepts: (s: string) => boolean) => fc.string({ maxLength: 12 }).filter((s) => !accepts(s))
const isRight = <A>(e: Either.Either<A, string>) => Either.isRight(e)

const malformed: fc.Arbitrary<Operation | Malformed> = fc
  .oneof(
    fc.tuple(fc.constant("phase"), notA((s) => ["RUN", "ABORT"].includes(s.trim().toUpperCase()))),
    // Empty included: it is a mistake, not "as late as allowed".
    fc.tuple(fc.constant("destruction"), notA((s) => isRight(Iso8601.parse(s)))),
    // Offsets are read (and converted to UTC), but not beyond ±14:00.
    fc.tuple(fc.constant("offset"), fc.constantFrom("2030-01-01T00:00:00+15:00", "2030-01-01T00:00:00-14:30", "2030-01-01T00:00+0160")),
    fc.tuple(fc.constant("duration"), notA((s) => isRight(Params.parseDuration(s)))),
    fc.tuple(fc.constant("list"), fc.constantFrom("PHASE=RUNNING", "PHASE=", "LAST=0", "LAST=x", "AFTER=2015-26-10", "AFTER=%FF", "limit=-3", "cursor=zz")),
    fc.tuple(fc.constant("wait"), fc.constantFrom("WAIT=x", "WAIT=-7", "WAIT=2.5", "WAIT=1&PHASE=NOPE")),
    fc.tuple(fc.constant("create"), fc.constantFrom("PHASE=ABORT", "EXECUTIONDURATION=-1", "DESTRUCTION=soon", "RUNID=a&RUNID=b", "A%01=1", "=x")),
    fc.tuple(fc.constant("non-utf8"), fc.constantFrom("A=%FF", "A=%C3%28", "%E2%82=1")),
    fc.tuple(fc.constant("raw-bytes"), fc.constant("")),
    fc.tuple(fc.constant("content-type"), fc.constantFrom("application/json", "text/plain", "application/xml")),
    fc.tuple(fc.constant("too-large"), fc.constant("")),
    fc.tuple(fc.constant("multipart"), fc.constantFrom("no-boundary", "truncated")),
    fc.tuple(fc.constant("method"), fc.constantFrom("PUT /", "DELETE /phase", "PATCH /", "POST /owner", "PUT /results")),
    fc.tuple(fc.constant("route"), fc.constantFrom("/nothing", "/results/none", "/parameters/none", "/a/b/c", "/%E0%A4%A")),
    fc.tuple(fc.constant("unknown-job"), fc.constantFrom("GET", "POST /phase", "DELETE")),
    fc.tuple(fc.constant("action"), fc.constantFrom("DESTROY", "", "delete-all")),
    fc.tuple(fc.constant("empty-update"), fc.constant(""))
  )
  .chain(([kind, text]) => fc.nat({ max: 31 }).map((index): Malformed => ({ _tag: "Malformed", kind, index, text })))
  .map((m) => {
    const show = () => `Malformed(${m.kind},#${m.index},${JSON.stringify(m.text)})`
    Object.defineProperty(m, fc.toStringMethod, { value: show })
    return Object.defineProperty(m, "toString", { value: show })
  })

/** Control names would be taken out of the parameters: keep the model's parameters plain. */
const plainParameters = (op: Operation): Operation => {
  const fix = (ps: ReadonlyArray<{ name: string; value: string }>) =>
    ps.map((p) => (Params.isControl(p.name) || p.name.toLowerCase() === "action" ? { ...p, name: `${p.name}_` } : p))
  if (op._tag === "Create" || op._tag === "UpdateParameters") {
    const fixed = { ...op, parameters: fix(op.parameters) } as Operation
    return Object.defineProperty(fixed, fc.toStringMethod, { value: () => describeOperation(fixed) })
  }
  return op
}

// A browser's Accept (Firefox); `text/html` alone is not a browser and gets XML.
const FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
const ACCEPTS = ["application/json", "application/xml", FIREFOX, "*/*", "text/xml;q=0.5, application/json"] as const

// ---- the harness -------------------------------------------------------------------------------

interface Harness {
  readonly uws: Uws.UwsService
  readonly rest: RestAdapter.RestAdapter
  accept: number
}

const headersOf = (caller: Caller): Record<string, string> => (caller.id === null ? {} : { "x-user": caller.id })

const send = (h: Harness, path: string, init: RequestInit & { readonly caller?: Caller } = {}) =>
  Effect.promise(async () => {
    const { caller, ...rest } = init
    const res = await h.rest.handler(
      new Request(path.startsWith("http") ? path : `${B}${path}`, {
        ...rest,
        headers: { ...(caller === undefined ? {} : headersOf(caller)), ...(rest.headers as Record<string, string> | undefined) }
      })
    )
    const body = await res.text()
    if (res.status >= 500) throw new Error(`${init.method ?? "GET"} ${path} answered ${res.status}: ${body}`)
    return { status: res.status, headers: res.headers, body }
  })

const formBody = (pairs: ReadonlyArray<readonly [string, string]>): RequestInit => ({
  method: "POST",
  body: new URLSearchParams(pairs as Array<[string, string]>).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" }
})

const statusFor = (want: Expected, success: number) => (want.ok ? success : STATUS_OF[want.error]!)

const allJobs = (h: Harness) =>
  Effect.map(Effect.orDie(h.uws.list(admin, { phases: Phase.all })), (page) => JSON.stringify(page.jobs))

/** What the client reads of a job must be what the model knows. */
const checkJob = (h: Harness, model: Model, jobId: string, caller: Caller) =>
  Effect.gen(function* () {
    const m = model.job(jobId)!
    const accept = ACCEPTS[h.accept++ % ACCEPTS.length]!
    const res = yield* send(h, `/jobs/${jobId}`, { caller, headers: { accept } })
    expect(res.status).toBe(200)
    if (accept === FIREFOX) {
      expect(res.headers.get("content-type")).toMatch(/^text\/html/)
      expect(res.body).toContain(jobId)
      return
    }
    const fields = accept.includes("json")
      ? (() => {
          const j = JSON.parse(res.body)
          return {
            phase: j.phase,
            ownerId: j.ownerId,
            creationTime: j.creationTime,
            executionDuration: j.executionDuration,
            destruction: j.destruction,
            parameters: j.parameters.map((p: any) => [p.id, p.value]),
            results: j.results.length
          }
        })()
      : (() => {
          const j = parseXml(res.body)["uws:job"]
          const ps = j["uws:parameters"] === "" ? [] : j["uws:parameters"]["uws:parameter"]
          const rs = j["uws:results"] === "" ? [] : j["uws:results"]["uws:result"]
          const nil = (e: any) => (typeof e === "object" && e["@xsi:nil"] === "true" ? null : e)
          return {
            phase: j["uws:phase"],
            ownerId: nil(j["uws:ownerId"]),
            creationTime: j["uws:creationTime"],
            executionDuration: Number(j["uws:executionDuration"]),
            destruction: nil(j["uws:destruction"]),
            parameters: ps.map((p: any) => [p["@id"], p["#text"] ?? ""]),
            results: rs.length
          }
        })()
    expect(fields).toEqual({
      phase: m.phase,
      ownerId: m.ownerId,
      creationTime: Iso8601.format(m.creationTime),
      executionDuration: m.executionDuration,
      destruction: m.destruction === null ? null : Iso8601.format(m.destruction),
      parameters: m.parameters.map((p) => [p.name, p.value]),
      results: m.resultCount
    })
    const result = yield* send(h, `/jobs/${jobId}/results/out`, { caller })
    if (m.finalResult) {
      expect(result.status).toBe(200)
      expect(result.body).toBe(`result of ${jobId}`)
    } else expect(result.status).toBe(404)
  })

/** A status compared with the one the model's outcome stands for (`success` when it succeeds). */
const status = (got: number, success: number, check?: (want: Expected) => Effect.Effect<void>): Answer => ({
  got,
  expected: (want) => statusFor(want, success),
  refused: got >= 400,
  ...(check === undefined ? {} : { check })
})

/** Each client operation as the HTTP request a UWS client sends. */
const sendOperation = (h: Harness, op: ClientOperation, target: string | undefined, now: number, model: Model) =>
  Effect.gen(function* () {
    const job = (id: string) => `/jobs/${encodeURIComponent(id)}`
    switch (op._tag) {
      case "Create": {
        const pairs: Array<readonly [string, string]> = op.parameters.map((p) => [p.name, p.value] as const)
        if (op.run) pairs.push(["PHASE", "RUN"])
        if (op.executionDuration !== undefined) pairs.push(["EXECUTIONDURATION", String(op.executionDuration)])
        if (op.destructionIn !== undefined) pairs.push(["DESTRUCTION", Iso8601.format(now + op.destructionIn)])
        const res = yield* send(h, "/jobs", { ...formBody(pairs), caller: op.caller })
        const jobId = res.status === 303 ? decodeURIComponent(res.headers.get("location")!.slice(`${B}/jobs/`.length)) : undefined
        if (res.status === 303) expect(res.headers.get("location")).toBe(`${B}/jobs/${jobId}`)
        return { ...status(res.status, 303), jobId }
      }
      case "Get": {
        const res = yield* send(h, job(target!), { caller: op.caller })
        return status(res.status, 200, (want) => (want.ok ? checkJob(h, model, target!, op.caller) : Effect.void))
      }
      case "Run":
      case "Abort": {
        const res = yield* send(h, `${job(target!)}/phase`, { ...formBody([["PHASE", op._tag.toUpperCase()]]), caller: op.caller })
        return status(res.status, 303, (want) =>
          Effect.sync(() => {
            if (want.ok) expect(res.headers.get("location")).toBe(`${B}${job(target!)}`)
          })
        )
      }
      case "Delete": {
        // Half the deletions as HTTP DELETE, half as the browsers' POST ACTION=DELETE.
        const init = target!.length % 2 === 0 ? { method: "DELETE" } : formBody([["ACTION", "DELETE"]])
        const res = yield* send(h, job(target!), { ...init, caller: op.caller })
        return status(res.status, 303, (want) =>
          Effect.sync(() => {
            if (want.ok) expect(res.headers.get("location")).toBe(`${B}/jobs`)
          })
        )
      }
      case "SetDestruction": {
        const res = yield* send(h, `${job(target!)}/destruction`, {
          ...formBody([["DESTRUCTION", Iso8601.format(now + op.destructionIn)]]),
          caller: op.caller
        })
        return status(res.status, 303)
      }
      case "SetExecutionDuration": {
        const res = yield* send(h, `${job(target!)}/executionduration`, { ...formBody([["EXECUTIONDURATION", String(op.seconds)]]), caller: op.caller })
        // A negative number is malformed input: refused before the job is even looked at.
        return op.seconds < 0 ? { ...status(res.status, 303), expected: () => 400 } : status(res.status, 303)
      }
      case "UpdateParameters": {
        const res = yield* send(h, `${job(target!)}/parameters`, {
          ...formBody(op.parameters.map((p) => [p.name, p.value] as const)),
          caller: op.caller
        })
        // An empty update is refused as meaningless before the job is looked at.
        return op.parameters.length === 0 ? { ...status(res.status, 303), expected: () => 400 } : status(res.status, 303)
      }
    }
  })

const restDriver = (h: Harness): ModelDriver<Malformed> => ({
  send: (op, { target, now, model }) => sendOperation(h, op, target, now, model),
  list: (caller, request) =>
    Effect.gen(function* () {
      const q = new URLSearchParams()
      for (const p of request.phases) q.append("PHASE", p.toLowerCase())
      if (request.after !== undefined) q.append("AFTER", Iso8601.format(request.after))
      if (request.last !== undefined) q.append("LAST", String(request.last))
      const res = yield* send(h, `/jobs?${q}`, { caller, headers: { accept: "application/json" } })
      expect(res.status).toBe(200)
      return JSON.parse(res.body).jobs.map((j: { readonly id: string }) => j.id)
    }),
  extra: (op, model) => reject(h, model, op)
})

/** A malformed request: a 4xx (never a 5xx), and every job exactly as before. */
const reject = (h: Harness, model: Model, op: Malformed) =>
  Effect.gen(function* () {
    const jobs = model.jobs
    const known = jobs.length === 0 ? undefined : jobs[op.index % jobs.length]!
    const id = known?.jobId ?? "nobody"
    const caller: Caller = known === undefined ? { id: null } : { id: known.ownerId }
    const before = yield* allJobs(h)
    let res: { readonly status: number; readonly body: string }
    const j = `/jobs/${id}`
    switch (op.kind) {
      case "phase":
        res = yield* send(h, `${j}/phase`, { ...formBody([["PHASE", op.text]]), caller })
        break
      case "destruction":
      case "offset":
        res = yield* send(h, `${j}/destruction`, { ...formBody([["DESTRUCTION", op.text]]), caller })
        break
      case "duration":
        res = yield* send(h, `${j}/executionduration`, { ...formBody([["EXECUTIONDURATION", op.text]]), caller })
        break
      case "list":
        res = yield* send(h, `/jobs?${op.text}`, { caller })
        break
      case "wait":
        res = yield* send(h, `${j}?${op.text}`, { caller })
        break
      case "create":
      case "non-utf8":
        res = yield* send(h, "/jobs", { method: "POST", body: op.text, headers: { "content-type": "application/x-www-form-urlencoded" }, caller })
        break
      case "raw-bytes":
        res = yield* send(h, `${j}/parameters`, {
          method: "POST",
          body: new Uint8Array([0x41, 0x3d, 0xe9, 0x74, 0xe9]),
          headers: { "content-type": "application/x-www-form-urlencoded" },
          caller
        })
        break
      case "content-type":
        res = yield* send(h, "/jobs", { method: "POST", body: "A=1", headers: { "content-type": op.text }, caller })
        break
      case "too-large":
        res = yield* send(h, "/jobs", { ...formBody([["A", "x".repeat(MAX_BODY)]]), caller })
        break
      case "multipart":
        res = yield* send(h, "/jobs", {
          method: "POST",
          body: op.text === "no-boundary" ? "--x\r\n" : '--xyz\r\nContent-Disposition: form-data; name="A"\r\n\r\nvalue',
          headers: { "content-type": op.text === "no-boundary" ? "multipart/form-data" : "multipart/form-data; boundary=xyz" },
          caller
        })
        break
      case "method": {
        const [method, part] = op.text.split(" ") as [string, string]
        res = yield* send(h, `${j}${part === "/" ? "" : part}`, { method, caller })
        break
      }
      case "route":
        res = yield* send(h, op.text.startsWith("/a/") ? `/jobs${op.text}` : op.text.startsWith("/%") ? op.text : `${j}${op.text}`, { caller })
        break
      case "unknown-job": {
        const [method, part] = op.text.split(" ") as [string, string | undefined]
        res = yield* send(h, `/jobs/no-such-job${part ?? ""}`, method === "POST" ? { ...formBody([["PHASE", "RUN"]]), caller } : { method, caller })
        break
      }
      case "action":
        res = yield* send(h, j, { ...formBody([["ACTION", op.text]]), caller })
        break
      case "empty-update":
        // (An empty POST to the job itself destroys it, UWS v0.3.)
        res = yield* send(h, `${j}/parameters`, { method: "POST", caller })
        break
      default:
        res = yield* send(h, j, { method: "POST", caller })
    }
    expect(res.status, `${op}: ${res.body}`).toBeGreaterThanOrEqual(400)
    expect(res.status, `${op}: ${res.body}`).toBeLessThan(500)
    expect(res.body.trim().length, `${op} explains itself`).toBeGreaterThan(0)
    expect(yield* allJobs(h), `${op} changed nothing`).toBe(before)
  })

const runScenario = (ops: ReadonlyArray<Operation | Malformed>, policy: Partial<Policy>) =>
  runAgainstModel(
    (uws) =>
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => RestAdapter.makeRestAdapter({ service: uws, basePath: "/svc", identify: byHeader, maxBodyBytes: MAX_BODY })),
          (rest) => Effect.promise(() => rest.dispose())
        ),
        (rest) => restDriver({ uws, rest, accept: 0 })
      ),
    ops,
    policy
  )

const scenario = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: operation({ service: true, clock: true }).map(plainParameters) },
    { weight: 1, arbitrary: malformed }
  ),
  { maxLength: 30 }
)


describe("the HTTP surface against the reference model", () => {
  for (const [name, policy] of policies) {
    it(name, () => checkScenarios(scenario, (ops) => runScenario(ops, policy), propertyRuns(150)))
  }
})
