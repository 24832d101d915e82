/**
 * Lifecycle: which log events a change stands for (a table), and a real service's feed turned
 * into log lines (through a Logger layer) and metrics.
 */
import { Effect, HashMap, Logger, Metric } from "effect"
import { describe, expect, it } from "vitest"
import { Identity, Lifecycle, Uws, Worker } from "@uws-kit/core"
import { testJob } from "@uws-kit/core/testing"

describe("Lifecycle.eventsOf", () => {
  const running = testJob({ phase: "EXECUTING", startTime: 10, destruction: 1000 })
  it("tells a watchdog's TIMEOUT from a client's ABORT", () => {
    const timedOut = { ...running, phase: "ABORTED" as const, errorSummary: { type: "fatal" as const, message: "ran too long", hasDetail: true } }
    expect(Lifecycle.eventsOf({ jobId: "j1", job: timedOut, previous: running }, 50)).toEqual([
      { kind: "phase", job: timedOut, from: "EXECUTING", to: "ABORTED", reason: "execution duration exceeded", deadline: "executionDuration" }
    ])
    const aborted = { ...running, phase: "ABORTED" as const }
    expect(Lifecycle.eventsOf({ jobId: "j1", job: aborted, previous: running }, 50)).toEqual([{ kind: "phase", job: aborted, from: "EXECUTING", to: "ABORTED" }])
  })
  it("tells a reaped job from a deleted one", () => {
    expect(Lifecycle.eventsOf({ jobId: "j1", job: undefined, previous: running }, 1000)).toEqual([
      { kind: "destroyed", job: running, reason: "destruction time reached", deadline: "destruction" }
    ])
    expect(Lifecycle.eventsOf({ jobId: "j1", job: undefined, previous: running }, 999)).toEqual([{ kind: "destroyed", job: running, reason: "deleted" }])
  })
  it("says nothing for a change that keeps the phase", () => {
    expect(Lifecycle.eventsOf({ jobId: "j1", job: { ...running, jobInfo: null }, previous: running }, 50)).toEqual([])
  })
})

describe("Lifecycle.observe", () => {
  it("logs a real service's jobs with their fields and counts them by phase", async () => {
    const lines: Array<{ message: unknown; level: string; fields: Record<string, unknown> }> = []
    const capture = Logger.make(({ annotations, logLevel, message }) => {
      lines.push({ message: Array.isArray(message) ? message[0] : message, level: logLevel.label, fields: Object.fromEntries(HashMap.toEntries(annotations)) })
    })
    const fails = Worker.make({ name: "fails", run: () => Effect.die("boom") })
    const ok = await Uws.start({ worker: Worker.noop })
    const bad = await Uws.start({ worker: fails })
    const alice = Identity.user("alice")
    const client = Identity.anonymousAs("client:1")
    try {
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function*() {
            yield* Lifecycle.observe(ok.service, { service: "lc-noop" })
            yield* Lifecycle.observe(bad.service, { service: "lc-fails" })
            const job = yield* ok.service.create(alice, { run: true })
            yield* ok.service.waitForChange(alice, job.jobId, { timeout: "2 seconds", untilFinal: true })
            const b = yield* bad.service.create(client, { run: true })
            yield* bad.service.waitForChange(client, b.jobId, { timeout: "2 seconds", untilFinal: true })
            yield* ok.service.delete(alice, job.jobId)
            yield* Effect.sleep("100 millis")
          })
        ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      )
    } finally {
      await ok.close()
      await bad.close()
    }
    const of = (service: string) => lines.filter((l) => l.fields["service"] === service)
    expect(of("lc-noop").map((l) => [l.message, l.fields["from"], l.fields["to"]])).toEqual([
      ["job created", undefined, undefined],
      ["job phase changed", "PENDING", "QUEUED"],
      ["job phase changed", "QUEUED", "EXECUTING"],
      ["job phase changed", "EXECUTING", "COMPLETED"],
      ["job destroyed", undefined, undefined]
    ])
    expect(of("lc-noop")[0]!.fields["owner"]).toBe("alice")
    expect(of("lc-noop")[4]!.fields["reason"]).toBe("deleted")
    const error = of("lc-fails").find((l) => l.fields["to"] === "ERROR")!
    expect(error.fields["owner"]).toBe("client:1")
    expect(typeof error.fields["reason"]).toBe("string")
    const gauge = (service: string, phase: string) =>
      Effect.runSync(Metric.value(Metric.tagged(Metric.tagged(Lifecycle.metrics.jobs, "service", service), "phase", phase))).value
    expect(gauge("lc-fails", "ERROR")).toBe(1)
    expect(gauge("lc-noop", "COMPLETED")).toBe(0)
    const executed = Effect.runSync(Metric.value(Metric.tagged(Lifecycle.metrics.executionTime, "application", "lc-noop")))
    expect(executed.count).toBe(1)
  })

  it("counts blocking waits while they block", async () => {
    const slow = Worker.make({ name: "slow", run: () => Effect.never })
    const { service, close } = await Uws.start({ worker: slow })
    const counted = Lifecycle.instrument(service, "lc-wait")
    const waiters = Metric.tagged(Lifecycle.metrics.waiters, "service", "lc-wait")
    try {
      const job = await Effect.runPromise(counted.create(Identity.anonymous, {}))
      const wait = Effect.runPromise(counted.waitForChange(Identity.anonymous, job.jobId, { timeout: "300 millis", phase: job.phase }))
      await new Promise((r) => setTimeout(r, 50))
      expect(Effect.runSync(Metric.value(waiters)).value).toBe(1)
      await wait
      expect(Effect.runSync(Metric.value(waiters)).value).toBe(0)
    } finally {
      await close()
    }
  })
})
