/**
 * The slots: `policy.concurrency` fibers that claim queued jobs from the dispatcher, START them
 * and run the application until it ends, the job is cancelled or the claim is lost.
 */
import { Effect, Fiber } from "effect"
import type { Scope } from "effect"
import type { Job } from "../Job.js"
import type { Run, Runs } from "./runs.js"
import type { Transact } from "./transact.js"
import type { Services } from "./services.js"

export const startSlots = (deps: Pick<Services, "store" | "dispatcher" | "policy"> & {
  readonly runs: Runs
  readonly transact: Transact
  readonly execute: (job: Job) => Effect.Effect<void>
}): Effect.Effect<void, never, Scope.Scope> => {
  const { store, dispatcher, policy, runs, transact, execute } = deps
  const { running } = runs

  /** Runs a claimed job; a lost claim (another instance may be recovering it) stops the run. */
  const startJob = (jobId: string, lost: Effect.Effect<void> = Effect.never): Effect.Effect<void> => {
    if (running.has(jobId)) {
      // Another slot is starting or running this job (it was queued twice, e.g. RUN after
      // HOLD): only a job still QUEUED needs another go once that slot has let go of it.
      return Effect.flatMap(Effect.orElseSucceed(store.get(jobId), () => undefined), (job) =>
        job?.phase === "QUEUED" ? Effect.zipRight(Effect.yieldNow(), dispatcher.offer(jobId)) : Effect.void
      )
    }
    // Registered before START, so that a cancel landing between START and the fork is seen.
    const entry: Run = { fiber: undefined, cancelled: false }
    running.set(jobId, entry)
    const release = Effect.sync(() => {
      if (running.get(jobId) === entry) running.delete(jobId)
    })
    return Effect.matchEffect(transact.system(jobId, "START", transact.at("START"), runs.queued.take(jobId)), {
      onFailure: () => release, // aborted, held or destroyed while queued
      onSuccess: (started) =>
        Effect.flatMap(Effect.fork(execute(started.job)), (fiber) => {
          entry.fiber = fiber
          // The in-process dispatcher's claims are never lost: racing its `Effect.never` cost two
          // fibers a run for nothing.
          const ended = lost === Effect.never ? Fiber.await(fiber) : Effect.raceFirst(Fiber.await(fiber), Effect.zipRight(lost, Fiber.interrupt(fiber)))
          const done = Effect.zipRight(ended, release)
          return entry.cancelled ? Effect.zipRight(Fiber.interruptFork(fiber), done) : done
        })
    })
  }

  const slot = Effect.forever(
    Effect.flatMap(dispatcher.claim(policy.concurrency), (claim) => Effect.ensuring(startJob(claim.jobId, claim.lost), claim.release))
  )
  return Effect.zipRight(
    Effect.forkScoped(Effect.all(Array.from({ length: policy.concurrency }, () => slot), { concurrency: "unbounded" })),
    Effect.addFinalizer(() =>
      Effect.forEach([...running.values()], (r) => (r.fiber === undefined ? Effect.void : Fiber.interrupt(r.fiber)), { discard: true })
    )
  )
}
