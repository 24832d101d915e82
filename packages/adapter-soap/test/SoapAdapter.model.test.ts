/**
 * Model-based test of the SOAP binding: random sequences of client operations sent as SOAP
 * requests (by several callers), application completions and failures, and clock jumps
 * (TestClock), compared after every step with the reference model of `@uws-kit/core/testing`:
 * the fault tag (or success) of every reply, the values replies report, and every stored job.
 */
import { Effect, Layer, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { Identity, JobStore, ResultStore, Uws } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import type { Policy } from "@uws-kit/core/Policy"
import {
  Model,
  controlledWorker,
  converge,
  policies,
  describeOperation,
  operation,
  propertyRuns,
  type Expected,
  type Operation
} from "@uws-kit/core/testing"
import { escapeAttribute, escapeText } from "../src/internal/xml.js"
import { call, child, field, isNilField, type Reply } from "./helpers.js"

const stores = Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)

interface Harness {
  readonly uws: Uws.UwsService
  readonly soap: SoapAdapter.SoapAdapter
  readonly model: Model
  readonly control: ReturnType<typeof controlledWorker>
}

const as = (caller: Caller) => (caller.id === null ? {} : { httpHeaders: { "x-user": caller.id } })
const iso = (ms: number) => new Date(ms).toISOString()

const outcome = (reply: Reply): Expected => {
  if (reply.fault !== undefined) return { ok: false, error: reply.fault.tag as never }
  expect(reply.status, reply.text).toBe(200)
  return { ok: true }
}


const settle = (h: Harness) => converge(h.uws, h.model)

const send = (h: Harness, op: string, content: string, caller: Caller, jobId?: string) =>
  Effect.promise(() => call(h.soap.handler, op, content, { ...as(caller), ...(jobId === undefined ? {} : { resourceId: escapeText(jobId) }) }))

const step = (h: Harness, op: Operation) =>
  Effect.gen(function* () {
    const { model } = h
    const target = "target" in op ? model.resolve(op.target) : undefined
    if ("target" in op && target === undefined) return
    const now = model.now
    let got: Expected
    let want: Expected
    switch (op._tag) {
      case "Create": {
        const content =
          op.parameters.map((p) => `<u:parameter id="${escapeAttribute(p.name)}">${escapeText(p.value)}</u:parameter>`).join("") +
          (op.executionDuration === undefined ? "" : `<u:executionDuration>${op.executionDuration}</u:executionDuration>`) +
          (op.destructionIn === undefined ? "" : `<u:terminationTime>${iso(now + op.destructionIn)}</u:terminationTime>`) +
          (op.run ? "<u:run>true</u:run>" : "")
        const reply = yield* send(h, "createJob", content, op.caller)
        got = outcome(reply)
        want = model.create(op.caller, op, got.ok ? field(reply, "jobId") : undefined)
        if (got.ok) {
          // The reply's endpoint reference names the job it created.
          const reference = child(child(reply.body, "EndpointReference"), "ReferenceParameters")
          expect(child(reference, "ResourceIdentifier")?.text).toBe(field(reply, "jobId"))
        }
        break
      }
      case "Get": {
        const reply = yield* send(h, "getSummary", "", op.caller, target)
        got = outcome(reply)
        want = model.get(op.caller, target!)
        if (got.ok) expect(reply.text).toContain(`<uws:phase>${model.job(target!)!.phase}</uws:phase>`)
        break
      }
      case "Run": {
        const reply = yield* send(h, "acceptQuote", "", op.caller, target)
        got = outcome(reply)
        want = model.run(op.caller, target!)
        if (got.ok) expect(field(reply, "phase")).toBe(model.job(target!)!.phase)
        break
      }
      case "Abort": {
        const reply = yield* send(h, "abort", "", op.caller, target)
        got = outcome(reply)
        want = model.abort(op.caller, target!)
        if (got.ok) expect(field(reply, "phase")).toBe("ABORTED")
        break
      }
      case "Delete":
        got = outcome(yield* send(h, "destroy", "", op.caller, target))
        want = model.delete(op.caller, target!)
        break
      case "SetDestruction": {
        const reply = yield* send(h, "setTerminationTime", `<u:terminationTime>${iso(now + op.destructionIn)}</u:terminationTime>`, op.caller, target)
        got = outcome(reply)
        want = model.setDestruction(op.caller, target!, now + op.destructionIn)
        if (got.ok) {
          const d = model.job(target!)!.destruction
          if (d === null) expect(isNilField(reply, "terminationTime")).toBe(true)
          else expect(field(reply, "terminationTime")).toBe(iso(d))
        }
        break
      }
      case "SetExecutionDuration": {
        const reply = yield* send(h, "setExecutionDuration", `<u:executionDuration>${op.seconds}</u:executionDuration>`, op.caller, target)
        got = outcome(reply)
        want = model.setExecutionDuration(op.caller, target!, op.seconds)
        if (got.ok) expect(field(reply, "executionDuration")).toBe(String(model.job(target!)!.executionDuration))
        break
      }
      case "UpdateParameters":
        return // the SOAP binding has no parameter update
      case "List": {
        const content =
          op.phases.map((p) => `<u:phase>${p}</u:phase>`).join("") +
          (op.afterIn === undefined ? "" : `<u:after>${iso(now + op.afterIn)}</u:after>`) +
          (op.last === undefined ? "" : `<u:last>${op.last}</u:last>`)
        const reply = yield* send(h, "getJobs", content, op.caller)
        expect(reply.fault, describeOperation(op)).toBeUndefined()
        const ids = (reply.body?.children[0]?.children ?? []).map((j) => j.attributes.find((a) => a.local === "id")?.value)
        const query = {
          phases: op.phases,
          ...(op.afterIn === undefined ? {} : { after: now + op.afterIn }),
          ...(op.last === undefined ? {} : { last: op.last })
        }
        expect(ids, describeOperation(op)).toEqual(model.list(op.caller, query))
        return
      }
      case "Complete":
        expect(yield* h.control.complete(target!), describeOperation(op)).toBe(model.complete(target!).ok)
        return
      case "Fail":
        expect(yield* h.control.fail(target!, op.message), describeOperation(op)).toBe(model.fail(target!, op.message).ok)
        return
      case "Publish":
        expect(yield* h.control.publish(target!), describeOperation(op)).toBe(model.publish(target!).ok)
        return
      case "Advance":
        yield* TestClock.adjust(op.ms)
        model.advance(op.ms)
        return
    }
    expect(got, describeOperation(op)).toEqual(want)
  })

const runScenario = (ops: ReadonlyArray<Operation>, policy: Partial<Policy>) =>
  Effect.gen(function* () {
    const control = controlledWorker()
    let n = 0
    const uws = yield* Uws.make({ worker: control.worker, policy, makeJobId: () => `j${String(++n).padStart(3, "0")}` })
    const soap = SoapAdapter.makeSoapAdapter({
      service: uws,
      identify: (r) => {
        const user = r.headers.get("x-user")
        return user === null ? Identity.anonymous : Identity.user(user)
      }
    })
    const h: Harness = { uws, soap, model: new Model(policy), control }
    for (const op of ops) {
      yield* step(h, op)
      yield* settle(h)
    }
  }).pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))


describe("the SOAP binding against the reference model", () => {
  for (const [name, policy] of policies) {
    it(`agrees under ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation({ service: true, clock: true }), { minLength: 1, maxLength: 30 }), (ops) =>
          Effect.runPromise(runScenario(ops, policy))
        ),
        { numRuns: propertyRuns(100) }
      )
    })
  }

  it("regression: a termination time before 1970 is read and refused like any past time", async () => {
    await Effect.runPromise(
      runScenario(
        [
          { _tag: "Create", caller: { id: "alice" }, parameters: [], run: false },
          { _tag: "SetDestruction", caller: { id: "alice" }, target: { _tag: "Known", index: 0 }, destructionIn: -60_000 }
        ],
        {}
      )
    )
  })
})
