/**
 * The mutation proof: a small UWS server (test/fixtures/BrokenServer.ts) with one fault switched
 * on at a time. `checkServer` must find every fault unaided — the checks that fail are exactly
 * the ones that name it — and with no fault it must pass everything, random sequences included.
 */
import { describe, expect, it } from "vitest"
import { checkServer, Report } from "../src/index.js"
import * as BrokenServer from "./fixtures/BrokenServer.js"

const jobs = { quick: [["DURATION", "20"]], slow: [["DURATION", "60000"]], error: [["FAIL", "the dome is closed"]] } as const

// What a report must name for each fault: the ids of the fixed checks that fail.
const named: Record<BrokenServer.Fault, ReadonlyArray<string>> = {
  waitEarly: ["wait.blocks", "wait.change", "wait.guard"],
  runAtCreationIgnored: ["create.run"],
  invalidPhaseFilter200: ["list.invalid"],
  phaseUnionLast: ["list.phase"],
  wrongStatus: ["phase.forbidden"],
  invalidXml: ["xml.schema"],
  ownerLiteral: ["job.owner"]
}

const failing = (report: Report.Report) => report.checks.filter((c) => c.outcome === "fail").map((c) => c.id)

describe.concurrent("checkServer against a UWS server with injected faults", { timeout: 120_000 }, () => {
  it("passes a server with no fault, random client sequences included", async () => {
    const server = await BrokenServer.start()
    try {
      const report = await checkServer(server.url, { ...jobs, runs: 15, seed: 42, settleTimeout: 10_000 })
      expect(failing(report), Report.text(report)).toEqual([])
      expect(report.property?.outcome).toBe("pass")
      expect(report.skipped).toBe(0)
    } finally {
      await server.close()
    }
  })

  for (const fault of BrokenServer.faults) {
    it(`finds and names ${fault}`, async () => {
      const server = await BrokenServer.start(fault)
      try {
        const report = await checkServer(server.url, { ...jobs, runs: 0, settleTimeout: 10_000 })
        expect(failing(report), Report.text(report)).toEqual(named[fault])
        // The failure shows the request that revealed it, as a replayable curl line.
        for (const c of report.checks.filter((c) => c.outcome === "fail")) expect([c.message, ...c.evidence].join("\n")).toMatch(/curl /)
      } finally {
        await server.close()
      }
    })
  }

  for (const fault of ["runAtCreationIgnored", "wrongStatus"] as const) {
    it(`the random client sequences find ${fault} too, shrunk to a short replayable list of requests`, async () => {
      const server = await BrokenServer.start(fault)
      try {
        const report = await checkServer(server.url, { ...jobs, only: [], runs: 100, seed: 7, settleTimeout: 10_000 })
        const p = report.property!
        expect(p.outcome, Report.text(report)).toBe("fail")
        expect(p.counterexample!.length).toBeGreaterThan(0)
        expect(p.counterexample!.length).toBeLessThanOrEqual(8)
        for (const line of p.counterexample!) expect(line).toMatch(/^curl /)
      } finally {
        await server.close()
      }
    })
  }
})
