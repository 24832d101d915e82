/** Blocked WAITs: each job's waiters, woken when this or another instance changes the job. */
import { Deferred, Duration, Effect, Exit, FiberId } from "effect"
import type { Clock } from "effect"
import type { UwsError } from "../Errors.js"
import type { Caller } from "../Identity.js"
import type { Job } from "../Job.js"
import type { JobStoreService } from "../JobStore.js"
import * as Phases from "../Phase.js"
import type { WaitOptions } from "../Uws.js"

export interface Waiters {
  /** Ends every WAIT blocked on the job (they re-read it). */
  readonly wake: (jobId: string) => void
  /** Ends every blocked WAIT (after a lost signal, nothing is known about what changed). */
  readonly wakeAll: () => void
  /** Blocks until the job's version moves past `version`, or `ms` pass; true when it moved. */
  readonly awaitChange: (jobId: string, version: number, ms: number) => Effect.Effect<boolean, UwsError>
}

export const makeWaiters = (store: JobStoreService, clock: Clock.Clock): Waiters => {
  const waiters = new Map<string, Set<Deferred.Deferred<void>>>()
  const wake = (jobId: string) => {
    const set = waiters.get(jobId)
    if (set !== undefined) {
      waiters.delete(jobId)
      for (const d of set) Deferred.unsafeDone(d, Exit.void)
    }
  }
  const awaitChange = (jobId: string, version: number, ms: number): Effect.Effect<boolean, UwsError> =>
    Effect.suspend(() => {
      const changed = Deferred.unsafeMake<void>(FiberId.none)
      let set = waiters.get(jobId)
      if (set === undefined) waiters.set(jobId, (set = new Set()))
      set.add(changed)
      const unregister = Effect.sync(() => {
        const current = waiters.get(jobId)
        current?.delete(changed)
        if (current?.size === 0) waiters.delete(jobId)
      })
      // A change between the caller's read and registering must not be slept through.
      return Effect.flatMap(store.get(jobId), (fresh) =>
        fresh === undefined || fresh.version !== version
          ? Effect.succeed(true)
          : // Interruptible even when the caller is not (HTTP apps run uninterruptibly): the
            // losing side of the race must be stopped at once.
            Effect.interruptible(
              Effect.raceFirst(Effect.as(Deferred.await(changed), true), Effect.as(clock.sleep(Duration.millis(ms)), false))
            )
      ).pipe(Effect.ensuring(unregister))
    })
  return {
    wake,
    wakeAll: () => {
      for (const jobId of [...waiters.keys()]) wake(jobId)
    },
    awaitChange
  }
}

/** The UWS WAIT: blocks until the job's phase changes (or it is final), bounded by `maxWait`. */
export const makeWaitForChange = (deps: {
  readonly load: (caller: Caller, jobId: string) => Effect.Effect<Job, UwsError>
  readonly now: Effect.Effect<number>
  readonly maxWait: number
  readonly waiters: Waiters
}) => {
  const { load, now, maxWait, waiters } = deps
  return (caller: Caller, jobId: string, wait: WaitOptions) =>
    Effect.gen(function* () {
      let job = yield* load(caller, jobId)
      const blocks = (j: Job) =>
        wait.untilFinal === true
          ? !Phases.isFinal(j.phase)
          : Phases.isActive(j.phase) && (wait.phase === undefined || j.phase === wait.phase)
      if (!blocks(job)) return job
      const limit =
        wait.timeout === "indefinitely" ? maxWait : Math.min(maxWait, Duration.toMillis(Duration.decode(wait.timeout)))
      if (!(limit > 0)) return job
      const deadline = (yield* now) + limit
      const phase = job.phase
      for (;;) {
        const left = deadline - (yield* now)
        if (left <= 0) return job
        yield* waiters.awaitChange(jobId, job.version, left)
        job = yield* load(caller, jobId)
        // Clients read a return as "the phase changed" (UWS 1.1 §2.2.1.2): progress reports,
        // published results and parameter updates do not end a WAIT; `untilFinal` waits on
        // through the active phases.
        if (wait.untilFinal === true ? !blocks(job) : job.phase !== phase) return job
      }
    })
}
