/**
 * Statement batching for PostgreSQL: the writes of one kind that queue up while a statement is
 * on its way go together in the next one (a multi-row statement), so many writers share one round
 * trip and one commit. Each writer gets its own row's answer, after the statement (its
 * transaction) has committed. If the statement fails, each of its writes is made again alone, so
 * one bad write does not fail the others.
 */
import { Deferred, Effect, Exit, FiberId, Runtime } from "effect"

/** The most writes one statement carries (PostgreSQL takes at most 65,535 parameters). */
const MAX = 200

interface Queued<I, O, E> {
  readonly item: I
  readonly done: Deferred.Deferred<O, E>
}

/**
 * `together` answers one output per item, in order; `alone` is one item's own statement.
 */
export const makeBatcher = <I, O, E>(
  runtime: Runtime.Runtime<never>,
  together: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>,
  alone: (item: I) => Effect.Effect<O, E>
): ((item: I) => Effect.Effect<O, E>) => {
  let pending: Array<Queued<I, O, E>> = []
  let sending = false

  const send: Effect.Effect<void> = Effect.suspend(() => {
    const batch = pending.slice(0, MAX)
    pending = pending.slice(batch.length)
    if (batch.length === 0) {
      sending = false
      return Effect.void
    }
    const eachAlone = Effect.forEach(batch, (q) => Effect.flatMap(Effect.exit(alone(q.item)), (exit) => Deferred.done(q.done, exit)), {
      discard: true
    })
    const sent =
      batch.length === 1
        ? eachAlone
        : Effect.matchCauseEffect(together(batch.map((q) => q.item)), {
            onFailure: () => eachAlone,
            onSuccess: (outputs) => Effect.sync(() => batch.forEach((q, i) => Deferred.unsafeDone(q.done, Exit.succeed(outputs[i]!))))
          })
    return Effect.zipRight(sent, send)
  })

  return (item) =>
    Effect.suspend(() => {
      const done = Deferred.unsafeMake<O, E>(FiberId.none)
      pending.push({ item, done })
      if (!sending) {
        sending = true
        // Yield first: the writers of the same turn join this statement.
        Runtime.runFork(runtime)(Effect.zipRight(Effect.yieldNow(), send))
      }
      return Deferred.await(done)
    })
}
