/**
 * `@uws-kit/adapter-archive/testing`: the conformance suite every document storage plugin runs
 * (the built-ins, the test plugins, and yours), in the manner of unstorage's `testDriver`:
 *
 * ```ts
 * import { testStoragePlugin } from "@uws-kit/adapter-archive/testing"
 * testStoragePlugin({ name: "my-s3", make: () => ({ plugin: makeS3(), parameters: { Bucket: "test" } }) })
 * ```
 *
 * It drives the plugin through the archive's host (so Results, promises, thunks and Effects are
 * all accepted) and checks what the archive relies on: byte-exact round trips of any size and
 * content, sizes (and SHA-256 when reported) in `stat`, `null` for missing objects, failing reads
 * of missing objects, reads given the host's `ReadOptions`, idempotent deletes, distinct locators
 * for identical content, concurrent saves, sources that reuse their buffer, failing sources, and
 * hostile locators.
 *
 * Requires `vitest` (an optional peer dependency).
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import { Effect, Either, Exit, Scope, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Storages from "./Storage.js"
import type { Storage } from "./Storage.js"
import type { StoragePlugin } from "./StoragePlugin.js"

/**
 * A plugin under test, fresh for every test.
 *
 * @since 0.1.0
 * @category models
 */
export interface PluginUnderTest {
  readonly plugin: StoragePlugin
  readonly parameters?: Readonly<Record<string, string>>
  readonly cleanup?: () => Promise<void> | void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StoragePluginSuite {
  readonly name: string
  readonly make: () => PluginUnderTest | Promise<PluginUnderTest>
  /** Whether `stat` must report the SHA-256 (default: checked only when present). */
  readonly reportsSha256?: boolean
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

/**
 * Registers the conformance tests of a storage plugin.
 *
 * @since 0.1.0
 * @category suites
 */
export const testStoragePlugin = (suite: StoragePluginSuite): void => {
  describe(`storage plugin conformance: ${suite.name}`, () => {
    const cleanups: Array<() => Promise<void> | void> = []
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c()
    })

    const open = async (transformKeys: (k: string) => string = (k) => k): Promise<Storage> => {
      const made = await suite.make()
      if (made.cleanup !== undefined) cleanups.push(made.cleanup)
      const parameters = Object.fromEntries(Object.entries(made.parameters ?? {}).map(([k, v]) => [transformKeys(k), v]))
      const storage = await Effect.runPromise(Storages.host(suite.name, made.plugin, parameters, { timeout: "20 seconds" }))
      cleanups.push(() => Effect.runPromise(storage.dispose))
      expect(storage.state(), `initialisation failed: ${storage.failure()}`).toBe("ready")
      return storage
    }
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(effect))
    const save = async (storage: Storage, bytes: Uint8Array, chunkSize = 64 * 1024, name = "document") => {
      const saved = await run(storage.save({ containerId: "c-1", name, fileName: "x.bin", mimeType: "application/octet-stream", size: bytes.length, content: chunks(bytes, Math.max(1, chunkSize)) }))
      if (Either.isLeft(saved)) throw new Error(`save failed: ${saved.left.message}`)
      expect(typeof saved.right).toBe("string")
      expect(saved.right.length).toBeGreaterThan(0)
      return saved.right
    }
    const read = async (storage: Storage, locator: string) => {
      const got = await run(Storages.readAll(storage, locator))
      if (Either.isLeft(got)) throw new Error(`get failed: ${got.left.message}`)
      return got.right
    }

    it("initialises with its parameters, whatever the case of their names", async () => {
      await open((k) => k.toUpperCase())
      await open((k) => k.toLowerCase())
    })

    it("returns exactly the bytes it was given, for any size and chunking", async () => {
      const storage = await open()
      const all = new Uint8Array(256).map((_, i) => i)
      for (const [bytes, chunk] of [
        [new Uint8Array(0), 1],
        [new Uint8Array([0]), 1],
        [all, 7],
        [randomBytes(100_000), 1000],
        [randomBytes(3 * 1024 * 1024 + 17), 65_536]
      ] as const) {
        const locator = await save(storage, bytes, chunk)
        expect(sha256(await read(storage, locator))).toBe(sha256(bytes))
      }
    })

    it("reads the same bytes when the host says it checks them itself (ReadOptions), by get and as a Node stream", async () => {
      const storage = await open()
      const bytes = randomBytes(300_000)
      const locator = await save(storage, bytes)
      const opened = await run(storage.get(locator, { hostVerifies: true }))
      if (Either.isLeft(opened)) throw new Error(`get with ReadOptions failed: ${opened.left.message}`)
      const got = await run(Stream.runCollect(opened.right.stream))
      if (Either.isLeft(got)) throw new Error(`reading with ReadOptions failed: ${got.left.message}`)
      expect(sha256(Buffer.concat(Array.from(got.right)))).toBe(sha256(bytes))
      const readout = await run(storage.read(locator, { hostVerifies: true }))
      if (Either.isLeft(readout)) throw new Error(`read with ReadOptions failed: ${readout.left.message}`)
      const parts: Array<Uint8Array> = []
      for await (const chunk of readout.right.readable) parts.push(chunk as Uint8Array)
      expect(sha256(Buffer.concat(parts))).toBe(sha256(bytes))
    })

    it("stat answers the size (and the right SHA-256 when it reports one) and null for a missing object", async () => {
      const storage = await open()
      const bytes = randomBytes(12_345)
      const locator = await save(storage, bytes)
      const stat = await run(storage.stat(locator))
      expect(Either.isRight(stat)).toBe(true)
      const s = Either.getOrThrow(stat)!
      expect(s.size).toBe(bytes.length)
      if (suite.reportsSha256 === true) expect(s.sha256).toBeDefined()
      if (s.sha256 !== undefined) expect(s.sha256.toLowerCase()).toBe(sha256(bytes))
      await run(storage.delete(locator))
      expect(Either.getOrThrow(await run(storage.stat(locator)))).toBeNull()
    })

    it("fails to read a deleted object, and deleting is idempotent", async () => {
      const storage = await open()
      const locator = await save(storage, randomBytes(100))
      expect(Either.isRight(await run(storage.delete(locator)))).toBe(true)
      expect(Either.isRight(await run(storage.delete(locator)))).toBe(true)
      expect(Either.isLeft(await run(Storages.readAll(storage, locator)))).toBe(true)
    })

    it("gives identical contents distinct locators, and deleting one keeps the other", async () => {
      const storage = await open()
      const bytes = randomBytes(5000)
      const a = await save(storage, bytes)
      const b = await save(storage, bytes)
      expect(a).not.toBe(b)
      await run(storage.delete(a))
      expect(sha256(await read(storage, b))).toBe(sha256(bytes))
    })

    it("keeps concurrent saves apart", async () => {
      const storage = await open()
      const contents = Array.from({ length: 8 }, (_, i) => randomBytes(10_000 + i * 1000))
      const locators = await Promise.all(contents.map((c) => save(storage, c, 999)))
      expect(new Set(locators).size).toBe(contents.length)
      for (const [i, locator] of locators.entries()) expect(sha256(await read(storage, locator))).toBe(sha256(contents[i]!))
    })

    it("copies what it keeps: a source may reuse its buffer between chunks", async () => {
      const storage = await open()
      const expected = new Uint8Array(4 * 1024)
      async function* reusing() {
        const buffer = new Uint8Array(1024)
        for (let i = 0; i < 4; i++) {
          buffer.fill(i + 1)
          expected.fill(i + 1, i * 1024, (i + 1) * 1024)
          yield buffer
        }
      }
      const saved = await run(storage.save({ containerId: "c-1", name: "document", size: expected.length, content: reusing() }))
      const locator = Either.getOrThrow(saved)
      expect(sha256(await read(storage, locator))).toBe(sha256(expected))
    })

    it("fails a save whose source fails, and stays usable", async () => {
      const storage = await open()
      async function* failing() {
        yield randomBytes(1000)
        throw new Error("the client went away")
      }
      const saved = await run(storage.save({ containerId: "c-1", name: "document", content: failing() }))
      expect(Either.isLeft(saved)).toBe(true)
      const bytes = randomBytes(10)
      expect(sha256(await read(storage, await save(storage, bytes)))).toBe(sha256(bytes))
    })

    it("answers hostile or foreign locators with a failure or null, never with someone else's bytes", async () => {
      const storage = await open()
      const secret = randomBytes(64)
      await save(storage, secret)
      for (const locator of ["", "../../../etc/passwd", "/etc/passwd", "..", "x".repeat(4096), "a/../../b", "\u0000"]) {
        const got = await run(Storages.readAll(storage, locator))
        expect(Either.isLeft(got), `get(${JSON.stringify(locator.slice(0, 40))}) should fail`).toBe(true)
        const stat = await run(storage.stat(locator))
        if (Either.isRight(stat)) expect(stat.right).toBeNull()
        await run(storage.delete(locator)) // must not throw, whatever it answers
      }
    })
  })
}

/**
 * Runs an Effect needing a scope and closes it afterwards (for suites that load plugins).
 *
 * @since 0.1.0
 * @category helpers
 */
export const runScoped = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<{ value: A; close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Scope.extend(effect, scope))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
