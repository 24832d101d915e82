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
  }),
  "3_leases": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Several instances share a PostgreSQL database; an SQLite file has one instance, no leases.
    if (sql.onDialectOrElse({ pg: () => false, orElse: () => true })) return
    // Who holds which job (a claim to run it, or to recover it), until when (the database's
    // clock, so instances' clocks never disagree). `token` names one claim: a lost and re-taken
    // lease is never released or renewed by its old holder.
    yield* sql`CREATE TABLE uws_leases (
      list TEXT NOT NULL,
      job_id TEXT NOT NULL,
      instance_id TEXT NOT NULL,
      token TEXT NOT NULL,
      expires_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (list, job_id)
    )`
    yield* sql`CREATE INDEX uws_leases_expiry ON uws_leases (list, expires_at)`
    yield* sql`CREATE INDEX uws_leases_instance ON uws_leases (list, instance_id)`
    // Every committed change of a job is announced on the channel "uws_kit", by the database at
    // commit, whoever made it: "J list job phase destruction execution origin" (tab-separated,
    // phase empty for a deleted job; origin = the writer's application_name, its instance id).
    // A released lease: "L list".
    yield* sql.unsafe(`CREATE FUNCTION uws_kit_job_changed() RETURNS trigger AS $$
      DECLARE r RECORD;
      BEGIN
        IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
        PERFORM pg_notify('uws_kit', concat_ws(E'\t', 'J', r.list, r.job_id,
          CASE WHEN TG_OP = 'DELETE' THEN '' ELSE r.phase END,
          coalesce(CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE r.destruction_at END::text, ''),
          coalesce(CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE r.execution_at END::text, ''),
          coalesce(current_setting('application_name', true), '')));
        RETURN NULL;
      END $$ LANGUAGE plpgsql`)
    yield* sql`CREATE TRIGGER uws_jobs_changed AFTER INSERT OR UPDATE OR DELETE ON uws_jobs FOR EACH ROW EXECUTE FUNCTION uws_kit_job_changed()`
    yield* sql.unsafe(`CREATE FUNCTION uws_kit_lease_released() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('uws_kit', concat_ws(E'\t', 'L', OLD.list));
        RETURN NULL;
      END $$ LANGUAGE plpgsql`)
    yield* sql`CREATE TRIGGER uws_leases_released AFTER DELETE ON uws_leases FOR EACH ROW EXECUTE FUNCTION uws_kit_lease_released()`
  }),
  // A caller's quota key (the host's per-client key, else the owner) counts its active jobs.
  "4_quota_key": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE uws_jobs ADD COLUMN quota_key TEXT`
    yield* sql`UPDATE uws_jobs SET quota_key = owner_id`
    yield* sql`CREATE INDEX uws_jobs_quota ON uws_jobs (list, quota_key, phase)`
  }),
  // The archive's search index (`SqlContainerIndex`): a container's searchable fields as
  // columns. Ids sort bytewise (PostgreSQL: "C"), as the archive's own order does; the name is
  // kept lower-cased by the archive (SQLite's lower() knows ASCII only).
  "5_archive_index": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const id = sql.onDialectOrElse({ pg: () => 'TEXT COLLATE "C"', orElse: () => "TEXT" })
    yield* sql`CREATE TABLE uws_archive_index (
      list TEXT NOT NULL,
      id ${sql.literal(id)} NOT NULL,
      owner_id TEXT,
      name_lower TEXT NOT NULL,
      storage_id BIGINT NOT NULL,
      save_type TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      archive_until BIGINT,
      base_status INTEGER NOT NULL,
      PRIMARY KEY (list, id)
    )`
    // Newest first within each filter the seed's clients use.
    yield* sql`CREATE INDEX uws_archive_index_created ON uws_archive_index (list, created_at, id)`
    yield* sql`CREATE INDEX uws_archive_index_owner ON uws_archive_index (list, owner_id, created_at, id)`
    yield* sql`CREATE INDEX uws_archive_index_status ON uws_archive_index (list, base_status, created_at, id)`
    yield* sql`CREATE INDEX uws_archive_index_storage ON uws_archive_index (list, storage_id, created_at, id)`
    yield* sql`CREATE INDEX uws_archive_index_until ON uws_archive_index (list, archive_until) WHERE archive_until IS NOT NULL`
  }),
  // Archive search in ≤ 20 ms at 100,000 containers with an exact total (`SqlContainerIndex`):
  // - how many containers each storage holds, kept by triggers in the writing transaction, so a
  //   search filtered by storage only (the commonest: the empty body) counts without a scan;
  // - "storage ended" counted as two disjoint index ranges (ended by date; ended before it) on
  //   indexes of temporary containers that hold every column those counts read;
  // - name substrings: a trigram index (PostgreSQL: pg_trgm, when the server has it; SQLite: an
  //   index holding the names, read instead of the table).
  "6_archive_search": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE uws_archive_counts (
      list TEXT NOT NULL,
      storage_id BIGINT NOT NULL,
      n BIGINT NOT NULL,
      PRIMARY KEY (list, storage_id)
    )`
    yield* sql`INSERT INTO uws_archive_counts (list, storage_id, n)
      SELECT list, storage_id, count(*) FROM uws_archive_index GROUP BY list, storage_id`
    yield* sql`CREATE INDEX uws_archive_index_temporary_until ON uws_archive_index (list, archive_until, storage_id) WHERE save_type = 'Temporary'`
    yield* sql`CREATE INDEX uws_archive_index_temporary_status ON uws_archive_index (list, base_status, archive_until, storage_id) WHERE save_type = 'Temporary'`
    yield* sql.onDialectOrElse({
      pg: () =>
        Effect.gen(function* () {
          // Statement-level triggers: one ordered change of the counts per statement, so two
          // multi-row writes never take the counts' row locks in opposite orders (no deadlock).
          const counted = (name: string, rows: string) =>
            sql.unsafe(`CREATE FUNCTION ${name}() RETURNS trigger AS $$
              BEGIN
                INSERT INTO uws_archive_counts AS c (list, storage_id, n)
                  SELECT list, storage_id, sum(d) FROM (${rows}) AS changes GROUP BY list, storage_id HAVING sum(d) <> 0
                  ORDER BY list, storage_id
                  ON CONFLICT (list, storage_id) DO UPDATE SET n = c.n + excluded.n;
                RETURN NULL;
              END $$ LANGUAGE plpgsql`)
          yield* counted("uws_kit_archive_inserted", "SELECT list, storage_id, 1 AS d FROM new_rows")
          yield* counted("uws_kit_archive_deleted", "SELECT list, storage_id, -1 AS d FROM old_rows")
          yield* counted(
            "uws_kit_archive_updated",
            "SELECT list, storage_id, 1 AS d FROM new_rows UNION ALL SELECT list, storage_id, -1 AS d FROM old_rows"
          )
          yield* sql`CREATE TRIGGER uws_archive_index_inserted AFTER INSERT ON uws_archive_index
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION uws_kit_archive_inserted()`
          yield* sql`CREATE TRIGGER uws_archive_index_deleted AFTER DELETE ON uws_archive_index
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION uws_kit_archive_deleted()`
          yield* sql`CREATE TRIGGER uws_archive_index_updated AFTER UPDATE ON uws_archive_index
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION uws_kit_archive_updated()`
          // pg_trgm ships with PostgreSQL but is an extension: where it cannot be created, name
          // searches stay right, only slower (a savepoint keeps the migration going).
          const trigrams = yield* sql
            .withTransaction(sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`)
            .pipe(
              Effect.as(true),
              Effect.catchAll((e) => Effect.as(Effect.logWarning(`pg_trgm is not available (${e.message}): archive name searches read every name`), false))
            )
          if (trigrams) yield* sql`CREATE INDEX uws_archive_index_name_trgm ON uws_archive_index USING gin (name_lower gin_trgm_ops)`
        }),
      orElse: () =>
        Effect.gen(function* () {
          yield* sql`CREATE TRIGGER uws_archive_index_inserted AFTER INSERT ON uws_archive_index BEGIN
              INSERT INTO uws_archive_counts (list, storage_id, n) VALUES (NEW.list, NEW.storage_id, 1)
                ON CONFLICT (list, storage_id) DO UPDATE SET n = n + 1;
            END`
          yield* sql`CREATE TRIGGER uws_archive_index_deleted AFTER DELETE ON uws_archive_index BEGIN
              UPDATE uws_archive_counts SET n = n - 1 WHERE list = OLD.list AND storage_id = OLD.storage_id;
            END`
          yield* sql`CREATE TRIGGER uws_archive_index_moved AFTER UPDATE OF storage_id ON uws_archive_index
            WHEN OLD.storage_id <> NEW.storage_id BEGIN
              UPDATE uws_archive_counts SET n = n - 1 WHERE list = OLD.list AND storage_id = OLD.storage_id;
              INSERT INTO uws_archive_counts (list, storage_id, n) VALUES (NEW.list, NEW.storage_id, 1)
                ON CONFLICT (list, storage_id) DO UPDATE SET n = n + 1;
            END`
          // SQLite has no trigram index outside FTS5 (whose row ids a VACUUM may renumber):
          // the names in an index of their own, scanned instead of the table.
          yield* sql`CREATE INDEX uws_archive_index_names ON uws_archive_index (list, storage_id, name_lower)`
        })
    })
  }),
  // Changes are announced by their writers after commit (`internal/announce`), not by triggers:
  // a NOTIFY inside a write holds a database-wide lock through the commit's flush, so every
  // job write waited for the previous one's fsync (measured: 449 against 3,628 updates/s).
  "7_announce_after_commit": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (sql.onDialectOrElse({ pg: () => false, orElse: () => true })) return
    yield* sql`DROP TRIGGER IF EXISTS uws_jobs_changed ON uws_jobs`
    yield* sql`DROP FUNCTION IF EXISTS uws_kit_job_changed()`
    yield* sql`DROP TRIGGER IF EXISTS uws_leases_released ON uws_leases`
    yield* sql`DROP FUNCTION IF EXISTS uws_kit_lease_released()`
  }),
  // The archive's catalogue of copies (`SqlCopyCatalogue`, for `Replicas`): content stored once
  // per storage by SHA-256 with its reference count, the parts referring to it, and each copy
  // with the last check's date and outcome. Digests and storage names sort bytewise, as in memory.
  "8_archive_copies": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const key = sql.onDialectOrElse({ pg: () => 'TEXT COLLATE "C"', orElse: () => "TEXT" })
    yield* sql`CREATE TABLE uws_archive_contents (
      list TEXT NOT NULL,
      sha256 ${sql.literal(key)} NOT NULL,
      size BIGINT NOT NULL,
      refs BIGINT NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (list, sha256)
    )`
    yield* sql`CREATE TABLE uws_archive_refs (
      list TEXT NOT NULL,
      ref_id TEXT NOT NULL,
      sha256 ${sql.literal(key)} NOT NULL,
      container_id TEXT NOT NULL,
      name TEXT NOT NULL,
      PRIMARY KEY (list, ref_id)
    )`
    yield* sql`CREATE INDEX uws_archive_refs_content ON uws_archive_refs (list, sha256)`
    yield* sql`CREATE TABLE uws_archive_copies (
      list TEXT NOT NULL,
      sha256 ${sql.literal(key)} NOT NULL,
      storage ${sql.literal(key)} NOT NULL,
      locator TEXT,
      state TEXT NOT NULL,
      checked_at BIGINT,
      detail TEXT,
      PRIMARY KEY (list, sha256, storage)
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

/** Brings the database's schema up to date; refuses a database newer than this code. */
const migrateUnlocked: Effect.Effect<ReadonlyArray<readonly [number, string]>, SchemaError, SqlClient.SqlClient> = Effect.gen(
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

// Any number only uws-kit's migrations take: instances starting together against one new
// PostgreSQL database would otherwise race to create the migrations table (the migrator's own
// table lock comes after that), and all but one would fail to start.
const MIGRATION_LOCK = 7_302_198_411

/**
 * Brings the database's schema up to date; refuses a database newer than this code. On
 * PostgreSQL, instances migrating at the same moment take turns (a transaction-scoped advisory
 * lock), so several can start together against a new database.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate: Effect.Effect<ReadonlyArray<readonly [number, string]>, SchemaError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql.onDialectOrElse({
      pg: () =>
        sql
          .withTransaction(
            Effect.all([
              sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`,
              // Under the lock, and as the migrator would create it: inside a transaction, its own
              // probe for a missing table would fail the statement and with it the transaction.
              sql`CREATE TABLE IF NOT EXISTS ${sql(migrationsTable)} (
                migration_id integer primary key,
                created_at timestamp with time zone not null default now(),
                name text not null
              )`
            ]).pipe(Effect.zipRight(migrateUnlocked))
          )
          .pipe(
            Effect.catchTag("SqlError", (cause) =>
              Effect.fail(new SchemaError({ message: `migrating the database failed: ${cause.message}`, cause }))
            )
          ),
      orElse: () => migrateUnlocked
    })
)
