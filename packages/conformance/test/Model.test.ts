/**
 * The permissive model: what it allows is closed under the server's own moves, it never lets a
 * final job move back, and it forbids exactly the outcomes the standard forbids.
 */
import * as Phases from "@uws-kit/core/Phase"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Model from "../src/Model.js"

const phase = fc.constantFrom(...Phases.all)
const seen = fc.oneof(phase, fc.constant("GONE" as const))
// Actions on a job that exists (creation makes a new one).
const action = fc.constantFrom<Model.Action>("run", "abort", "delete", "read", "update")

describe("Model", () => {
  it("reachable is closed: what can follow what can follow p, can follow p", () => {
    fc.assert(
      fc.property(phase, (p) => {
        const once = Model.reachable([p])
        const twice = Model.reachable([...once].filter((x) => x !== "UNKNOWN" || p === "UNKNOWN"))
        for (const x of once) expect(twice.has(x)).toBe(true)
        expect(once.has(p)).toBe(true)
      })
    )
  })

  it("a final job only stays, becomes ARCHIVED, or reads UNKNOWN, whatever the client does", () => {
    fc.assert(
      fc.property(fc.constantFrom("COMPLETED", "ERROR", "ABORTED", "ARCHIVED" as const), action, fc.boolean(), (p, a, accepted) => {
        const after = Model.allowedAfter(p, a, accepted)
        if (after === undefined) return
        for (const x of after) expect(a === "delete" && accepted ? ["GONE", "ARCHIVED"] : [p, "ARCHIVED", "UNKNOWN"]).toContain(x)
      })
    )
  })

  it("forbids an accepted RUN or ABORT on a final job, and a RUN that leaves the job PENDING", () => {
    for (const p of ["COMPLETED", "ERROR", "ABORTED", "ARCHIVED"] as const) {
      expect(Model.allowedAfter(p, "run", true)).toBeUndefined()
      expect(Model.allowedAfter(p, "abort", true)).toBeUndefined()
      expect(Model.allowedStatuses(p, "run")).toEqual([403])
    }
    expect(Model.allowedAfter("PENDING", "run", true)!.has("PENDING")).toBe(false)
    expect(Model.allowedAfter("PENDING", "create+run", true)!.has("PENDING")).toBe(false)
    expect([...Model.allowedAfter("PENDING", "abort", true)!].filter((x) => x !== "UNKNOWN" && x !== "ARCHIVED")).toEqual(["ABORTED"])
  })

  it("allows what a server may do on its own: queue, hold, refuse with 403, fail, abort for lack of resources", () => {
    expect(Model.allowedAfter("PENDING", "run", true)!.has("HELD")).toBe(true)
    expect(Model.allowedAfter("PENDING", "run", false)!.has("PENDING")).toBe(true)
    expect(Model.allowedStatuses("PENDING", "update")).toContain(403)
    expect(Model.reachable(["EXECUTING"]).has("SUSPENDED")).toBe(true)
    expect(Model.reachable(["QUEUED"]).has("ABORTED")).toBe(true)
  })

  it("a deleted job stays gone", () => {
    fc.assert(
      fc.property(seen.filter((s) => s === "GONE"), action, fc.boolean(), (s, a, accepted) => {
        const after = Model.allowedAfter(s, a, accepted)
        if (after !== undefined) expect([...after]).toEqual(["GONE"])
        expect(Model.allowedStatuses(s, a)).toEqual([404, 410])
      })
    )
  })
})
