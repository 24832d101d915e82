/**
 * PostgreSQL's batched writes (src/internal/batch.ts): concurrent inserts and compare-and-sets go
 * together in multi-row statements, and each writer still gets its own row's answer: a taken id
 * or a lost race fails that writer alone, and a write the database refuses fails alone too.
 */
import type { Job } from "@uws-kit/core/Job"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Effect } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshList, makePgDatabase } from "./databases.js"
import { testJob } from "@uws-kit/core/testing"

const job = (jobId: string, version: number, phase: Job["phase"] = "PENDING"): Job => testJob({ jobId, creationTime: 1_700_000_000_000, phase, version })
const noDeadlines = { destruction: null, execution: null }

describe("PostgreSQL batched writes", () => {
  let pg: Awaited<ReturnType<typeof makePgDatabase>>
  let db: SqlDatabase.Database
  beforeAll(async () => {
    pg = await makePgDatabase()
    db = await SqlDatabase.open(pg.url)
  })
  afterAll(async () => {
    await db?.close()
    await pg?.drop()
  })

  it("answers each of many concurrent inserts, a taken id with Conflict", async () => {
    const store = db.jobStore(freshList())
    await Effect.runPromise(store.insert(job("taken", 0), noDeadlines))
    const failedOf = async (ids: ReadonlyArray<string>) => {
      const outcomes = await Effect.runPromise(
        Effect.forEach(ids, (id) => Effect.either(store.insert(job(id, 0), noDeadlines)), { concurrency: "unbounded" })
      )
      return ids.filter((_, i) => outcomes[i]!._tag === "Left").sort()
    }
    expect(await failedOf([...Array.from({ length: 40 }, (_, i) => `a${i}`), "taken"])).toEqual(["taken"])
    // One id twice in a batch: one insert wins, the other finds the id taken.
    expect(await failedOf([...Array.from({ length: 10 }, (_, i) => `b${i}`), "b7"])).toEqual(["b7"])
    const page = await Effect.runPromise(store.list({ phases: ["PENDING"] }))
    expect(page.jobs.length).toBe(51)
  })

  it("lets exactly one of the racing compare-and-sets on a job win, whatever the batch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 30 }), async (racers) => {
        const store = db.jobStore(freshList())
        await Effect.runPromise(Effect.forEach(racers, (_, k) => store.insert(job(`j${k}`, 0), noDeadlines), { concurrency: "unbounded" }))
        // Job k gets racers[k] concurrent changes, all expecting version 0, each to its own phase.
        const phases = ["QUEUED", "HELD", "ABORTED"] as const
        const changes = racers.flatMap((n, k) => Array.from({ length: n }, (_, r) => ({ k, phase: phases[r]! })))
        const outcomes = await Effect.runPromise(
          Effect.forEach(changes, (c) => Effect.either(store.update(job(`j${c.k}`, 1, c.phase), 0, noDeadlines)), { concurrency: "unbounded" })
        )
        for (let k = 0; k < racers.length; k++) {
          const won = changes.flatMap((c, i) => (c.k === k && outcomes[i]!._tag === "Right" ? [c.phase] : []))
          expect(won.length).toBe(1)
          const lost = changes.flatMap((c, i) => (c.k === k && outcomes[i]!._tag === "Left" ? [outcomes[i]] : []))
          for (const o of lost) expect(o?._tag === "Left" && o.left._tag).toBe("Conflict")
          const stored = await Effect.runPromise(store.get(`j${k}`))
          expect({ phase: stored?.phase, version: stored?.version }).toEqual({ phase: won[0], version: 1 })
        }
      }),
      { numRuns: 25 }
    )
  })

  it("fails only the write the database refuses; the others of its batch are stored", async () => {
    const store = db.jobStore(freshList())
    await Effect.runPromise(Effect.forEach([0, 1, 2, 3, 4, 5], (k) => store.insert(job(`j${k}`, 0), noDeadlines)))
    const outcomes = await Effect.runPromise(
      Effect.forEach(
        [0, 1, 2, 3, 4, 5],
        // 2^70 does not fit the BIGINT deadline column: PostgreSQL refuses that row, and so the statement.
        (k) => Effect.either(store.update(job(`j${k}`, 1, "QUEUED"), 0, k === 3 ? { destruction: 2 ** 70, execution: null } : noDeadlines)),
        { concurrency: "unbounded" }
      )
    )
    expect(outcomes.map((o) => (o._tag === "Left" ? o.left._tag : "ok"))).toEqual(["ok", "ok", "ok", "StorageFailure", "ok", "ok"])
    const stored = await Effect.runPromise(Effect.forEach([0, 1, 2, 3, 4, 5], (k) => store.get(`j${k}`)))
    expect(stored.map((j) => j?.version)).toEqual([1, 1, 1, 0, 1, 1])
  })
})
