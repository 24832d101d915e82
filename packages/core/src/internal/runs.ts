/** The jobs this instance is starting or running, and how one is stopped. */
import { Effect } from "effect"
import type { Fiber } from "effect"
import type { Job } from "../Job.js"

/** A job this instance is starting or running; `cancelled` covers a cancel that lands before the fiber exists. */
export interface Run {
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  cancelled: boolean
}

/** How many queued jobs `queued` keeps; past it, the oldest goes. */
const QUEUED_KEPT = 10_000

export interface Runs {
  readonly running: Map<string, Run>
  /**
   * The jobs this instance has just queued, as stored, until a slot here claims them: START then
   * decides on that job instead of loading it again. (Jobs another instance claims go when the
   * map is full, oldest first; a stale job only costs the load it meant to spare.)
   */
  readonly queued: {
    readonly put: (job: Job) => void
    readonly take: (jobId: string) => Job | undefined
  }
  /** Stops the job's run here, if there is one. */
  readonly cancel: (jobId: string) => Effect.Effect<void>
}

export const makeRuns = (queuedKept = QUEUED_KEPT): Runs => {
  const running = new Map<string, Run>()
  const cancel = (jobId: string) =>
    Effect.suspend(() => {
      const run = running.get(jobId)
      if (run === undefined) return Effect.void
      run.cancelled = true
      if (run.fiber === undefined) return Effect.void
      running.delete(jobId)
      // Interrupt without waiting (the caller's request must not hang on a slow application),
      // and without a fiber to deliver it: the run hears of it at its next step.
      const fiber = run.fiber
      return Effect.withFiberRuntime<void>((caller) => {
        fiber.unsafeInterruptAsFork(caller.id())
        return Effect.void
      })
    })
  const queued = new Map<string, Job>()
  // The jobs in the order they were put, from `head` on, some since taken or put again: the next
  // to go when the map is full (every queued job is among them). The map's own first key is no
  // answer: a map whose oldest entries were taken walks past their holes on every
  // `keys().next()`, O(taken) a put.
  let arrivals: Array<Job> = []
  let head = 0
  // Taken jobs stay in `arrivals` (held in memory) until it is rebuilt from the map: no more
  // than twice the queued ones and 64.
  const compact = () => {
    if (arrivals.length > 2 * queued.size + 64) {
      arrivals = [...queued.values()]
      head = 0
    }
  }
  return {
    running,
    cancel,
    queued: {
      put: (job) => {
        // Put again, a job is the newest: the map's order stays the arrivals' order.
        queued.delete(job.jobId)
        while (queued.size >= queuedKept) {
          const oldest = arrivals[head++]!
          if (queued.get(oldest.jobId) === oldest) queued.delete(oldest.jobId)
        }
        arrivals.push(job)
        queued.set(job.jobId, job)
        compact()
      },
      take: (jobId) => {
        const job = queued.get(jobId)
        queued.delete(jobId)
        compact()
        return job
      }
    }
  }
}
