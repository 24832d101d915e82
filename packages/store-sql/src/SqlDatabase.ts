/**
 * Opening a database: embedded SQLite (one file, the default) or PostgreSQL (for several
 * instances), with the schema migrated at start. `open` gives plain store values for hosts that
 * are not written with Effect layers.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import * as SqliteConnection from "./internal/sqliteClient.js"
import type { Dispatcher, JobStore, ResultStore } from "@uws-kit/core"
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import * as SqlContainerIndex from "./SqlContainerIndex.js"
import * as SqlCopyCatalogue from "./SqlCopyCatalogue.js"
import * as SqlDispatcher from "./SqlDispatcher.js"
import * as Schema from "./Schema.js"
import * as SqlJobStore from "./SqlJobStore.js"
import * as SqlLocatorIndex from "./SqlLocatorIndex.js"
import * as SqlResultStore from "./SqlResultStore.js"

/**
 * Whether a URL names a PostgreSQL database (`postgres://` or `postgresql://`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url)

/**
 * How an SQLite commit reaches the disk (WAL mode either way):
 * - `"full"` (the default): every commit is flushed (fsync) before it is acknowledged, so an
 *   acknowledged change survives a power cut or an OS crash, as PostgreSQL's default does
 *   (concurrent writes of the stores share one flush: group commit);
 * - `"normal"`: commits are written, and flushed only at checkpoints. They survive the process
 *   being killed (kill -9, a crash), but a power cut or OS crash may undo the last ones (never
 *   corrupt the file). Only a little faster, since concurrent commits share one flush (about
 *   1.1× the lifecycles/s in `npm run bench store-sql`).
 *
 * @since 0.1.0
 * @category models
 */
export type SqliteSynchronous = "full" | "normal"

/**
 * @since 0.1.0
 * @category models
 */
export interface SqliteOptions {
  readonly synchronous?: SqliteSynchronous
}

/**
 * An SQLite database in one file (created if missing), migrated. Its write-ahead log is copied
 * into the file by a second connection on a worker thread, so no commit waits for a checkpoint's
 * flushes (see internal/checkpointer.ts); closing the layer stops that thread first.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (filename: string, options: SqliteOptions = {}) =>
  Layer.effectDiscard(Effect.zipRight(tuneSqlite(options.synchronous ?? "full"), Schema.migrate)).pipe(
    Layer.provideMerge(SqliteConnection.layer({ filename }))
  )

/** `busy_timeout` lets a second process wait its turn. */
const tuneSqlite = (synchronous: SqliteSynchronous) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.zipRight(sql.unsafe(`PRAGMA synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`), sql`PRAGMA busy_timeout = 5000`)
  )

/**
 * A PostgreSQL database, migrated.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (url: string, options: { readonly maxConnections?: number; readonly instanceId?: string } = {}) =>
  Layer.effectDiscard(Schema.migrate).pipe(
    Layer.provideMerge(
      PgClient.layer({
        url: Redacted.make(url),
        // The instance id travels as the connections' application_name: the database's change
        // announcements name their writer, so an instance ignores its own (see SqlDispatcher).
        applicationName: options.instanceId ?? makeInstanceId(),
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections })
      })
    )
  )

/**
 * A new instance id: `uws-kit-` and 12 random hexadecimal digits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInstanceId = (): string => `uws-kit-${randomBytes(6).toString("hex")}`

/**
 * PostgreSQL for a `postgres://` URL, else an SQLite file (`file:` prefix optional).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (url: string, options: OpenOptions = {}) =>
  isPostgresUrl(url) ? layerPg(url, options) : layerSqlite(url.replace(/^(sqlite|file):(\/\/)?/, ""), options.sqlite)

/**
 * @since 0.1.0
 * @category models
 */
export interface OpenOptions {
  readonly instanceId?: string
  /** SQLite only: see `SqliteOptions` (PostgreSQL's durability is the server's setting). */
  readonly sqlite?: SqliteOptions
}

/**
 * An open database and the stores over it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Database {
  readonly dialect: "sqlite" | "pg"
  readonly jobStore: (list: string) => JobStore.JobStoreService
  readonly resultStore: (list: string, options?: Omit<SqlResultStore.Options, "list">) => ResultStore.ResultStoreService
  readonly locatorIndex: (list: string) => SqlLocatorIndex.LocatorIndex
  /** The archive's search index of a list (give it to the archive as `containerIndex`). */
  readonly containerIndex: (list: string) => SqlContainerIndex.ContainerIndex
  /** The archive's catalogue of copies of a list (give it to the archive's replication as `catalogue`). */
  readonly copyCatalogue: (list: string) => SqlCopyCatalogue.CopyCatalogue
  /**
   * PostgreSQL: the dispatcher several instances of a list's service share (give it to
   * `Uws.start`). SQLite: `undefined` (one instance per file; the in-process default fits).
   */
  readonly dispatcher: (list: string, options?: Omit<SqlDispatcher.Options, "list">) => Dispatcher.DispatcherService | undefined
  /** This process's instance id (PostgreSQL: its connections' application_name). */
  readonly instanceId: string
  /** Runs an effect against the database's client (for hosts and tests). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Promise<A>
  readonly close: () => Promise<void>
}

/**
 * Opens (and migrates) a database; fails with the migration's message, e.g. for a database
 * written by a newer uws-kit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = async (url: string, options: OpenOptions = {}): Promise<Database> => {
  const instanceId = options.instanceId ?? makeInstanceId()
  const runtime = ManagedRuntime.make(layer(url, { ...options, instanceId }) as Layer.Layer<SqlClient.SqlClient, unknown>)
  // The dispatchers' fibers (lease renewal, LISTEN) live until `close`.
  const scope = Effect.runSync(Scope.make())
  try {
    await runtime.runPromise(Effect.void)
  } catch (e) {
    await runtime.dispose()
    throw e
  }
  return {
    dialect: isPostgresUrl(url) ? "pg" : "sqlite",
    jobStore: (list) => runtime.runSync(SqlJobStore.make({ list })),
    resultStore: (list, options = {}) => runtime.runSync(SqlResultStore.make({ ...options, list })),
    locatorIndex: (list) => runtime.runSync(SqlLocatorIndex.make({ list })),
    containerIndex: (list) => runtime.runSync(SqlContainerIndex.make({ list })),
    copyCatalogue: (list) => runtime.runSync(SqlCopyCatalogue.make({ list })),
    dispatcher: (list, dispatcherOptions = {}) =>
      isPostgresUrl(url)
        ? runtime.runSync(
            // The runtime's layer is PgClient's here (it provides both tags).
            SqlDispatcher.make({ ...dispatcherOptions, list }).pipe(Scope.extend(scope)) as unknown as Effect.Effect<
              Dispatcher.DispatcherService,
              never,
              SqlClient.SqlClient
            >
          )
        : undefined,
    instanceId,
    run: (effect) => runtime.runPromise(effect),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
    }
  }
}
