/**
 * A durable (job, key) → locator index for the archive's `PluginResultStore`: the contents stay
 * in a document storage (e.g. the filesystem), their locators in the database beside the jobs.
 * It implements core's `ResultStore.LocatorIndex`, the contract the archive's store takes.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Errors, type ResultStore } from "@uws-kit/core"
import { Effect } from "effect"
import { prefixClause } from "./SqlResultStore.js"

/**
 * Where a stored content is (core's `ResultStore.LocatorEntry`).
 *
 * @since 0.1.0
 * @category models
 */
export type IndexEntry = ResultStore.LocatorEntry

/**
 * The (job, key) → locator index (core's `ResultStore.LocatorIndex`).
 *
 * @since 0.1.0
 * @category models
 */
export type LocatorIndex = ResultStore.LocatorIndex



const failure = (operation: string) => (e: SqlError) => new Errors.StorageFailure({ operation, reason: e.message, cause: e })

interface Row {
  readonly name: string
  readonly locator: string
  readonly mime_type: string | null
  readonly size: number | string
}

const entry = (row: Row): IndexEntry => ({ locator: row.locator, size: Number(row.size), mimeType: row.mime_type ?? undefined })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly list: string }): Effect.Effect<LocatorIndex, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql) => {
    const list = options.list
    return {
      get: (jobId, key) =>
        sql<Row>`SELECT name, locator, mime_type, size FROM uws_locators WHERE list = ${list} AND job_id = ${jobId} AND name = ${key}`.pipe(
          Effect.map((rows) => (rows[0] === undefined ? undefined : entry(rows[0]))),
          Effect.mapError(failure("get"))
        ),
      set: (jobId, key, e) =>
        sql`INSERT INTO uws_locators ${sql.insert({ list, job_id: jobId, name: key, locator: e.locator, mime_type: e.mimeType ?? null, size: e.size })}
            ON CONFLICT (list, job_id, name) DO UPDATE SET locator = excluded.locator, mime_type = excluded.mime_type, size = excluded.size`.pipe(
          Effect.asVoid,
          Effect.mapError(failure("set"))
        ),
      remove: (jobId, key) =>
        sql`DELETE FROM uws_locators WHERE list = ${list} AND job_id = ${jobId} AND name = ${key}`.pipe(
          Effect.asVoid,
          Effect.mapError(failure("remove"))
        ),
      list: (jobId, prefix) =>
        sql<Row>`SELECT name, locator, mime_type, size FROM uws_locators WHERE list = ${list} AND job_id = ${jobId} AND ${prefixClause(sql, prefix)}
            ORDER BY name`.pipe(
          Effect.map((rows) => rows.map((r) => [r.name, entry(r)] as const)),
          Effect.mapError(failure("list"))
        )
    }
  })
