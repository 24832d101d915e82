/** Blocked WAITs: each job's waiters, woken when this or another instance changes the job. */
import { Duration, Effect, Exit, FiberId } from "effect"
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
   * Answers whether a WAIT was blocked on it.
   */
  readonly wake: (jobId: string, job?: Job) => boolean
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

type Woken = Job | undefined | "timedOut" | "ended"

export const makeWaiters = (clock: Clock.Clock): Waiters => {
  // Each ticket's callback, not a Deferred awaited in a race: a woken WAIT resumes in one hop of
  // the scheduler, queued before what the same change set going (the change feed's subscribers,
  // the cancelled run's interruption), instead of a race's child, then its parent, then the
  // losers' interruption each queued behind them.
  const waiters = new Map<string, Set<(job: Job | undefined) => void>>()
  const wake = (jobId: string, job?: Job) => {
    const set = waiters.get(jobId)
    if (set !== undefined) {
      waiters.delete(jobId)
      for (const f of set) f(job)
      return true
    }
    return false
  }
  const listen = (jobId: string): Ticket => {
    /** A change heard before `changed` was called. */
    let heard: { readonly job: Job | undefined } | undefined
    /** Ends the wait in progress, if there is one. */
    let end: ((value: Woken) => void) | undefined
    const onChange = (job: Job | undefined) => {
      if (end !== undefined) end(job)
      else heard ??= { job }
    }
    let set = waiters.get(jobId)
    if (set === undefined) waiters.set(jobId, (set = new Set()))
    set.add(onChange)
    const stop = () => {
      const current = waiters.get(jobId)
      if (current === undefined) return
      current.delete(onChange)
      if (current.size === 0) waiters.delete(jobId)
    }
    return {
      changed: (ms, until) =>
        Effect.suspend(() => {
          if (heard !== undefined) return Effect.succeed<Woken>(heard.job)
          // The timer and `until` in fibers of their own, interruptible even when the caller is
          // not (HTTP apps run uninterruptibly): the losers are stopped at once, and not awaited.
          const timer = Effect.as(clock.sleep(Duration.millis(ms)), "timedOut" as const)
          const racers: Array<Effect.Effect<Woken>> = until === undefined ? [timer] : [timer, Effect.as(until, "ended" as const)]
          return Effect.uninterruptible(
            Effect.flatMap(
              Effect.forEach(racers, (racer) => Effect.forkDaemon(Effect.interruptible(racer))),
              (fibers) => {
                const stopRacers = () => {
                  end = undefined
                  for (const f of fibers) f.unsafeInterruptAsFork(FiberId.none)
                }
                return Effect.interruptible(
                  Effect.async<Woken>((resume) => {
                    const settle = (value: Woken) => {
                      if (end !== settle) return
                      end = undefined
                      // The waiter's resumption queued first, the racers' interruption behind it.
                      resume(Effect.succeed(value))
                      stopRacers()
                    }
                    end = settle
                    for (const f of fibers) f.addObserver((exit) => Exit.isSuccess(exit) && settle(exit.value))
                    return Effect.sync(stopRacers)
                  })
                )
              }
            )
          )
        }),
      stop
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
        // The job as the change stored it ends the wait without a read; a change that does not
        // end it is read again, after listening anew, so that none in between is slept through.
        if (woken !== undefined && woken !== "timedOut") {
          const known = yield* access(caller, woken)
          if (ends(known)) return known
        }
        ticket.stop()
        ticket = waiters.listen(jobId)
        job = yield* load(caller, jobId)
        if (ends(job)) return job
      }
    }).pipe(Effect.ensuring(Effect.sync(() => ticket?.stop())))
  }
}
