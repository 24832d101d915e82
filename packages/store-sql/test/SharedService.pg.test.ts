/**
 * Two instances of one service on one PostgreSQL database, in one process (each with its own
 * connections and instance id): recovery of a stopped instance's jobs per policy, WAITs woken by
 * the other instance's changes (also after the LISTEN connection was cut), an ABORT on one
 * instance stopping the run on the other, and deadlines enforced once.
 */
import { Identity, Uws, Worker, type Job } from "@uws-kit/core"
import { SqlDatabase } from "@uws-kit/store-sql"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshList, makePgDatabase } from "./databases.js"

const caller = Identity.anonymous
const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>)

/** Never finishes on its own; stops when aborted. */
const hanging = (name: string, restartable: boolean, started: Array<string>) =>
  Worker.make({
    name,
    restartable,
    run: (job, context) =>
      new Promise((_resolve, reject) => {
        started.push(job.jobId)
        context.signal.addEventListener("abort", () => reject(new Error("aborted")))
      })
  })

describe("several instances on one PostgreSQL database", () => {
  let url = ""
  let drop = async () => {}
  const toClose: Array<() => Promise<void>> = []
  beforeAll(async () => {
    const made = await makePgDatabase()
    url = made.url
    drop = made.drop
  })
  afterAll(async () => {
    for (const close of toClose.reverse()) await close().catch(() => undefined)
    await drop()
  })

  const instance = async (list: string, worker: Worker.Worker, options: { readonly lease?: number } = {}) => {
    const db = await SqlDatabase.open(url)
    const started = await Uws.start({
      worker,
      jobStore: db.jobStore(list),
      resultStore: db.resultStore(list),
      dispatcher: db.dispatcher(list, { leaseMillis: options.lease ?? 600, pollMillis: 200, heartbeatMillis: 300 })!
    })
    const close = async () => {
      await started.close()
      await db.close()
    }
    toClose.push(close)
    // `crash`: the database connections go as a killed process's would; nothing is released.
    return { service: started.service, db, close, crash: () => db.close() }
  }

  const untilPhase = async (service: Uws.UwsService, jobId: string, phases: ReadonlyArray<string>): Promise<Job.Job> => {
    for (;;) {
      const job = await run(service.get(caller, jobId))
      if (phases.includes(job.phase)) return job
      await run(service.waitForChange(caller, jobId, { timeout: "2 seconds" }))
    }
  }

  for (const restartable of [false, true]) {
    it(`an instance that stops: its running job is ${restartable ? "run again by another" : "put in ERROR by another"}`, async () => {
      const list = freshList()
      const startedOnA: Array<string> = []
      const a = await instance(list, hanging("a", restartable, startedOnA))
      const job = await run(a.service.create(caller, { run: true }))
      await untilPhase(a.service, job.jobId, ["EXECUTING"])
      const b = await instance(
        list,
        Worker.make({ name: "b", restartable, run: () => Effect.succeed([{ id: "out", content: "done on b" }]) })
      )
      // b leaves a's live job alone, at start and after.
      expect((await run(b.service.get(caller, job.jobId))).phase).toBe("EXECUTING")
      await a.crash()
      const after = await untilPhase(b.service, job.jobId, ["ERROR", "COMPLETED"])
      if (restartable) {
        expect(after.phase).toBe("COMPLETED")
        expect(after.results.map((r) => r.id)).toEqual(["out"])
      } else {
        expect(after.phase).toBe("ERROR")
        expect(after.errorSummary?.message).toBe("the instance running this job stopped; run a new job.")
      }
      expect(startedOnA).toEqual([job.jobId])
    })
  }

  it("a WAIT on one instance returns when the other changes the job's phase, also after its LISTEN connection was cut", async () => {
    const list = freshList()
    const a = await instance(list, Worker.noop)
    const b = await instance(list, Worker.noop)
    // A WAIT ends on a phase change (not on other changes), so b aborts the PENDING job.
    const job = await run(a.service.create(caller, {}))
    const waiting = run(a.service.waitForChange(caller, job.jobId, { timeout: "30 seconds" }))
    await new Promise((r) => setTimeout(r, 100))
    await run(b.service.abort(caller, job.jobId))
    expect((await waiting).phase).toBe("ABORTED")

    // Cut a's LISTEN connection (as a network failure would); b changes another job meanwhile.
    const second = await run(a.service.create(caller, {}))
    await a.db.run(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND application_name = ${a.db.instanceId}`))
    const again = run(a.service.waitForChange(caller, second.jobId, { timeout: "30 seconds" }))
    await run(b.service.abort(caller, second.jobId))
    expect((await again).phase).toBe("ABORTED")
  })

  it("an ABORT sent to one instance stops the run on the other", async () => {
    const list = freshList()
    const startedOnA: Array<string> = []
    const a = await instance(list, hanging("a", false, startedOnA), { lease: 5_000 })
    const job = await run(a.service.create(caller, { run: true }))
    await untilPhase(a.service, job.jobId, ["EXECUTING"])
    const b = await instance(list, Worker.noop, { lease: 5_000 })
    await run(b.service.abort(caller, job.jobId))
    // a lets go of the job: its lease is released, so the lease table empties.
    for (;;) {
      const rows = await a.db.run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT job_id FROM uws_leases WHERE list = ${list}`))
      if (rows.length === 0) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect((await run(a.service.get(caller, job.jobId))).phase).toBe("ABORTED")
  })

  it("a destruction deadline is enforced once: both instances see it due, one wins the compare-and-set", async () => {
    const list = freshList()
    const a = await instance(list, Worker.noop)
    const b = await instance(list, Worker.noop)
    const seen: Array<string> = []
    const watch = (name: string, service: Uws.UwsService) =>
      Effect.runFork(
        Effect.scoped(
          Effect.flatMap(service.subscribe, (q) =>
            Effect.forever(Effect.flatMap(q.take, (c) => Effect.sync(() => (c.job === undefined ? seen.push(`${name}:${c.jobId}`) : undefined))))
          )
        )
      )
    const fa = watch("a", a.service)
    const fb = watch("b", b.service)
    const jobs = await Promise.all(Array.from({ length: 10 }, () => run(a.service.create(caller, { destruction: Date.now() + 1_500 }))))
    for (const job of jobs) {
      for (;;) {
        const gone = await run(Effect.either(b.service.get(caller, job.jobId)))
        if (gone._tag === "Left") break
        await run(Effect.either(b.service.waitForChange(caller, job.jobId, { timeout: "2 seconds" })))
      }
    }
    await new Promise((r) => setTimeout(r, 300))
    // Each job destroyed exactly once, by whichever instance won.
    for (const job of jobs) expect(seen.filter((s) => s.endsWith(`:${job.jobId}`))).toHaveLength(1)
    await Effect.runPromise(fa.interruptAsFork(fa.id()))
    await Effect.runPromise(fb.interruptAsFork(fb.id()))
  })
})
