/**
 * Plugins live as long as their scope: closing it disposes every plugin that initialised, exactly
 * once, also when others failed to initialise or the start-up failed half-way; disposing twice is
 * refused with a typed error and logged, and never reaches the plugin again.
 */
import { Archive, MemoryStorage, PluginLifecycle, Plugins } from "@uws-kit/adapter-archive"
import type { PostProcessor, StoragePlugin } from "@uws-kit/adapter-archive"
import { Cause, Effect, Either, Exit, Logger, LogLevel, Scope } from "effect"
import { describe, expect, it } from "vitest"

/** Counts dispose calls per plugin name. */
const counter = () => {
  const disposed = new Map<string, number>()
  const count = (name: string) => disposed.set(name, (disposed.get(name) ?? 0) + 1)
  const storage = (name: string, init: "ok" | "left" | "throws" = "ok"): StoragePlugin.StoragePlugin => ({
    ...MemoryStorage.make(),
    initialize: () => {
      if (init === "throws") throw new Error(`${name} cannot start`)
      return init === "left" ? { _tag: "Left", left: `${name} is misconfigured` } : { _tag: "Right", right: undefined }
    },
    dispose: () => {
      count(name)
      return { _tag: "Right", right: undefined }
    }
  })
  const postProcessor = (name: string, init: "ok" | "left" = "ok"): PostProcessor.PostProcessor => ({
    initialize: () => (init === "left" ? { _tag: "Left", left: `${name} is misconfigured` } : { _tag: "Right", right: undefined }),
    process: () => ({ _tag: "Right", right: undefined }),
    dispose: () => {
      count(name)
      return { _tag: "Right", right: undefined }
    }
  })
  return { disposed, storage, postProcessor }
}

/** A logger that collects its lines into `lines`. */
const collectingInto = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message, logLevel }) => {
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
  )

describe("plugins in a scope", () => {
  it("closing the scope disposes every initialised plugin exactly once, whatever the others did", async () => {
    const c = counter()
    const scope = Effect.runSync(Scope.make())
    const plugins = await Effect.runPromise(
      Scope.extend(
        Plugins.fromObjects({
          storages: [
            { name: "first", plugin: c.storage("first") },
            { name: "misconfigured", plugin: c.storage("misconfigured", "left") },
            { name: "throws", plugin: c.storage("throws", "throws") },
            { name: "last", plugin: c.storage("last") }
          ],
          postProcessors: [
            { name: "san", plugin: c.postProcessor("san") },
            { name: "san-bad", plugin: c.postProcessor("san-bad", "left") }
          ]
        }),
        scope
      )
    )
    expect(plugins.report().map((r) => [r.name, r.state])).toEqual([
      ["first", "ready"],
      ["misconfigured", "failed"],
      ["throws", "failed"],
      ["last", "ready"],
      ["san", "ready"],
      ["san-bad", "failed"]
    ])
    expect(c.disposed.size).toBe(0)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    // Failed plugins never initialised, so they are not asked to dispose.
    expect(Object.fromEntries(c.disposed)).toEqual({ first: 1, last: 1, san: 1 })
    expect(plugins.report().every((r) => r.state === "disposed")).toBe(true)
  })

  it("a start-up that fails half-way disposes what it had hosted, once", async () => {
    const c = counter()
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          yield* Plugins.fromObjects({ storages: [{ name: "a", plugin: c.storage("a") }, { name: "b", plugin: c.storage("b") }] })
          return yield* Effect.fail("the archive could not start")
        })
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(Object.fromEntries(c.disposed)).toEqual({ a: 1, b: 1 })
  })

  it("closing an archive disposes its upgrader once", async () => {
    const c = counter()
    const scope = Effect.runSync(Scope.make())
    const plugins = await Effect.runPromise(Scope.extend(Plugins.fromObjects({ storages: [{ name: "m", plugin: c.storage("m") }] }), scope))
    const started = await Archive.start({
      plugins,
      upgrader: { name: "tsa", upgrade: () => ({ _tag: "Right", right: {} }), dispose: () => (c.disposed.set("tsa", (c.disposed.get("tsa") ?? 0) + 1), { _tag: "Right", right: undefined }) }
    })
    await started.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    expect(Object.fromEntries(c.disposed)).toEqual({ tsa: 1, m: 1 })
  })

  it("refuses a second dispose with a typed error, logged, and does not call the plugin again", async () => {
    const c = counter()
    const lines: Array<string> = []
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const plugins = yield* Scope.extend(Plugins.fromObjects({ storages: [{ name: "s", plugin: c.storage("s") }] }), scope)
        const storage = plugins.storages[0]!
        yield* storage.dispose
        const again = yield* Effect.either(storage.dispose)
        const afterSecond = [...lines]
        // The scope still closes; its own dispose is refused and logged the same way.
        yield* Scope.close(scope, Exit.void)
        return { again, afterSecond }
      }).pipe(Effect.provide(collectingInto(lines)))
    )
    if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
    const refusal = 'ERROR DISPOSE is not allowed in disposed (plugin "s").'
    expect(exit.value.again).toEqual(Either.left(new PluginLifecycle.PluginLifecycleError({ plugin: "s", event: "DISPOSE", state: "disposed" })))
    expect(exit.value.afterSecond).toEqual([refusal])
    expect(lines).toEqual([refusal, refusal])
    expect(c.disposed.get("s")).toBe(1)
  })

  it("answers the refusal as a value a host can match on", async () => {
    const hosted = { name: "p", state: () => "disposed" as const, dispose: Effect.die("must not be called") }
    const refused = await Effect.runPromise(Effect.either(PluginLifecycle.dispose(hosted).pipe(Logger.withMinimumLogLevel(LogLevel.None))))
    expect(Either.isLeft(refused) && refused.left._tag).toBe("PluginLifecycleError")
    expect(Either.isLeft(refused) && refused.left.message).toBe('DISPOSE is not allowed in disposed (plugin "p").')
  })
})
