import type { AnyStateMachine } from "xstate"

/** The (stage → event → stage) table and each stage's status, read from the machine's definition. */
export interface StageTable<S extends string, E extends string> {
  readonly next: ReadonlyMap<S, ReadonlyMap<E, S>>
  readonly status: ReadonlyMap<S, number>
}

/**
 * Reads a flat, guard-free, action-free machine whose states carry `meta.status`. Anything else
 * is refused at start-up: the table would no longer be the machine.
 */
export const compile = <S extends string, E extends string>(machine: AnyStateMachine): StageTable<S, E> => {
  const next = new Map<S, Map<E, S>>()
  const status = new Map<S, number>()
  for (const [key, node] of Object.entries(machine.root.states)) {
    const meta = node.meta as { readonly status?: unknown } | undefined
    if (typeof meta?.status !== "number") throw new Error(`the container lifecycle needs meta.status on ${key}`)
    status.set(key as S, meta.status)
    const row = new Map<E, S>()
    for (const [eventType, definitions] of node.transitions) {
      const definition = definitions[0]
      if (definitions.length !== 1 || definition === undefined || definition.guard !== undefined || definition.actions.length > 0) {
        throw new Error(`the container lifecycle must stay guard- and action-free: ${key}.${eventType}`)
      }
      row.set(eventType as E, (definition.target?.[0]?.key ?? key) as S)
    }
    next.set(key as S, row)
  }
  if (machine.root.transitions.size > 0) throw new Error("the container lifecycle has no root transitions")
  return { next, status }
}
