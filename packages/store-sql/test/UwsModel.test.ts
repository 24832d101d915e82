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
  operation,
  policies,
  propertyRuns,
  stepAgainstModel,
  type Operation
} from "@uws-kit/core/testing"
import { Effect, TestContext } from "effect"
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

const step = (uws: Uws.UwsService, model: Model, control: ReturnType<typeof controlledWorker>, op: Operation) =>
  Effect.map(stepAgainstModel(uws, model, control, op), (difference) => expect(difference).toBeUndefined())

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
