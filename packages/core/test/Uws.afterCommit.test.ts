/**
 * A change is stored, then its effects are carried out (src/internal/transact.ts). A defect in one
 * of them — here a host's dispatcher whose `offer` dies — neither fails the request that made the
 * change (it is stored: the caller gets it) nor stops the other effects (a blocked WAIT still
 * wakes), and a job the dispatcher could not take fails with the reason in its error summary
 * instead of staying QUEUED until a restart.
 */
import { Duration, Effect, Exit } from "effect"
import { expect, it } from "vitest"
import { Dispatcher, Identity, Uws, Worker } from "@uws-kit/core"

it("RUN through a dispatcher whose offer dies: RUN answered, a WAIT woken, the job ERROR with the reason, the service still serving", async () => {
  const inProcess = await Effect.runPromise(Dispatcher.makeInProcess())
  let offers = 0
  const broken: Dispatcher.DispatcherService = {
    ...inProcess,
    offer: () =>
      Effect.suspend(() => {
        offers++
        return Effect.die(new Error("the queue is on fire"))
      })
  }
  const { service, close } = await Uws.start({ worker: Worker.noop, dispatcher: broken })
  try {
    const caller = Identity.anonymous
    const job = await Effect.runPromise(service.create(caller, {}))
    const waiting = Effect.runPromise(service.waitForChange(caller, job.jobId, { timeout: Duration.seconds(20), phase: "PENDING" }))
    // The WAIT blocks first (it listens, then reads the job).
    await new Promise((resolve) => setTimeout(resolve, 20))
    const ran = await Effect.runPromiseExit(service.run(caller, job.jobId))
    expect(Exit.isSuccess(ran), String(ran)).toBe(true)
    expect(Exit.isSuccess(ran) ? ran.value.phase : undefined).toBe("QUEUED")
    expect(offers).toBe(1)
    expect((await waiting).phase).not.toBe("PENDING")
    const after = await Effect.runPromise(service.get(caller, job.jobId))
    expect(after.phase).toBe("ERROR")
    expect(after.errorSummary?.message).toContain("could not be queued for execution")
    // The service goes on: another job is created and read.
    const other = await Effect.runPromise(service.create(caller, {}))
    expect((await Effect.runPromise(service.get(caller, other.jobId))).phase).toBe("PENDING")
  } finally {
    await close()
  }
})
