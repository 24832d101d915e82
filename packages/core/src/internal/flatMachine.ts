import { Either } from "effect"
import { transition } from "xstate"
import type { AnyStateMachine } from "xstate"

/** What one accepted (state, event) pair does. */
export interface Entry<S extends string, F extends string> {
  readonly target: S
  readonly updates: ReadonlyArray<string>
  readonly effects: ReadonlyArray<F>
}

/** (state → event → entry): the decisions of a flat, guard-free machine, read once. */
export type Table<S extends string, E extends string, F extends string> = ReadonlyMap<S, ReadonlyMap<E, Entry<S, F>>>

/** A refused event, as data: the caller knows which job it concerns and turns it into its error. */
export interface Refusal<S extends string, E extends string> {
  readonly event: E
  readonly state: S
}

/** An accepted event: the next state value and context, and the effects to carry out. */
export interface Outcome<S extends string, C, F extends string> {
  readonly state: S
  readonly context: C
  readonly effects: ReadonlyArray<F>
}

/**
 * Reads a flat, guard-free machine's definition into a table. Each pair has at most one
 * transition (the state's own, else the root's); actions are named, and those in `updateNames`
 * change the context while the rest are effects. Throws at start-up if the machine breaks
 * these rules, so a guard added later cannot be silently ignored by the fast path.
 */
export const compile = <S extends string, E extends string, F extends string>(
  machine: AnyStateMachine,
  updateNames: ReadonlyArray<string>
): Table<S, E, F> => {
  const isUpdate = new Set(updateNames)
  const out = new Map<S, Map<E, Entry<S, F>>>()
  for (const [key, node] of Object.entries(machine.root.states)) {
    const row = new Map<E, Entry<S, F>>()
    for (const source of [machine.root, node]) {
      for (const [eventType, definitions] of source.transitions) {
        if (definitions.length !== 1 || definitions[0]!.guard !== undefined) {
          throw new Error(`${machine.id} must stay guard-free: ${key}.${eventType}`)
        }
        const definition = definitions[0]!
        const names = definition.actions.map((a) => {
          if (typeof a !== "string") throw new Error(`${machine.id} actions must be named: ${key}.${eventType}`)
          return a
        })
        row.set(eventType as E, {
          target: (definition.target?.[0]?.key ?? key) as S,
          updates: names.filter((n) => isUpdate.has(n)),
          effects: names.filter((n) => !isUpdate.has(n)) as Array<F>
        })
      }
    }
    out.set(key as S, row)
  }
  return out
}

/** A context update named by a machine: the fields it changes, from (context, event). */
export type Update<C, Ev> = (context: C, event: Ev) => Partial<C>

/** The fast decision: one table look-up and the named updates merged into one copy. */
export const decide = <S extends string, E extends string, F extends string, C extends object, Ev extends { readonly type: E }>(
  table: Table<S, E, F>,
  updates: Readonly<Record<string, Update<C, Ev>>>,
  state: S,
  context: C,
  event: Ev
): Either.Either<Outcome<S, C, F>, Refusal<S, E>> => {
  const entry = table.get(state)?.get(event.type)
  if (entry === undefined) return Either.left({ event: event.type, state })
  const next = { ...context }
  for (const name of entry.updates) Object.assign(next, updates[name]!(next, event))
  return Either.right({ state: entry.target, context: next, effects: entry.effects })
}

/** The same decision through xstate's `transition()`: the reference the table is proven against. */
export const decideWithXState = <S extends string, E extends string, F extends string, C extends object, Ev extends { readonly type: E }>(
  machine: AnyStateMachine,
  state: S,
  context: C,
  event: Ev
): Either.Either<Outcome<S, C, F>, Refusal<S, E>> => {
  const snapshot = machine.resolveState({ value: state, context })
  if (!snapshot.can(event)) return Either.left({ event: event.type, state })
  const [next, actions] = transition(machine, snapshot, event)
  return Either.right({
    state: next.value as S,
    context: next.context as C,
    effects: actions.map((a) => a.type as F)
  })
}
