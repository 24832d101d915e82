import { Effect, Either, Logger } from "effect"
import fc from "fast-check"
import * as E from "fp-ts/Either"
import { pipe } from "fp-ts/function"
import * as TE from "fp-ts/TaskEither"
import { initialTransition, transition } from "xstate"
import { describe, expect, it } from "vitest"
import { Plugin } from "@uws-kit/core"
import type { Result } from "@uws-kit/core/Result"
import { propertyRuns } from "@uws-kit/core/testing"

/** A quote plugin as a plugin author writes it with fp-ts: every operation is a TaskEither. */
interface QuotePlugin extends Plugin.Lifecycle {
  readonly quote: (jobId: string) => () => Promise<Result<string, number>>
}

const fpPlugin: QuotePlugin = {
  initialize: (parameters) =>
    pipe(
      TE.fromEither(E.fromNullable("the parameter \"rate\" is required")(parameters.get("RATE"))),
      TE.map(() => undefined)
    ),
  quote: (jobId) =>
    pipe(
      TE.right<string, string>(jobId),
      TE.chain((id) => (id.startsWith("bad") ? TE.left(`no quote for ${id}`) : TE.right(id.length * 60)))
    )
}

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(effect))

describe("the plugin host", () => {
  it("calls an fp-ts TaskEither plugin: Right is the value, Left a PluginFailure with its message", async () => {
    const hosted = await Effect.runPromise(Plugin.host("quotes", fpPlugin, { Rate: "60" }))
    expect(hosted.state()).toBe("ready")
    expect(await run(hosted.call("quote", (p) => p.quote("job-1")))).toEqual(Either.right(300))
    const left = await run(hosted.call("quote", (p) => p.quote("bad-1")))
    expect(Either.isLeft(left) && left.left.message).toBe('Plugin "quotes" failed in quote: no quote for bad-1')
  })

  it("reads parameters case-insensitively, and a failed initialisation is recorded, not raised", async () => {
    const hosted = await Effect.runPromise(Plugin.host("quotes", fpPlugin, { other: "x" }))
    expect(hosted.state()).toBe("failed")
    expect(hosted.failure()).toBe('the parameter "rate" is required')
    const refused = await run(hosted.call("quote", (p) => p.quote("job-1")))
    expect(Either.isLeft(refused) && refused.left.reason).toBe('the plugin failed to initialise: the parameter "rate" is required')
    const params = new Plugin.PluginParameters({ BasePath: "/data" })
    expect([params.get("basepath"), params.get("BASEPATH"), params.has("basePath")]).toEqual(["/data", "/data", true])
  })

  it("turns throws, rejections, hangs, defects and malformed answers into clear failures", async () => {
    const bad = {
      throws: (): Result<string, number> => {
        throw new Error("disk on fire")
      },
      rejects: () => Promise.reject(new Error("connection reset")),
      hangs: () => new Promise<Result<string, number>>(() => {}),
      dies: () => Effect.die(new Error("bug")),
      malformed: () => 42 as unknown as Result<string, number>,
      effectLeft: () => Effect.fail("quota exhausted"),
      effectEither: () => Either.right(7) as unknown as Result<string, number>
    }
    const hosted = await Effect.runPromise(Plugin.host("bad", bad as typeof bad & Plugin.Lifecycle, {}, { timeout: "50 millis" }))
    const reason = async (f: (p: typeof bad) => Plugin.Lifecycle | unknown) => {
      const r = await run(hosted.call("op", f as never))
      return Either.isLeft(r) ? (r.left as { reason: string }).reason : r.right
    }
    expect(await reason((p) => p.throws())).toBe("threw: disk on fire")
    expect(await reason((p) => p.rejects())).toBe("threw: rejected: connection reset")
    expect(await reason((p) => p.hangs())).toBe("did not answer within 50ms")
    expect(await reason((p) => p.dies())).toBe("threw: bug")
    expect(await reason((p) => p.malformed())).toBe('returned 42 instead of a Result ({ _tag: "Left" | "Right" })')
    expect(await reason((p) => p.effectLeft())).toBe("quota exhausted")
    // effect's own Either (its _tag lives on the prototype) is a Result too.
    expect(await reason((p) => p.effectEither())).toBe(7)
  })

  it("does not call a disposed plugin, and disposes it once", async () => {
    let disposed = 0
    const hosted = await Effect.runPromise(
      Plugin.host("p", { dispose: () => ({ _tag: "Right", right: disposed++ }) as const, ping: () => ({ _tag: "Right", right: "pong" }) as const })
    )
    await Effect.runPromise(hosted.dispose)
    const logged: Array<string> = []
    const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => void logged.push(`${logLevel.label} ${String(message)}`)))
    await Effect.runPromise(Effect.provide(hosted.dispose, capture))
    expect(disposed).toBe(1)
    expect(logged).toEqual(['WARN DISPOSE is not allowed in disposed (plugin "p"): it is disposed already'])
    expect(hosted.state()).toBe("disposed")
    const r = await run(hosted.call("ping", (p) => p.ping()))
    expect(Either.isLeft(r) && r.left.reason).toBe("the plugin is disposed")
  })
})

describe("the plugin lifecycle machine", () => {
  const allowed: Record<string, Record<string, string>> = {
    loaded: { INITIALIZE: "initializing", DISPOSE: "disposed" },
    initializing: { INITIALIZED: "ready", FAILED: "failed", DISPOSE: "disposed" },
    ready: { DISPOSE: "disposed" },
    failed: { DISPOSE: "disposed" },
    disposed: {}
  }
  it("moves only along its edges, and disposed is the end", () => {
    const event = fc.constantFrom(
      { type: "INITIALIZE" } as const,
      { type: "INITIALIZED" } as const,
      { type: "FAILED", reason: "no disk" } as const,
      { type: "DISPOSE" } as const
    )
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), (events) => {
        let [s] = initialTransition(Plugin.lifecycleMachine)
        for (const e of events) {
          const from = String(s.value)
          ;[s] = transition(Plugin.lifecycleMachine, s, e)
          expect(String(s.value)).toBe(allowed[from]![e.type] ?? from)
          if (s.value === "failed") expect(s.context.failure).toBe("no disk")
        }
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})
