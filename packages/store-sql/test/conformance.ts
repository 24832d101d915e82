/** Runs both conformance suites, and the SQL store's own checks, against one driver. */
import { testJobStore } from "@uws-kit/core/JobStoreSuite"
import { testResultStore } from "@uws-kit/core/ResultStoreSuite"
import { SqlClient } from "@effect/sql"
import { Errors, JobStore, type Job as _Job } from "@uws-kit/core"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Effect, Either } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { freshList } from "./databases.js"

export const testSqlStores = (name: string, create: () => Promise<{ readonly url: string; readonly drop: () => Promise<void> }>) => {
  let db: SqlDatabase.Database
  let drop: () => Promise<void> = async () => {}
  let url = ""
  beforeAll(async () => {
    const made = await create()
    drop = made.drop
    url = made.url
    db = await SqlDatabase.open(url)
  })
  afterAll(async () => {
    await db?.close()
    await drop()
  })

  testJobStore({
    name,
    runs: 25,
    make: async () => db.jobStore(freshList()),
    additionalTests: () => {
      it("concurrent compare-and-sets at one version: exactly one wins, the others get Conflict", async () => {
        const store = db.jobStore(freshList())
        const job: _Job.Job = {
          jobId: "race", runId: null, ownerId: null, quote: null, creationTime: 1, startTime: null, endTime: null,
          executionDuration: 0, destruction: null, parameters: [], results: [], errorSummary: null, jobInfo: null,
          phase: "PENDING", version: 0
        }
        const none = { destruction: null, execution: null }
        await Effect.runPromise(store.insert(job, none))
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            Effect.runPromise(Effect.either(store.update({ ...job, runId: `r${i}`, version: 1 }, 0, none)))
          )
        )
        expect(outcomes.filter(Either.isRight)).toHaveLength(1)
        for (const o of outcomes.filter(Either.isLeft)) expect(o.left).toBeInstanceOf(Errors.Conflict)
      })

      it("a crafted cursor or AFTER far out of range answers like the memory store, never a storage failure", async () => {
        const sql = db.jobStore(freshList())
        const memory = JobStore.makeMemory()
        for (let i = 0; i < 5; i++) {
          const job: _Job.Job = {
            jobId: `j${i}`, runId: null, ownerId: null, quote: null, creationTime: 1000 + (i % 3), startTime: null, endTime: null,
            executionDuration: 0, destruction: null, parameters: [], results: [], errorSummary: null, jobInfo: null,
            phase: "PENDING", version: 0
          }
          for (const store of [sql, memory]) await Effect.runPromise(store.insert(job, { destruction: null, execution: null }))
        }
        const queries: Array<JobStore.ListQuery> = [
          { cursor: JobStore.Cursor.encode({ t: 1001.5, id: "zz", returned: 0 }), limit: 10 },
          { cursor: JobStore.Cursor.encode({ t: 1e300, id: "", returned: 0 }), limit: 10 },
          { cursor: JobStore.Cursor.encode({ t: -1e300, id: "", returned: 0 }), limit: 10 },
          { after: 1e300 },
          { after: -1e300 },
          { after: 1000.5 }
        ]
        for (const q of queries) {
          const ids = async (store: JobStore.JobStoreService) => (await Effect.runPromise(store.list(q))).jobs.map((j) => j.jobId)
          expect(await ids(sql)).toEqual(await ids(memory))
        }
        expect(await Effect.runPromise(sql.due("destruction", 1e300, 10))).toEqual([])
      })

      it("a second opening of the same database sees the jobs (durable), and does not migrate twice", async () => {
        const list = freshList()
        const job: _Job.Job = {
          jobId: "kept", runId: "é", ownerId: "alice", quote: null, creationTime: 5, startTime: null, endTime: null,
          executionDuration: 0, destruction: 99, parameters: [{ name: "A", value: "1" }], results: [], errorSummary: null,
          jobInfo: null, phase: "COMPLETED", version: 3
        }
        await Effect.runPromise(db.jobStore(list).insert(job, { destruction: 99, execution: null }))
        const again = await SqlDatabase.open(url)
        try {
          expect(await Effect.runPromise(again.jobStore(list).get("kept"))).toEqual(job)
          expect(await Effect.runPromise(again.jobStore(list).nextDeadline("destruction"))).toBe(99)
        } finally {
          await again.close()
        }
      })

      it("refuses a database written by a newer uws-kit, saying so", async () => {
        const other = await create()
        try {
          const first = await SqlDatabase.open(other.url)
          await first.run(
            Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO uws_kit_migrations (migration_id, name) VALUES (999, 'from_the_future')`)
          )
          await first.close()
          await expect(SqlDatabase.open(other.url)).rejects.toThrow(/schema version 999.*newer uws-kit/)
        } finally {
          await other.drop()
        }
      })
    }
  })

  testResultStore({ name, runs: 20, make: async () => db.resultStore(freshList()) })
}
