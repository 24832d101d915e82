/**
 * Model-based property test of the archive: random sequences of uploads, searches, gets, deletes
 * and clock moves (Effect TestClock) against a small model of what the seed's API promises:
 * paging and totals, every filter with its meaning (isArchived=false = temporary containers whose
 * storage ended), newest first, temporary expiry at the archive date, documents deleted from
 * storage at expiry and on delete, and who may delete what.
 *
 * Uploads go through the Archive API directly (multipart is tested elsewhere); every read goes
 * through the HTTP adapter.
 */
import { JobStore, ResultStore } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"
import { Archive, ArchiveAdapter, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import type { ContainerIndex } from "@uws-kit/adapter-archive"
import { SqlDatabase } from "@uws-kit/store-sql"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect, Exit, Layer, Scope, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

type Owner = "4" | "7" | null
type SaveType = "Temporary" | "Permanent"

interface MContainer {
  readonly id: string
  readonly name: string
  readonly saveType: SaveType
  readonly storageId: number
  readonly owner: Owner
  readonly createdAt: number
  readonly archiveUntil: number | null
  readonly locators: ReadonlyArray<string>
  /** Stored in the storage that reads back something else: the background step fails. */
  readonly failed: boolean
}

interface Model {
  now: number
  containers: Array<MContainer>
  /** Every id ever given out (deleted ones too), for gets of deleted containers. */
  ids: Array<string>
}

interface Real {
  readonly archive: Archive.ArchiveService
  readonly storage: MemoryStorage.MemoryStorage
  readonly liar: MemoryStorage.MemoryStorage
  readonly clock: TestClock.TestClock
  readonly api: ArchiveAdapter.ArchiveAdapter
  readonly close: () => Promise<void>
}

const NAMES = ["alpha", "Beta", "gamma-1", "Альфа", "beta2"] as const
const OWNERS: ReadonlyArray<Owner> = ["4", "7", null]
const STORAGES = [4, 7, 99] as const
// Short spans on purpose: the core's deadline loops wake at least once a minute, and TestClock
// runs every wake-up on the way, so advancing by days costs thousands of steps for nothing.
const MINUTE = 60_000
const HOUR = 60 * MINUTE

const statusOf = (m: Model, c: MContainer) => (c.archiveUntil !== null && c.archiveUntil <= m.now ? 5 : c.failed ? 3 : 4)
const expired = (m: Model, c: MContainer) => statusOf(m, c) === 5

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

const settle = async (r: Real) => {
  for (let i = 0; i < 5000; i++) {
    const busy = await Effect.runPromise(r.archive.uws.list({ id: null, admin: true }, { phases: ["PENDING", "QUEUED", "EXECUTING", "SUSPENDED"] }))
    if (busy.jobs.length === 0) return
    await nextTurn()
  }
  throw new Error("background steps did not finish")
}

const http = async (r: Real, method: string, path: string, body?: string, caller?: string) => {
  const response = await r.api.handler(
    new Request(`http://archive.test/api${path}`, {
      method,
      headers: { "content-type": "application/json", ...(caller === undefined ? {} : { "x-caller": caller }) },
      ...(body === undefined ? {} : { body })
    })
  )
  return { status: response.status, body: (await response.json()) as any }
}

type Cmd = fc.AsyncCommand<Model, Real>

class Upload implements Cmd {
  constructor(
    readonly owner: Owner,
    readonly name: string,
    readonly saveType: SaveType,
    readonly storageId: number,
    /** Archive date relative to now (ms), or none. */
    readonly archiveIn: number | null,
    readonly signatures: number,
    /** Store in the storage whose read-back differs (the background step then fails). */
    readonly liar: boolean
  ) {}
  check = () => true
  async run(m: Model, r: Real) {
    await settle(r)
    const sigs = Array.from({ length: this.signatures }, (_, i) => Archive.fileFromBytes(`s${i}.sig`, "application/sig", new Uint8Array([0x30, i, 1, 2, 3])))
    const result = await Effect.runPromise(
      Effect.either(
        r.archive.upload(this.owner === null ? { id: null } : { id: this.owner }, {
          containerName: this.name,
          saveType: this.saveType,
          storageId: this.storageId,
          ...(this.archiveIn === null ? {} : { archiveDate: m.now + this.archiveIn }),
          ...(this.liar ? { pluginName: "liar" } : {}),
          document: Archive.fileFromBytes("d.txt", "text/plain", `document ${m.ids.length}`),
          signatures: sigs
        })
      )
    )
    const valid =
      this.storageId !== 99 &&
      (this.saveType === "Temporary" ? this.archiveIn !== null && this.archiveIn > 0 : this.archiveIn === null)
    if (!valid) {
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") expect(result.left._tag).toBe("InvalidParameter")
      return
    }
    if (result._tag === "Left") throw new Error(`upload refused: ${result.left.message}`)
    const c = result.right
    expect(c.createdAt).toBe(m.now)
    m.containers.push({
      id: c.id,
      name: this.name,
      saveType: this.saveType,
      storageId: this.storageId,
      owner: this.owner,
      createdAt: m.now,
      archiveUntil: this.archiveIn === null ? null : m.now + this.archiveIn,
      locators: [c.document.locator, ...c.signatures.map((s) => s.locator)],
      failed: this.liar
    })
    m.ids.push(c.id)
  }
  toString = () =>
    `Upload(${this.owner},${JSON.stringify(this.name)},${this.saveType},storage ${this.storageId},${this.archiveIn === null ? "no date" : `+${this.archiveIn}ms`},${this.signatures} sigs${this.liar ? ",liar" : ""})`
}

interface Filters {
  storageIds?: Array<number>
  name?: string
  sourceSystemId?: number
  status?: number
  isArchived?: boolean
}

class SearchCmd implements Cmd {
  constructor(readonly filters: Filters, readonly pageSize: number, readonly page: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    await settle(r)
    const f = this.filters
    const matching = m.containers
      .filter(
        (c) =>
          (f.storageIds === undefined || f.storageIds.length === 0 || f.storageIds.includes(c.storageId)) &&
          (f.name === undefined || c.name.toLowerCase().includes(f.name.toLowerCase())) &&
          (f.sourceSystemId === undefined || c.owner === String(f.sourceSystemId)) &&
          (f.status === undefined || statusOf(m, c) === f.status) &&
          (f.isArchived === undefined || (f.isArchived ? statusOf(m, c) === 4 : c.saveType === "Temporary" && expired(m, c)))
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
    const start = (this.page - 1) * this.pageSize
    const expected = matching.slice(start, start + this.pageSize).map((c) => ({ id: c.id, name: c.name, status: statusOf(m, c), isArchived: statusOf(m, c) === 4 }))
    const answer = await http(r, "POST", "/document/search", JSON.stringify({ filters: f, pageSize: this.pageSize, page: this.page }))
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ data: { documents: expected, totalRecords: matching.length }, errorCode: null, errorDescription: null })
  }
  toString = () => `Search(${JSON.stringify(this.filters)},pageSize ${this.pageSize},page ${this.page})`
}

class Get implements Cmd {
  constructor(readonly index: number, readonly known: boolean) {}
  check = () => true
  async run(m: Model, r: Real) {
    await settle(r)
    const id = this.known && m.ids.length > 0 ? m.ids[this.index % m.ids.length]! : "00000000-0000-4000-8000-000000000000"
    const c = m.containers.find((x) => x.id === id)
    const answer = await http(r, "GET", `/document/${id}`)
    if (c === undefined) {
      expect(answer.status).toBe(404)
      expect(answer.body).toMatchObject({ data: null, errorCode: "ContainerNotFound" })
      return
    }
    expect(answer.status).toBe(200)
    expect(answer.body.data).toMatchObject({
      id,
      name: c.name,
      status: statusOf(m, c),
      isArchived: statusOf(m, c) === 4,
      isAvailable: !expired(m, c),
      saveType: c.saveType === "Temporary" ? 1 : 2,
      storage: { id: c.storageId },
      sourceSystem: { id: c.owner },
      createDate: new Date(c.createdAt).toISOString(),
      archiveUntilDate: c.archiveUntil === null ? null : new Date(c.archiveUntil).toISOString()
    })
    expect((await http(r, "GET", `/document/${id}/status`)).body.data).toBe(statusOf(m, c))
    const sign = await r.api.handler(new Request(`http://archive.test/api/document/${id}/sign`))
    expect(sign.status).toBe(expired(m, c) ? 410 : 200)
    await sign.arrayBuffer()
  }
  toString = () => `Get(${this.known ? `#${this.index}` : "unknown"})`
}

class Delete implements Cmd {
  constructor(readonly index: number, readonly caller: "4" | "7" | "anonymous" | "admin") {}
  check = (m: Readonly<Model>) => m.ids.length > 0
  async run(m: Model, r: Real) {
    await settle(r)
    const id = m.ids[this.index % m.ids.length]!
    const c = m.containers.find((x) => x.id === id)
    const answer = await http(r, "DELETE", `/document/${id}`, undefined, this.caller === "anonymous" ? undefined : this.caller)
    if (c === undefined) {
      expect(answer.status).toBe(404)
      return
    }
    const allowed = this.caller === "admin" || (this.caller !== "anonymous" && this.caller === c.owner && c.saveType === "Temporary")
    if (!allowed) {
      expect(answer.status).toBe(403)
      expect(answer.body).toMatchObject({ data: null, errorCode: "Forbidden" })
      return
    }
    expect(answer.body).toEqual({ data: id, errorCode: null, errorDescription: null })
    m.containers = m.containers.filter((x) => x.id !== id)
    // Its documents are gone from the storage at once.
    for (const locator of c.locators) expect([...r.storage.locators(), ...r.liar.locators()]).not.toContain(locator)
  }
  toString = () => `Delete(#${this.index},${this.caller})`
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    await settle(r)
    await Effect.runPromise(r.clock.adjust(Duration.millis(this.ms)))
    m.now += this.ms
  }
  toString = () => `Advance(${this.ms / 60_000} min)`
}

/** Documents kept = exactly those of live containers whose storage has not ended. */
class CheckStorage implements Cmd {
  check = () => true
  async run(m: Model, r: Real) {
    await settle(r)
    const expected = m.containers.filter((c) => !expired(m, c)).flatMap((c) => c.locators).sort()
    const held = () => [...r.storage.locators(), ...r.liar.locators()]
    // Expiry is carried out by the reaper and the purge in the background: wait for them (bounded).
    for (let i = 0; i < 2000 && held().length !== expected.length; i++) await nextTurn()
    expect(held().sort()).toEqual(expected)
  }
  toString = () => "CheckStorage"
}

const owner = fc.constantFrom<Owner>(...OWNERS)
const filterValues: { readonly [K in keyof Filters]-?: fc.Arbitrary<NonNullable<Filters[K]>> } = {
  storageIds: fc.subarray([4, 7, 99]),
  name: fc.constantFrom("a", "beta", "ЛЬ", "GAMMA", "zzz", ""),
  sourceSystemId: fc.constantFrom(4, 7, 5),
  status: fc.constantFrom(1, 3, 4, 5),
  isArchived: fc.boolean()
}
const upload = fc
    .record({
      owner,
      name: fc.constantFrom(...NAMES),
      saveType: fc.constantFrom<SaveType>("Temporary", "Temporary", "Permanent"),
      storageId: fc.constantFrom(4, 4, 4, 7, 7, 99),
      archiveIn: fc.constantFrom(null, -HOUR, 0, MINUTE, 10 * MINUTE, HOUR, HOUR, 2 * HOUR, 2 * HOUR, 6 * HOUR),
      signatures: fc.integer({ min: 0, max: 2 }),
      liar: fc.integer({ min: 0, max: 2 }).map((n) => n === 0)
    })
    .map((u) => {
      // Mostly well-formed: Permanent without a date, Temporary with one.
      const archiveIn = u.saveType === "Permanent" ? (u.archiveIn === -HOUR ? HOUR : null) : u.archiveIn === null ? HOUR : u.archiveIn
      return new Upload(u.owner, u.name, u.saveType, u.storageId, archiveIn, u.signatures, u.liar)
    })
const commands = [
  upload,
  upload,
  upload,
  // Zero, one or two filters at a time, so that each one decides often enough to be checked.
  fc
    .shuffledSubarray(Object.keys(filterValues) as Array<keyof Filters>, { maxLength: 2 })
    .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, filterValues[k]])) as { [K in keyof Filters]: fc.Arbitrary<Filters[K]> }))
    .chain((filters) => fc.tuple(fc.constant(filters as Filters), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 })))
    .map(([filters, pageSize, page]) => new SearchCmd(filters, pageSize, page)),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, known]) => new Get(i, known || i % 5 !== 0)),
  fc.tuple(fc.nat(), fc.constantFrom("4" as const, "7" as const, "anonymous" as const, "admin" as const)).map(([i, c]) => new Delete(i, c)),
  fc.constantFrom(30_000, 5 * MINUTE, HOUR, 3 * HOUR).map((ms) => new Advance(ms)),
  fc.constant(new CheckStorage())
]

/** Where the archive keeps its jobs and search index; absent = memory (the defaults). */
interface Stores {
  readonly jobStore: JobStore.JobStoreService
  readonly containerIndex: ContainerIndex.ContainerIndex
}

const setup = async (stores?: Stores): Promise<Real> => {
  const scope = Effect.runSync(Scope.make())
  const storage = MemoryStorage.make()
  const liar = MemoryStorage.make()
  // Keeps what it is given but reads back something else, and reports no digest: uploads to it
  // are acknowledged and their background step fails.
  const lying = {
    ...liar,
    stat: async (locator: string) => {
      const s = (await liar.stat(locator)) as { _tag: "Right"; right: { size: number } | null }
      return { _tag: "Right" as const, right: s.right === null ? null : { size: s.right.size } }
    },
    get: async (locator: string) => {
      const got = (await liar.get(locator)) as { _tag: string; right: { content: AsyncIterable<Uint8Array>; size: number } }
      if (got._tag !== "Right") return got as never
      async function* flipped() {
        for await (const chunk of got.right.content) yield chunk.map((b) => b ^ 1)
      }
      return { _tag: "Right" as const, right: { content: flipped(), size: got.right.size } }
    }
  }
  const { archive, clock } = await Effect.runPromise(
    Effect.gen(function* () {
      const plugins = yield* Plugins.fromObjects({ storages: [{ name: "mem", plugin: storage }, { name: "liar", plugin: lying }] })
      const archive = yield* Archive.make({
        plugins,
        storages: [{ id: 4, name: "Technical support" }, { id: 7, name: "Accounting" }],
        ...(stores === undefined ? {} : { containerIndex: stores.containerIndex })
      })
      const clock = yield* TestClock.testClock()
      return { archive, clock }
    }).pipe(
      Scope.extend(scope),
      Effect.provide(
        Layer.merge(stores === undefined ? JobStore.layerMemory : Layer.succeed(JobStore.JobStore, stores.jobStore), ResultStore.layerMemory)
      ),
      Effect.provide(TestContext.TestContext)
    )
  )
  const api = ArchiveAdapter.makeArchiveAdapter({
    archive,
    identify: (request) => {
      const who = request.headers.get("x-caller")
      return who === "admin" ? { id: "admin", admin: true } : who === null ? { id: null } : { id: who }
    }
  })
  return {
    archive,
    storage,
    liar,
    clock,
    api,
    close: async () => {
      await api.dispose()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

const replay = async (cmds: ReadonlyArray<Cmd>) => {
  const real = await setup()
  try {
    await fc.asyncModelRun(() => ({ model: { now: 0, containers: [], ids: [] }, real }), cmds)
  } finally {
    await real.close()
  }
}

describe("the archive agrees with its model", () => {
  // Counterexamples the property shrank to when it was checked against deliberately broken
  // archives (isArchived=false read as "not archived"; documents not purged at expiry).
  it("regression: isArchived=false finds only temporary containers whose storage ended, not failed ones", () =>
    replay([new Upload("4", "alpha", "Temporary", 4, HOUR, 0, true), new SearchCmd({ isArchived: false, storageIds: [] }, 1, 1)]))
  it("regression: a temporary container's documents are deleted at its archive date", () =>
    replay([new Upload("4", "alpha", "Temporary", 4, HOUR, 0, true), new Advance(3 * HOUR), new CheckStorage()]))

  it("over random uploads, searches, gets, deletes and clock moves", async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: "+1" }), async (cmds) => {
        const real = await setup()
        try {
          await fc.asyncModelRun(() => ({ model: { now: 0, containers: [], ids: [] }, real }), [...cmds, new CheckStorage()])
        } finally {
          await real.close()
        }
      }),
      { numRuns: propertyRuns(40) }
    )
  })
})

describe("the archive agrees with its model, with its jobs and search index in SQLite", () => {
  let db: SqlDatabase.Database
  let dir = ""
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-archive-model-"))
    db = await SqlDatabase.open(path.join(dir, "uws.sqlite"))
  })
  afterAll(async () => {
    await db?.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it("over random uploads, searches, gets, deletes and clock moves", async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: "+1" }), async (cmds) => {
        const list = `archive_${randomBytes(4).toString("hex")}`
        const real = await setup({ jobStore: db.jobStore(list), containerIndex: db.containerIndex(list) })
        try {
          await fc.asyncModelRun(() => ({ model: { now: 0, containers: [], ids: [] }, real }), [...cmds, new CheckStorage()])
        } finally {
          await real.close()
        }
      }),
      { numRuns: propertyRuns(15) }
    )
  })
})
