/**
 * Model-based test of the SOAP binding: random sequences of client operations sent as SOAP
 * requests (by several callers), application completions and failures, and clock jumps
 * (TestClock), compared after every step with the reference model of `@uws-kit/core/testing`:
 * the fault tag (or success) of every reply, the values replies report, and every stored job.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { Identity } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import type { Policy } from "@uws-kit/core/Policy"
import {
  checkScenarios,
  policies,
  propertyRuns,
  runAgainstModel,
  scenarios,
  type Answer,
  type ClientOperation,
  type Expected,
  type ModelDriver,
  type Operation,
  type Aim
} from "@uws-kit/core/testing"
import { escapeAttribute, escapeText } from "../src/internal/xml.js"
import { call, child, field, isNilField, type Reply } from "./helpers.js"

interface Harness {
  readonly soap: SoapAdapter.SoapAdapter
}

const as = (caller: Caller) => (caller.id === null ? {} : { httpHeaders: { "x-user": caller.id } })
const iso = (ms: number) => new Date(ms).toISOString()

const outcome = (reply: Reply): Expected => {
  if (reply.fault !== undefined) return { ok: false, error: reply.fault.tag as never }
  expect(reply.status, reply.text).toBe(200)
  return { ok: true }
}


const send = (h: Harness, op: string, content: string, caller: Caller, jobId?: string) =>
  Effect.promise(() => call(h.soap.handler, op, content, { ...as(caller), ...(jobId === undefined ? {} : { resourceId: escapeText(jobId) }) }))

/** The reply's fault tag (or success), and what it reports once the model agrees. */
const answer = (reply: Reply, check?: (want: Expected) => void): Answer => ({
  got: outcome(reply),
  ...(check === undefined ? {} : { check: (want: Expected) => Effect.sync(() => check(want)) })
})

/** Each client operation as the SOAP request a 0.3 client sends. */
const sendOperation = (h: Harness, op: ClientOperation, aim: Aim) =>
  Effect.gen(function* () {
    const { target, now, model } = aim
    switch (op._tag) {
      case "Create": {
        const content =
          op.parameters.map((p) => `<u:parameter id="${escapeAttribute(p.name)}">${escapeText(p.value)}</u:parameter>`).join("") +
          (op.executionDuration === undefined ? "" : `<u:executionDuration>${op.executionDuration}</u:executionDuration>`) +
          (op.destructionIn === undefined ? "" : `<u:terminationTime>${iso(now + op.destructionIn)}</u:terminationTime>`) +
          (op.run ? "<u:run>true</u:run>" : "")
        const reply = yield* send(h, "createJob", content, op.caller)
        const created = reply.fault === undefined ? field(reply, "jobId") : undefined
        return {
          ...answer(reply, (want) => {
            // The reply's endpoint reference names the job it created.
            if (!want.ok) return
            const reference = child(child(reply.body, "EndpointReference"), "ReferenceParameters")
            expect(child(reference, "ResourceIdentifier")?.text).toBe(created)
          }),
          jobId: created
        }
      }
      case "Get": {
        const reply = yield* send(h, "getSummary", "", op.caller, target)
        return answer(reply, (want) => {
          if (want.ok) expect(reply.text).toContain(`<uws:phase>${model.job(target!)!.phase}</uws:phase>`)
        })
      }
      case "Run": {
        const reply = yield* send(h, "acceptQuote", "", op.caller, target)
        return answer(reply, (want) => {
          if (want.ok) expect(field(reply, "phase")).toBe(model.job(target!)!.phase)
        })
      }
      case "Abort": {
        const reply = yield* send(h, "abort", "", op.caller, target)
        return answer(reply, (want) => {
          if (want.ok) expect(field(reply, "phase")).toBe("ABORTED")
        })
      }
      case "Delete":
        return answer(yield* send(h, "destroy", "", op.caller, target))
      case "SetDestruction": {
        const reply = yield* send(h, "setTerminationTime", `<u:terminationTime>${iso(now + op.destructionIn)}</u:terminationTime>`, op.caller, target)
        return answer(reply, (want) => {
          if (!want.ok) return
          const d = model.job(target!)!.destruction
          if (d === null) expect(isNilField(reply, "terminationTime")).toBe(true)
          else expect(field(reply, "terminationTime")).toBe(iso(d))
        })
      }
      case "SetExecutionDuration": {
        const reply = yield* send(h, "setExecutionDuration", `<u:executionDuration>${op.seconds}</u:executionDuration>`, op.caller, target)
        return answer(reply, (want) => {
          if (want.ok) expect(field(reply, "executionDuration")).toBe(String(model.job(target!)!.executionDuration))
        })
      }
      case "UpdateParameters":
        return undefined // the SOAP binding has no parameter update
    }
  })

const soapDriver = (h: Harness): ModelDriver => ({
  send: (op, aim) => sendOperation(h, op, aim),
  list: (caller, request) =>
    Effect.gen(function* () {
      const content =
        request.phases.map((p) => `<u:phase>${p}</u:phase>`).join("") +
        (request.after === undefined ? "" : `<u:after>${iso(request.after)}</u:after>`) +
        (request.last === undefined ? "" : `<u:last>${request.last}</u:last>`)
      const reply = yield* send(h, "getJobs", content, caller)
      expect(reply.fault, `getJobs ${content}`).toBeUndefined()
      return (reply.body?.children[0]?.children ?? []).map((j) => j.attributes.find((a) => a.local === "id")?.value ?? "")
    })
})

const runScenario = (ops: ReadonlyArray<Operation>, policy: Partial<Policy>) =>
  runAgainstModel(
    (uws) =>
      Effect.succeed(
        soapDriver({
          soap: SoapAdapter.makeSoapAdapter({
            service: uws,
            identify: (r) => {
              const user = r.headers.get("x-user")
              return user === null ? Identity.anonymous : Identity.user(user)
            }
          })
        })
      ),
    ops,
    policy
  )

describe("the SOAP binding against the reference model", () => {
  for (const [name, policy] of policies) {
    it(`agrees under ${name}`, () => checkScenarios(scenarios(30), (ops) => runScenario(ops, policy), propertyRuns(100)))
  }

  it("regression: a termination time before 1970 is read and refused like any past time", () =>
    Effect.runPromise(
      runScenario(
        [
          { _tag: "Create", caller: { id: "alice" }, parameters: [], run: false },
          { _tag: "SetDestruction", caller: { id: "alice" }, target: { _tag: "Known", index: 0 }, destructionIn: -60_000 }
        ],
        {}
      )
    ))
})
