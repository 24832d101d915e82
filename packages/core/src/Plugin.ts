/**
 * Plugins: code the service calls but does not trust. Operations return a Result (or a promise,
 * thunk or Effect of one); the host turns every throw, rejection, malformed answer and time-out
 * into a `PluginFailure` with a clear message, so a plugin can never throw into the service.
 * Each hosted plugin's life (loaded → initializing → ready | failed → disposed) is a small
 * xstate machine; a plugin that is not ready is not called.
 *
 * @since 0.1.0
 */
import { Duration, Effect } from "effect"
import { initialTransition, setup, transition, assign } from "xstate"
import { PluginFailure } from "./Errors.js"
import { describeFailure, guard, type Outcome } from "./Result.js"

/**
 * Plugin configuration parameters, looked up case-insensitively (`Path`, `path` and `PATH` are
 * the same key), keeping the spelling they were given with for display.
 *
 * @since 0.1.0
 * @category models
 */
export class PluginParameters {
  private readonly entries_ = new Map<string, readonly [string, string]>()

  constructor(input: Iterable<readonly [string, string]> | Readonly<Record<string, string>> = {}) {
    const pairs = Symbol.iterator in input ? (input as Iterable<readonly [string, string]>) : Object.entries(input)
    for (const [key, value] of pairs) this.entries_.set(key.toLowerCase(), [key, String(value)])
  }

  get(key: string): string | undefined {
    return this.entries_.get(key.toLowerCase())?.[1]
  }

  has(key: string): boolean {
    return this.entries_.has(key.toLowerCase())
  }

  /** The value, or a `Left`-ready message naming the missing key. */
  require(key: string): { readonly _tag: "Right"; readonly right: string } | { readonly _tag: "Left"; readonly left: string } {
    const value = this.get(key)
    return value === undefined || value === ""
      ? { _tag: "Left", left: `the parameter "${key}" is required` }
      : { _tag: "Right", right: value }
  }

  get size(): number {
    return this.entries_.size
  }

  /** Pairs with their original spelling. */
  entries(): IterableIterator<readonly [string, string]> {
    return this.entries_.values()
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.entries_.values())
  }
}

/**
 * What every plugin may implement besides its own operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lifecycle {
  readonly initialize?: (parameters: PluginParameters) => Outcome<unknown, unknown>
  readonly dispose?: () => Outcome<unknown, unknown>
}

/**
 * @since 0.1.0
 * @category models
 */
export type PluginState = "loaded" | "initializing" | "ready" | "failed" | "disposed"

type LifecycleEvent =
  | { readonly type: "INITIALIZE" }
  | { readonly type: "INITIALIZED" }
  | { readonly type: "FAILED"; readonly reason: string }
  | { readonly type: "DISPOSE" }

/**
 * The life of a hosted plugin.
 *
 * @since 0.1.0
 * @category machine
 */
export const lifecycleMachine = setup({
  types: {} as { context: { readonly failure: string | null }; events: LifecycleEvent },
  actions: {
    recordFailure: assign({ failure: ({ event }) => (event.type === "FAILED" ? event.reason : null) })
  }
}).createMachine({
  id: "plugin",
  initial: "loaded",
  context: { failure: null },
  states: {
    loaded: { on: { INITIALIZE: "initializing", DISPOSE: "disposed" } },
    initializing: {
      on: { INITIALIZED: "ready", FAILED: { target: "failed", actions: "recordFailure" }, DISPOSE: "disposed" }
    },
    ready: { on: { DISPOSE: "disposed" } },
    failed: { on: { DISPOSE: "disposed" } },
    disposed: { type: "final" }
  }
})

/**
 * A plugin under the host's protection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hosted<P> {
  readonly name: string
  readonly state: () => PluginState
  /** Why initialisation failed, when it did. */
  readonly failure: () => string | null
  /**
   * Calls an operation. The answer is the operation's value; anything else (a `Left`, a throw,
   * a rejection, a time-out, a malformed answer, a plugin that is not ready) is `PluginFailure`.
   */
  readonly call: <E, A>(
    operation: string,
    f: (plugin: P) => Outcome<E, A>,
    options?: { readonly timeout?: Duration.DurationInput }
  ) => Effect.Effect<A, PluginFailure>
  readonly dispose: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HostOptions {
  /** Longest an operation (and initialisation) may take; default 30 s. */
  readonly timeout?: Duration.DurationInput
}

const lifecycle = (machine: typeof lifecycleMachine) => {
  let [snapshot] = initialTransition(machine)
  return {
    /** Whether the machine took the event (an event its state does not accept changes nothing). */
    send: (event: LifecycleEvent): boolean => {
      if (!snapshot.can(event)) return false
      ;[snapshot] = transition(machine, snapshot, event)
      return true
    },
    state: () => snapshot.value as PluginState,
    failure: () => snapshot.context.failure
  }
}

/**
 * Hosts a plugin: initialises it with its parameters and answers the hosted plugin, which is
 * `ready` or `failed` (a failed initialisation is recorded, not raised: the other plugins keep
 * working and the failure can be reported).
 *
 * @since 0.1.0
 * @category constructors
 */
export const host = <P extends Lifecycle>(
  name: string,
  plugin: P,
  parameters: PluginParameters | Readonly<Record<string, string>> = {},
  options: HostOptions = {}
): Effect.Effect<Hosted<P>> =>
  Effect.gen(function* () {
    const timeout = options.timeout ?? Duration.seconds(30)
    const life = lifecycle(lifecycleMachine)
    const params = parameters instanceof PluginParameters ? parameters : new PluginParameters(parameters)
    const failure = (operation: string, reason: string) => new PluginFailure({ plugin: name, operation, reason })
    const call: Hosted<P>["call"] = (operation, f, callOptions) =>
      Effect.suspend(() => {
        const state = life.state()
        if (state !== "ready") {
          return Effect.fail(
            failure(operation, state === "failed" ? `the plugin failed to initialise: ${life.failure()}` : `the plugin is ${state}`)
          )
        }
        return guard(() => f(plugin), { timeout: callOptions?.timeout ?? timeout }).pipe(
          Effect.mapError((e) => failure(operation, describeFailure(e)))
        )
      })

    life.send({ type: "INITIALIZE" })
    if (plugin.initialize === undefined) {
      life.send({ type: "INITIALIZED" })
    } else {
      const initialised = yield* Effect.either(
        guard(() => plugin.initialize!(params), { timeout }).pipe(Effect.mapError(describeFailure))
      )
      life.send(initialised._tag === "Right" ? { type: "INITIALIZED" } : { type: "FAILED", reason: initialised.left })
    }
    const hosted: Hosted<P> = {
      name,
      state: life.state,
      failure: life.failure,
      call,
      dispose: Effect.suspend(() => {
        const state = life.state()
        const wasReady = state === "ready"
        // A second dispose is refused by the lifecycle: said, not silently ignored.
        if (!life.send({ type: "DISPOSE" })) return Effect.logWarning(`DISPOSE is not allowed in ${state} (plugin "${name}"): it is disposed already`)
        return wasReady && plugin.dispose !== undefined
          ? guard(() => plugin.dispose!(), { timeout }).pipe(Effect.ignore)
          : Effect.void
      })
    }
    return hosted
  })
