import type { AnyStateMachine } from "xstate"
import type { JobEffect } from "../JobMachine.js"
import type { JobEventType } from "../JobEvent.js"
import type { Phase } from "../Phase.js"

/** What one accepted (phase, event) pair does. */
export interface Entry {
  readonly target: Phase
  readonly updates: ReadonlyArray<string>
  readonly effects: ReadonlyArray<JobEffect>
}

/**
 * Reads the machine's definition into a (phase → event → entry) table. The machine is
 * guard-free and flat, so each pair has at most one transition: the state's own, else the root's.
 */
export const compile = (
  machine: AnyStateMachine,
  updateNames: ReadonlyArray<string>
): ReadonlyMap<Phase, ReadonlyMap<JobEventType, Entry>> => {
  const isUpdate = new Set(updateNames)
  const out = new Map<Phase, Map<JobEventType, Entry>>()
  for (const [key, node] of Object.entries(machine.root.states)) {
    const row = new Map<JobEventType, Entry>()
    for (const source of [machine.root, node]) {
      for (const [eventType, definitions] of source.transitions) {
        if (definitions.length !== 1 || definitions[0]!.guard !== undefined) {
          throw new Error(`jobMachine must stay guard-free: ${key}.${eventType}`)
        }
        const definition = definitions[0]!
        const names = definition.actions.map((a) => {
          if (typeof a !== "string") throw new Error(`jobMachine actions must be named: ${key}.${eventType}`)
          return a
        })
        row.set(eventType as JobEventType, {
          target: (definition.target?.[0]?.key ?? key) as Phase,
          updates: names.filter((n) => isUpdate.has(n)),
          effects: names.filter((n) => !isUpdate.has(n)) as Array<JobEffect>
        })
      }
    }
    out.set(key as Phase, row)
  }
  return out
}
