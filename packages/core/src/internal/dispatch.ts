/**
 * The runs: one fiber claims queued jobs from the dispatcher (which bounds how many are held to
 * `policy.concurrency`) and forks a run for each, which STARTs the job, runs the application
 * until it ends, the job is cancelled or the claim is lost, and lets go of the claim.
 *
 * One claimer forking runs, rather than `concurrency` slot fibers each forking and awaiting a
 * run: a run is one fiber and no await, the job's only per-run fiber being the one a cancel
 * interrupts.
 */
import { Effect, Fiber } from "effect"
import type { Scope } from "effect"
import type { Claim } from "../Dispatcher.js"
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

  /**
   * Another run is starting or running this job (it was queued twice, e.g. RUN after HOLD):
   * only a job still QUEUED needs another go once that run has let go of it.
   */
  const again = (jobId: string): Effect.Effect<void> =>
    Effect.flatMap(Effect.orElseSucceed(store.get(jobId), () => undefined), (job) =>
      job?.phase === "QUEUED" ? Effect.zipRight(Effect.yieldNow(), dispatcher.offer(jobId)) : Effect.void
    )

  /** A claimed job's run, in its own fiber (`entry.fiber`); a lost claim (another instance may be recovering the job) stops it. */
  const run = (claim: Claim, entry: Run): Effect.Effect<void> => {
    const jobId = claim.jobId
    const started = Effect.matchEffect(transact.system(jobId, "START", transact.at("START"), runs.queued.take(jobId)), {
      onFailure: () => Effect.void, // aborted, held or destroyed while queued
      // Cancelled between START and here (the fiber was not known yet): the change that
      // cancelled it has already moved the job on.
      onSuccess: (d) =>
        entry.cancelled ? Effect.void : claim.lost === Effect.never ? execute(d.job) : Effect.raceFirst(execute(d.job), claim.lost)
    })
    return Effect.ensuring(
      started,
      Effect.suspend(() => {
        if (running.get(jobId) === entry) running.delete(jobId)
        return claim.release
      })
    )
  }

  const claimer = Effect.forever(
    Effect.flatMap(dispatcher.claim(policy.concurrency), (claim) => {
      if (running.has(claim.jobId)) return Effect.fork(Effect.ensuring(again(claim.jobId), claim.release))
      // Registered before the run starts, so that a cancel landing before START is seen.
      const entry: Run = { fiber: undefined, cancelled: false }
      running.set(claim.jobId, entry)
      return Effect.map(Effect.fork(run(claim, entry)), (fiber) => {
        entry.fiber = fiber
      })
    })
  )
  return Effect.zipRight(
    Effect.forkScoped(claimer),
    Effect.addFinalizer(() =>
      Effect.forEach([...running.values()], (r) => (r.fiber === undefined ? Effect.void : Fiber.interrupt(r.fiber)), { discard: true })
    )
  )
}
