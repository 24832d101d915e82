/**
 * Group commit for SQLite: the writes that queue up while a commit is on its way share the next
 * transaction, so one flush (fsync, with synchronous = FULL) serves them all. Every writer is
 * answered only after its write is on disk, so an acknowledged write survives a power cut exactly
 * as with one transaction per write.
 *
 * The flush is not made on the event loop. better-sqlite3 is synchronous: a COMMIT under
 * synchronous = FULL blocks the whole process for its fsync (a profile of job creations over
 * HTTP spent a third of its time there, serving nothing). So a batch commits under synchronous =
 * NORMAL (in WAL mode: the frames are written, not flushed) and the write-ahead log is then
 * flushed with an fsync on libuv's thread pool; its writers are answered when that fsync returns.
 * Batches keep committing meanwhile, and the next fsync covers all of them: the log is appended
 * in order, so an fsync makes durable every commit written before it. Writes made outside group
 * commit still run under FULL (the level is put back after every batch), and their own fsync also
 * covers the batches before them.
 *
 * A write may say it need not be durable before its answer (`durable: false`): it is answered once
 * committed, and becomes durable with the next flush, before any durable write that follows it is
 * answered. For writes nobody is told about (a result's content, which no one sees before the job
 * that lists it is stored; the clean-up of a deleted job's contents).
 *
 * A write that fails does not touch the others: the batch is rolled back and each of its writes
 * then runs alone, in a transaction of its own, and gets its own outcome. (Failures are rare; a
 * savepoint around every write would keep the batch, but costs two more statements a write and
 * made the lifecycle bench a third slower.) So a write must be safe to run again after a
 * rollback: a description of statements, not an effect that does something else once.
 *
 * PostgreSQL does not use this: a batch would run its writes one round trip after another on one
 * connection. Its stores put concurrent writes of a kind in one multi-row statement instead
 * (internal/batch.ts).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { Cause, Deferred, Effect, Exit, FiberId, Option, Runtime } from "effect"

export interface CommitOptions {
  /** false: answer once committed; the next flush makes it durable (default true). */
  readonly durable?: boolean
}

/** Runs one write, alone or together with the writes queued beside it. */
export type Commit = <A, E>(write: Effect.Effect<A, E>, options?: CommitOptions) => Effect.Effect<A, E>

interface Queued {
  /** The write; its last outcome is kept for `answer`. */
  readonly write: Effect.Effect<unknown, unknown>
  readonly durable: boolean
  /** Answers the writer with the write's last outcome, or with this defect. */
  readonly answer: (defect?: unknown) => void
}

/** One group commit per client, shared by every store on it (their writes commit together). */
const commits = new WeakMap<SqlClient.SqlClient, { readonly commit: Commit; readonly close: () => void }>()

/** The client's group commit; the first store on a client gives the runtime its commits run on. */
export const groupCommitOf = (sql: SqlClient.SqlClient, runtime: Runtime.Runtime<never>): Commit => {
  let made = commits.get(sql)
  if (made === undefined) {
    made = makeGroupCommitWithClose(sql, runtime)
    commits.set(sql, made)
  }
  return made.commit
}

/** Lets go of what the client's group commit holds open (the log's file descriptor). */
export const closeGroupCommitOf = (sql: SqlClient.SqlClient): void => {
  commits.get(sql)?.close()
  commits.delete(sql)
}

export const makeGroupCommit = (sql: SqlClient.SqlClient, runtime: Runtime.Runtime<never>): Commit => makeGroupCommitWithClose(sql, runtime).commit

/** The database file of an SQLite client (undefined in memory). */
const fileOf = (sql: SqlClient.SqlClient): string | undefined => {
  const filename = (sql as { readonly config?: { readonly filename?: unknown } }).config?.filename
  return typeof filename === "string" && filename !== "" && filename !== ":memory:" && !filename.startsWith("file:") ? filename : undefined
}

/**
 * The write-ahead log's flush off the event loop: an fsync of the `-wal` file on the thread pool
 * (the first one also flushes the folder, where the log's name was created, as SQLite does).
 */
const makeLogFlush = (file: string) => {
  let fd: number | undefined
  let closed = false
  const flush = (done: (error: Error | null) => void) => {
    if (closed) return done(new Error("the database is closed"))
    if (fd !== undefined) return fs.fsync(fd, done)
    fs.open(`${file}-wal`, "r+", (error, opened) => {
      if (error !== null) return done(error)
      if (closed) return fs.close(opened, () => done(new Error("the database is closed")))
      fd = opened
      fs.fsync(opened, (e) => {
        if (e !== null) return done(e)
        fs.open(path.dirname(path.resolve(file)), "r", (de, dir) => {
          if (de !== null) return done(de)
          fs.fsync(dir, (se) => fs.close(dir, () => done(se)))
        })
      })
    })
  }
  const close = () => {
    closed = true
    if (fd !== undefined) fs.close(fd, () => {})
    fd = undefined
  }
  return { flush, close }
}

const makeGroupCommitWithClose = (sql: SqlClient.SqlClient, runtime: Runtime.Runtime<never>): { readonly commit: Commit; readonly close: () => void } => {
  if (sql.onDialectOrElse({ sqlite: () => false, orElse: () => true })) return { commit: (write) => write, close: () => {} }
  const file = fileOf(sql)
  const log = file === undefined ? undefined : makeLogFlush(file)
  let pending: Array<Queued> = []
  let flushing = false
  /**
   * The connection's synchronous level, read before the first batch: FULL (2) or EXTRA (3) is
   * what the flush off the event loop keeps; below FULL nothing is flushed per commit anyway.
   */
  let level: number | undefined
  /** Flushing off the event loop; false after a flush failed (every batch then commits under its level). */
  let deferred = log !== undefined

  // ---- flushes of the log --------------------------------------------------------------------
  let syncing = false
  let unsynced: Array<Queued> = []
  const sync = () => {
    if (syncing || unsynced.length === 0) return
    syncing = true
    const waiting = unsynced
    unsynced = []
    log!.flush((error) => {
      syncing = false
      if (error === null) {
        for (const q of waiting) q.answer()
      } else {
        // The commits are in the log but not known to be on disk: their writers are not told
        // they are, and later batches go back to SQLite's own flush at every commit.
        deferred = false
        const defect = new Error(`the database's write-ahead log could not be flushed to disk: ${error.message}`)
        for (const q of waiting) q.answer(defect)
      }
      sync()
    })
  }

  const levelOf = Effect.suspend(() =>
    level !== undefined
      ? Effect.succeed(level)
      : Effect.map(
          Effect.orElseSucceed(sql<{ readonly synchronous: number }>`PRAGMA synchronous`, () => []),
          (rows) => (level = Number(rows[0]?.synchronous ?? 2))
        )
  )

  /**
   * The batch in one transaction on the reserved connection, committed under NORMAL (the flush
   * follows off the event loop), the connection's level put back whatever happens.
   */
  const unflushedTransaction = (effect: Effect.Effect<void, unknown>, restore: number) =>
    Effect.scoped(
      Effect.flatMap(sql.reserve, (conn: Connection) => {
        const exec = (statement: string) => conn.executeUnprepared(statement, [], undefined)
        return Effect.zipRight(exec("PRAGMA synchronous = NORMAL"), exec("BEGIN")).pipe(
          Effect.zipRight(Effect.provideService(effect, SqlClient.TransactionConnection, [conn, 0] as const)),
          Effect.zipRight(exec("COMMIT")),
          Effect.onError(() => Effect.ignore(exec("ROLLBACK"))),
          Effect.ensuring(Effect.ignore(exec(`PRAGMA synchronous = ${restore}`)))
        )
      })
    )

  const flush: Effect.Effect<void> = Effect.suspend(() => {
    const batch = pending
    pending = []
    if (batch.length === 0) {
      flushing = false
      return Effect.void
    }
    return Effect.flatMap(levelOf, (restore) => {
      const offLoop = deferred && restore >= 2
      // Alone, a write still is a transaction: all of its statements or none.
      const alone = Effect.forEach(batch, (q) => Effect.exit(sql.withTransaction(q.write)), { discard: true })
      const together = Effect.forEach(batch, (q) => q.write, { discard: true })
      const committed = offLoop
        ? Effect.matchCauseEffect(unflushedTransaction(together, restore), {
            onFailure: () => Effect.as(alone, false),
            onSuccess: () => Effect.succeed(true)
          })
        : batch.length === 1
          ? Effect.as(alone, false)
          : Effect.catchAllCause(Effect.as(sql.withTransaction(together), false), () =>
              // A write or the COMMIT failed: nothing of the batch was kept (a transaction a failed
              // COMMIT left open is ended here), and each write now goes alone.
              Effect.as(Effect.zipRight(Effect.exit(sql`ROLLBACK`), alone), false)
            )
      return committed.pipe(
        Effect.flatMap((needsFlush) =>
          Effect.sync(() => {
            for (const q of batch) {
              if (needsFlush && q.durable) unsynced.push(q)
              else q.answer()
            }
            sync()
          })
        ),
        Effect.zipRight(flush)
      )
    })
  })

  const commit: Commit = <A, E>(write: Effect.Effect<A, E>, options?: CommitOptions) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) => {
      // Inside a caller's own transaction the write belongs to that transaction (and the
      // connection is the caller's until it ends).
      if (Option.isSome(inTransaction)) return write
      const done = Deferred.unsafeMake<A, E>(FiberId.none)
      let outcome: Exit.Exit<A, E> = Exit.die(new Error("the write did not run"))
      pending.push({
        write: Effect.onExit(write, (exit) => Effect.sync(() => (outcome = exit))),
        durable: options?.durable !== false,
        answer: (defect) => Deferred.unsafeDone(done, defect === undefined ? outcome : Exit.failCause(Cause.die(defect)))
      })
      if (!flushing) {
        flushing = true
        // Yield first: the writers of the same turn join this batch.
        Runtime.runFork(runtime)(Effect.zipRight(Effect.yieldNow(), flush))
      }
      return Deferred.await(done)
    })

  return { commit, close: () => log?.close() }
}
