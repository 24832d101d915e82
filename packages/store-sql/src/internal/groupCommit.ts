/**
 * Group commit for SQLite: the writes that arrive in one turn of the event loop, or while a commit
 * is on its way, share the next transaction, started on the loop's next turn (setImmediate), so
 * one flush (fsync, with synchronous = FULL) serves them all. A write that a batch's writers make
 * as soon as they are answered (a job's next step) starts its batch at once (`followUp`). Every writer is
 * answered only after the COMMIT has returned, so an acknowledged write is on disk exactly as with
 * one transaction per write.
 *
 * A write may say it need not be durable before its answer (`durable: false`): a batch of such
 * writes only commits under synchronous = NORMAL (in WAL mode: written to the log, not flushed),
 * and becomes durable with the next flushed commit, which the log's order puts after it. For
 * writes nobody is told about: a result's content, which no one sees before the job listing it
 * is stored (a durable write after it); the clean-up of a deleted job's contents. On a lifecycle
 * that is two flushes of seven spared.
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
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Option, Runtime } from "effect"
import { directOf, sqlError, type Direct } from "./sqliteClient.js"

export interface CommitOptions {
  /** false: answer once committed; the next flush makes it durable (default true). */
  readonly durable?: boolean
}

/**
 * A write as plain better-sqlite3 calls on the connection (see internal/sqliteClient.ts): what it
 * throws is the writer's `SqlError`. Run again after a rollback, like any write.
 */
export type Plain<A> = (direct: Direct) => A

/** Runs one write, alone or together with the writes queued beside it. */
export interface Commit {
  <A, E>(write: Effect.Effect<A, E>, options?: CommitOptions): Effect.Effect<A, E>
  /**
   * The same for a plain write, when the client lets its connection be used so (else
   * `undefined`). A batch of plain writes only is one synchronous call: no effect per statement.
   */
  readonly plain: (<A>(write: Plain<A>, options?: CommitOptions) => Effect.Effect<A, SqlError>) | undefined
}

interface Queued {
  /** The write; its last outcome is kept for `answer`. */
  readonly write: Effect.Effect<unknown, unknown>
  /** A plain write: runs it, keeps its outcome, and throws what it threw. */
  readonly plain: (() => void) | undefined
  readonly durable: boolean
  /** Answers the writer with the write's last outcome. */
  readonly answer: () => void
}

/**
 * A plain write waiting for its batch; a class, so that queueing one makes no closures (under
 * tsx each named closure costs a `__name` call).
 */
class PlainWrite<A> implements Queued {
  outcome: Exit.Exit<A, SqlError> = didNotRun
  constructor(
    readonly direct: Direct,
    readonly run: Plain<A>,
    readonly durable: boolean,
    readonly resume: (exit: Exit.Exit<A, SqlError>) => void
  ) {}
  /** In a batch with effect writes, it runs as one of them (its failure fails the batch). */
  get write(): Effect.Effect<unknown, unknown> {
    return Effect.suspend(() => {
      try {
        this.plain()
      } catch {
        // Kept in `outcome`.
      }
      return this.outcome
    })
  }
  /** Runs it, keeps its outcome, and throws what it threw. */
  plain(): void {
    try {
      this.outcome = Exit.succeed(this.run(this.direct))
    } catch (cause) {
      this.outcome = Exit.fail(sqlError(cause))
      throw cause
    }
  }
  answer(): void {
    this.resume(this.outcome)
  }
}

/**
 * A write's outcome until it has run: one shared value, not an `Error` (with its stack trace)
 * made for every write, since nearly every write runs and replaces it.
 */
const didNotRun: Exit.Exit<never, never> = Exit.die(new Error("the write did not run"))

/** Microtask rounds after a batch is answered in which a write its writers make starts the next batch at once. */
const FOLLOW_ROUNDS = 8
/** Batches started so in a row, at most, before the event loop has a turn. */
const FOLLOWED_BATCHES = 8

/** A write after this long without one (ms) starts its batch at once (`schedule`). */
const QUIET_MS = 1

/** One group commit per client, shared by every store on it (their writes commit together). */
const commits = new WeakMap<SqlClient.SqlClient, Commit>()

/** The client's group commit; the first store on a client gives the runtime its commits run on. */
export const groupCommitOf = (sql: SqlClient.SqlClient, runtime: Runtime.Runtime<never>): Commit => {
  let commit = commits.get(sql)
  if (commit === undefined) {
    commit = makeGroupCommit(sql, runtime)
    commits.set(sql, commit)
  }
  return commit
}

export const makeGroupCommit = (sql: SqlClient.SqlClient, runtime: Runtime.Runtime<never>): Commit => {
  if (sql.onDialectOrElse({ sqlite: () => false, orElse: () => true })) return Object.assign(<A, E>(write: Effect.Effect<A, E>) => write, { plain: undefined })
  const direct = directOf(sql)
  let pending: Array<Queued> = []
  let flushing = false
  /** The connection's synchronous level, read before the first batch that could commit below it. */
  let level: number | undefined

  const levelOf = Effect.suspend(() =>
    level !== undefined
      ? Effect.succeed(level)
      : Effect.map(
          Effect.orElseSucceed(sql<{ readonly synchronous: number }>`PRAGMA synchronous`, () => []),
          (rows) => (level = Number(rows[0]?.synchronous ?? 2))
        )
  )

  /**
   * The batch in one transaction on the reserved connection, committed under NORMAL, the
   * connection's level put back whatever happens (the level cannot change inside a transaction).
   */
  const unflushedTransaction = (effect: Effect.Effect<void, unknown>, restore: number) =>
    Effect.scoped(
      Effect.flatMap(sql.reserve, (conn: Connection) => {
        // Prepared only when it runs: SQLite applies a PRAGMA's setting when it is prepared.
        const exec = (statement: string) => Effect.suspend(() => conn.executeUnprepared(statement, [], undefined))
        return Effect.zipRight(exec("PRAGMA synchronous = NORMAL"), exec("BEGIN")).pipe(
          Effect.zipRight(Effect.provideService(effect, SqlClient.TransactionConnection, [conn, 0] as const)),
          Effect.zipRight(exec("COMMIT")),
          Effect.onError(() => Effect.ignore(exec("ROLLBACK"))),
          Effect.ensuring(Effect.ignore(exec(`PRAGMA synchronous = ${restore}`)))
        )
      })
    )

  /**
   * A batch of plain writes, as the effects below run one: one transaction (committed under
   * NORMAL when no write needs a flush), each write alone if any write or the COMMIT fails.
   */
  const plainBatch = (d: Direct, batch: ReadonlyArray<Queued>) => {
    const { db } = d
    const alone = (q: Queued) => {
      try {
        d.prepare("BEGIN").run()
        q.plain!()
        d.prepare("COMMIT").run()
      } catch {
        if (db.inTransaction) d.prepare("ROLLBACK").run()
      }
    }
    const together = () => {
      try {
        d.prepare("BEGIN").run()
        for (const q of batch) q.plain!()
        d.prepare("COMMIT").run()
        return true
      } catch {
        if (db.inTransaction) d.prepare("ROLLBACK").run()
        return false
      }
    }
    level ??= Number(db.pragma("synchronous", { simple: true }) ?? 2)
    const restore = level
    const lower = restore > 1 && !batch.some((q) => q.durable)
    if (lower) db.pragma("synchronous = NORMAL")
    try {
      if (batch.length === 1 || !together()) batch.forEach(alone)
    } finally {
      if (lower) db.pragma(`synchronous = ${restore}`)
      d.committed(batch.length)
    }
  }

  const flush: Effect.Effect<void> = Effect.suspend(() => {
    const batch = pending
    pending = []
    if (direct !== undefined && batch.every((q) => q.plain !== undefined)) {
      return direct.lock.withPermit(Effect.sync(() => plainBatch(direct, batch))).pipe(
        Effect.zipRight(Effect.sync(() => batch.forEach((q) => q.answer()))),
        Effect.zipRight(Effect.sync(() => followUp(0)))
      )
    }
    // Alone, a write still is a transaction: all of its statements or none.
    const alone = Effect.forEach(batch, (q) => Effect.exit(sql.withTransaction(q.write)), { discard: true })
    const together = Effect.forEach(batch, (q) => q.write, { discard: true })
    const committed = batch.some((q) => q.durable)
      ? batch.length === 1
        ? alone
        : Effect.catchAllCause(sql.withTransaction(together), () =>
            // A write or the COMMIT failed: nothing of the batch was kept (a transaction a failed
            // COMMIT left open is ended here), and each write now goes alone.
            Effect.zipRight(Effect.exit(sql`ROLLBACK`), alone)
          )
      : Effect.flatMap(levelOf, (restore) =>
          restore <= 1 ? Effect.catchAllCause(sql.withTransaction(together), () => Effect.zipRight(Effect.exit(sql`ROLLBACK`), alone)) : Effect.catchAllCause(unflushedTransaction(together, restore), () => alone)
        )
    return committed.pipe(
      Effect.zipRight(Effect.sync(() => batch.forEach((q) => q.answer()))),
      Effect.zipRight(Effect.sync(() => followUp(0)))
    )
  })

  /**
   * Starts the pending batch: at once when it is plain writes only and no one holds the
   * connection (one synchronous call, answered before this returns), else in a fiber.
   */
  const start = () => {
    if (direct === undefined || !direct.lock.isFree() || !pending.every((q) => q.plain !== undefined)) {
      Runtime.runFork(runtime)(flush)
      return
    }
    const batch = pending
    pending = []
    try {
      plainBatch(direct, batch)
    } catch (cause) {
      // Only the connection's own calls (a PRAGMA on a closed database) get here: every write
      // that did not run is told so, none is left waiting.
      for (const q of batch) {
        const write = q as PlainWrite<unknown>
        if (write.outcome === didNotRun) write.outcome = Exit.fail(sqlError(cause))
      }
    }
    for (const q of batch) q.answer()
    followUp(0)
  }

  /**
   * The next batch starts on the event loop's next turn (setImmediate), after the I/O callbacks
   * of this one: every request already read from a socket joins it, not only the writers of the
   * current fiber step (a tenth of the flushes per request under wrk -c16). After a quiet spell
   * (`quiet`: no write for QUIET_MS) a write starts its batch at once instead, after the current
   * step's microtasks: a lone change (an ABORT a blocked WAIT is waiting for) is then committed
   * without waiting for the loop's turn, and the writes of a burst that follows gather again.
   */
  const schedule = (quiet: boolean) => {
    if (pending.length === 0) {
      flushing = false
      return
    }
    flushing = true
    if (quiet) {
      queueMicrotask(() => {
        // A quiet spell: the loop has had its turns.
        followed = 0
        start()
      })
      return
    }
    setImmediate(() => {
      followed = 0
      start()
    })
  }

  /** When the last write was queued (performance.now()). */
  let lastWrite = -Infinity

  /** Queues a write, and starts a batch if none is on its way. */
  const enqueue = (q: Queued) => {
    pending.push(q)
    const now = performance.now()
    const quiet = now - lastWrite >= QUIET_MS
    lastWrite = now
    if (!flushing) schedule(quiet)
  }

  /** Batches started by `followUp` since the loop last had a turn. */
  let followed = 0

  /**
   * After a batch is answered: a write its writers go on to make within a few microtask rounds
   * (the job's next step: RUN's dispatch STARTs it, the run COMPLETEs it) starts the next batch
   * at once, not a turn of the loop later, after the client's next request has been read. At
   * most FOLLOWED_BATCHES such batches in a row: then the loop has its turn (a queue of jobs
   * each starting the next must not keep requests waiting). Writes read from sockets still
   * gather until the loop's next turn (`schedule`).
   */
  const followUp = (round: number): void => {
    if (pending.length > 0) {
      if (followed >= FOLLOWED_BATCHES) return schedule(false)
      followed++
      start()
      return
    }
    if (round >= FOLLOW_ROUNDS) {
      flushing = false
      return
    }
    queueMicrotask(() => followUp(round + 1))
  }

  const commit = <A, E>(write: Effect.Effect<A, E>, options?: CommitOptions) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) => {
      // Inside a caller's own transaction the write belongs to that transaction (and the
      // connection is the caller's until it ends).
      if (Option.isSome(inTransaction)) return write
      // Effect.async, not a Deferred: making a Deferred copies the whole effect prototype (µs).
      return Effect.async<A, E>((resume) => {
        let outcome: Exit.Exit<A, E> = didNotRun
        enqueue({
          write: Effect.onExit(write, (exit) => Effect.sync(() => (outcome = exit))),
          plain: undefined,
          durable: options?.durable !== false,
          answer: () => resume(outcome)
        })
      })
    })

  const plain =
    direct === undefined
      ? undefined
      : <A>(write: Plain<A>, options?: CommitOptions): Effect.Effect<A, SqlError> =>
          Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (inTransaction) =>
            // In a caller's transaction: its connection, already held.
            Option.isSome(inTransaction)
              ? Effect.try({ try: () => write(direct), catch: (cause) => sqlError(cause) })
              : Effect.async<A, SqlError>((resume) => {
                  enqueue(new PlainWrite(direct, write, options?.durable !== false, resume))
                })
          )

  return Object.assign(commit, { plain })
}
