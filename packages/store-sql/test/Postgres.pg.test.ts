import { PgClient } from "@effect/sql-pg"
import type { Job } from "@uws-kit/core"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Effect, Fiber, Redacted, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { testSqlStores } from "./conformance.js"
import { makePgDatabase } from "./databases.js"

describe("PostgreSQL", () => testSqlStores("PostgreSQL (a database of its own)", makePgDatabase))

describe("PostgreSQL migrations", () => {
  // Regression: three demo instances started together against a new database all raced to create
  // the migrations table, and two failed to start ("migrating the database failed").
  it("let several instances start together against a new database", async () => {
    const { url, drop } = await makePgDatabase()
    try {
      const opened = await Promise.allSettled(Array.from({ length: 6 }, () => SqlDatabase.open(url)))
      const failures = opened.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []))
      for (const o of opened) if (o.status === "fulfilled") await o.value.close()
      expect(failures).toEqual([])
    } finally {
      await drop()
    }
  })
})

describe("PostgreSQL announcements", () => {
  // Other instances learn of changes from these (WAIT wakes, queued jobs, deadlines): each
  // committed write is announced once, by its writer, and one job's changes in their order,
  // however many writers share a statement.
  it("announces every committed change once, each job's in order, and nothing for a lost compare-and-set", async () => {
    const { url, drop } = await makePgDatabase()
    const writer = await SqlDatabase.open(url, { instanceId: "writer" })
    try {
      const heard: Array<string> = []
      const fiber = Effect.runFork(
        Effect.flatMap(PgClient.PgClient, (pg) => Stream.runForEach(pg.listen("uws_kit"), (payload) => Effect.sync(() => heard.push(payload)))).pipe(
          Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
        )
      )
      await new Promise((resolve) => setTimeout(resolve, 300))
      const store = writer.jobStore("announced")
      const none = { destruction: null, execution: null }
      const job = (i: number): Job.Job => ({
        jobId: `j${i}`, runId: null, ownerId: null, quote: null, creationTime: i, startTime: null, endTime: null,
        executionDuration: 0, destruction: null, parameters: [], results: [], errorSummary: null, jobInfo: null,
        phase: "PENDING", version: 0
      })
      const phases = ["QUEUED", "EXECUTING", "COMPLETED"] as const
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await Effect.runPromise(store.insert(job(i), none))
          for (const [v, phase] of phases.entries()) {
            await Effect.runPromise(store.update({ ...job(i), phase, version: v + 1 }, v, { destruction: null, execution: 1000 + v }))
          }
        })
      )
      const lost = await Effect.runPromise(Effect.either(store.update({ ...job(0), phase: "ERROR", version: 9 }, 0, none)))
      expect(lost._tag).toBe("Left")
      await Effect.runPromise(store.remove("j1", 3))
      await new Promise((resolve) => setTimeout(resolve, 500))
      Effect.runFork(Fiber.interrupt(fiber))
      const jobs = heard.filter((p) => p.startsWith("J\tannounced\t")).map((p) => p.split("\t"))
      expect(jobs).toHaveLength(20 * 4 + 1)
      for (let i = 0; i < 20; i++) {
        const mine = jobs.filter((f) => f[2] === `j${i}`)
        expect(mine.map((f) => f[3])).toEqual(["PENDING", ...phases, ...(i === 1 ? [""] : [])])
        expect(mine.every((f) => f[6] === "writer")).toBe(true)
      }
      expect(jobs.find((f) => f[2] === "j5" && f[3] === "COMPLETED")?.[5]).toBe("1002")
    } finally {
      await writer.close()
      await drop()
    }
  })
})
