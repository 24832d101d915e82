import { SqlClient } from "@effect/sql"
import { SqlDatabase } from "@uws-kit/store-sql"
import { Identity, Uws, Worker } from "@uws-kit/core"
import { testJob } from "@uws-kit/core/testing"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { testSqlStores } from "./conformance.js"
import { makeSqliteFile } from "./databases.js"

describe("SQLite", () => testSqlStores("SQLite (temporary file)", makeSqliteFile))

describe("SQLite durability", () => {
  const synchronous = async (options?: SqlDatabase.OpenOptions) => {
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url, options)
    try {
      return await db.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zip(sql<{ readonly synchronous: number }>`PRAGMA synchronous`, sql<{ readonly journal_mode: string }>`PRAGMA journal_mode`)
        )
      )
    } finally {
      await db.close()
      await file.drop()
    }
  }

  it("flushes every commit by default (synchronous = FULL, in WAL mode)", async () => {
    const [sync, journal] = await synchronous()
    expect(sync[0]?.synchronous).toBe(2)
    expect(journal[0]?.journal_mode).toBe("wal")
  })

  it("flushes at checkpoints only when asked for synchronous = NORMAL", async () => {
    const [sync] = await synchronous({ sqlite: { synchronous: "normal" } })
    expect(sync[0]?.synchronous).toBe(1)
  })
})

describe("SQLite read cache", () => {
  const withDb = async (f: (db: SqlDatabase.Database) => Promise<void>) => {
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url)
    try {
      await f(db)
    } finally {
      await db.close()
      await file.drop()
    }
  }
  const none = { destruction: null, execution: null }

  it("answers peek with what was last written, through any store of the same list, and nothing of another list", async () => {
    await withDb(async (db) => {
      const a = db.jobStore("cache-a")
      const b = db.jobStore("cache-a")
      const other = db.jobStore("cache-b")
      const job = testJob({ jobId: "j1" })
      expect(a.peek?.("j1")).toBeUndefined()
      await Effect.runPromise(a.insert(job, none))
      expect(b.peek?.("j1")).toEqual(job)
      expect(other.peek?.("j1")).toBeUndefined()
      const next = { ...job, phase: "QUEUED" as const, version: 1 }
      await Effect.runPromise(b.update(next, 0, none))
      expect(a.peek?.("j1")).toEqual(next)
      await Effect.runPromise(a.remove("j1", 1))
      // Gone: only a read of the file can say so.
      expect(b.peek?.("j1")).toBeUndefined()
      expect(await Effect.runPromise(b.get("j1"))).toBeUndefined()
    })
  })

  it("holds a bounded number of jobs; the others are read from the file", async () => {
    await withDb(async (db) => {
      const store = db.jobStore("bounded")
      const jobs = Array.from({ length: 600 }, (_, i) => testJob({ jobId: `j${i}`, creationTime: i }))
      await Effect.runPromise(Effect.forEach(jobs, (job) => store.insert(job, none), { discard: true }))
      expect(store.peek?.("j0")).toBeUndefined()
      expect(store.peek?.("j599")).toEqual(jobs[599])
      expect(await Effect.runPromise(store.get("j0"))).toEqual(jobs[0])
      expect(store.peek?.("j0")).toEqual(jobs[0])
    })
  })

  it("each connection to the file keeps its own cache: a store on another one reads the file", async () => {
    const file = await makeSqliteFile()
    const one = await SqlDatabase.open(file.url)
    const two = await SqlDatabase.open(file.url)
    try {
      const job = testJob({ jobId: "j1" })
      await Effect.runPromise(one.jobStore("l").insert(job, none))
      expect(two.jobStore("l").peek?.("j1")).toBeUndefined()
      expect(await Effect.runPromise(two.jobStore("l").get("j1"))).toEqual(job)
    } finally {
      await one.close()
      await two.close()
      await file.drop()
    }
  })
})

describe("quotas on SQLite, where concurrent creations share one commit", () => {
  it("admit exactly as many concurrent creations as a quota of 1 (each owner) and 3 (all jobs) allow", async () => {
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url)
    const started = await Uws.start({ worker: Worker.noop, policy: { maxActiveJobsPerOwner: 1, maxStoredJobs: 3 }, jobStore: db.jobStore("quota"), resultStore: db.resultStore("quota") })
    try {
      const create = (who: string) => Effect.runPromise(Effect.either(started.service.create(Identity.user(who), {})))
      // All in one event-loop turn: their inserts join one batch, so none is stored when the others are checked.
      const alice = await Promise.all(Array.from({ length: 6 }, () => create("alice")))
      expect(alice.filter((r) => r._tag === "Right")).toHaveLength(1)
      expect(alice.filter((r) => r._tag === "Left").map((r) => (r as { left: { _tag: string } }).left._tag)).toEqual(Array(5).fill("QuotaExceeded"))
      const others = await Promise.all(["bob", "bob", "carol", "dave", "erin"].map(create))
      expect(others.filter((r) => r._tag === "Right")).toHaveLength(2)
      const stored = await db.run(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly n: number }>`SELECT count(*) AS n FROM uws_jobs WHERE list = 'quota'`))
      expect(stored[0]?.n).toBe(3)
    } finally {
      await started.close()
      await db.close()
      await file.drop()
    }
  })
})

describe("SQLite result contents", () => {
  it("gives a content's bytes with it, the same as its stream", async () => {
    const { Stream, Chunk } = await import("effect")
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url)
    try {
      const store = db.resultStore("bytes")
      const content = new Uint8Array(200_000).map((_, i) => i % 251)
      await Effect.runPromise(store.put("j", "r", content, "application/octet-stream"))
      const got = (await Effect.runPromise(store.get("j", "r")))!
      const streamed = Chunk.toReadonlyArray(await Effect.runPromise(Stream.runCollect(got.stream)))
      const joined = Buffer.concat(streamed.map((c) => Buffer.from(c)))
      expect(got.bytes).toBeDefined()
      expect(Buffer.from(got.bytes!).equals(joined)).toBe(true)
      expect(joined.equals(Buffer.from(content))).toBe(true)
      expect(got.size).toBe(content.length)
    } finally {
      await db.close()
      await file.drop()
    }
  })
})

describe("SQLite result size limit", () => {
  it("refuses content larger than maxSize, held in memory or streamed, and stores nothing of it", async () => {
    const { Stream } = await import("effect")
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url)
    try {
      const store = db.resultStore("limit", { maxSize: 10 })
      const refusals = [
        new Uint8Array(11),
        "x".repeat(11),
        // Ten characters, eleven bytes in UTF-8: the limit is on bytes.
        "é" + "x".repeat(9),
        Stream.make(new Uint8Array(6), new Uint8Array(5))
      ]
      for (const [i, content] of refusals.entries()) {
        const failed = await Effect.runPromise(Effect.flip(store.put("j", `r${i}`, content, undefined)))
        expect(failed.message).toContain("the content is larger than 10 bytes")
        expect(await Effect.runPromise(store.get("j", `r${i}`))).toBeUndefined()
      }
      for (const content of [new Uint8Array(10), "x".repeat(10), Stream.make(new Uint8Array(5), new Uint8Array(5))]) {
        expect(await Effect.runPromise(store.put("j", "fits", content, undefined))).toEqual({ size: 10 })
      }
    } finally {
      await db.close()
      await file.drop()
    }
  })
})

describe("SQLite reads inside a caller's transaction", () => {
  it("read on the caller's connection: no wait for the connection the caller holds, and its own writes seen", async () => {
    const file = await makeSqliteFile()
    const db = await SqlDatabase.open(file.url)
    try {
      const store = db.jobStore("in-tx")
      const job = testJob({ jobId: "seen" })
      const seen = await db.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.withTransaction(
            Effect.zipRight(
              sql`INSERT INTO uws_jobs (list, job_id, owner_id, phase, creation_time, version, body) VALUES ('in-tx', 'seen', NULL, ${job.phase}, ${job.creationTime}, ${job.version}, ${JSON.stringify(job)})`,
              Effect.zip(store.get("seen"), db.resultStore("in-tx").get("seen", "r"))
            )
          )
        )
      )
      expect(seen[0]?.jobId).toBe("seen")
      expect(seen[1]).toBeUndefined()
    } finally {
      await db.close()
      await file.drop()
    }
  })
})
