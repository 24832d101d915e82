/** Blocked WAITs: each job's waiters, woken when this or another instance changes the job. */
import { Deferred, Duration, Effect, Exit, FiberId } from "effect"
import type { Clock } from "effect"
import type { UwsError } from "../Errors.js"
import type { Caller } from "../Identity.js"
import type { Job } from "../Job.js"
import * as Phases from "../Phase.js"
import type { WaitOptions } from "../Uws.js"

export interface Waiters {
  /**
   * Ends every WAIT blocked on the job. `job`: the job as the change stored it, which spares the
   * waiters a read; absent, they read it again (a change another instance made, a deletion).
   */
  readonly wake: (jobId: string, job?: Job) => void
  /** Ends every blocked WAIT (after a lost signal, nothing is known about what changed). */
  readonly wakeAll: () => void
  /**
   * Listens for the job's next change, from now: read the job after listening, so that no change
   * falls between the read and the wait.
   */
  readonly listen: (jobId: string) => Ticket
}

export interface Ticket {
  /**
   * The job as the change left it (undefined: read it again), "timedOut" after `ms`, or "ended"
   * when `until` completes first.
   */
  readonly changed: (ms: number, until?: Effect.Effect<void>) => Effect.Effect<Job | undefined | "timedOut" | "ended">
  /** Stops listening (idempotent). */
  readonly stop: () => void
}

export const makeWaiters = (clock: Clock.Clock): Waiters => {
  const waiters = new Map<string, Set<Deferred.Deferred<Job | undefined>>>()
  const wake = (jobId: string, job?: Job) => {
    const set = waiters.get(jobId)
    if (set !== undefined) {
      waiters.delete(jobId)
      const exit = Exit.succeed(job)
      for (const d of set) Deferred.unsafeDone(d, exit)
    }
  }
  const listen = (jobId: string): Ticket => {
    const changed = Deferred.unsafeMake<Job | undefined>(FiberId.none)
    let set = waiters.get(jobId)
    if (set === undefined) waiters.set(jobId, (set = new Set()))
    set.add(changed)
    return {
      // Interruptible even when the caller is not (HTTP apps run uninterruptibly): the losing
      // side of the race must be stopped at once.
      changed: (ms, until) => {
        const timedOut = Effect.as(clock.sleep(Duration.millis(ms)), "timedOut" as const)
        return Effect.interruptible(
          until === undefined
            ? Effect.raceFirst(Deferred.await(changed), timedOut)
            : Effect.raceAll<Effect.Effect<Job | undefined | "timedOut" | "ended">>([Deferred.await(changed), timedOut, Effect.as(until, "ended" as const)])
        )
      },
      stop: () => {
        const current = waiters.get(jobId)
        if (current === undefined) return
        current.delete(changed)
        if (current.size === 0) waiters.delete(jobId)
      }
    }
  }
  return {
    wake,
    wakeAll: () => {
      for (const jobId of [...waiters.keys()]) wake(jobId)
    },
    listen
  }
}

/** The UWS WAIT: blocks until the job's phase changes (or it is final), bounded by `maxWait`. */
export const makeWaitForChange = (deps: {
  readonly load: (caller: Caller, jobId: string) => Effect.Effect<Job, UwsError>
  /** The job, if the caller may see it. */
  readonly access: (caller: Caller, job: Job) => Effect.Effect<Job, UwsError>
  readonly now: Effect.Effect<number>
  readonly maxWait: number
  readonly waiters: Waiters
}) => {
  const { load, access, now, maxWait, waiters } = deps
  return (caller: Caller, jobId: string, wait: WaitOptions) => {
    let ticket: Ticket | undefined
    return Effect.gen(function* () {
      ticket = waiters.listen(jobId)
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
      // Clients read a return as "the phase changed" (UWS 1.1 §2.2.1.2): progress reports,
      // published results and parameter updates do not end a WAIT; `untilFinal` waits on
      // through the active phases.
      const ends = (j: Job) => (wait.untilFinal === true ? !blocks(j) : j.phase !== phase)
      for (;;) {
        const left = deadline - (yield* now)
        if (left <= 0) return job
        const woken = yield* ticket.changed(left, wait.until)
        if (woken === "ended") return yield* load(caller, jobId)
        ticket.stop()
        ticket = waiters.listen(jobId)
        // The job as the change stored it ends the wait without a read; a change that does not
        // end it is read again, after listening anew, so that none in between is slept through.
        if (woken !== undefined && woken !== "timedOut") {
          const known = yield* access(caller, woken)
          if (ends(known)) return known
        }
        job = yield* load(caller, jobId)
        if (ends(job)) return job
      }
    }).pipe(Effect.ensuring(Effect.sync(() => ticket?.stop())))
  }
}
