/**
 * The database schema, as versioned migrations run by @effect/sql's migrator at start. A
 * database written by a newer uws-kit (a migration id this code does not know) is refused with a
 * clear message rather than used half-understood.
 *
 * Every table has a `list` column: one database holds several job lists (one per UWS service,
 * plus the archive's), each an independent namespace.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql"
import { Data, Effect } from "effect"

/**
 * The migrations table (kept apart from any other application's in the same database).
 *
 * @since 0.1.0
 * @category constants
 */
export const migrationsTable = "uws_kit_migrations"

const binary = (sql: SqlClient.SqlClient) => sql.onDialectOrElse({ pg: () => "BYTEA", orElse: () => "BLOB" })

/**
 * The migrations, by id. Append new ones; never edit one that has shipped.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "1_jobs": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // The job as JSON in `body`; the columns beside it are what the indexes need. Deadlines are
    // instants computed by the service; NULL = none, so the partial indexes hold only real ones.
    yield* sql`CREATE TABLE uws_jobs (
      list TEXT NOT NULL,
      job_id TEXT NOT NULL,
      owner_id TEXT,
      phase TEXT NOT NULL,
      creation_time BIGINT NOT NULL,
      version INTEGER NOT NULL,
      destruction_at BIGINT,
      execution_at BIGINT,
      body TEXT NOT NULL,
      PRIMARY KEY (list, job_id)
    )`
    yield* sql`CREATE INDEX uws_jobs_created ON uws_jobs (list, creation_time, job_id)`
    yield* sql`CREATE INDEX uws_jobs_phase ON uws_jobs (list, phase, creation_time, job_id)`
    yield* sql`CREATE INDEX uws_jobs_owner ON uws_jobs (list, owner_id, phase, creation_time, job_id)`
    yield* sql`CREATE INDEX uws_jobs_destruction ON uws_jobs (list, destruction_at) WHERE destruction_at IS NOT NULL`
    yield* sql`CREATE INDEX uws_jobs_execution ON uws_jobs (list, execution_at) WHERE execution_at IS NOT NULL`
  }),
  "2_results": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Contents kept in the database itself (the `SqlResultStore`), and locators of contents kept
    // by a document storage (the `SqlLocatorIndex`).
    yield* sql`CREATE TABLE uws_results (
      list TEXT NOT NULL,
      job_id TEXT NOT NULL,
      name TEXT NOT NULL,
      mime_type TEXT,
      size BIGINT NOT NULL,
      content ${sql.literal(binary(sql))} NOT NULL,
      PRIMARY KEY (list, job_id, name)
    )`
    yield* sql`CREATE TABLE uws_locators (
      list TEXT NOT NULL,
      job_id TEXT NOT NULL,
      name TEXT NOT NULL,
      locator TEXT NOT NULL,
      mime_type TEXT,
      size BIGINT NOT NULL,
      PRIMARY KEY (list, job_id, name)
    )`
  })
}

/** The newest schema this code knows. */
const latest = Math.max(...Object.keys(migrations).map((k) => Number(k.split("_")[0])))

/**
 * The database's schema is newer than this code, or migrating failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SchemaError extends Data.TaggedError("SchemaError")<{ readonly message: string; readonly cause?: unknown }> {}

const run = Migrator.make({})

/**
 * Brings the database's schema up to date; refuses a database newer than this code.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate: Effect.Effect<ReadonlyArray<readonly [number, string]>, SchemaError, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    const found = yield* sql<{ readonly v: number | string | null }>`SELECT max(migration_id) AS v FROM ${sql(migrationsTable)}`.pipe(
      Effect.map((rows) => Number(rows[0]?.v ?? 0)),
      // No table yet: a new database.
      Effect.orElseSucceed(() => 0)
    )
    if (found > latest) {
      return yield* new SchemaError({
        message: `the database has uws-kit schema version ${found}, but this uws-kit knows versions up to ${latest}: it was written by a newer uws-kit. Upgrade uws-kit, or point it at another database.`
      })
    }
    return yield* run({ loader: Migrator.fromRecord(migrations), table: migrationsTable }).pipe(
      Effect.mapError((cause) => new SchemaError({ message: `migrating the database failed: ${cause.message}`, cause }))
    )
  }
)
