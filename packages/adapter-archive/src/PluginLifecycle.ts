/**
 * The archive's plugins live as long as a `Scope`: each one is hosted with
 * `Effect.acquireRelease`, so closing the scope (the archive, the test, the host's layer)
 * disposes every plugin that was hosted, exactly once, in reverse order, whatever happened to the
 * others (one that failed to initialise, a start-up that failed or was interrupted half-way).
 *
 * The core's plugin host keeps each plugin's life in its lifecycle machine (loaded →
 * initializing → ready | failed → disposed). An event that machine does not accept in the
 * plugin's state, such as disposing a plugin twice, is refused here with
 * {@link PluginLifecycleError} and logged, never passed on as a silent no-op.
 *
 * @since 0.1.0
 */
import { Plugin } from "@uws-kit/core"
import { Data, Effect } from "effect"
import type { Scope } from "effect"

/**
 * An event the plugin's lifecycle does not accept in its state.
 *
 * @since 0.1.0
 * @category errors
 */
export class PluginLifecycleError extends Data.TaggedError("PluginLifecycleError")<{
  readonly plugin: string
  readonly event: "DISPOSE"
  readonly state: Plugin.PluginState
}> {
  override get message() {
    return `${this.event} is not allowed in ${this.state} (plugin "${this.plugin}").`
  }
}

/**
 * What a hosted plugin shows of its life.
 *
 * @since 0.1.0
 * @category models
 */
export interface Disposable {
  readonly name: string
  readonly state: () => Plugin.PluginState
  /** The host's own dispose (the core's: unchecked). */
  readonly dispose: Effect.Effect<void, unknown>
}

const accepts = (state: Plugin.PluginState, event: { readonly type: "DISPOSE" }) =>
  Plugin.lifecycleMachine.resolveState({ value: state, context: { failure: null } }).can(event)

/**
 * Disposes a hosted plugin when its lifecycle accepts it; otherwise fails with
 * {@link PluginLifecycleError}, logged.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const dispose = (plugin: Disposable): Effect.Effect<void, PluginLifecycleError> =>
  Effect.suspend(() => {
    const state = plugin.state()
    if (!accepts(state, { type: "DISPOSE" })) {
      const refused = new PluginLifecycleError({ plugin: plugin.name, event: "DISPOSE", state })
      return Effect.zipRight(Effect.logError(refused.message), Effect.fail(refused))
    }
    // The core's dispose already turns a plugin's throw, rejection or hang into nothing.
    return Effect.ignore(plugin.dispose)
  })

/**
 * Hosts a plugin for the life of the scope: `host` runs uninterrupted and its plugin is disposed
 * when the scope closes (a refused dispose is logged by {@link dispose}, and the scope still
 * closes).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const acquire = <H extends { readonly name: string; readonly state: () => Plugin.PluginState; readonly dispose: Effect.Effect<void, PluginLifecycleError> }, E, R>(
  host: Effect.Effect<H, E, R>
): Effect.Effect<H, E, R | Scope.Scope> => Effect.acquireRelease(host, (hosted) => Effect.ignore(hosted.dispose))
