/** The jobs this instance is starting or running, and how one is stopped. */
import { Effect, Fiber } from "effect"

/** A job this instance is starting or running; `cancelled` covers a cancel that lands before the fiber exists. */
export interface Run {
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  cancelled: boolean
}

export interface Runs {
  readonly running: Map<string, Run>
  /** Stops the job's run here, if there is one. */
  readonly cancel: (jobId: string) => Effect.Effect<void>
}

export const makeRuns = (): Runs => {
  const running = new Map<string, Run>()
  const cancel = (jobId: string) =>
    Effect.suspend(() => {
      const run = running.get(jobId)
      if (run === undefined) return Effect.void
      run.cancelled = true
      if (run.fiber === undefined) return Effect.void
      running.delete(jobId)
      // Interrupt without waiting: the caller's request must not hang on a slow application.
      return Effect.asVoid(Fiber.interruptFork(run.fiber))
    })
  return { running, cancel }
}
