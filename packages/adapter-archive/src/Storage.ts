/**
 * A document storage under the archive's protection: the plugin hosted by the core plugin host
 * (lifecycle machine, time-outs, every throw and rejection turned into `PluginFailure`), plus
 * what the host cannot know about storages:
 *
 * - a read-only storage is never written: `save` and `delete` fail without calling the plugin;
 * - a save must consume the whole object before it answers, or it is undone and refused;
 * - a save may take longer the larger the object (`minimumThroughput`), and only the storage's own
 *   time counts: time spent waiting for the bytes (a request still arriving) does not;
 * - reads stream, and a stream that stalls longer than `idleTimeout` fails.
 *
 * @since 0.1.0
 */
import { Content, Errors, Plugin } from "@uws-kit/core"
import { Duration, Effect, Option, Stream } from "effect"
import type { Readable } from "node:stream"
import * as NodeReadable from "./internal/nodeReadable.js"
import * as PluginLifecycle from "./PluginLifecycle.js"
import type { PluginLifecycleError } from "./PluginLifecycle.js"
import type { Locator, ReadOptions, StorageObject, StoragePlugin, StorageStat } from "./StoragePlugin.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface StorageOptions {
  /** Never write (`save`, `delete`) to this storage; it serves reads only. */
  readonly readOnly?: boolean
  /** Longest a call (and initialisation) may take; default 30 s. */
  readonly timeout?: Duration.DurationInput
  /**
   * Slowest accepted transfer in bytes per second (default 1 MiB/s): a save of `n` bytes may take
   * `timeout + n / minimumThroughput` of the storage's own time (not counting the time its
   * `next()` waits for bytes that have not arrived yet).
   */
  readonly minimumThroughput?: number
  /** Longest a read stream may go without a chunk; default `timeout`. */
  readonly idleTimeout?: Duration.DurationInput
}

/**
 * An opened stored object.
 *
 * @since 0.1.0
 * @category models
 */
export interface Opened {
  readonly size: number | undefined
  readonly stream: Stream.Stream<Uint8Array, Errors.PluginFailure>
}

/**
 * A stored object opened as a Node stream. Its last chunk comes out only once the storage's
 * stream ended cleanly, so a storage that fails its read at the end (a hash check) never lets a
 * whole-looking copy out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Readout {
  readonly size: number | undefined
  readonly readable: Readable
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Storage {
  readonly name: string
  readonly readOnly: boolean
  readonly state: () => Plugin.PluginState
  /** Why the storage failed to load or initialise, when it did. */
  readonly failure: () => string | null
  /** Ready and not read-only. */
  readonly writable: () => boolean
  readonly save: (object: StorageObject) => Effect.Effect<Locator, Errors.PluginFailure>
  /** `options` go to the plugin's `get` ({@link ReadOptions}). */
  readonly get: (locator: Locator, options?: ReadOptions) => Effect.Effect<Opened, Errors.PluginFailure>
  /**
   * Opens a stored object as a Node stream, under the same guards as `get` (bytes only, idle
   * time-out), for sending it to a socket with Node's backpressure; see {@link Readout}.
   */
  readonly read: (locator: Locator, options?: ReadOptions) => Effect.Effect<Readout, Errors.PluginFailure>
  readonly stat: (locator: Locator) => Effect.Effect<StorageStat | null, Errors.PluginFailure>
  /** Idempotent; fails without calling the plugin when the storage is read-only. */
  readonly delete: (locator: Locator) => Effect.Effect<void, Errors.PluginFailure>
  /** Disposes the plugin once; a second dispose is refused (and logged). */
  readonly dispose: Effect.Effect<void, PluginLifecycleError>
}

const DEFAULT_TIMEOUT = Duration.seconds(30)
const DEFAULT_THROUGHPUT = 1024 * 1024

/**
 * Reads a source at most once and to the end; `close` cuts it off (a storage that timed out must
 * not keep reading the file behind it). Keeps the time the storage held the source without
 * waiting for it (`busy`): the time a save is allowed is measured in that, so a slow client
 * uploading straight into a storage does not make the storage look hung.
 */
const guardedSource = (source: AsyncIterable<Uint8Array>, now: () => number) => {
  let iterator: AsyncIterator<Uint8Array> | undefined
  let finished = false
  let closed = false
  let bytes = 0
  let taken = false
  const started = now()
  let waited = 0
  let waitingSince: number | undefined
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      if (taken) throw new Error("the content of an object can be read only once")
      taken = true
      iterator = source[Symbol.asyncIterator]()
      return {
        next: async () => {
          if (closed) return { done: true, value: undefined }
          waitingSince = now()
          try {
            const step = await iterator!.next()
            if (step.done === true) finished = true
            else bytes += step.value.length
            return step
          } finally {
            waited += now() - waitingSince
            waitingSince = undefined
          }
        },
        return: async () => {
          closed = true
          await iterator?.return?.()
          return { done: true, value: undefined }
        }
      }
    }
  }
  return {
    iterable,
    finished: () => finished,
    bytes: () => bytes,
    /** Milliseconds the storage spent on the save, not counting its waits for the source. */
    busy: () => {
      const t = now()
      return t - started - waited - (waitingSince === undefined ? 0 : t - waitingSince)
    },
    close: () =>
      Effect.promise(async () => {
        closed = true
        try {
          await iterator?.return?.()
        } catch {
          // the source is being torn down anyway
        }
      })
  }
}

/**
 * A plugin's async iterable as a stream that can always be abandoned: a pending `next()` is left
 * behind on interruption (a stalled plugin stream must not hold the reader), and `return()` is
 * called without waiting for it (an async generator suspended in an await would never answer).
 */
const fromUntrusted = (iterable: AsyncIterable<unknown>): Stream.Stream<unknown, unknown> =>
  Stream.suspend(() => {
    let iterator: AsyncIterator<unknown>
    try {
      iterator = iterable[Symbol.asyncIterator]()
    } catch (e) {
      return Stream.fail(e)
    }
    return Stream.repeatEffectOption(
      Effect.async<unknown, Option.Option<unknown>>((resume) => {
        let pending: Promise<IteratorResult<unknown>>
        try {
          pending = Promise.resolve(iterator.next())
        } catch (e) {
          return resume(Effect.fail(Option.some(e)))
        }
        pending.then(
          (step) => resume(step.done === true ? Effect.fail(Option.none()) : Effect.succeed(step.value)),
          (e: unknown) => resume(Effect.fail(Option.some(e)))
        )
      })
    ).pipe(
      Stream.ensuring(
        Effect.sync(() => {
          try {
            void Promise.resolve(iterator.return?.()).catch(() => {})
          } catch {
            // nothing more to do for a stream we abandon
          }
        })
      )
    )
  })

const isValidStat = (u: unknown): u is StorageStat | null =>
  u === null ||
  (typeof u === "object" &&
    typeof (u as StorageStat).size === "number" &&
    Number.isSafeInteger((u as StorageStat).size) &&
    (u as StorageStat).size >= 0)

const wrap = (name: string, hosted: Plugin.Hosted<StoragePlugin>, readOnly: boolean, options: StorageOptions): Storage => {
  const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
  const throughput = options.minimumThroughput ?? DEFAULT_THROUGHPUT
  const idle = Duration.decode(options.idleTimeout ?? timeout)
  const failure = (operation: string, reason: string) => new Errors.PluginFailure({ plugin: name, operation, reason })
  const refuseWrite = (operation: string) =>
    Effect.fail(failure(operation, "the storage is read-only (ReadOnly in plugin-config.json); nothing is written to it."))

  const save: Storage["save"] = (object) => {
    if (readOnly) return refuseWrite("save")
    const timeoutMs = Duration.toMillis(timeout)
    // The save's own time may grow with the bytes it took (or is told it will take).
    const allowed = (bytes: number) => timeoutMs + (Math.max(bytes, object.size ?? 0) / throughput) * 1000
    return Effect.flatMap(Effect.clock, (clock) =>
      Effect.acquireUseRelease(
        Effect.sync(() => guardedSource(object.content, () => clock.unsafeCurrentTimeMillis())),
        (source) => {
          const tick = Duration.millis(Math.max(10, Math.min(250, timeoutMs / 4)))
          const overdue: Effect.Effect<never, Errors.PluginFailure> = Effect.sleep(tick).pipe(
            Effect.zipRight(
              Effect.suspend(() =>
                source.busy() > allowed(source.bytes())
                  ? Effect.fail(failure("save", `did not answer within ${Duration.format(Duration.millis(allowed(source.bytes())))} (${source.bytes()} bytes read)`))
                  : overdue
              )
            )
          )
          return hosted.call("save", (p) => p.save({ ...object, content: source.iterable }), { timeout: Duration.infinity }).pipe(
            Effect.raceFirst(overdue),
            Effect.flatMap((locator) => {
              if (typeof locator !== "string" || locator.length === 0) {
                return Effect.fail(failure("save", `answered ${JSON.stringify(locator)} instead of a non-empty locator string`))
              }
              if (!source.finished() || (object.size !== undefined && source.bytes() !== object.size)) {
                // The storage answered before reading the whole object: whatever it kept is incomplete.
                return hosted.call("delete", (p) => p.delete(locator), { timeout }).pipe(
                  Effect.ignore,
                  Effect.zipRight(
                    Effect.fail(failure("save", `answered after reading ${source.bytes()} bytes of ${object.size ?? "the"} object; the partial copy was deleted`))
                  )
                )
              }
              return Effect.succeed(locator)
            })
          )
        },
        (source) => source.close()
      )
    )
  }

  const get: Storage["get"] = (locator, options) =>
    hosted.call("get", (p) => (options === undefined ? p.get(locator) : p.get(locator, options))).pipe(
      Effect.flatMap((stored) => {
        if (typeof stored !== "object" || stored === null || !("content" in stored)) {
          return Effect.fail(failure("get", "answered something that is not a stored object ({ content, size? })"))
        }
        const size = typeof stored.size === "number" && Number.isSafeInteger(stored.size) ? stored.size : undefined
        const content: unknown = stored.content
        let source: Stream.Stream<unknown, unknown>
        if (content instanceof Uint8Array) source = Stream.succeed(content)
        else if (typeof content === "object" && content !== null && Symbol.asyncIterator in content) {
          source = fromUntrusted(content as AsyncIterable<unknown>)
        } else if (typeof content === "object" && content !== null && typeof (content as ReadableStream).getReader === "function") {
          source = Content.toStream(content as ReadableStream<Uint8Array>)
        } else if (typeof content === "object" && content !== null && Symbol.iterator in content) {
          // Not the contract (which asks for a stream), but unambiguous: accept it.
          source = Stream.fromIterable(content as Iterable<Uint8Array>)
        } else {
          return Effect.fail(failure("get", "answered content that is not a stream (AsyncIterable or ReadableStream of bytes)"))
        }
        const stream = source.pipe(
          Stream.mapEffect((chunk) =>
            chunk instanceof Uint8Array ? Effect.succeed(chunk) : Effect.fail(failure("get", "the stream gave something other than bytes"))
          ),
          Stream.mapError((e) =>
            e instanceof Errors.PluginFailure ? e : failure("get", `the stream failed: ${e instanceof Error ? e.message : String(e)}`)
          ),
          Stream.timeoutFail(() => failure("get", `the stream stalled for ${Duration.format(idle)}`), idle)
        )
        return Effect.succeed<Opened>({ size, stream })
      })
    )

  const read: Storage["read"] = (locator, options) =>
    hosted.call("get", (p) => (options === undefined ? p.get(locator) : p.get(locator, options))).pipe(
      Effect.flatMap((stored) => {
        if (typeof stored !== "object" || stored === null || !("content" in stored)) {
          return Effect.fail(failure("get", "answered something that is not a stored object ({ content, size? })"))
        }
        const size = typeof stored.size === "number" && Number.isSafeInteger(stored.size) ? stored.size : undefined
        const readable = NodeReadable.fromUntrusted(stored.content, Duration.toMillis(idle), (reason) => failure("get", reason))
        return Effect.succeed<Readout>({ size, readable })
      })
    )

  const stat: Storage["stat"] = (locator) =>
    hosted.call("stat", (p) => p.stat(locator)).pipe(
      Effect.flatMap((s) =>
        isValidStat(s) ? Effect.succeed(s) : Effect.fail(failure("stat", "answered something that is not { size } or null"))
      )
    )

  return {
    name,
    readOnly,
    state: hosted.state,
    failure: hosted.failure,
    writable: () => !readOnly && hosted.state() === "ready",
    save,
    get,
    read,
    stat,
    delete: (locator) => (readOnly ? refuseWrite("delete") : hosted.call("delete", (p) => p.delete(locator)).pipe(Effect.asVoid)),
    dispose: PluginLifecycle.dispose(hosted)
  }
}

/**
 * Hosts a storage plugin: initialises it with its parameters (a failed initialisation leaves the
 * storage `failed`, reported, and never called).
 *
 * @since 0.1.0
 * @category constructors
 */
export const host = (
  name: string,
  plugin: StoragePlugin,
  parameters: Plugin.PluginParameters | Readonly<Record<string, string>> = {},
  options: StorageOptions = {}
): Effect.Effect<Storage> =>
  Plugin.host(name, plugin, parameters, { timeout: options.timeout ?? DEFAULT_TIMEOUT }).pipe(
    Effect.map((hosted) => wrap(name, hosted, options.readOnly === true, options))
  )

/**
 * A storage that could not even be loaded (bad module, not a storage): `failed` with the reason,
 * so it is reported like any other and the others keep working.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failed = (name: string, reason: string, options: StorageOptions = {}): Effect.Effect<Storage> => {
  const refuse = () => ({ _tag: "Left", left: reason }) as const
  return host(name, { initialize: refuse, save: refuse, get: refuse, stat: refuse, delete: refuse }, {}, options)
}

/**
 * Reads a stored object to the end, for small objects (signatures) and tests.
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = (storage: Storage, locator: Locator): Effect.Effect<Uint8Array, Errors.PluginFailure> =>
  storage.get(locator).pipe(
    Effect.flatMap((opened) => Stream.runCollect(opened.stream)),
    Effect.map((chunks) => Content.concat([...chunks]))
  )
