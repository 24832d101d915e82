/**
 * A core `ResultStore` over any `SqlClient`, keeping contents in the database itself (a BLOB /
 * BYTEA column). That suits small results (VOTables of a few MB, error documents, uploads):
 * one backup holds jobs and results together, and several instances on one PostgreSQL see the
 * same contents. Large documents belong in a document storage (the archive's filesystem
 * storage, through its `PluginResultStore`) whose locators `SqlLocatorIndex` keeps durable.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Content, Errors } from "@uws-kit/core"
import type { ResultStore } from "@uws-kit/core"
import { Chunk, Effect, Stream } from "effect"
import { groupCommitOf } from "./internal/groupCommit.js"
import { directOf, readPlain } from "./internal/sqliteClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The job list's name, as given to its `SqlJobStore`. */
  readonly list: string
  /** The largest content accepted, in bytes (default 64 MiB); a larger one fails the put. */
  readonly maxSize?: number
}

const failure = (operation: string) => (e: SqlError) => new Errors.StorageFailure({ operation, reason: e.message, cause: e })

const CHUNK = 65_536

/**
 * Rows whose name starts with `prefix`, matched literally (no LIKE wildcards); every row without one.
 *
 * @since 0.1.0
 * @category queries
 */
export const prefixClause = (sql: SqlClient.SqlClient, prefix: string | undefined) =>
  prefix === undefined ? sql`1 = 1` : sql`substr(name, 1, ${prefix.length}) = ${prefix}`

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<ResultStore.ResultStoreService, never, SqlClient.SqlClient> =>
  Effect.map(Effect.zip(SqlClient.SqlClient, Effect.runtime<never>()), ([sql, runtime]) => {
    const list = options.list
    // Contents are written with the job writes' group commit, and need not wait for their own
    // flush: nobody sees a result's content before the job listing it is stored (a durable write
    // after it, whose flush covers it), and a deleted job's contents are a clean-up.
    const commit = groupCommitOf(sql, runtime)
    // SQLite on this package's client: plain calls (internal/sqliteClient.ts).
    const plain = commit.plain
    const direct = directOf(sql)
    const unflushed = { durable: false } as const
    const maxSize = options.maxSize ?? 64 * 1024 * 1024
    const tooLarge = () => new Error(`the content is larger than ${maxSize} bytes`)
    const unreadable = (cause: unknown) => new Errors.StorageFailure({ operation: "put", reason: `reading the content failed: ${String(cause)}`, cause })
    return {
      put: (jobId, key, content, mimeType) =>
        Effect.gen(function* () {
          const held = Content.inMemory(content)
          if (held !== undefined && held.length > maxSize) return yield* Effect.fail(unreadable(tooLarge()))
          let size = 0
          const bytes =
            held ??
            Content.concat(
              Chunk.toReadonlyArray(
                yield* Stream.runCollect(
                  Content.toStream(content).pipe(Stream.tap((chunk) => ((size += chunk.length) > maxSize ? Effect.fail(tooLarge()) : Effect.void)))
                ).pipe(Effect.mapError(unreadable))
              )
            )
          const blob = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          yield* (
            plain !== undefined
              ? plain(({ prepare }) => {
                  prepare(`INSERT INTO uws_results (list, job_id, name, mime_type, size, content) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (list, job_id, name) DO UPDATE SET mime_type = excluded.mime_type, size = excluded.size, content = excluded.content`).run(
                    list,
                    jobId,
                    key,
                    mimeType ?? null,
                    bytes.length,
                    blob
                  )
                }, unflushed)
              : commit(
                  sql`INSERT INTO uws_results ${sql.insert({ list, job_id: jobId, name: key, mime_type: mimeType ?? null, size: bytes.length, content: blob })}
                    ON CONFLICT (list, job_id, name) DO UPDATE SET mime_type = excluded.mime_type, size = excluded.size, content = excluded.content`,
                  unflushed
                )
          ).pipe(Effect.mapError(failure("put")))
          return { size: bytes.length }
        }),
      get: (jobId, key) =>
        (direct !== undefined
          ? readPlain(direct, (d) =>
              d
                .prepare(`SELECT mime_type, content FROM uws_results WHERE list = ? AND job_id = ? AND name = ?`)
                .all(list, jobId, key) as ReadonlyArray<{ readonly mime_type: string | null; readonly content: Uint8Array }>
            )
          : sql<{ readonly mime_type: string | null; readonly content: Uint8Array }>`SELECT mime_type, content FROM uws_results
            WHERE list = ${list} AND job_id = ${jobId} AND name = ${key}`
        ).pipe(
          Effect.mapError(failure("get")),
          Effect.map((rows) => {
            const row = rows[0]
            if (row === undefined) return undefined
            const bytes = row.content
            const parts: Array<Uint8Array> = []
            for (let i = 0; i < bytes.length; i += CHUNK) parts.push(bytes.subarray(i, i + CHUNK))
            return { size: bytes.length, mimeType: row.mime_type ?? undefined, stream: Stream.fromIterable(parts), bytes }
          })
        ),
      deleteAll: (jobId, prefix) =>
        (plain !== undefined
          ? plain(({ prepare }) => {
              if (prefix === undefined) prepare(`DELETE FROM uws_results WHERE list = ? AND job_id = ?`).run(list, jobId)
              else prepare(`DELETE FROM uws_results WHERE list = ? AND job_id = ? AND substr(name, 1, ?) = ?`).run(list, jobId, prefix.length, prefix)
            }, unflushed)
          : commit(sql`DELETE FROM uws_results WHERE list = ${list} AND job_id = ${jobId} AND ${prefixClause(sql, prefix)}`, unflushed)
        ).pipe(
          Effect.asVoid,
          Effect.mapError(failure("deleteAll"))
        )
    }
  })
