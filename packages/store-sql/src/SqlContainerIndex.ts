/**
 * The archive's search index in a table beside the jobs (`uws_archive_index`): each container's
 * searchable fields as columns, indexed for the filters and the newest-first order. It has the
 * shape of `@uws-kit/adapter-archive`'s `ContainerIndex` (structurally; this package does not
 * depend on the archive).
 *
 * The one time-dependent status, a temporary container whose archive date has come (storage
 * ended), is computed in the query from the stored archive date and the instant given.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Errors } from "@uws-kit/core"
import { Effect } from "effect"

/**
 * A container's searchable fields (the archive's `ContainerIndex.Entry`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly id: string
  readonly ownerId: string | null
  readonly name: string
  readonly storageId: number
  readonly saveType: "Temporary" | "Permanent" | "Cache"
  readonly createdAt: number
  readonly archiveUntil: number | null
  readonly baseStatus: number
}

/**
 * A search (the archive's `Search.Query`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Query {
  readonly filters: {
    readonly storageIds?: ReadonlyArray<number>
    readonly name?: string
    readonly sourceSystemId?: string
    readonly status?: number
    readonly isArchived?: boolean
    readonly saveType?: "Temporary" | "Permanent" | "Cache"
  }
  readonly pageSize: number
  readonly page: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContainerIndex {
  readonly upsert: (entry: Entry) => Effect.Effect<void, Errors.StorageFailure>
  readonly upsertAll: (entries: ReadonlyArray<Entry>) => Effect.Effect<void, Errors.StorageFailure>
  readonly remove: (id: string) => Effect.Effect<void, Errors.StorageFailure>
  readonly search: (
    query: Query,
    context: { readonly now: number; readonly storages?: ReadonlyArray<number> }
  ) => Effect.Effect<{ readonly ids: ReadonlyArray<string>; readonly totalRecords: number }, Errors.StorageFailure>
  readonly count: Effect.Effect<number, Errors.StorageFailure>
  readonly withStatus: (statuses: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<string>, Errors.StorageFailure>
  readonly ids: Effect.Effect<ReadonlyArray<string>, Errors.StorageFailure>
  readonly storageIds: Effect.Effect<ReadonlyArray<number>, Errors.StorageFailure>
}

/** The archive's status numbers this index computes (`Container.StatusCode`). */
const ARCHIVED = 4
const STORAGE_ENDED = 5

const failure = (operation: string) => (e: SqlError) => new Errors.StorageFailure({ operation, reason: e.message, cause: e })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly list: string }): Effect.Effect<ContainerIndex, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql) => {
    const list = options.list
    // PostgreSQL: LIKE, which its trigram index answers; the needle's wildcards match literally.
    const contains = (needle: string) =>
      sql.onDialectOrElse({
        pg: () => sql`name_lower LIKE ${`%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`,
        orElse: () => sql`instr(name_lower, ${needle}) > 0`
      })
    const endedByDate = (now: number) => sql`(archive_until IS NOT NULL AND archive_until <= ${now})`
    // Status at `now`: storage ended once the archive date has come, else the stored status.
    const statusIs = (status: number, now: number): Fragment =>
      status === STORAGE_ENDED
        ? sql`(base_status = ${STORAGE_ENDED} OR ${endedByDate(now)})`
        : sql`(base_status = ${status} AND (archive_until IS NULL OR archive_until > ${now}))`
    /**
     * The filters as clauses; "storage ended" apart (`ended`), since it is counted in two parts.
     * `storagesOnly`: nothing but storages filters, so the per-storage counts answer the total.
     */
    const where = (query: Query, storages: ReadonlyArray<number> | undefined) => {
      const f = query.filters
      const clauses: Array<Fragment> = [sql`list = ${list}`]
      if (storages !== undefined) clauses.push(storages.length === 0 ? sql`1 = 0` : sql.in("storage_id", storages))
      if (f.storageIds !== undefined && f.storageIds.length > 0) clauses.push(sql.in("storage_id", f.storageIds))
      const storagesOnly =
        f.name === undefined && f.sourceSystemId === undefined && f.status === undefined && f.isArchived === undefined && f.saveType === undefined
      if (f.name !== undefined) clauses.push(contains(f.name.toLowerCase()))
      if (f.sourceSystemId !== undefined) clauses.push(sql`owner_id = ${f.sourceSystemId}`)
      if (f.isArchived === false) clauses.push(sql`save_type = 'Temporary'`)
      if (f.saveType !== undefined) clauses.push(sql`save_type = ${f.saveType}`)
      const ended = f.status === STORAGE_ENDED || f.isArchived === false
      const statuses = [f.status, f.isArchived === true ? ARCHIVED : undefined].filter(
        (s): s is number => s !== undefined && s !== STORAGE_ENDED
      )
      return { clauses, statuses, ended, storagesOnly }
    }
    const whereAt = (query: Query, now: number, storages: ReadonlyArray<number> | undefined) => {
      const w = where(query, storages)
      return sql.and([...w.clauses, ...w.statuses.map((s) => statusIs(s, now)), ...(w.ended ? [statusIs(STORAGE_ENDED, now)] : [])])
    }
    /** The exact number of matches, from the counts or index ranges where the filters allow. */
    const total = (query: Query, now: number, storages: ReadonlyArray<number> | undefined) => {
      const w = where(query, storages)
      if (w.storagesOnly) {
        // Only the list's and the storages' clauses: columns the counts table has too.
        return sql<{ readonly n: number | string | null }>`SELECT sum(n) AS n FROM uws_archive_counts WHERE ${sql.and(w.clauses)}`
      }
      const rest = [...w.clauses, ...w.statuses.map((s) => statusIs(s, now))]
      if (!w.ended) return sql<{ readonly n: number | string | null }>`SELECT count(*) AS n FROM uws_archive_index WHERE ${sql.and(rest)}`
      // Ended = ended by date, plus ended before it (status stored) with a date still to come:
      // two disjoint ranges of indexes, each counted without the OR that defeats them.
      return sql<{ readonly n: number | string | null }>`SELECT
          (SELECT count(*) FROM uws_archive_index WHERE ${sql.and([...rest, endedByDate(now)])})
        + (SELECT count(*) FROM uws_archive_index WHERE ${sql.and([
          ...rest,
          sql`base_status = ${STORAGE_ENDED}`,
          sql`(archive_until IS NULL OR archive_until > ${now})`
        ])}) AS n`
    }
    const row = (e: Entry) => ({
      list,
      id: e.id,
      owner_id: e.ownerId,
      name_lower: e.name.toLowerCase(),
      storage_id: e.storageId,
      save_type: e.saveType,
      created_at: e.createdAt,
      archive_until: e.archiveUntil,
      base_status: e.baseStatus
    })
    const upsertRows = (entries: ReadonlyArray<Entry>) =>
      entries.length === 0
        ? Effect.void
        : Effect.asVoid(sql`INSERT INTO uws_archive_index ${sql.insert(entries.map(row))}
            ON CONFLICT (list, id) DO UPDATE SET owner_id = excluded.owner_id, name_lower = excluded.name_lower,
              storage_id = excluded.storage_id, save_type = excluded.save_type, created_at = excluded.created_at,
              archive_until = excluded.archive_until, base_status = excluded.base_status`)
    return {
      upsert: (e) => upsertRows([e]).pipe(Effect.mapError(failure("index"))),
      // Multi-row upserts, 500 rows a statement, in one transaction.
      upsertAll: (entries) =>
        sql
          .withTransaction(
            Effect.forEach(
              Array.from({ length: Math.ceil(entries.length / 500) }, (_, i) => entries.slice(i * 500, i * 500 + 500)),
              upsertRows,
              { discard: true }
            )
          )
          .pipe(Effect.mapError(failure("index"))),
      remove: (id) =>
        sql`DELETE FROM uws_archive_index WHERE list = ${list} AND id = ${id}`.pipe(Effect.asVoid, Effect.mapError(failure("unindex"))),
      search: (query, context) =>
        Effect.all(
          [
            total(query, context.now, context.storages),
            sql<{ readonly id: string }>`SELECT id FROM uws_archive_index WHERE ${whereAt(query, context.now, context.storages)}
              ORDER BY created_at DESC, id DESC LIMIT ${query.pageSize} OFFSET ${(query.page - 1) * query.pageSize}`
          ],
          { concurrency: 2 }
        ).pipe(
          Effect.map(([count, rows]) => ({ ids: rows.map((r) => r.id), totalRecords: Number(count[0]?.n ?? 0) })),
          Effect.mapError(failure("search"))
        ),
      count: sql<{ readonly n: number | string | null }>`SELECT sum(n) AS n FROM uws_archive_counts WHERE list = ${list}`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        Effect.mapError(failure("count"))
      ),
      withStatus: (statuses) =>
        (statuses.length === 0
          ? Effect.succeed<ReadonlyArray<{ readonly id: string }>>([])
          : sql<{ readonly id: string }>`SELECT id FROM uws_archive_index WHERE list = ${list} AND ${sql.in("base_status", statuses)}`
        ).pipe(
          Effect.map((rows) => rows.map((r) => r.id)),
          Effect.mapError(failure("list"))
        ),
      ids: sql<{ readonly id: string }>`SELECT id FROM uws_archive_index WHERE list = ${list}`.pipe(
        Effect.map((rows) => rows.map((r) => r.id)),
        Effect.mapError(failure("list"))
      ),
      storageIds: sql<{ readonly s: number | string }>`SELECT storage_id AS s FROM uws_archive_counts WHERE list = ${list} AND n > 0`.pipe(
        Effect.map((rows) => rows.map((r) => Number(r.s))),
        Effect.mapError(failure("list"))
      )
    }
  })
