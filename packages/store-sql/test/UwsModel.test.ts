/**
 * The core's model-based test of the Uws service (random client operations, application
 * completions and failures and clock jumps, compared after every step with the reference model
 * of `@uws-kit/core/testing`), with the jobs and results kept in SQLite.
 */
import { SqlDatabase } from "@uws-kit/store-sql"
import { JobStore, ResultStore, Uws } from "@uws-kit/core"
import type { Policy } from "@uws-kit/core/Policy"
import {
  Model,
  allJobs,
  controlledWorker,
  converge,
  describeOperation,
  operation,
  policies,
  propertyRuns,
  type Expected,
  type Operation
} from "@uws-kit/core/testing"
import { Effect, Either, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshList, makeSqliteFile } from "./databases.js"

let db: SqlDatabase.Database
let drop: () => Promise<void>
beforeAll(async () => {
  const file = await makeSqliteFile()
  drop = file.drop
  db = await SqlDatabase.open(file.url)
})
afterAll(async () => {
  await db.close()
  await drop()
})

const outcome = <A>(effect: Effect.Effect<A, { readonly _tag: string }>) =>
  Effect.map(Effect.either(effect), (e): Expected => (Either.isRight(e) ? { ok: true } : { ok: false, error: e.left._tag as never }))

const step = (uws: Uws.UwsService, model: Model, control: ReturnType<typeof controlledWorker>, op: Operation) =>
  Effect.gen(function* () {
    const target = "target" in op ? model.resolve(op.target) : undefined
    if ("target" in op && target === undefined) return
    const now = model.now
    let got: Expected
    let want: Expected
    switch (op._tag) {
      case "Create": {
        const created = yield* Effect.either(
          uws.create(op.caller, {
            parameters: op.parameters,
            run: op.run,
            ...(op.executionDuration === undefined ? {} : { executionDuration: op.executionDuration }),
            ...(op.destructionIn === undefined ? {} : { destruction: now + op.destructionIn })
          })
        )
        got = Either.isRight(created) ? { ok: true } : { ok: false, error: created.left._tag }
        want = model.create(op.caller, op, Either.isRight(created) ? created.right.jobId : undefined)
        break
      }
      case "Get":
        got = yield* outcome(uws.get(op.caller, target!))
        want = model.get(op.caller, target!)
        break
      case "Run":
        got = yield* outcome(uws.run(op.caller, target!))
        want = model.run(op.caller, target!)
        break
      case "Abort":
        got = yield* outcome(uws.abort(op.caller, target!))
        want = model.abort(op.caller, target!)
        break
      case "Delete":
        got = yield* outcome(uws.delete(op.caller, target!))
        want = model.delete(op.caller, target!)
        break
      case "SetDestruction":
        got = yield* outcome(uws.setDestruction(op.caller, target!, now + op.destructionIn))
        want = model.setDestruction(op.caller, target!, now + op.destructionIn)
        break
      case "SetExecutionDuration":
        got = yield* outcome(uws.setExecutionDuration(op.caller, target!, op.seconds))
        want = model.setExecutionDuration(op.caller, target!, op.seconds)
        break
      case "UpdateParameters":
        got = yield* outcome(uws.updateParameters(op.caller, target!, op.parameters))
        want = model.updateParameters(op.caller, target!, op.parameters)
        break
      case "List": {
        const query = {
          phases: op.phases,
          ...(op.afterIn === undefined ? {} : { after: now + op.afterIn }),
          ...(op.last === undefined ? {} : { last: op.last })
        }
        const page = yield* Effect.orDie(uws.list(op.caller, query))
        expect(page.jobs.map((j) => j.jobId)).toEqual(model.list(op.caller, query))
        return
      }
      case "Complete":
        expect(yield* control.complete(target!), describeOperation(op)).toBe(model.complete(target!).ok)
        return
      case "Fail":
        expect(yield* control.fail(target!, op.message), describeOperation(op)).toBe(model.fail(target!, op.message).ok)
        return
      case "Publish":
        expect(yield* control.publish(target!), describeOperation(op)).toBe(model.publish(target!).ok)
        return
      case "Advance":
        yield* TestClock.adjust(op.ms)
        model.advance(op.ms)
        return
    }
    expect(got, describeOperation(op)).toEqual(want)
  })

const runScenario = (ops: ReadonlyArray<Operation>, policy: Partial<Policy>) => {
  const list = freshList()
  return Effect.gen(function* () {
    const control = controlledWorker()
    let n = 0
    const uws = yield* Uws.make({ worker: control.worker, policy, makeJobId: () => `j${String(++n).padStart(3, "0")}` })
    const model = new Model(policy)
    for (const op of ops) {
      yield* step(uws, model, control, op)
      yield* converge(uws, model)
    }
    expect(model.differences(yield* allJobs(uws))).toBeUndefined()
  }).pipe(
    Effect.scoped,
    Effect.provideService(JobStore.JobStore, db.jobStore(list)),
    Effect.provideService(ResultStore.ResultStore, db.resultStore(list)),
    Effect.provide(TestContext.TestContext)
  )
}

describe("Uws service on the SQLite store against the reference model", () => {
  for (const [name, policy] of policies) {
    it(`agrees under ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation({ service: true, clock: true }), { minLength: 1, maxLength: 30 }), (ops) =>
          Effect.runPromise(runScenario(ops, policy))
        ),
        { numRuns: propertyRuns(15) }
      )
    })
  }
})
