/**
 * The archive's catalogue of stored content, references and copies (`Replicas`) in tables beside
 * the jobs (`uws_archive_contents`, `uws_archive_refs`, `uws_archive_copies`, migration 8). It has
 * the shape of `@uws-kit/adapter-archive`'s `CopyCatalogue` (structurally; this package does not
 * depend on the archive).
 *
 * Every operation is one transaction; the content's row is locked first (PostgreSQL: `FOR
 * UPDATE`; SQLite's transactions run one at a time), so a reference count changes in one step with
 * its reference whatever runs beside it.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Errors } from "@uws-kit/core"
import { Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Copy {
  readonly sha256: string
  readonly storage: string
  readonly locator: string | null
  readonly state: "good" | "corrupt" | "missing"
  readonly checkedAt: number | null
  readonly detail: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Content {
  readonly sha256: string
  readonly size: number
  readonly refs: number
  readonly state: "live" | "deleting"
  readonly copies: ReadonlyArray<Copy>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Reference {
  readonly id: string
  readonly sha256: string
  readonly containerId: string
  readonly name: string
}

/**
 * The archive's `CopyCatalogue`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyCatalogue {
  readonly addReference: (reference: Reference) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  readonly createContent: (
    content: { readonly sha256: string; readonly size: number },
    reference: Reference,
    copies: ReadonlyArray<Copy>
  ) => Effect.Effect<{ readonly created: boolean; readonly content: Content }, Errors.StorageFailure>
  readonly removeReference: (id: string) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  readonly forget: (sha256: string) => Effect.Effect<boolean, Errors.StorageFailure>
  readonly reference: (id: string) => Effect.Effect<Reference | undefined, Errors.StorageFailure>
  readonly content: (sha256: string) => Effect.Effect<Content | undefined, Errors.StorageFailure>
  readonly putCopy: (copy: Copy) => Effect.Effect<void, Errors.StorageFailure>
  readonly list: (after: string | null, limit: number) => Effect.Effect<ReadonlyArray<Content>, Errors.StorageFailure>
}

interface ContentRow {
  readonly sha256: string
  readonly size: number | string
  readonly refs: number | string
  readonly state: string
}
interface CopyRow {
  readonly sha256: string
  readonly storage: string
  readonly locator: string | null
  readonly state: string
  readonly checked_at: number | string | null
  readonly detail: string | null
}

const failure = (operation: string) => (e: SqlError) => new Errors.StorageFailure({ operation, reason: e.message, cause: e })

const toCopy = (r: CopyRow): Copy => ({
  sha256: r.sha256,
  storage: r.storage,
  locator: r.locator,
  state: r.state as Copy["state"],
  checkedAt: r.checked_at === null ? null : Number(r.checked_at),
  detail: r.detail
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly list: string }): Effect.Effect<CopyCatalogue, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql) => {
    const list = options.list
    const forUpdate = sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })
    const lockContent = (sha256: string) =>
      sql<ContentRow>`SELECT sha256, size, refs, state FROM uws_archive_contents WHERE list = ${list} AND sha256 = ${sha256} ${forUpdate}`
    const copiesOf = (shas: ReadonlyArray<string>) =>
      shas.length === 0
        ? Effect.succeed<ReadonlyArray<CopyRow>>([])
        : sql<CopyRow>`SELECT sha256, storage, locator, state, checked_at, detail FROM uws_archive_copies
            WHERE list = ${list} AND ${sql.in("sha256", shas)} ORDER BY sha256, storage`
    const views = (rows: ReadonlyArray<ContentRow>) =>
      Effect.map(copiesOf(rows.map((r) => r.sha256)), (copies): ReadonlyArray<Content> =>
        rows.map((r) => ({
          sha256: r.sha256,
          size: Number(r.size),
          refs: Number(r.refs),
          state: r.state as Content["state"],
          copies: copies.filter((c) => c.sha256 === r.sha256).map(toCopy)
        }))
      )
    const view = (sha256: string) =>
      Effect.flatMap(sql<ContentRow>`SELECT sha256, size, refs, state FROM uws_archive_contents WHERE list = ${list} AND sha256 = ${sha256}`, (rows) =>
        Effect.map(views(rows), (v) => v[0])
      )
    /** Within a transaction holding the content's row: refer to it (once per reference id). */
    const join = (reference: Reference) =>
      Effect.gen(function* () {
        const added = yield* sql`INSERT INTO uws_archive_refs ${sql.insert({
          list,
          ref_id: reference.id,
          sha256: reference.sha256,
          container_id: reference.containerId,
          name: reference.name
        })} ON CONFLICT (list, ref_id) DO NOTHING RETURNING ref_id`
        if (added.length > 0) yield* sql`UPDATE uws_archive_contents SET refs = refs + 1 WHERE list = ${list} AND sha256 = ${reference.sha256}`
        return yield* view(reference.sha256)
      })
    const addReference: CopyCatalogue["addReference"] = (reference) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const [row] = yield* lockContent(reference.sha256)
            if (row === undefined || row.state !== "live") return undefined
            return yield* join(reference)
          })
        )
        .pipe(Effect.mapError(failure("reference")))
    const putCopies = (copies: ReadonlyArray<Copy>) =>
      copies.length === 0
        ? Effect.void
        : Effect.asVoid(sql`INSERT INTO uws_archive_copies ${sql.insert(
            copies.map((c) => ({
              list,
              sha256: c.sha256,
              storage: c.storage,
              locator: c.locator,
              state: c.state,
              checked_at: c.checkedAt,
              detail: c.detail
            }))
          )}`)
    return {
      addReference,
      createContent: (content, reference, copies) =>
        sql
          .withTransaction(
            Effect.gen(function* () {
              const [row] = yield* lockContent(content.sha256)
              if (row?.state === "live") return { created: false, content: (yield* join(reference))! }
              if (row !== undefined) {
                // Content being deleted: replaced (its deleter only forgets it while it is still deleting).
                yield* sql`DELETE FROM uws_archive_copies WHERE list = ${list} AND sha256 = ${content.sha256}`
                yield* sql`DELETE FROM uws_archive_refs WHERE list = ${list} AND sha256 = ${content.sha256}`
                yield* sql`UPDATE uws_archive_contents SET size = ${content.size}, refs = 0, state = 'live' WHERE list = ${list} AND sha256 = ${content.sha256}`
              } else {
                const inserted = yield* sql`INSERT INTO uws_archive_contents ${sql.insert({ list, sha256: content.sha256, size: content.size, refs: 0, state: "live" })}
                  ON CONFLICT (list, sha256) DO NOTHING RETURNING sha256`
                // Created by another writer since the lock was asked for: join it.
                if (inserted.length === 0) {
                  yield* lockContent(content.sha256)
                  return { created: false, content: (yield* join(reference))! }
                }
              }
              yield* putCopies(copies.map((c) => ({ ...c, sha256: content.sha256 })))
              return { created: true, content: (yield* join(reference))! }
            })
          )
          .pipe(Effect.mapError(failure("record content"))),
      removeReference: (id) =>
        sql
          .withTransaction(
            Effect.gen(function* () {
              const [ref] = yield* sql<{ readonly sha256: string }>`SELECT sha256 FROM uws_archive_refs WHERE list = ${list} AND ref_id = ${id}`
              if (ref === undefined) return undefined
              const [row] = yield* lockContent(ref.sha256)
              const deleted = yield* sql`DELETE FROM uws_archive_refs WHERE list = ${list} AND ref_id = ${id} RETURNING ref_id`
              if (row === undefined || deleted.length === 0) return undefined
              yield* sql`UPDATE uws_archive_contents SET refs = refs - 1,
                  state = CASE WHEN refs - 1 <= 0 THEN 'deleting' ELSE state END
                WHERE list = ${list} AND sha256 = ${ref.sha256}`
              yield* sql`UPDATE uws_archive_contents SET refs = 0 WHERE list = ${list} AND sha256 = ${ref.sha256} AND refs < 0`
              return yield* view(ref.sha256)
            })
          )
          .pipe(Effect.mapError(failure("unreference"))),
      forget: (sha256) =>
        sql
          .withTransaction(
            Effect.gen(function* () {
              const gone = yield* sql`DELETE FROM uws_archive_contents
                WHERE list = ${list} AND sha256 = ${sha256} AND state = 'deleting' AND refs <= 0 RETURNING sha256`
              if (gone.length === 0) return false
              yield* sql`DELETE FROM uws_archive_copies WHERE list = ${list} AND sha256 = ${sha256}`
              yield* sql`DELETE FROM uws_archive_refs WHERE list = ${list} AND sha256 = ${sha256}`
              return true
            })
          )
          .pipe(Effect.mapError(failure("forget content"))),
      reference: (id) =>
        sql<{ readonly sha256: string; readonly container_id: string; readonly name: string }>`SELECT sha256, container_id, name FROM uws_archive_refs
          WHERE list = ${list} AND ref_id = ${id}`.pipe(
          Effect.map(([r]) => (r === undefined ? undefined : { id, sha256: r.sha256, containerId: r.container_id, name: r.name })),
          Effect.mapError(failure("reference"))
        ),
      content: (sha256) => view(sha256).pipe(Effect.mapError(failure("content"))),
      putCopy: (c) =>
        Effect.asVoid(sql`INSERT INTO uws_archive_copies (list, sha256, storage, locator, state, checked_at, detail)
            SELECT ${list}, ${c.sha256}, ${c.storage}, ${c.locator}, ${c.state}, ${c.checkedAt}, ${c.detail}
            WHERE EXISTS (SELECT 1 FROM uws_archive_contents WHERE list = ${list} AND sha256 = ${c.sha256})
          ON CONFLICT (list, sha256, storage) DO UPDATE SET locator = excluded.locator, state = excluded.state,
            checked_at = excluded.checked_at, detail = excluded.detail`).pipe(Effect.mapError(failure("record copy"))),
      list: (after, limit) =>
        (after === null
          ? sql<ContentRow>`SELECT sha256, size, refs, state FROM uws_archive_contents WHERE list = ${list} ORDER BY sha256 LIMIT ${limit}`
          : sql<ContentRow>`SELECT sha256, size, refs, state FROM uws_archive_contents WHERE list = ${list} AND sha256 > ${after} ORDER BY sha256 LIMIT ${limit}`
        ).pipe(Effect.flatMap(views), Effect.mapError(failure("list contents")))
    }
  })
