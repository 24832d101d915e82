/**
 * Recovery: jobs whose run was lost (this process restarted, or another instance stopped) are
 * re-queued or failed as `ServiceEvents.recoveryEvents` says; changes signalled by other
 * instances wake this one's waiters and deadline loops and stop runs taken from it.
 */
import { Effect, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as Dispatchers from "../Dispatcher.js"
import type { JobEvent } from "../JobEvent.js"
import * as ServiceEvents from "../ServiceEvents.js"
import type { Schedule } from "./deadlines.js"
import type { Runs } from "./runs.js"
import type { Transact } from "./transact.js"
import type { Waiters } from "./waiters.js"
import type { Services } from "./services.js"

export const startRecovery = (deps: Pick<Services, "store" | "dispatcher" | "worker"> & {
  readonly runs: Runs
  readonly transact: Transact
  readonly waiters: Waiters
  readonly schedule: Schedule
  /** Recover what a previous process left (see `UwsOptions.recover`). */
  readonly onStart: boolean
}): Effect.Effect<void, never, Scope.Scope> => {
  const { store, dispatcher, worker, runs, transact, waiters, schedule } = deps

  /** Recovers a job whose run was lost, unless someone else holds it (see `Dispatcher.adopt`). */
  const recoverJob = (jobId: string, message: string) =>
    Effect.flatMap(dispatcher.adopt(jobId), (adopted) =>
      Option.isNone(adopted)
        ? Effect.void
        : Effect.flatMap(store.get(jobId), (job) =>
            job === undefined
              ? Effect.void
              : Effect.forEach(
                  ServiceEvents.recoveryEvents(job.phase, worker.restartable === true),
                  (type) =>
                    transact.system(jobId, type, (_job, at) =>
                      Effect.succeed<JobEvent>(
                        type === "FAIL" ? { type, at, error: { type: "transient", message, hasDetail: false } } : ({ type, at } as JobEvent)
                      )
                    ),
                  { discard: true }
                )
          ).pipe(Effect.ignore, Effect.ensuring(adopted.value.release))
    )

  /** A job running here that another instance aborted, timed out or recovered stops here. */
  const stopIfTaken = (jobId: string) =>
    Effect.flatMap(Effect.orElseSucceed(store.get(jobId), () => null), (job) =>
      job === null || (job !== undefined && (job.phase === "QUEUED" || job.phase === "EXECUTING" || job.phase === "SUSPENDED"))
        ? Effect.void
        : runs.cancel(jobId)
    )

  // What other instances change: their WAITs' jobs, runs they stopped, deadlines they set.
  const onSignal = (signal: Dispatchers.Signal): Effect.Effect<void> => {
    if (signal._tag === "Resync") {
      waiters.wakeAll()
      schedule.wakeAll()
      return Effect.forEach([...runs.running.keys()], stopIfTaken, { discard: true })
    }
    waiters.wake(signal.jobId)
    schedule.wakeIfEarlierThan(signal.deadlines)
    return runs.running.has(signal.jobId) ? stopIfTaken(signal.jobId) : Effect.void
  }

  return Effect.gen(function* () {
    yield* Effect.forkScoped(Stream.runForEach(dispatcher.signals, onSignal))
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(dispatcher.expired, (jobIds) =>
          Effect.forEach(jobIds, (jobId) => recoverJob(jobId, Dispatchers.recoveryMessages.instanceStopped), { discard: true })
        )
      )
    )
    if (deps.onStart) {
      const queued = yield* store.list({ phases: ["QUEUED"] }).pipe(Effect.orElseSucceed(() => ({ jobs: [] })))
      yield* Effect.forEach([...queued.jobs].reverse(), (j) => dispatcher.offer(j.jobId), { discard: true })
      const interrupted = yield* store
        .list({ phases: ["EXECUTING", "SUSPENDED"] })
        .pipe(Effect.orElseSucceed(() => ({ jobs: [] })))
      yield* Effect.forEach(interrupted.jobs, (j) => recoverJob(j.jobId, Dispatchers.recoveryMessages.restarted), { discard: true })
    }
  })
}
