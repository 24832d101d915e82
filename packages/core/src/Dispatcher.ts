/**
 * Who runs which queued job. One instance of a service (the embedded default) keeps its queue in
 * memory; several instances sharing one database (`@uws-kit/store-sql`'s `SqlDispatcher`) claim
 * queued jobs from the database, each claim held as a lease renewed while the job runs, and hear
 * of the jobs the other instances change. The service asks the dispatcher for claims and carries
 * out UWS rules itself; a dispatcher only decides who holds which job, and for how long.
 *
 * `testDispatcher` (`@uws-kit/core/DispatcherSuite`) is the conformance suite every
 * implementation runs.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Stream } from "effect"
import type { JobEventType } from "./JobEvent.js"
import type { Phase } from "./Phase.js"
import * as ServiceEvents from "./ServiceEvents.js"

/**
 * A job this instance holds: nobody else starts or recovers it until `release`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Claim {
  readonly jobId: string
  /**
   * Completes when the claim was lost (its lease expired, e.g. the process stalled longer than the
   * lease, and another instance may be recovering the job): stop running it. Never completes for
   * the in-process dispatcher.
   */
  readonly lost: Effect.Effect<void>
  /** Lets go of the job (idempotent). */
  readonly release: Effect.Effect<void>
}

/**
 * What another instance did: a job changed (`phase` null = deleted), or this instance may have
 * missed changes (its connection was lost and is back) and should re-check what it waits for.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal =
  | { readonly _tag: "Changed"; readonly jobId: string; readonly phase: Phase | null; readonly deadlines: { readonly destruction: number | null; readonly execution: number | null } }
  | { readonly _tag: "Resync" }

/**
 * @since 0.1.0
 * @category models
 */
export interface DispatcherService {
  /** Names this instance in leases and logs. */
  readonly instanceId: string
  /** Tells the dispatcher that a job is stored QUEUED (call after the write is committed). */
  readonly offer: (jobId: string) => Effect.Effect<void>
  /**
   * Waits for a queued job that nobody holds while fewer than `concurrency` claims are held (by
   * every instance sharing the dispatcher), and claims it.
   */
  readonly claim: (concurrency: number) => Effect.Effect<Claim>
  /**
   * Takes a job over for recovery, whatever its phase, unless someone holds it with a live lease
   * (then `None`: leave it alone). An expired lease is taken over.
   */
  readonly adopt: (jobId: string) => Effect.Effect<Option.Option<Claim>>
  /** Waits until some leases have expired (their holder stopped) and answers their jobs. */
  readonly expired: Effect.Effect<ReadonlyArray<string>>
  /** Changes made by other instances; empty for the in-process dispatcher. */
  readonly signals: Stream.Stream<Signal>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Dispatcher extends Context.Tag("@uws-kit/core/Dispatcher")<Dispatcher, DispatcherService>() {}

/**
 * The in-process dispatcher: an in-memory queue, claims counted in this process. The default of
 * every service that is not given a `Dispatcher`; make one per service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInProcess = (instanceId = "local"): Effect.Effect<DispatcherService> =>
  Effect.sync(() => {
    // The queue as an array read from `head` (compacted once half of it is read): every job
    // passes through it, and an Effect `Queue` cost a Deferred per take that found it empty.
    let queue: Array<string> = []
    let head = 0
    const held = new Set<string>()
    // A job offered again while held is offered once more when it is released.
    const again = new Set<string>()
    // Claims waiting for a job, or for a free slot: woken all at once, each tries again.
    let waiting: Array<() => void> = []
    const wakeAll = () => {
      if (waiting.length === 0) return
      const woken = waiting
      waiting = []
      for (const resume of woken) resume()
    }
    const enqueue = (jobId: string) => {
      queue.push(jobId)
      wakeAll()
    }
    const dequeue = (): string | undefined => {
      if (head === queue.length) return undefined
      const jobId = queue[head++]!
      if (head === queue.length) {
        queue = []
        head = 0
      } else if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head)
        head = 0
      }
      return jobId
    }
    // Looks again when it starts waiting: the fiber may have yielded between the look that found
    // nothing and this, and a job offered in between woke nobody.
    const wait = (concurrency: number): Effect.Effect<void> => Effect.async<void>((resume) => {
      if (held.size < concurrency && head < queue.length) return resume(Effect.void)
      const entry = () => resume(Effect.void)
      waiting.push(entry)
      return Effect.sync(() => {
        const i = waiting.indexOf(entry)
        if (i >= 0) waiting.splice(i, 1)
      })
    })
    const hold = (jobId: string): Claim => {
      held.add(jobId)
      let released = false
      return {
        jobId,
        lost: Effect.never,
        release: Effect.sync(() => {
          if (released) return
          released = true
          held.delete(jobId)
          if (again.delete(jobId)) queue.push(jobId)
          wakeAll()
        })
      }
    }
    const claim = (concurrency: number): Effect.Effect<Claim> =>
      Effect.suspend(() => {
        for (;;) {
          if (held.size >= concurrency) return Effect.zipRight(wait(concurrency), claim(concurrency))
          const jobId = dequeue()
          if (jobId === undefined) return Effect.zipRight(wait(concurrency), claim(concurrency))
          if (held.has(jobId)) {
            again.add(jobId)
            continue
          }
          return Effect.succeed(hold(jobId))
        }
      })
    return {
      instanceId,
      offer: (jobId) => Effect.sync(() => enqueue(jobId)),
      claim,
      adopt: (jobId) => Effect.sync(() => (held.has(jobId) ? Option.none() : Option.some(hold(jobId)))),
      expired: Effect.never,
      signals: Stream.empty
    }
  })

/**
 * The in-process dispatcher as a layer (one per service: its claims are counted together).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerInProcess: Layer.Layer<Dispatcher> = Layer.effect(Dispatcher, makeInProcess())

/**
 * How a job whose run was lost (its process stopped) is recovered, by phase: run again from the
 * start when the application is restartable (HOLD stops the lost run, RUN queues it again), else
 * FAIL with the reason. Jobs in other phases need nothing. The same as `ServiceEvents.recoveryEvents`.
 *
 * @since 0.1.0
 * @category recovery
 */
export const recovery: (phase: Phase, restartable: boolean) => ReadonlyArray<JobEventType> = ServiceEvents.recoveryEvents

/**
 * The reasons a recovered job's error summary gives.
 *
 * @since 0.1.0
 * @category recovery
 */
export const recoveryMessages = {
  restarted: "the service restarted while the job was executing; run a new job.",
  instanceStopped: "the instance running this job stopped; run a new job."
} as const
