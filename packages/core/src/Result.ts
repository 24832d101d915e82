/**
 * The structural Result (Either) that plugins and applications return.
 *
 * `{ _tag: "Left", left }` / `{ _tag: "Right", right }` is the shape of both fp-ts's `Either`
 * and effect 3's `Either` (whose `_tag` sits on the prototype), so a plugin can be written with
 * either library, or with none, and the core needs neither at its boundary.
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Exit, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type Result<E, A> = { readonly _tag: "Left"; readonly left: E } | { readonly _tag: "Right"; readonly right: A }

/**
 * What a plugin or application operation may return: a Result, a promise of one, a thunk
 * returning a promise of one (fp-ts `TaskEither`), or an Effect.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome<E, A> =
  | Result<E, A>
  | PromiseLike<Result<E, A>>
  | (() => PromiseLike<Result<E, A>>)
  | Effect.Effect<A, E>

/**
 * @since 0.1.0
 * @category constructors
 */
export const left = <E, A = never>(left: E): Result<E, A> => ({ _tag: "Left", left })

/**
 * @since 0.1.0
 * @category constructors
 */
export const right = <A, E = never>(right: A): Result<E, A> => ({ _tag: "Right", right })

/**
 * @since 0.1.0
 * @category guards
 */
export const isResult = (u: unknown): u is Result<unknown, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const tag = (u as { _tag?: unknown })._tag
  return (tag === "Left" && "left" in u) || (tag === "Right" && "right" in u)
}

/**
 * Why an untrusted operation did not produce a value.
 *
 * @since 0.1.0
 * @category models
 */
export type Failure<E> =
  | { readonly _tag: "Returned"; readonly error: E }
  | { readonly _tag: "Threw"; readonly message: string }
  | { readonly _tag: "TimedOut"; readonly after: Duration.Duration }
  | { readonly _tag: "Malformed"; readonly message: string }

const describe = (u: unknown): string =>
  u instanceof Error ? u.message || u.name : typeof u === "string" ? u : (() => {
    try {
      return JSON.stringify(u) ?? String(u)
    } catch {
      return String(u)
    }
  })()

/**
 * A readable message for a {@link Failure}.
 *
 * @since 0.1.0
 * @category destructors
 */
export const describeFailure = <E>(failure: Failure<E>): string => {
  switch (failure._tag) {
    case "Returned":
      return describe(failure.error)
    case "Threw":
      return `threw: ${failure.message}`
    case "TimedOut":
      return `did not answer within ${Duration.format(failure.after)}`
    case "Malformed":
      return failure.message
  }
}

const fromResult = <E, A>(r: unknown): Effect.Effect<A, Failure<E>> =>
  isResult(r)
    ? r._tag === "Right"
      ? Effect.succeed(r.right as A)
      : Effect.fail({ _tag: "Returned", error: r.left as E })
    : Effect.fail({ _tag: "Malformed", message: `returned ${describe(r)} instead of a Result ({ _tag: "Left" | "Right" })` })

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  (typeof u === "object" || typeof u === "function") && u !== null && typeof (u as { then?: unknown }).then === "function"

/**
 * Runs an untrusted operation and never lets it escape: a throw, a rejection, a defect, a
 * malformed answer or (with `timeout`) a hang all become a typed {@link Failure}. Interruption of
 * the caller stays interruption.
 *
 * @since 0.1.0
 * @category combinators
 */
export const guard = <E, A>(
  thunk: () => Outcome<E, A>,
  options?: { readonly timeout?: Duration.DurationInput }
): Effect.Effect<A, Failure<E>> => {
  const run: Effect.Effect<A, Failure<E>> = Effect.suspend(() => {
    let out: unknown
    try {
      out = thunk()
    } catch (e) {
      return Effect.fail({ _tag: "Threw", message: describe(e) } as const)
    }
    if (typeof out === "function" && !Effect.isEffect(out)) {
      try {
        out = (out as () => unknown)()
      } catch (e) {
        return Effect.fail({ _tag: "Threw", message: describe(e) } as const)
      }
    }
    if (Effect.isEffect(out)) {
      return Effect.exit(out as Effect.Effect<A, E>).pipe(
        Effect.flatMap((exit): Effect.Effect<A, Failure<E>> => {
          if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
          if (Cause.isInterruptedOnly(exit.cause)) return Effect.interrupt
          const error = Cause.failureOption(exit.cause)
          return Option.isSome(error)
            ? Effect.fail({ _tag: "Returned", error: error.value })
            : Effect.fail({ _tag: "Threw", message: describe(Cause.squash(exit.cause)) })
        })
      )
    }
    if (isThenable(out)) {
      const promise = out
      return Effect.async<unknown, Failure<E>>((resume) => {
        promise.then(
          (value) => resume(Effect.succeed(value)),
          (e: unknown) => resume(Effect.fail({ _tag: "Threw", message: `rejected: ${describe(e)}` }))
        )
      }).pipe(Effect.flatMap((r) => fromResult<E, A>(r)))
    }
    return fromResult<E, A>(out)
  })
  if (options?.timeout === undefined) return run
  const after = Duration.decode(options.timeout)
  return run.pipe(
    Effect.timeoutFail({ duration: after, onTimeout: () => ({ _tag: "TimedOut", after }) as Failure<E> })
  )
}
