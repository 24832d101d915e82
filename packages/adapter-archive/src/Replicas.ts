/**
 * Mirrors with verified reads and repair, and content-addressed dedup: a layer over the storage
 * contract that the archive sees as its primary storage (same name, same `Storage` shape), so the
 * archive's byte path is unchanged — one stream in to `save`, one locator back.
 *
 * - **Write**: the one stream is teed to the primary and every writable mirror at once, hashed
 *   as it passes; each copy is then verified (the storage's SHA-256 from `stat`, else read back
 *   and hashed) before the write is acknowledged, under the policy: `all` copies good, or a
 *   `quorum` (the missing ones are recorded and repaired). Content already stored (same SHA-256,
 *   known in advance or found after the write) is kept once per storage: the new part only adds
 *   a reference (the iRODS lesson: never trust a replica you did not verify).
 * - **Read**: from the first copy in configured order that is not known bad, hashed as it is
 *   read. Objects up to `verifyBeforeServing` bytes are read whole and verified before their
 *   first byte goes out, so a bad copy is skipped and the next one served. Larger ones stream;
 *   a copy that fails mid-way is resumed from the next copy at the same offset, and the final
 *   chunk is held back until the whole SHA-256 verifies: a copy whose bytes are wrong ends the
 *   read in an error (the client never receives a complete document from it). Every copy found
 *   bad is recorded (the container shows it) and repaired in the background from a good copy.
 * - **Delete**: drops the part's reference; the bytes go when the last reference does.
 * - `ReadOnly` storages serve reads and are repair sources; they are never written or repaired.
 *
 * Locators this layer answers are `sha256:<hex>:<reference id>`; any other locator (written
 * before replication was configured) passes through to the primary storage.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import { Readable } from "node:stream"
import { Errors } from "@uws-kit/core"
import { Clock, Duration, Effect, Either, Stream } from "effect"
import type { Scope } from "effect"
import type { Content, Copy, CopyCatalogue, CopyState } from "./CopyCatalogue.js"
import * as CopyCatalogues from "./CopyCatalogue.js"
import { tee } from "./internal/tee.js"
import type { LoadedPlugins } from "./Plugins.js"
import type { Opened, Readout, Storage } from "./Storage.js"
import type { StorageObject } from "./StoragePlugin.js"

/** One copy opened for reading: its chunks, and how to let go of it early. */
interface CopySource {
  readonly chunks: AsyncIterable<Uint8Array>
  readonly close: () => void
}

/**
 * @since 0.1.0
 * @category models
 */
export type Policy = "all" | "quorum"

/**
 * @since 0.1.0
 * @category models
 */
export interface ReplicationOptions {
  /** The storage (`PluginName`) containers are filed in; it gets replicated. */
  readonly primary: string
  /** Mirror storages, in the order reads try them after the primary. */
  readonly mirrors: ReadonlyArray<string>
  /** Copies that must be good before an upload is acknowledged (default `all`). */
  readonly policy?: Policy
  /** Under `quorum`: how many good copies (default: a majority of primary and writable mirrors). */
  readonly quorum?: number
  /** Objects up to this size are verified whole before their first byte is served (default 8 MiB). */
  readonly verifyBeforeServing?: number
  /** Where contents, references and copies are kept (default: in memory). */
  readonly catalogue?: CopyCatalogue
}

/**
 * What one check found of one copy.
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyCheck {
  readonly at: number
  readonly sha256: string
  readonly storage: string
  readonly locator: string | null
  /** `unreachable`: the storage is not configured or not ready, so the copy was not read. */
  readonly outcome: CopyState | "unreachable"
  readonly detail: string | null
  /** A bad or missing copy written again from a good one. */
  readonly repaired: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContentCheck {
  readonly sha256: string
  readonly size: number
  readonly copies: ReadonlyArray<CopyCheck>
  /** Bad copies remain that could not be repaired (no good copy, a read-only storage, a failed write). */
  readonly unrepaired: number
  /** Content with no reference left whose bytes were deleted by this check. */
  readonly collected: boolean
  /** Bytes read. */
  readonly bytes: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Replicas {
  /** The replicated storage: the primary's name, seen by the archive as a storage. */
  readonly storage: Storage
  readonly catalogue: CopyCatalogue
  /** Primary first, then mirrors, as configured. */
  readonly order: ReadonlyArray<string>
  readonly policy: Policy
  /** The content a locator of this layer refers to; `undefined` for other locators. */
  readonly contentOf: (locator: string) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  /**
   * Reads every copy of a content whole, records what it found, repairs bad and missing copies
   * from a good one, and deletes content no longer referred to. `paced` is told every read's
   * size (the fixity job's pace).
   */
  readonly check: (sha256: string, paced?: (bytes: number) => Effect.Effect<void>) => Effect.Effect<ContentCheck, Errors.StorageFailure>
}

const PREFIX = "sha256:"
const LOCATOR = /^sha256:([0-9a-f]{64}):([0-9a-f-]{36})$/

/**
 * The content and reference of a locator of this layer.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseLocator = (locator: string): { readonly sha256: string; readonly ref: string } | undefined => {
  const m = LOCATOR.exec(locator)
  return m === null ? undefined : { sha256: m[1]!, ref: m[2]! }
}

/**
 * Whether a locator is one of this layer's.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isReplicated = (locator: string): boolean => locator.startsWith(PREFIX)

const failure = (plugin: string, operation: string, reason: string) => new Errors.PluginFailure({ plugin, operation, reason })

/**
 * Passes bytes through while hashing them; the digest is known once the source ended. Given the
 * host's digest of the same bytes (`StorageObject.digest`), they are only counted: an upload is
 * hashed once, as it arrives, not again here.
 */
const hashing = (source: AsyncIterable<Uint8Array>, known?: () => string | undefined) => {
  const hash = known === undefined ? createHash("sha256") : undefined
  let size = 0
  let digest: string | undefined
  return {
    iterable: (async function* () {
      for await (const chunk of source) {
        hash?.update(chunk)
        size += chunk.length
        yield chunk
      }
      digest = hash === undefined ? known!() : hash.digest("hex")
    })(),
    result: () => (digest === undefined ? undefined : { sha256: digest, size })
  }
}

/** This layer hashes and checks every byte it reads: the storage need not do it again. */
const hostVerifies = { hostVerifies: true } as const

/** Reads a stored object whole, hashing it; chunks kept only when asked (serving small objects). */
const readWhole = (storage: Storage, locator: string, keep: boolean) =>
  Effect.flatMap(storage.get(locator, hostVerifies), (opened) =>
    Stream.runFold(opened.stream, { hash: createHash("sha256"), size: 0, chunks: [] as Array<Uint8Array> }, (acc, chunk) => {
      acc.hash.update(chunk)
      acc.size += chunk.length
      if (keep) acc.chunks.push(chunk)
      return acc
    })
  ).pipe(Effect.map((acc) => ({ sha256: acc.hash.digest("hex"), size: acc.size, chunks: acc.chunks })))

/** Per-content mutual exclusion in this process: references, deletions and repairs of one content in turn. */
const keyedLocks = () => {
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let entry = locks.get(key)
      if (entry === undefined) {
        entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
        locks.set(key, entry)
      }
      const e = entry
      e.users++
      return e.semaphore.withPermits(1)(effect).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (--e.users === 0) locks.delete(key)
          })
        )
      )
    })
}

/**
 * Places the primary storage of `plugins` under replication: the plugins answered have the
 * replicated storage in the primary's place; background repairs live as long as the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  plugins: LoadedPlugins,
  options: ReplicationOptions
): Effect.Effect<{ readonly plugins: LoadedPlugins; readonly replicas: Replicas }, Errors.PluginFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const named = (name: string) => plugins.storages.find((s) => s.name === name)
    const primary = named(options.primary)
    if (primary === undefined) {
      return yield* Effect.fail(failure(options.primary, "replicate", "the primary storage of replication is not a configured, enabled document storage"))
    }
    const order = [options.primary, ...options.mirrors.filter((m) => m !== options.primary)]
    for (const m of order) {
      if (named(m) === undefined) return yield* Effect.fail(failure(m, "replicate", "this mirror is not a configured, enabled document storage"))
    }
    const policy = options.policy ?? "all"
    const catalogue = options.catalogue ?? CopyCatalogues.makeMemory()
    const serveWhole = options.verifyBeforeServing ?? 8 * 1024 * 1024
    const clock = yield* Effect.clock
    const now = clock.currentTimeMillis
    const scope = yield* Effect.scope
    const locked = keyedLocks()
    const name = primary.name
    const storageFailure = (operation: string) => (e: Errors.StorageFailure) => failure(name, operation, `the catalogue of copies failed: ${e.reason}`)

    /** The storages written at upload: primary and mirrors that are not read-only. */
    const targets = () => order.map((n) => named(n)!).filter((s) => !s.readOnly)
    const required = () => {
      const n = targets().length
      return policy === "all" ? n : Math.min(n, Math.max(1, options.quorum ?? Math.floor(n / 2) + 1))
    }
    const rank = (storage: string) => {
      const i = order.indexOf(storage)
      return i < 0 ? order.length : i
    }

    /** Whether a copy just written holds what was sent: the storage's own digest, else a read back. */
    const verifyWritten = (storage: Storage, locator: string, expected: { readonly sha256: string; readonly size: number }) =>
      Effect.gen(function* () {
        const stat = yield* storage.stat(locator)
        if (stat === null) return Either.left<string>("the copy is missing right after it was written")
        if (stat.size !== expected.size) return Either.left<string>(`the copy holds ${stat.size} bytes, ${expected.size} were sent`)
        if (stat.sha256 !== undefined) {
          return stat.sha256.toLowerCase() === expected.sha256 ? Either.right(undefined) : Either.left<string>(`the copy's SHA-256 is ${stat.sha256}, the bytes sent had ${expected.sha256}`)
        }
        const back = yield* readWhole(storage, locator, false)
        return back.sha256 === expected.sha256 && back.size === expected.size
          ? Either.right(undefined)
          : Either.left<string>(`the copy read back has SHA-256 ${back.sha256} (${back.size} bytes), the bytes sent had ${expected.sha256}`)
      }).pipe(Effect.catchAll((e) => Effect.succeed(Either.left<string>(`the copy could not be verified: ${e.reason}`))))

    // ---- repair ---------------------------------------------------------------------------
    // Content being checked in the background → whether it was asked for again meanwhile.
    const checking = new Map<string, boolean>()
    /**
     * A check of a content in the background (reads that found a bad copy, or a bad copy good
     * again, ask for it): one at a time, and once more after it when asked meanwhile, since what
     * it found may be stale by then.
     */
    const checkLater = (sha256: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (checking.has(sha256)) {
          checking.set(sha256, true)
          return Effect.void
        }
        checking.set(sha256, false)
        const once: Effect.Effect<void> = check(sha256).pipe(
          Effect.catchAll((e) => Effect.logWarning(`the repair of content ${sha256} failed: ${e.reason}`)),
          Effect.zipRight(
            Effect.suspend(() => {
              if (checking.get(sha256) !== true) return Effect.void
              checking.set(sha256, false)
              return once
            })
          )
        )
        return Effect.asVoid(Effect.forkIn(Effect.ensuring(once, Effect.sync(() => checking.delete(sha256))), scope))
      })

    const markBad = (copy: Copy, state: CopyState, detail: string) =>
      Effect.flatMap(now, (at) => catalogue.putCopy({ ...copy, state, checkedAt: at, detail })).pipe(
        Effect.zipRight(Effect.logWarning(`copy of content ${copy.sha256} in ${copy.storage} is ${state}: ${detail}`)),
        Effect.ignore
      )

    // A copy found bad before verified whole again: others may now be repaired from it.
    const markGood = (copy: Copy) =>
      Effect.flatMap(now, (at) => catalogue.putCopy({ ...copy, state: "good", checkedAt: at, detail: "verified whole by a read" })).pipe(
        Effect.ignore,
        Effect.zipRight(checkLater(copy.sha256))
      )

    /** Deletes the bytes of content no part refers to any more, then forgets it. */
    const collect = (content: Content) =>
      Effect.gen(function* () {
        const problems: Array<string> = []
        for (const copy of content.copies) {
          const s = named(copy.storage)
          if (copy.locator === null || s === undefined || s.readOnly) continue
          const deleted = yield* Effect.either(s.delete(copy.locator))
          if (Either.isLeft(deleted)) problems.push(`${copy.storage}: ${deleted.left.reason}`)
        }
        if (problems.length > 0) return yield* Effect.fail(failure(name, "delete", `content ${content.sha256} is not deleted from every storage yet: ${problems.join("; ")}`))
        yield* catalogue.forget(content.sha256).pipe(Effect.mapError(storageFailure("delete")))
      })

    const check = (sha256: string, paced: (bytes: number) => Effect.Effect<void> = () => Effect.void): Effect.Effect<ContentCheck, Errors.StorageFailure> =>
      locked(
        sha256,
        Effect.gen(function* () {
          const content = yield* catalogue.content(sha256)
          if (content === undefined) return { sha256, size: 0, copies: [], unrepaired: 0, collected: false, bytes: 0 }
          if (content.state === "deleting") {
            const done = yield* Effect.either(collect(content))
            return { sha256, size: content.size, copies: [], unrepaired: 0, collected: Either.isRight(done), bytes: 0 }
          }
          const expected = { sha256, size: content.size }
          let bytes = 0
          // Every copy known, and a missing one for each writable target that has none.
          const known = new Map(content.copies.map((c) => [c.storage, c]))
          for (const t of targets()) {
            if (!known.has(t.name)) known.set(t.name, { sha256, storage: t.name, locator: null, state: "missing", checkedAt: null, detail: null })
          }
          const copies = [...known.values()].sort((a, b) => rank(a.storage) - rank(b.storage))
          const found: Array<{ copy: Copy; outcome: CopyCheck["outcome"]; detail: string | null }> = []
          for (const copy of copies) {
            const s = named(copy.storage)
            const at = yield* now
            if (s === undefined || s.state() !== "ready") {
              found.push({ copy, outcome: "unreachable", detail: s === undefined ? "the storage is not configured any more" : `the storage is ${s.state()}` })
              continue
            }
            let outcome: CopyState = "good"
            let detail: string | null = null
            if (copy.locator === null) {
              outcome = "missing"
              detail = copy.detail ?? "no copy was ever written to this storage"
            } else {
              const stat = yield* Effect.either(s.stat(copy.locator))
              if (Either.isRight(stat) && stat.right === null) {
                outcome = "missing"
                detail = "the storage has no such object"
              } else {
                const read = yield* Effect.either(readWhole(s, copy.locator, false))
                if (Either.isLeft(read)) {
                  // There but not readable whole (a storage that verifies its reads fails them).
                  outcome = Either.isRight(stat) ? "corrupt" : "missing"
                  detail = `it could not be read: ${read.left.reason}`
                } else {
                  bytes += read.right.size
                  yield* paced(read.right.size)
                  if (read.right.size !== content.size || read.right.sha256 !== sha256) {
                    outcome = "corrupt"
                    detail = `it holds ${read.right.size} bytes with SHA-256 ${read.right.sha256}; ${content.size} bytes with SHA-256 ${sha256} were stored`
                  }
                }
              }
            }
            yield* catalogue.putCopy({ ...copy, state: outcome, checkedAt: at, detail })
            found.push({ copy: { ...copy, state: outcome, checkedAt: at, detail }, outcome, detail })
          }
          const source = found.find((f) => f.outcome === "good")
          const results: Array<CopyCheck> = []
          let unrepaired = 0
          for (const f of found) {
            const base = { at: f.copy.checkedAt ?? (yield* now), sha256, storage: f.copy.storage, locator: f.copy.locator, outcome: f.outcome, detail: f.detail }
            if (f.outcome === "good" || f.outcome === "unreachable") {
              results.push({ ...base, repaired: false })
              continue
            }
            const s = named(f.copy.storage)!
            const reason =
              source === undefined
                ? "no good copy is left to repair it from"
                : s.readOnly
                  ? "the storage is read-only: it is not repaired"
                  : undefined
            if (reason !== undefined) {
              unrepaired++
              yield* catalogue.putCopy({ ...f.copy, detail: `${f.detail ?? f.outcome}; ${reason}` })
              results.push({ ...base, detail: `${f.detail ?? f.outcome}; ${reason}`, repaired: false })
              continue
            }
            const from = named(source!.copy.storage)!
            const repaired = yield* Effect.either(
              Effect.gen(function* () {
                const opened = yield* from.get(source!.copy.locator!, hostVerifies)
                const through = hashing(Stream.toAsyncIterable(opened.stream))
                const locator = yield* s.save({ containerId: `content-${sha256.slice(0, 16)}`, name: sha256, size: content.size, sha256, content: through.iterable })
                const passed = through.result()
                const verified = passed !== undefined && passed.sha256 === sha256 ? yield* verifyWritten(s, locator, expected) : Either.left("the good copy changed while it was copied")
                if (Either.isLeft(verified)) {
                  yield* s.delete(locator).pipe(Effect.ignore)
                  return yield* Effect.fail(failure(s.name, "repair", verified.left))
                }
                bytes += content.size
                yield* paced(content.size)
                return locator
              })
            )
            if (Either.isLeft(repaired)) {
              unrepaired++
              const detail = `${f.detail ?? f.outcome}; the repair from ${from.name} failed: ${repaired.left.reason}`
              yield* catalogue.putCopy({ ...f.copy, detail })
              results.push({ ...base, detail, repaired: false })
              continue
            }
            const at = yield* now
            yield* catalogue.putCopy({ sha256, storage: s.name, locator: repaired.right, state: "good", checkedAt: at, detail: `repaired from ${from.name} (it was ${f.outcome}: ${f.detail ?? ""})` })
            if (f.copy.locator !== null && f.copy.locator !== repaired.right) yield* s.delete(f.copy.locator).pipe(Effect.ignore)
            results.push({ ...base, repaired: true })
          }
          return { sha256, size: content.size, copies: results, unrepaired, collected: false, bytes }
        })
      )

    // ---- the replicated storage -----------------------------------------------------------
    const save: Storage["save"] = (object: StorageObject) =>
      Effect.gen(function* () {
        const ref = randomUUID()
        const reference = (sha256: string) => ({ id: ref, sha256, containerId: object.containerId, name: object.name })
        const hint = object.sha256?.toLowerCase()
        if (hint !== undefined && /^[0-9a-f]{64}$/.test(hint)) {
          const joined = yield* locked(hint, catalogue.addReference(reference(hint))).pipe(Effect.mapError(storageFailure("save")))
          if (joined !== undefined) {
            if (object.size === undefined || joined.size === object.size) return `${PREFIX}${hint}:${ref}`
            yield* catalogue.removeReference(ref).pipe(Effect.ignore)
          }
        }
        const all = targets()
        const ready = all.filter((s) => s.writable())
        const need = required()
        const down = all.filter((s) => !s.writable()).map((s) => `${s.name} is ${s.state()}`)
        if (ready.length < need) {
          return yield* Effect.fail(failure(name, "save", `${need} good cop${need === 1 ? "y is" : "ies are"} required (policy ${policy}); ${down.join(", ")}`))
        }
        const through = hashing(object.content, object.digest)
        const branches = tee(through.iterable, ready.length)
        const written = yield* Effect.forEach(ready, (s, i) => Effect.either(s.save({ ...object, content: branches[i]! })), { concurrency: "unbounded" })
        const locators = written.flatMap((w, i) => (Either.isRight(w) ? [{ storage: ready[i]!, locator: w.right }] : []))
        const undo = Effect.forEach(locators, (w) => w.storage.delete(w.locator).pipe(Effect.ignore), { discard: true })
        const digest = through.result()
        if (digest === undefined || (hint !== undefined && digest.sha256 !== hint) || (object.size !== undefined && digest.size !== object.size)) {
          yield* undo
          const reasons = written.flatMap((w, i) => (Either.isLeft(w) ? [`${ready[i]!.name}: ${w.left.reason}`] : []))
          return yield* Effect.fail(
            failure(
              name,
              "save",
              digest === undefined
                ? `the content was not read to the end${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`
                : `the content read has SHA-256 ${digest.sha256} (${digest.size} bytes), not the ${hint ?? ""} (${object.size ?? "?"} bytes) announced`
            )
          )
        }
        const at = yield* now
        const copies: Array<Copy> = []
        const problems: Array<string> = [...down]
        for (const [i, s] of ready.entries()) {
          const w = written[i]!
          if (Either.isLeft(w)) {
            problems.push(`${s.name}: ${w.left.reason}`)
            copies.push({ sha256: digest.sha256, storage: s.name, locator: null, state: "missing", checkedAt: at, detail: `the write failed: ${w.left.reason}` })
            continue
          }
          const ok = yield* verifyWritten(s, w.right, digest)
          if (Either.isLeft(ok)) {
            problems.push(`${s.name}: ${ok.left}`)
            yield* s.delete(w.right).pipe(Effect.ignore)
            copies.push({ sha256: digest.sha256, storage: s.name, locator: null, state: "corrupt", checkedAt: at, detail: `the write was not verified: ${ok.left}` })
          } else {
            copies.push({ sha256: digest.sha256, storage: s.name, locator: w.right, state: "good", checkedAt: at, detail: null })
          }
        }
        const good = copies.filter((c) => c.state === "good")
        if (good.length < need) {
          yield* Effect.forEach(good, (c) => named(c.storage)!.delete(c.locator!).pipe(Effect.ignore), { discard: true })
          return yield* Effect.fail(
            failure(name, "save", `${good.length} of ${all.length} copies are good, ${need} are required (policy ${policy}): ${problems.join("; ")}`)
          )
        }
        const recorded = yield* locked(digest.sha256, catalogue.createContent(digest, reference(digest.sha256), copies)).pipe(
          Effect.tapError(() => Effect.forEach(good, (c) => named(c.storage)!.delete(c.locator!).pipe(Effect.ignore), { discard: true })),
          Effect.mapError(storageFailure("save"))
        )
        if (!recorded.created) {
          // Identical content was stored meanwhile: this part refers to it; these bytes go.
          yield* Effect.forEach(good, (c) => named(c.storage)!.delete(c.locator!).pipe(Effect.ignore), { discard: true })
        } else if (good.length < copies.length) {
          yield* checkLater(digest.sha256)
        }
        return `${PREFIX}${digest.sha256}:${ref}`
      })

    const resolve = (locator: string, operation: string) =>
      Effect.gen(function* () {
        const parsed = parseLocator(locator)
        if (parsed === undefined) return yield* Effect.fail(failure(name, operation, `"${locator}" is not a locator of replicated content`))
        const reference = yield* catalogue.reference(parsed.ref).pipe(Effect.mapError(storageFailure(operation)))
        const content = reference === undefined || reference.sha256 !== parsed.sha256 ? undefined : yield* catalogue.content(parsed.sha256).pipe(Effect.mapError(storageFailure(operation)))
        return { parsed, content: content?.state === "live" ? content : undefined }
      })

    const openStream = async (s: Storage, locator: string): Promise<CopySource> => {
      const opened = await Effect.runPromise(Effect.either(s.get(locator, hostVerifies)))
      if (Either.isLeft(opened)) throw new Error(opened.left.reason)
      return { chunks: Stream.toAsyncIterable(opened.right.stream), close: () => {} }
    }
    const openNode = async (s: Storage, locator: string): Promise<CopySource> => {
      const opened = await Effect.runPromise(Effect.either(s.read(locator, hostVerifies)))
      if (Either.isLeft(opened)) throw new Error(opened.left.reason)
      const readable = opened.right.readable
      return { chunks: readable as AsyncIterable<Uint8Array>, close: () => readable.destroy() }
    }

    /**
     * Streams copies in turn from where the previous one failed; holds the last chunk until the
     * whole digest verifies. `open` reads one copy: through its Effect stream (`get`) or its own
     * Node stream (`read`, no per-chunk Effect step for a large download).
     */
    const failover = (content: Content, candidates: ReadonlyArray<Copy>, open: (s: Storage, locator: string) => Promise<CopySource>) =>
      async function* (): AsyncGenerator<Uint8Array> {
        const hash = createHash("sha256")
        const failedVerification = (digest: string) =>
          failure(name, "get", `a copy of this document failed verification (SHA-256 ${digest}, stored ${content.sha256}); it was not served whole and is being repaired from a good copy`)
        let hashed = 0
        let held: Uint8Array | undefined
        const problems: Array<string> = []
        for (const copy of candidates) {
          const s = named(copy.storage)!
          let skip = hashed
          let longer = false
          let source: CopySource | undefined
          try {
            source = await open(s, copy.locator!)
            for await (const chunk of source.chunks) {
              let c = chunk
              if (skip > 0) {
                if (c.length <= skip) {
                  skip -= c.length
                  continue
                }
                c = c.subarray(skip)
                skip = 0
              }
              if (hashed + c.length > content.size) {
                longer = true
                throw new Error(`it holds more than the ${content.size} bytes stored`)
              }
              hash.update(c)
              hashed += c.length
              if (held !== undefined) yield held
              held = c
            }
            if (hashed < content.size) throw new Error(`it ended after ${hashed} of ${content.size} bytes`)
          } catch (e) {
            source?.close()
            const reason = e instanceof Error ? e.message : String(e)
            if (hashed === content.size && !longer) {
              // Every byte came, and was hashed, before the storage failed: one that checks its
              // own reads fails a bad copy at its end. The digest judges this copy; the next one
              // has no bytes left to give, so it is neither read nor blamed.
              const digest = hash.digest("hex")
              if (digest === content.sha256) {
                if (held !== undefined) yield held
                return
              }
              await Effect.runPromise(
                Effect.zipRight(markBad(copy, "corrupt", `a read found SHA-256 ${digest}, ${content.sha256} was stored (the storage: ${reason})`), checkLater(content.sha256))
              )
              throw failedVerification(digest)
            }
            problems.push(`${copy.storage}: ${reason}`)
            await Effect.runPromise(Effect.zipRight(markBad(copy, "missing", `a read failed: ${reason}`), checkLater(content.sha256)))
            continue
          }
          const digest = hash.digest("hex")
          if (digest !== content.sha256) {
            await Effect.runPromise(
              Effect.zipRight(markBad(copy, "corrupt", `a read found SHA-256 ${digest}, ${content.sha256} was stored`), checkLater(content.sha256))
            )
            throw failedVerification(digest)
          }
          if (copy.state !== "good") await Effect.runPromise(markGood(copy))
          if (held !== undefined) yield held
          return
        }
        throw failure(name, "get", `no copy could be read to the end (${problems.join("; ")}); the document is being repaired where a good copy exists`)
      }

    /** Copies a read may try: good ones first, then those last found bad (a failure may have passed); every read is verified anyway. */
    const readable = (content: Content) =>
      content.copies
        .filter((c) => c.locator !== null && named(c.storage)?.state() === "ready")
        .sort((a, b) => (a.state === "good" ? 0 : 1) - (b.state === "good" ? 0 : 1) || rank(a.storage) - rank(b.storage))

    const get: Storage["get"] = (locator, options) => {
      if (!isReplicated(locator)) return primary.get(locator, options)
      return Effect.gen(function* () {
        const { content } = yield* resolve(locator, "get")
        if (content === undefined) return yield* Effect.fail(failure(name, "get", `no document ${locator} in this storage`))
        const candidates = readable(content)
        if (candidates.length === 0) {
          yield* checkLater(content.sha256)
          return yield* Effect.fail(
            failure(name, "get", `no good copy of this document is left (${content.copies.map((c) => `${c.storage}: ${c.state}${c.detail === null ? "" : ` (${c.detail})`}`).join("; ")})`)
          )
        }
        if (content.size <= serveWhole) {
          const problems: Array<string> = []
          for (const copy of candidates) {
            const s = named(copy.storage)!
            const read = yield* Effect.either(readWhole(s, copy.locator!, true))
            if (Either.isLeft(read)) {
              problems.push(`${copy.storage}: ${read.left.reason}`)
              yield* markBad(copy, "missing", `a read failed: ${read.left.reason}`)
            } else if (read.right.sha256 !== content.sha256 || read.right.size !== content.size) {
              problems.push(`${copy.storage}: SHA-256 ${read.right.sha256} (${read.right.size} bytes)`)
              yield* markBad(copy, "corrupt", `a read found SHA-256 ${read.right.sha256} (${read.right.size} bytes), ${content.sha256} (${content.size} bytes) was stored`)
            } else {
              if (copy.state !== "good") yield* markGood(copy)
              if (problems.length > 0) yield* checkLater(content.sha256)
              return { size: content.size, stream: Stream.fromIterable(read.right.chunks) } satisfies Opened
            }
          }
          yield* checkLater(content.sha256)
          return yield* Effect.fail(failure(name, "get", `no copy of this document verified (${problems.join("; ")}); it is not served`))
        }
        const stream = Stream.fromAsyncIterable(failover(content, candidates, openStream)(), (e) =>
          e instanceof Errors.PluginFailure ? e : failure(name, "get", e instanceof Error ? e.message : String(e))
        )
        return { size: content.size, stream } satisfies Opened
      })
    }

    const stat: Storage["stat"] = (locator) => {
      if (!isReplicated(locator)) return primary.stat(locator)
      return Effect.map(resolve(locator, "stat"), ({ content }) => (content === undefined ? null : { size: content.size, sha256: content.sha256 }))
    }

    const remove: Storage["delete"] = (locator) => {
      if (!isReplicated(locator)) return primary.delete(locator)
      const parsed = parseLocator(locator)
      if (parsed === undefined) return Effect.void // never stored here: as deleted
      return locked(
        parsed.sha256,
        Effect.gen(function* () {
          yield* catalogue.removeReference(parsed.ref).pipe(Effect.mapError(storageFailure("delete")))
          // Also when the reference was gone already: a delete sent again finishes what failed.
          const content = yield* catalogue.content(parsed.sha256).pipe(Effect.mapError(storageFailure("delete")))
          if (content?.state === "deleting") yield* collect(content)
        })
      )
    }

    // A socket's reader gets the same verified, failing-over stream as `get` (the held-back last
    // chunk included), as a byte-mode Node stream; locators not replicated go to the primary's own.
    // Small objects are verified whole first (as `get` does); large ones stream Node to Node.
    const read: Storage["read"] = (locator, options) => {
      if (!isReplicated(locator)) return primary.read(locator, options)
      return Effect.gen(function* () {
        const { content } = yield* resolve(locator, "get")
        if (content !== undefined && content.size > serveWhole) {
          const candidates = readable(content)
          if (candidates.length > 0) {
            return { size: content.size, readable: Readable.from(failover(content, candidates, openNode)(), { objectMode: false, highWaterMark: 1 }) } satisfies Readout
          }
        }
        const o = yield* get(locator)
        return { size: o.size, readable: Readable.from(Stream.toAsyncIterable(o.stream), { objectMode: false }) } satisfies Readout
      })
    }

    const storage: Storage = {
      name,
      readOnly: false,
      state: primary.state,
      failure: primary.failure,
      writable: () => targets().filter((s) => s.writable()).length >= required() && required() > 0,
      save,
      get,
      read,
      stat,
      delete: remove,
      dispose: Effect.void
    }
    const replicas: Replicas = {
      storage,
      catalogue,
      order,
      policy,
      contentOf: (locator) => {
        const parsed = parseLocator(locator)
        return parsed === undefined ? Effect.succeed(undefined) : catalogue.content(parsed.sha256)
      },
      check
    }
    return {
      plugins: { ...plugins, storages: plugins.storages.map((s) => (s.name === name ? storage : s)) },
      replicas
    }
  })

/**
 * Waits long enough that `bytes` pass at no more than `bytesPerSecond` since `since` (the
 * fixity job's pace).
 *
 * @since 0.1.0
 * @category pacing
 */
export const paceBytes = (bytesPerSecond: number) => {
  let budgetStart: number | undefined
  let sent = 0
  return (bytes: number): Effect.Effect<void> =>
    Effect.gen(function* () {
      const t = yield* Clock.currentTimeMillis
      budgetStart ??= t
      sent += bytes
      const due = budgetStart + (sent / bytesPerSecond) * 1000
      if (due > t) yield* Effect.sleep(Duration.millis(due - t))
    })
}
