/**
 * The SQLite client: @effect/sql-sqlite-node's, with the one connection also reachable directly
 * (`directOf`), so that the stores' hottest writes and reads run as plain better-sqlite3 calls
 * instead of one @effect/sql statement each (a span, a compile, a cached-statement lookup and
 * the connection's semaphore, as effects: about 100 µs a write, where SQLite itself takes ~10).
 *
 * The same client otherwise (statements, transactions, `SqliteClient` tag): only the prepared
 * statements are kept in a plain bounded map instead of an effect `Cache` with a time to live.
 * Direct use must hold `lock` (the permit the client's statements and transactions take), so it
 * never runs inside someone else's open transaction on the connection; plain calls that do not
 * yield may instead run while `lock.isFree()`.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Client from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { SqliteClient } from "@effect/sql-sqlite-node"
import Sqlite from "better-sqlite3"
import { Context, Effect, Layer, Option, Runtime, Scope } from "effect"
import { startCheckpointer } from "./checkpointer.js"

/** The connection as plain calls, for code that holds `lock`. */
export interface Direct {
  readonly db: Sqlite.Database
  /** A prepared statement for `sql`, prepared once. */
  readonly prepare: (sql: string) => Sqlite.Statement
  /** The client's one permit: hold it while using `db`. */
  readonly lock: ConnectionLock
  /** Says a transaction of so many writes was committed (see internal/checkpointer.ts). */
  readonly committed: (writes: number) => void
}

/**
 * The connection's one permit, and whether anyone holds it now. While no one does, no
 * transaction (nor a statement sequence that must not be split, like a PRAGMA and the BEGIN after
 * it) is open on the connection, so plain calls that run to the end without yielding may use it
 * without taking the permit: nothing else runs meanwhile.
 */
export interface ConnectionLock {
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Takes the permit until the scope closes. */
  readonly takeScoped: Effect.Effect<void, never, Scope.Scope>
  readonly isFree: () => boolean
}

const makeLock = Effect.map(Effect.makeSemaphore(1), (semaphore): ConnectionLock => {
  // Counted in the uninterruptible steps right after taking and right before releasing: a
  // holder only uses the connection in between.
  let holders = 0
  const release = Effect.suspend(() => {
    holders--
    return semaphore.release(1)
  })
  return {
    withPermit: (self) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(semaphore.take(1)), () => {
          holders++
          return Effect.ensuring(restore(self), release)
        })
      ),
    takeScoped: Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(semaphore.take(1)), () => {
        holders++
        return Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizer(scope, release))
      })
    ),
    isFree: () => holders === 0
  }
})

const directs = new WeakMap<object, Direct>()

/** The client's connection as plain calls, when the client is this module's. */
export const directOf = (client: object): Direct | undefined => directs.get(client)

/** A thrown better-sqlite3 error as the client's statements fail with it. */
export const sqlError = (cause: unknown, message = "Failed to execute statement") => new SqlError({ cause, message })

/** A read as plain calls, holding the connection's permit (so never inside another's transaction). */
export const readPlain = <A>(direct: Direct, read: (direct: Direct) => A): Effect.Effect<A, SqlError> =>
  Effect.flatMap(Effect.serviceOption(Client.TransactionConnection), (inTransaction) => {
    const once = Effect.try({ try: () => read(direct), catch: (cause) => sqlError(cause) })
    // In the caller's own transaction the connection is already the caller's.
    return Option.isSome(inTransaction) ? once : direct.lock.withPermit(once)
  })

const PREPARED = 200

const make = (options: SqliteClient.SqliteClientConfig) =>
  Effect.gen(function* () {
    const compiler = Statement.makeCompilerSqlite(options.transformQueryNames)
    const transformRows = options.transformResultNames ? Statement.defaultTransforms(options.transformResultNames).array : undefined
    const scope = yield* Effect.scope
    const db = new Sqlite(options.filename, { readonly: options.readonly ?? false })
    yield* Scope.addFinalizer(scope, Effect.sync(() => db.close()))
    if (options.disableWAL !== true) db.pragma("journal_mode = WAL")
    const runtime = yield* Effect.runtime<never>()
    const checkpointer = startCheckpointer(db, (reason) =>
      Runtime.runFork(runtime)(Effect.logWarning(`SQLite ${options.filename}: checkpoints run on the connection again, the background checkpointer stopped: ${reason}`))
    )
    // Finalizers run last added first: the checkpointer stops before the connection closes.
    if (checkpointer !== undefined) yield* Scope.addFinalizer(scope, Effect.promise(checkpointer.close))
    const committed = checkpointer?.committed ?? ((_writes: number) => {})

    // Least recently prepared out, as the effect Cache it replaces did by capacity.
    const prepared = new Map<string, Sqlite.Statement>()
    const prepare = (sql: string) => {
      let statement = prepared.get(sql)
      if (statement === undefined) {
        statement = db.prepare(sql)
        prepared.set(sql, statement)
        if (prepared.size > (options.prepareCacheSize ?? PREPARED)) prepared.delete(prepared.keys().next().value!)
      }
      return statement
    }

    const runStatement = (statement: Sqlite.Statement, params: ReadonlyArray<unknown>, raw: boolean) =>
      Effect.withFiberRuntime<unknown, SqlError>((fiber) => {
        if (Context.get(fiber.currentContext, Client.SafeIntegers)) statement.safeIntegers(true)
        try {
          if (statement.reader) return Effect.succeed(statement.all(...params))
          const result = statement.run(...params)
          return Effect.succeed(raw ? result : [])
        } catch (cause) {
          return Effect.fail(sqlError(cause))
        }
      })
    const run = (sql: string, params: ReadonlyArray<unknown>, raw = false) =>
      Effect.suspend(() => {
        let statement: Sqlite.Statement
        try {
          statement = prepare(sql)
        } catch (cause) {
          return Effect.fail(sqlError(cause, "Failed to prepare statement "))
        }
        return runStatement(statement, params, raw)
      })

    const connection: Connection = {
      execute: (sql, params, transform) => (transform ? Effect.map(run(sql, params), transform as never) : run(sql, params)) as never,
      executeRaw: (sql, params) => run(sql, params, true),
      executeValues: (sql, params) =>
        Effect.try({
          try: () => {
            const statement = prepare(sql)
            if (!statement.reader) {
              statement.run(...params)
              return []
            }
            statement.raw(true)
            try {
              return statement.all(...params) as never
            } finally {
              statement.raw(false)
            }
          },
          catch: (cause) => sqlError(cause)
        }),
      executeUnprepared: (sql, params, transform) => {
        const effect = Effect.suspend(() => runStatement(db.prepare(sql), params ?? [], false))
        return (transform ? Effect.map(effect, transform as never) : effect) as never
      },
      executeStream: () => Effect.dieMessage("executeStream not implemented")
    }

    const lock = yield* makeLock
    const acquirer = lock.withPermit(Effect.succeed(connection))
    // A transaction's end is a commit (or a rollback: a checkpoint then finds nothing to do).
    const transactionAcquirer = Effect.as(Effect.zipRight(lock.takeScoped, Effect.addFinalizer(() => Effect.sync(() => committed(1)))), connection)
    const client = Object.assign(
      yield* Client.make({
        acquirer,
        compiler,
        transactionAcquirer,
        spanAttributes: [...(options.spanAttributes ? Object.entries(options.spanAttributes) : []), ["db.system.name", "sqlite"]],
        transformRows
      }),
      {
        [SqliteClient.TypeId]: SqliteClient.TypeId,
        config: options,
        export: lock.withPermit(Effect.try({ try: () => db.serialize() as Uint8Array, catch: (cause) => sqlError(cause, "Failed to export database") })),
        backup: (destination: string) =>
          lock.withPermit(Effect.tryPromise({ try: () => db.backup(destination), catch: (cause) => sqlError(cause, "Failed to backup database") })),
        loadExtension: (path: string) =>
          lock.withPermit(
            Effect.try({
              try: () => {
                db.loadExtension(path)
                prepared.clear()
              },
              catch: (cause) => sqlError(cause, "Failed to load extension")
            })
          )
      }
    ) as unknown as SqliteClient.SqliteClient
    directs.set(client, { db, prepare, lock, committed })
    return client
  })

/** The client as `SqliteClient.layer` provides it (both tags). */
export const layer = (config: SqliteClient.SqliteClientConfig): Layer.Layer<SqliteClient.SqliteClient | Client.SqlClient> =>
  Layer.scopedContext(Effect.map(make(config), (client) => Context.make(SqliteClient.SqliteClient, client).pipe(Context.add(Client.SqlClient, client)))).pipe(
    Layer.provide(Reactivity.layer)
  )
