/**
 * The archive's plugin calls, observed for operators (issue #15): every storage call and
 * post-processor call counted by plugin, operation and outcome
 * (`uws_archive_plugin_calls_total`), bytes saved by storage (`uws_archive_bytes_stored_total`),
 * copies checked by fixity runs by outcome (`uws_archive_fixity_checks_total`),
 * and each failure logged (`plugin call failed`, a warning with plugin, operation and reason)
 * through the demo's loggers. The plugins are wrapped, not changed.
 */
import type { Plugins, Replicas } from "@uws-kit/adapter-archive"
import { Effect, Metric } from "effect"

export const metrics = {
  calls: Metric.counter("uws_archive_plugin_calls_total", { description: "Archive plugin calls by plugin, operation and outcome (ok, failed)." }),
  bytes: Metric.counter("uws_archive_bytes_stored_total", { description: "Bytes saved into each archive storage." }),
  fixity: Metric.counter("uws_archive_fixity_checks_total", { description: "Copies checked by fixity runs, by outcome (good, corrupt, missing, unreachable)." })
} as const

/** Runs an effect with the demo's loggers (the archive's own effects run on Effect's default runtime). */
export type WithLogging = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const observed = <A, E extends { readonly reason?: string; readonly message?: string }, R>(
  plugin: string,
  operation: string,
  withLogging: WithLogging,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const count = (outcome: string) =>
    Metric.increment(Metric.tagged(Metric.tagged(Metric.tagged(metrics.calls, "plugin", plugin), "operation", operation), "outcome", outcome))
  return effect.pipe(
    Effect.tapBoth({
      onSuccess: () => count("ok"),
      onFailure: (e) =>
        Effect.zipRight(
          count("failed"),
          withLogging(Effect.annotateLogs(Effect.logWarning("plugin call failed"), { plugin, operation, reason: e.reason ?? e.message ?? String(e) }))
        )
    })
  )
}

/** The plugins with their storage and post-processor calls observed. */
export const observePlugins = (plugins: Plugins.LoadedPlugins, withLogging: WithLogging): Plugins.LoadedPlugins => ({
  ...plugins,
  storages: plugins.storages.map((s) => ({
    ...s,
    save: (object) =>
      observed(s.name, "save", withLogging, s.save(object)).pipe(
        Effect.tap((locator) =>
          Effect.flatMap(
            object.size !== undefined ? Effect.succeed(object.size) : Effect.orElseSucceed(Effect.map(s.stat(locator), (st) => st?.size ?? 0), () => 0),
            (n) => Metric.incrementBy(Metric.tagged(metrics.bytes, "storage", s.name), n)
          )
        )
      ),
    get: (locator, options) => observed(s.name, "get", withLogging, s.get(locator, options)),
    read: (locator, options) => observed(s.name, "read", withLogging, s.read(locator, options)),
    stat: (locator) => observed(s.name, "stat", withLogging, s.stat(locator)),
    delete: (locator) => observed(s.name, "delete", withLogging, s.delete(locator))
  })),
  postProcessors: plugins.postProcessors.map((p) => ({ ...p, process: (c) => observed(p.name, "process", withLogging, p.process(c)) }))
})

/** Counts a fixity run's check of one content, copy by copy, by the outcome the check reports. */
export const countFixityCheck = (check: Replicas.ContentCheck): Effect.Effect<void> =>
  Effect.forEach(check.copies, (c) => Metric.increment(Metric.tagged(metrics.fixity, "outcome", c.outcome)), { discard: true })
