/**
 * Model-based tests of the Uws service: random sequences of client operations, application
 * completions and failures and clock jumps (Effect's TestClock), compared after every step with
 * the reference model of `@uws-kit/core/testing`.
 */
import { Effect, Either, Fiber, Layer, Stream, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Identity, Job as Jobs, JobStore, Phase, ResultStore, Uws } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import type { Policy } from "@uws-kit/core/Policy"
import {
  Model,
  allJobs,
  checkScenarios,
  controlledWorker,
  converge,
  modelOutcome,
  policies,
  describeOperation,
  operation,
  propertyRuns,
  runAgainstModel,
  scenarios,
  serviceDriver,
  stepAgainstModel,
  type ClientOperation,
  type Operation
} from "@uws-kit/core/testing"


const stores = Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)

/**
 * The memory store answers synchronously, so concurrent requests would never interleave
 * between a read and its compare-and-set. This store yields before every operation, as a
 * networked store does, so they do.
 */
const yieldingStores = Layer.merge(
  Layer.sync(JobStore.JobStore, () => {
    const inner = JobStore.makeMemory()
    const yielding = <Args extends ReadonlyArray<unknown>, A, E>(f: (...args: Args) => Effect.Effect<A, E>) =>
      (...args: Args) => Effect.zipRight(Effect.yieldNow(), f(...args))
    return {
      get: yielding(inner.get),
      insert: yielding(inner.insert),
      update: yielding(inner.update),
      remove: yielding(inner.remove),
      list: yielding(inner.list),
      count: yielding(inner.count),
      nextDeadline: yielding(inner.nextDeadline),
      due: yielding(inner.due)
    }
  }),
  ResultStore.layerMemory
)

interface Harness {
  readonly uws: Uws.UwsService
  model: Model
  readonly control: ReturnType<typeof controlledWorker>
  /** The last state seen of every job, to check that nothing moves backwards. */
  readonly seen: Map<string, Job>
  readonly results: ResultStore.ResultStoreService
}

/** Lets the service catch up with the model, which then becomes the reference. */
const settle = (h: Harness) => converge(h.uws, h.model)

/** Undefined when the service's jobs equal the model's; else a description of the first difference. */
const agrees = (h: Harness, model: Model = h.model) => Effect.map(allJobs(h.uws), (jobs) => model.differences(jobs))

/** Invariants over one job's history: edges, timestamps, results. */
const checkInvariants = (h: Pick<Harness, "uws" | "seen" | "results" | "model">) =>
  Effect.gen(function* () {
    // A destroyed job is gone with its results; archiving drops them unless policy keeps them.
    for (const jobId of h.seen.keys()) {
      const m = h.model.job(jobId)
      const stored = yield* Effect.orDie(h.results.get(jobId, "results/out"))
      if (m === undefined || !m.finalResult) expect(stored, `contents of ${jobId}`).toBeUndefined()
      else expect(stored?.size).toBeGreaterThan(0)
    }
    for (const job of yield* allJobs(h.uws)) {
      const before = h.seen.get(job.jobId)
      if (before !== undefined) {
        expect(job.version).toBeGreaterThanOrEqual(before.version)
        for (const key of ["startTime", "endTime"] as const) {
          if (before[key] !== null && job[key] !== null) expect(job[key]).toBeGreaterThanOrEqual(before[key]!)
        }
        if (Phase.isFinal(before.phase)) expect(Phase.isFinal(job.phase)).toBe(true)
      }
      if (job.phase === "EXECUTING" || job.phase === "SUSPENDED") expect(job.startTime).not.toBeNull()
      if (job.phase === "PENDING" || job.phase === "QUEUED") expect(job.startTime).toBeNull()
      if (Phase.isFinal(job.phase) && job.phase !== "ARCHIVED") expect(job.endTime).not.toBeNull()
      // Results appear only once a job runs (published while EXECUTING, or at the end).
      if (job.phase === "PENDING" || job.phase === "QUEUED" || job.phase === "HELD") expect(job.results).toEqual([])
      h.seen.set(job.jobId, job)
    }
  })

const step = (h: Harness, op: Operation) =>
  Effect.map(stepAgainstModel(h.uws, h.model, h.control, op), (difference) => expect(difference).toBeUndefined())

const permutations = <A>(xs: ReadonlyArray<A>): ReadonlyArray<ReadonlyArray<A>> =>
  xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]))

/**
 * Sends a batch of client operations concurrently. The service must behave as if it had
 * handled them one at a time in some order: some serial order of the batch, applied to the
 * model, must give the same answers and the same final state.
 */
const concurrentStep = (h: Harness, batch: ReadonlyArray<ClientOperation>) =>
  Effect.gen(function* () {
    const targets = batch.map((op) => ("target" in op ? h.model.resolve(op.target) : undefined))
    const driver = serviceDriver(h.uws)
    const answers = yield* Effect.all(
      batch.map((op, i) => Effect.map(driver.send(op, { target: targets[i], now: h.model.now, model: h.model }), (answer) => answer!)),
      { concurrency: "unbounded" }
    )
    for (let i = 0; i < 200; i++) yield* Effect.yieldNow()
    const tried: Array<string> = []
    // The dispatcher is a concurrent actor too: it may start jobs between any two requests.
    const settlings = Array.from({ length: 1 << batch.length }, (_, mask) => mask)
    for (const order of permutations(batch.map((_, i) => i))) {
      for (const mask of settlings) {
        const candidate = h.model.clone()
        const same = order.every((i, position) => {
          const op = batch[i]!
          if ("target" in op && targets[i] === undefined) return true
          const answer = JSON.stringify(modelOutcome(candidate, op, targets[i], answers[i]!.jobId)) === JSON.stringify(answers[i]!.got)
          if (mask & (1 << position)) candidate.settle()
          return answer
        })
        candidate.settle()
        const diff = same ? yield* agrees(h, candidate) : "answers differ"
        if (diff === undefined) {
          h.model = candidate
          return
        }
        tried.push(`${order.join(",")}/${mask}: ${diff}`)
      }
    }
    expect.fail(`no serial order explains [${batch.map(describeOperation).join(" ‖ ")}] → ${JSON.stringify(answers.map((a) => a.got))}; ${tried.join("; ")}`)
  })

/** The service driven directly, its invariants checked after every step. */
const runScenario = (ops: ReadonlyArray<Operation>, policy: Partial<Policy>) =>
  runAgainstModel(
    (uws) =>
      Effect.map(ResultStore.ResultStore, (results) => {
        const seen = new Map<string, Job>()
        return { ...serviceDriver(uws), afterStep: (model: Model) => checkInvariants({ uws, model, seen, results }) }
      }),
    ops,
    policy
  )

describe("Uws service against the reference model", () => {
  for (const [name, policy] of policies) {
    it(`agrees under ${name}`, () => checkScenarios(scenarios(40), (ops) => runScenario(ops, policy), propertyRuns(60)))
  }

  it("agrees on the stored-jobs limit: the fifth job is refused until one goes", async () => {
    const create = (id: string | null) => ({ _tag: "Create", caller: { id }, parameters: [], run: false }) as const
    await Effect.runPromise(
      runScenario(
        [create(null), create("alice"), create("bob"), create("alice"), create("bob"), create(null),
          { _tag: "Delete", caller: { id: "alice" }, target: { _tag: "Known", index: 1 } }, create("bob")],
        { maxStoredJobs: 4 }
      )
    )
  })

  it("a deleted job's stored results are deleted with it", async () => {
    const known = { _tag: "Known", index: 0 } as const
    await Effect.runPromise(
      runScenario(
        [
          { _tag: "Create", caller: { id: null }, parameters: [], run: true },
          { _tag: "Complete", target: known },
          { _tag: "Delete", caller: { id: null }, target: known },
          { _tag: "Get", caller: { id: null }, target: known }
        ],
        { concurrency: 1 }
      )
    )
  })

  it("an archived job's results go, or stay when the policy keeps them", async () => {
    const known = { _tag: "Known", index: 0 } as const
    for (const archivedResults of ["drop", "keep"] as const) {
      await Effect.runPromise(
        runScenario(
          [
            { _tag: "Create", caller: { id: null }, parameters: [], run: true, destructionIn: 60_000 },
            { _tag: "Complete", target: known },
            { _tag: "Advance", ms: 60_000 },
            { _tag: "Get", caller: { id: null }, target: known }
          ],
          { onDestruction: "archive", archivedResults }
        )
      )
    }
  })

  it("regression: a job aborted right after RUN never runs its application", async () => {
    await Effect.runPromise(
      runScenario(
        [
          { _tag: "Create", caller: { id: null }, parameters: [], run: true },
          { _tag: "Abort", caller: { id: null }, target: { _tag: "Known", index: 0 } },
          { _tag: "Complete", target: { _tag: "Known", index: 0 } }
        ],
        { concurrency: 1 }
      )
    )
  })
})

describe("interleaved concurrent requests", () => {
  const clientOp = operation().filter((op): op is ClientOperation => "caller" in op && op._tag !== "List")
  const batchOrStep = fc.oneof(
    { weight: 2, arbitrary: operation({ service: true, clock: true }).map((op) => ({ kind: "step" as const, op })) },
    {
      weight: 1,
      // Requests of a batch aim at one job, so that they race on it.
      arbitrary: fc.tuple(fc.array(clientOp, { minLength: 2, maxLength: 3 }), fc.nat({ max: 31 })).map(([batch, index]) => ({
        kind: "batch" as const,
        batch: batch.map((op) => ("target" in op ? { ...op, target: { _tag: "Known" as const, index } } : op))
      }))
    }
  )
  it("behave as some serial order of the same requests", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batchOrStep, { minLength: 1, maxLength: 20 }), (steps) =>
        Effect.runPromise(
          Effect.gen(function* () {
            const control = controlledWorker()
            let n = 0
            const policy: Partial<Policy> = { concurrency: 2, maxActiveJobsPerOwner: 4 }
            const uws = yield* Uws.make({ worker: control.worker, policy, makeJobId: () => `j${String(++n).padStart(3, "0")}` })
            const h: Harness = { uws, model: new Model(policy), control, seen: new Map(), results: yield* ResultStore.ResultStore }
            for (const s of steps) {
              if (s.kind === "step") {
                yield* step(h, s.op)
                yield* settle(h)
              } else yield* concurrentStep(h, s.batch)
              yield* checkInvariants(h)
            }
          }).pipe(Effect.scoped, Effect.provide(yieldingStores), Effect.provide(TestContext.TestContext))
        )
      ),
      { numRuns: propertyRuns(40) }
    )
  })
})

describe("concurrent requests on one job", () => {
  const race = (a: "run" | "abort" | "delete", b: "run" | "abort" | "delete") =>
    Effect.gen(function* () {
      const control = controlledWorker()
      const uws = yield* Uws.make({ worker: control.worker, policy: { concurrency: 1 } })
      const job = yield* uws.create(Identity.anonymous, {})
      const call = (op: typeof a) =>
        op === "delete" ? Effect.map(uws.delete(Identity.anonymous, job.jobId), () => "deleted") : Effect.map(uws[op](Identity.anonymous, job.jobId), (j) => j.phase)
      const fibers = yield* Effect.all([Effect.fork(Effect.either(call(a))), Effect.fork(Effect.either(call(b)))])
      const [ra, rb] = yield* Effect.all(fibers.map(Fiber.join))
      const final = yield* Effect.either(uws.get(Identity.anonymous, job.jobId))
      return {
        a: Either.isRight(ra!) ? ra.right : ra!.left._tag,
        b: Either.isRight(rb!) ? rb.right : rb!.left._tag,
        final: Either.isRight(final) ? final.right.phase : final.left._tag
      }
    }).pipe(Effect.scoped, Effect.provide(yieldingStores), Effect.provide(TestContext.TestContext))

  it("RUN and RUN: exactly one wins", async () => {
    const r = await Effect.runPromise(race("run", "run"))
    expect([r.a, r.b].filter((x) => x === "QUEUED")).toHaveLength(1)
    expect([r.a, r.b]).toContain("InvalidTransition")
  })

  it("RUN and ABORT: the outcome is one of the two serial orders", async () => {
    const r = await Effect.runPromise(race("run", "abort"))
    // RUN first: QUEUED then ABORTED (both succeed). ABORT first: RUN is refused.
    expect([JSON.stringify(r)]).toContainEqual(
      expect.stringMatching(/"a":"QUEUED","b":"ABORTED","final":"ABORTED"|"a":"InvalidTransition","b":"ABORTED","final":"ABORTED"/)
    )
  })

  it("ABORT and DELETE: the job is gone and no request saw a half-state", async () => {
    const r = await Effect.runPromise(race("abort", "delete"))
    expect(r.final).toBe("JobNotFound")
    expect(r.b).toBe("deleted")
    expect(["ABORTED", "JobNotFound"]).toContain(r.a)
  })
})

describe("blocking wait", () => {
  const withService = <A>(f: (uws: Uws.UwsService, control: ReturnType<typeof controlledWorker>) => Effect.Effect<A, unknown>) =>
    Effect.gen(function* () {
      const control = controlledWorker()
      const uws = yield* Uws.make({ worker: control.worker, maxWait: 30_000 })
      return yield* f(uws, control)
    }).pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))

  it("returns at once for a job in a final phase", async () => {
    const phase = await Effect.runPromise(
      withService((uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, {})
          yield* uws.abort(Identity.anonymous, job.jobId)
          return (yield* uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely" })).phase
        })
      )
    )
    expect(phase).toBe("ABORTED")
  })

  it("returns at once when the job is not in the PHASE guard's phase", async () => {
    const phase = await Effect.runPromise(
      withService((uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, {})
          return (yield* uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely", phase: "EXECUTING" })).phase
        })
      )
    )
    expect(phase).toBe("PENDING")
  })

  it("wakes on the change, without the clock moving", async () => {
    const phase = await Effect.runPromise(
      withService((uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, {})
          const waiting = yield* Effect.fork(uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely", phase: "PENDING" }))
          yield* Effect.yieldNow()
          yield* uws.abort(Identity.anonymous, job.jobId)
          return (yield* Fiber.join(waiting)).phase
        })
      )
    )
    expect(phase).toBe("ABORTED")
  })

  it("wakes on the change even when the caller runs uninterruptibly (as HTTP apps do)", async () => {
    const phase = await Effect.runPromise(
      withService((uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, {})
          const waiting = yield* Effect.fork(Effect.uninterruptible(uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "20 seconds" })))
          yield* Effect.yieldNow()
          yield* uws.abort(Identity.anonymous, job.jobId)
          // No clock move: a waiter that slept out its time-out would never answer.
          return (yield* Fiber.join(waiting)).phase
        })
      )
    )
    expect(phase).toBe("ABORTED")
  })

  it("with untilFinal, waits on through QUEUED and EXECUTING until the job ends", async () => {
    const phases = await Effect.runPromise(
      withService((uws, control) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, {})
          const waiting = yield* Effect.fork(uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely", untilFinal: true }))
          yield* uws.run(Identity.anonymous, job.jobId)
          for (let i = 0; i < 50 && !control.running.has(job.jobId); i++) yield* Effect.yieldNow()
          const early = yield* Fiber.poll(waiting)
          yield* control.complete(job.jobId)
          return [early._tag, (yield* Fiber.join(waiting)).phase]
        })
      )
    )
    expect(phases).toEqual(["None", "COMPLETED"])
  })

  it("answers the unchanged job at the time-out, and never waits past maxWait", async () => {
    const result = await Effect.runPromise(
      withService((uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, {})
          const waiting = yield* Effect.fork(uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely" }))
          yield* TestClock.adjust(29_999)
          const early = yield* Fiber.poll(waiting)
          yield* TestClock.adjust(1)
          const answered = yield* Fiber.join(waiting)
          return { early: early._tag, phase: answered.phase, version: answered.version - job.version }
        })
      )
    )
    expect(result).toEqual({ early: "None", phase: "PENDING", version: 0 })
  })
})

describe("a WAIT ends on a phase change only", () => {
  it("progress and published results do not end it (subscribers still see them); the phase change does", async () => {
    const { Worker } = await import("@uws-kit/core")
    const { Deferred, Queue } = await import("effect")
    const r = await Effect.runPromise(
      Effect.gen(function* () {
        const go = yield* Deferred.make<void>()
        const reported = yield* Deferred.make<void>()
        const finish = yield* Deferred.make<void>()
        const uws = yield* Uws.make({
          worker: Worker.make({
            name: "stepwise",
            run: (_job, ctx) =>
              Effect.gen(function* () {
                yield* Deferred.await(go)
                yield* ctx.reportProgress({ progress: "1/2" })
                yield* ctx.publishResult({ id: "part", mimeType: "text/plain", content: "first half" })
                yield* Deferred.succeed(reported, undefined)
                yield* Deferred.await(finish)
                return [{ id: "final", mimeType: "text/plain", content: "all" }]
              })
          })
        })
        const changes = yield* uws.subscribe
        const job = yield* uws.create(Identity.anonymous, { run: true })
        let now = yield* uws.get(Identity.anonymous, job.jobId)
        while (now.phase !== "EXECUTING") now = yield* uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely" })
        const waiting = yield* Effect.fork(uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely" }))
        const guarded = yield* Effect.fork(uws.waitForChange(Identity.anonymous, job.jobId, { timeout: "indefinitely", phase: "EXECUTING" }))
        yield* Effect.yieldNow()
        yield* Deferred.succeed(go, undefined)
        yield* Deferred.await(reported)
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        const early = [(yield* Fiber.poll(waiting))._tag, (yield* Fiber.poll(guarded))._tag]
        const midway = yield* uws.get(Identity.anonymous, job.jobId)
        yield* Deferred.succeed(finish, undefined)
        const ended = yield* Fiber.join(waiting)
        const guardEnded = yield* Fiber.join(guarded)
        const seen: Array<string> = []
        while (true) {
          const c = yield* Queue.poll(changes)
          if (c._tag === "None") break
          if (c.value.jobId === job.jobId && c.value.job !== undefined) seen.push(c.value.job.phase)
        }
        return {
          early,
          midway: { phase: midway.phase, results: midway.results.map((x) => x.id), jobInfo: midway.jobInfo },
          ended: { phase: ended.phase, results: ended.results.map((x) => x.id) },
          guardEnded: guardEnded.phase,
          progressSeen: seen.filter((p) => p === "EXECUTING").length
        }
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(r.early).toEqual(["None", "None"])
    expect(r.midway).toEqual({ phase: "EXECUTING", results: ["part"], jobInfo: { progress: "1/2" } })
    expect(r.ended).toEqual({ phase: "COMPLETED", results: ["part", "final"] })
    expect(r.guardEnded).toBe("COMPLETED")
    // START, the progress report and the published result: three changes in EXECUTING.
    expect(r.progressSeen).toBe(3)
  })
})

describe("parameter names and updates", () => {
  const strict = async () => {
    const { Worker } = await import("@uws-kit/core")
    return Worker.make({
      name: "tap-like",
      // An application that knows its parameters refuses others, whatever the policy allows.
      validate: (ps) => {
        const unknown = ps.find((p) => !["query", "lang", "maxrec", "upload", "table"].includes(p.name))
        return unknown === undefined ? { _tag: "Right", right: ps } : { _tag: "Left", left: `${unknown.name} is not a parameter of this service.` }
      },
      run: async () => []
    })
  }

  it("are case-insensitive: one parameter per name, shown in lower case, found in any case", async () => {
    const worker = await strict()
    const r = await Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker })
        const job = yield* uws.create(Identity.anonymous, {
          parameters: [{ name: "QUERY", value: "SELECT 1" }, { name: "Lang", value: "ADQL" }],
          uploads: [{ name: "Table", content: "a,b" }]
        })
        const updated = yield* uws.updateParameters(Identity.anonymous, job.jobId, [{ name: "query", value: "SELECT 2" }])
        const upload = yield* uws.upload(Identity.anonymous, job.jobId, "TABLE")
        const text = new TextDecoder().decode(Buffer.concat([...(yield* Stream.runCollect(upload.stream))]))
        return { created: job.parameters, updated: updated.parameters, query: Jobs.parameter(updated, "Query"), text }
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(r.created).toEqual([
      { name: "query", value: "SELECT 1" },
      { name: "lang", value: "ADQL" },
      { name: "table", value: "param:table", byReference: true }
    ])
    expect(r.updated).toEqual([
      { name: "query", value: "SELECT 2" },
      { name: "lang", value: "ADQL" },
      { name: "table", value: "param:table", byReference: true }
    ])
    expect(r.query).toBe("SELECT 2")
    expect(r.text).toBe("a,b")
  })

  it("a PENDING job takes new parameters, uploads and a runId; the application may refuse a name it does not know", async () => {
    const worker = await strict()
    const r = await Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker })
        const job = yield* uws.create(Identity.anonymous, { parameters: [{ name: "QUERY", value: "SELECT 1" }] })
        const added = yield* uws.updateParameters(Identity.anonymous, job.jobId, [{ name: "MAXREC", value: "10" }], [{ name: "t1", content: "x" }].map((u) => ({ ...u, name: "TABLE" })))
        const named = yield* uws.updateParameters(Identity.anonymous, job.jobId, [], [], { runId: "night-3" })
        const refused = yield* Effect.flip(uws.updateParameters(Identity.anonymous, job.jobId, [{ name: "COLOUR", value: "red" }]))
        const after = yield* uws.get(Identity.anonymous, job.jobId)
        return { added: added.parameters.map((p) => p.name), runId: named.runId, refused: [refused._tag, refused.message], version: after.version - named.version }
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(r.added).toEqual(["query", "maxrec", "table"])
    expect(r.runId).toBe("night-3")
    expect(r.refused[0]).toBe("InvalidParameter")
    expect(r.refused[1]).toContain("colour is not a parameter of this service.")
    expect(r.version).toBe(0)
  })

  it("a host may still forbid new names after creation (Policy.newParametersAfterCreation)", async () => {
    const refused = await Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker: controlledWorker().worker, policy: { newParametersAfterCreation: false } })
        const job = yield* uws.create(Identity.anonymous, { parameters: [{ name: "A", value: "1" }] })
        yield* uws.updateParameters(Identity.anonymous, job.jobId, [{ name: "a", value: "2" }])
        return yield* Effect.flip(uws.updateParameters(Identity.anonymous, job.jobId, [{ name: "B", value: "1" }]))
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(refused._tag).toBe("InvalidParameter")
  })
})

describe("ownership", () => {
  it("another owner can neither see nor change a job, and never finds it in a listing", async () => {
    const r = await Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker: controlledWorker().worker })
        const job = yield* uws.create(Identity.user("alice"), {})
        const get = yield* Effect.either(uws.get(Identity.user("bob"), job.jobId))
        const abort = yield* Effect.either(uws.abort(Identity.user("bob"), job.jobId))
        const listed = yield* uws.list(Identity.user("bob"), {})
        const anon = yield* Effect.either(uws.get(Identity.anonymous, job.jobId))
        const still = yield* uws.get(Identity.user("alice"), job.jobId)
        return { get: Either.isLeft(get) && get.left._tag, abort: Either.isLeft(abort) && abort.left._tag, listed: listed.jobs.length, anon: Either.isLeft(anon) && anon.left._tag, phase: still.phase, version: still.version }
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(r).toEqual({ get: "Forbidden", abort: "Forbidden", listed: 0, anon: "Forbidden", phase: "PENDING", version: 0 })
  })
})

describe("applications", () => {
  const run = <A>(worker: Parameters<typeof Uws.make>[0]["worker"], f: (uws: Uws.UwsService) => Effect.Effect<A, unknown>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker })
        return yield* f(uws)
      }).pipe(Effect.scoped, Effect.provide(stores))
    )

  const finished = (uws: Uws.UwsService, jobId: string) =>
    Effect.iterate(undefined as Job | undefined, {
      while: (j) => j === undefined || Phase.isActive(j.phase) || j.phase === "SUSPENDED",
      body: () => uws.waitForChange(Identity.anonymous, jobId, { timeout: "indefinitely" })
    })

  it("an async application's results are stored and served; progress lands in jobInfo", async () => {
    const { Worker } = await import("@uws-kit/core")
    const r = await run(
      Worker.make({
        name: "async",
        run: async (job, ctx) => {
          await ctx.progress({ progress: "0.5" })
          return [{ id: "answer", mimeType: "text/plain", content: `hello ${Jobs.parameter(job, "name")}` }]
        }
      }),
      (uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, { parameters: [{ name: "NAME", value: "world" }], run: true })
          const done = yield* finished(uws, job.jobId)
          const result = yield* uws.result(Identity.anonymous, job.jobId, "answer")
          const { Stream } = yield* Effect.promise(() => import("effect"))
          const chunks = yield* Stream.runCollect(result.content!.stream)
          const text = new TextDecoder().decode(Buffer.concat([...chunks]))
          return { phase: done!.phase, results: done!.results, jobInfo: done!.jobInfo, text }
        })
    )
    expect(r).toEqual({
      phase: "COMPLETED",
      results: [{ id: "answer", size: 11, mimeType: "text/plain" }],
      jobInfo: { progress: "0.5" },
      text: "hello world"
    })
  })

  it("a throwing application ends in ERROR with its message; a JobFailure keeps its type", async () => {
    const { Worker } = await import("@uws-kit/core")
    const r = await run(
      Worker.make({
        name: "failing",
        run: async (job) => {
          if (Jobs.parameter(job, "kind") === "transient") throw new Worker.JobFailure({ message: "archive offline", type: "transient" })
          throw new Error("division by zero")
        }
      }),
      (uws) =>
        Effect.gen(function* () {
          const a = yield* uws.create(Identity.anonymous, { run: true })
          const b = yield* uws.create(Identity.anonymous, { run: true, parameters: [{ name: "kind", value: "transient" }] })
          return [(yield* finished(uws, a.jobId))!.errorSummary, (yield* finished(uws, b.jobId))!.errorSummary]
        })
    )
    expect(r).toEqual([
      { type: "fatal", message: "division by zero", hasDetail: true },
      { type: "transient", message: "archive offline", hasDetail: true }
    ])
  })

  it("invalid parameters are refused, or make a job in ERROR when the application prefers", async () => {
    const { Worker } = await import("@uws-kit/core")
    const validate = (ps: ReadonlyArray<{ name: string; value: string }>) =>
      ps.some((p) => p.name.toLowerCase() === "n" && !/^\d+$/.test(p.value))
        ? { _tag: "Left" as const, left: "N must be a whole number, e.g. N=3." }
        : { _tag: "Right" as const, right: ps }
    const refused = await run(Worker.make({ name: "strict", validate, run: async () => [] }), (uws) =>
      Effect.flip(uws.create(Identity.anonymous, { parameters: [{ name: "N", value: "x" }] }))
    )
    expect(refused._tag).toBe("InvalidParameter")
    expect(refused.message).toContain("N must be a whole number")
    const errorJob = await run(Worker.make({ name: "lenient", validate, onInvalidParameters: "error-job", run: async () => [] }), (uws) =>
      uws.create(Identity.anonymous, { parameters: [{ name: "N", value: "x" }], run: true })
    )
    expect(errorJob.phase).toBe("ERROR")
    expect(errorJob.errorSummary?.message).toBe("N must be a whole number, e.g. N=3.")
  })

  it("an abort reaches an async application through its AbortSignal", async () => {
    const { Worker } = await import("@uws-kit/core")
    let aborted: (() => void) | undefined
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve))
    let started: (() => void) | undefined
    const didStart = new Promise<void>((resolve) => (started = resolve))
    const r = await run(
      Worker.make({
        name: "slow",
        run: (_job, ctx) =>
          new Promise((_resolve, reject) => {
            started!()
            ctx.signal.addEventListener("abort", () => {
              aborted!()
              reject(new Error("aborted"))
            })
          })
      }),
      (uws) =>
        Effect.gen(function* () {
          const job = yield* uws.create(Identity.anonymous, { run: true })
          yield* Effect.promise(() => didStart)
          yield* uws.abort(Identity.anonymous, job.jobId)
          yield* Effect.promise(() => sawAbort)
          return (yield* uws.get(Identity.anonymous, job.jobId)).phase
        })
    )
    expect(r).toBe("ABORTED")
  })
})

describe("interruption", () => {
  it("a client hanging up after a RUN was stored still gets its job dispatched", async () => {
    const phase = await Effect.runPromise(
      Effect.gen(function* () {
        const inner = JobStore.makeMemory()
        // A store that commits, then waits for an acknowledgement, as a SQL driver does.
        const slowAck: JobStore.JobStoreService = {
          ...inner,
          update: (job, expected, deadlines) => Effect.zipLeft(inner.update(job, expected, deadlines), Effect.sleep("50 millis"))
        }
        const control = controlledWorker()
        const uws = yield* Uws.make({ worker: control.worker }).pipe(Effect.provideService(JobStore.JobStore, slowAck))
        const job = yield* uws.create(Identity.anonymous, {})
        const request = yield* Effect.fork(uws.run(Identity.anonymous, job.jobId))
        yield* TestClock.adjust("20 millis")
        yield* Fiber.interruptFork(request)
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
        return (yield* uws.get(Identity.anonymous, job.jobId)).phase
      }).pipe(Effect.scoped, Effect.provide(ResultStore.layerMemory), Effect.provide(TestContext.TestContext))
    )
    expect(phase).toBe("EXECUTING")
  })
})

describe("parameter uploads", () => {
  it("an update's upload becomes the parameter's content; a refused update changes no content", async () => {
    const r = await Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker: controlledWorker().worker })
        const job = yield* uws.create(Identity.anonymous, { uploads: [{ name: "table", content: "v1", mimeType: "text/csv" }] })
        const read = (jobId: string) =>
          Effect.flatMap(uws.upload(Identity.anonymous, jobId, "TABLE"), (c) =>
            Effect.map(Stream.runCollect(c.stream), (chunks) => new TextDecoder().decode(Buffer.concat([...chunks])))
          )
        const first = yield* read(job.jobId)
        yield* uws.updateParameters(Identity.anonymous, job.jobId, [], [{ name: "table", content: "v2" }])
        const second = yield* read(job.jobId)
        yield* uws.run(Identity.anonymous, job.jobId)
        const refused = yield* Effect.flip(uws.updateParameters(Identity.anonymous, job.jobId, [], [{ name: "table", content: "v3" }]))
        const third = yield* read(job.jobId)
        return [first, second, refused._tag, third]
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(r).toEqual(["v1", "v2", "InvalidTransition", "v2"])
  })
})

describe("listing bounds", () => {
  it("never returns more than maxListedJobs at once, and the cursor reaches the rest", async () => {
    const r = await Effect.runPromise(
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker: controlledWorker().worker, policy: { maxListedJobs: 3 } })
        for (let i = 0; i < 7; i++) yield* uws.create(Identity.anonymous, {})
        const first = yield* uws.list(Identity.anonymous, {})
        const second = yield* uws.list(Identity.anonymous, { cursor: first.next! })
        const third = yield* uws.list(Identity.anonymous, { cursor: second.next! })
        return [first.jobs.length, second.jobs.length, third.jobs.length, third.next]
      }).pipe(Effect.scoped, Effect.provide(stores))
    )
    expect(r).toEqual([3, 3, 1, null])
  })
})

describe("hosts", () => {
  const withStores = <A>(f: (store: JobStore.JobStoreService) => Effect.Effect<A, unknown, import("effect").Scope.Scope | JobStore.JobStore | ResultStore.ResultStore>) => {
    const store = JobStore.makeMemory()
    return Effect.runPromise(f(store).pipe(Effect.scoped, Effect.provideService(JobStore.JobStore, store), Effect.provide(ResultStore.layerMemory)))
  }

  it("may choose a job's id; a taken or malformed one is refused", async () => {
    const r = await withStores(() =>
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker: controlledWorker().worker })
        const job = yield* uws.create(Identity.anonymous, { jobId: "container-1" })
        const taken = yield* Effect.flip(uws.create(Identity.anonymous, { jobId: "container-1" }))
        const bad = yield* Effect.flip(uws.create(Identity.anonymous, { jobId: "../etc" }))
        return [job.jobId, taken._tag, bad._tag]
      })
    )
    expect(r).toEqual(["container-1", "Conflict", "InvalidParameter"])
  })

  it("see every change, a destroyed job's last state included, from a subscription active at once", async () => {
    const r = await withStores(() =>
      Effect.gen(function* () {
        const uws = yield* Uws.make({ worker: controlledWorker().worker })
        const changes = yield* uws.subscribe
        const job = yield* uws.create(Identity.anonymous, { parameters: [{ name: "A", value: "1" }] })
        yield* uws.delete(Identity.anonymous, job.jobId)
        const seen = [yield* changes.take, yield* changes.take]
        return seen.map((c) => [c.job?.phase, c.previous?.phase, c.previous?.parameters.length])
      })
    )
    expect(r).toEqual([
      ["PENDING", undefined, undefined],
      [undefined, "PENDING", 1]
    ])
  })

  it("after a restart, jobs left EXECUTING end in ERROR, or run again when the application is restartable", async () => {
    for (const restartable of [false, true]) {
      const store = JobStore.makeMemory()
      const run = <A>(effect: Effect.Effect<A, unknown, import("effect").Scope.Scope | JobStore.JobStore | ResultStore.ResultStore>) =>
        Effect.runPromise(effect.pipe(Effect.scoped, Effect.provideService(JobStore.JobStore, store), Effect.provide(ResultStore.layerMemory)))
      const first = controlledWorker()
      const jobId = await run(
        Effect.gen(function* () {
          const uws = yield* Uws.make({ worker: first.worker })
          const job = yield* uws.create(Identity.anonymous, { run: true })
          for (let i = 0; i < 500 && !first.running.has(job.jobId); i++) yield* Effect.yieldNow()
          expect(first.running.has(job.jobId)).toBe(true)
          return job.jobId
        })
      ) // the scope closes: the service stops with the job EXECUTING in the store
      const second = controlledWorker()
      const after = await run(
        Effect.gen(function* () {
          const uws = yield* Uws.make({ worker: { ...second.worker, restartable } })
          for (let i = 0; i < 500 && !(second.running.has(jobId) || (yield* uws.get(Identity.anonymous, jobId)).phase === "ERROR"); i++) yield* Effect.yieldNow()
          return { ...(yield* uws.get(Identity.anonymous, jobId)), running: second.running.has(jobId) }
        })
      )
      if (restartable) {
        expect([after.phase, after.running]).toEqual(["EXECUTING", true])
      } else {
        expect(after.phase).toBe("ERROR")
        expect(after.errorSummary).toEqual({ type: "transient", message: "the service restarted while the job was executing; run a new job.", hasDetail: true })
      }
    }
  })
})
