/**
 * A core `JobStore` over any `SqlClient` (SQLite or PostgreSQL): plain queries on one table,
 * compare-and-set on its `version` column, listings and deadlines answered from indexes. On
 * SQLite, the jobs read or written last are kept decoded (bounded, 512 per list): a read of one of
 * them runs no statement, and `peek` answers it at once (see `internal/readCache.ts`).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Errors, JobStore, Phase } from "@uws-kit/core"
import { quotaKeyOf, type Job } from "@uws-kit/core/Job"
import { Effect } from "effect"
import { makeJobAnnouncer } from "./internal/announce.js"
import { makeBatcher } from "./internal/batch.js"
import { groupCommitOf } from "./internal/groupCommit.js"
import { withReadCache } from "./internal/readCache.js"
import { directOf, readPlain } from "./internal/sqliteClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The job list's name: several services share one database, each with its own list. */
  readonly list: string
}

interface Row {
  readonly body: string
}

const failure = (operation: string) => (e: SqlError) =>
  new Errors.StorageFailure({ operation, reason: e.message, cause: e })

const decodeJob = (row: Row): Job => JSON.parse(row.body) as Job

const instant = (t: number) => Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, t))

/**
 * A job store on the `SqlClient` in context. Run `Schema.migrate` first (the `layer*`
 * constructors of `SqlDatabase` do).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<JobStore.JobStoreService, never, SqlClient.SqlClient> =>
  Effect.map(Effect.zip(SqlClient.SqlClient, Effect.runtime<never>()), ([sql, runtime]) => {
    const list = options.list
    const jobChanged = makeJobAnnouncer(sql, list, runtime)
    const commit = groupCommitOf(sql, runtime)
    const columns = (job: Job, deadlines: JobStore.Deadlines) => ({
      list,
      job_id: job.jobId,
      owner_id: job.ownerId,
      quota_key: quotaKeyOf(job),
      phase: job.phase,
      creation_time: job.creationTime,
      version: job.version,
      destruction_at: deadlines.destruction,
      execution_at: deadlines.execution,
      body: JSON.stringify(job)
    })

    // SQLite on this package's client: the same statements as plain calls in the group commit
    // (internal/groupCommit.ts), "applied" read from the changed-row count instead of RETURNING.
    const plain = commit.plain
    const direct = directOf(sql)
    const plainInsert =
      plain &&
      (({ job, deadlines }: Creation) =>
        plain(
          ({ prepare }) =>
            prepare(
              `INSERT INTO uws_jobs (list, job_id, owner_id, quota_key, phase, creation_time, version, destruction_at, execution_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (list, job_id) DO NOTHING`
            ).run(list, job.jobId, job.ownerId, quotaKeyOf(job), job.phase, job.creationTime, job.version, deadlines.destruction, deadlines.execution, JSON.stringify(job))
              .changes === 1
        ))
    const plainUpdate =
      plain &&
      (({ job, expectedVersion, deadlines }: Change) =>
        plain(
          ({ prepare }) =>
            prepare(
              `UPDATE uws_jobs SET phase = ?, version = ?, destruction_at = ?, execution_at = ?, body = ? WHERE list = ? AND job_id = ? AND version = ?`
            ).run(job.phase, job.version, deadlines.destruction, deadlines.execution, JSON.stringify(job), list, job.jobId, expectedVersion).changes === 1
        ))
    const plainRemove =
      plain &&
      ((jobId: string, expectedVersion: number) =>
        plain(({ prepare }) => prepare(`DELETE FROM uws_jobs WHERE list = ? AND job_id = ? AND version = ?`).run(list, jobId, expectedVersion).changes === 1))
    const removeOne = (jobId: string, expectedVersion: number) =>
      plainRemove !== undefined
        ? plainRemove(jobId, expectedVersion)
        : commit(sql`DELETE FROM uws_jobs WHERE list = ${list} AND job_id = ${jobId} AND version = ${expectedVersion} RETURNING job_id`).pipe(
            Effect.map((rows) => rows.length === 1)
          )

    interface Change {
      readonly job: Job
      readonly expectedVersion: number
      readonly deadlines: JobStore.Deadlines
    }
    /** One compare-and-set; whether it applied. */
    const updateOne = ({ job, expectedVersion, deadlines }: Change) =>
      // Owner, quota key and creation time are fixed when a job is created (the service never
      // changes them): leaving their columns out spares their indexes a rewrite on every change.
      commit(sql`UPDATE uws_jobs SET phase = ${job.phase}, version = ${job.version}, destruction_at = ${deadlines.destruction},
              execution_at = ${deadlines.execution}, body = ${JSON.stringify(job)}
            WHERE list = ${list} AND job_id = ${job.jobId} AND version = ${expectedVersion} RETURNING job_id`).pipe(
        Effect.map((rows) => rows.length === 1)
      )
    /**
     * PostgreSQL: concurrent compare-and-sets in one statement (see internal/batch.ts), each row
     * still conditional on its own version. Two changes of one job in a batch expect the same
     * version: one applies, the other has lost, as it would have one after the other.
     */
    const updateMany = (changes: ReadonlyArray<Change>) => {
      const rows = changes.map(
        ({ job, expectedVersion, deadlines }, i) =>
          sql`(${i}::int, ${job.jobId}::text, ${expectedVersion}::int, ${job.phase}::text, ${job.version}::int,
            ${deadlines.destruction}::bigint, ${deadlines.execution}::bigint, ${JSON.stringify(job)}::text)`
      )
      return sql<{ readonly i: number }>`UPDATE uws_jobs AS j SET phase = v.phase, version = v.version,
            destruction_at = v.destruction_at, execution_at = v.execution_at, body = v.body
          FROM (VALUES ${sql.csv(rows)}) AS v (i, job_id, expected, phase, version, destruction_at, execution_at, body)
          WHERE j.list = ${list} AND j.job_id = v.job_id AND j.version = v.expected RETURNING v.i`.pipe(
        Effect.map((applied) => {
          const done = new Set(applied.map((r) => Number(r.i)))
          return changes.map((_, i) => done.has(i))
        })
      )
    }
    const update = sql.onDialectOrElse({ pg: () => makeBatcher(runtime, updateMany, updateOne), orElse: () => plainUpdate ?? updateOne })

    interface Creation {
      readonly job: Job
      readonly deadlines: JobStore.Deadlines
    }
    /** One insert; whether it applied (the id was free). */
    const insertOne = ({ job, deadlines }: Creation) =>
      commit(sql`INSERT INTO uws_jobs ${sql.insert(columns(job, deadlines))} ON CONFLICT (list, job_id) DO NOTHING RETURNING job_id`).pipe(
        Effect.map((rows) => rows.length === 1)
      )
    /** PostgreSQL: concurrent inserts in one statement (a batch naming one id twice goes row by row). */
    const insertMany = (creations: ReadonlyArray<Creation>) => {
      const ids = creations.map((c) => c.job.jobId)
      if (new Set(ids).size < ids.length) return Effect.forEach(creations, insertOne)
      return sql<{ readonly job_id: string }>`INSERT INTO uws_jobs ${sql.insert(creations.map((c) => columns(c.job, c.deadlines)))}
          ON CONFLICT (list, job_id) DO NOTHING RETURNING job_id`.pipe(
        Effect.map((inserted) => {
          const done = new Set(inserted.map((r) => r.job_id))
          return ids.map((id) => done.has(id))
        })
      )
    }
    const insert = sql.onDialectOrElse({ pg: () => makeBatcher(runtime, insertMany, insertOne), orElse: () => plainInsert ?? insertOne })

    const versionOf = (jobId: string) =>
      Effect.map(
        sql<{ readonly version: number }>`SELECT version FROM uws_jobs WHERE list = ${list} AND job_id = ${jobId}`,
        (rows) => rows[0]?.version
      )

    /** Why a compare-and-set touched no row: the job is gone, or someone else moved it. */
    const lost = (jobId: string, expectedVersion: number) =>
      Effect.flatMap(
        Effect.mapError(versionOf(jobId), failure("compare-and-set")),
        (found): Effect.Effect<never, Errors.Conflict | Errors.JobNotFound> =>
          found === undefined
            ? Effect.fail(new Errors.JobNotFound({ jobId }))
            : Effect.fail(new Errors.Conflict({ jobId, reason: `expected version ${expectedVersion}, found ${found}.` }))
      )

    const phaseFilter = (phases: ReadonlyArray<Phase.Phase> | undefined) => {
      if (phases === undefined) return undefined
      const distinct = [...new Set(phases)]
      return distinct.length === Phase.all.length ? undefined : distinct
    }

    const ownerClause = (ownerId: string | null) => (ownerId === null ? sql`owner_id IS NULL` : sql`owner_id = ${ownerId}`)

    const listJobs = (query: JobStore.ListQuery): Effect.Effect<JobStore.JobPage, SqlError> => {
      const phases = phaseFilter(query.phases)
      if (phases !== undefined && phases.length === 0) return Effect.succeed({ jobs: [], next: null })
      const position = query.cursor === undefined ? undefined : JobStore.Cursor.decode(query.cursor)
      const returned = position?.returned ?? 0
      const remaining = query.last === undefined ? Infinity : Math.max(0, query.last - returned)
      const pageSize = Math.min(query.limit ?? Infinity, remaining)
      if (pageSize === 0) return Effect.succeed({ jobs: [], next: null })
      const clauses: Array<Fragment> = [sql`list = ${list}`]
      if (phases !== undefined) clauses.push(sql.in("phase", phases))
      if (query.ownerId !== undefined) clauses.push(ownerClause(query.ownerId))
      // Creation times are whole milliseconds: "after t" is "after floor(t)". Instants are
      // clamped to safe integers so that a crafted cursor or AFTER never overflows BIGINT.
      if (query.after !== undefined) clauses.push(sql`creation_time > ${instant(Math.floor(query.after))}`)
      if (position !== undefined) {
        const t = instant(position.t)
        clauses.push(
          Number.isInteger(position.t)
            ? sql`(creation_time < ${t} OR (creation_time = ${t} AND job_id < ${position.id}))`
            : sql`creation_time < ${instant(Math.ceil(position.t))}`
        )
      }
      const limit = pageSize === Infinity ? sql`` : sql`LIMIT ${pageSize + 1}`
      return Effect.map(
        sql<Row>`SELECT body FROM uws_jobs WHERE ${sql.and(clauses)} ORDER BY creation_time DESC, job_id DESC ${limit}`,
        (rows) => {
          const jobs = rows.map(decodeJob)
          if (jobs.length <= pageSize) return { jobs, next: null }
          jobs.length = pageSize
          const last = jobs[jobs.length - 1]!
          const next =
            query.limit !== undefined
              ? JobStore.Cursor.encode({ t: last.creationTime, id: last.jobId, returned: returned + jobs.length })
              : null
          return { jobs, next }
        }
      )
    }

    const deadlineColumn = (kind: JobStore.DeadlineKind) => sql(kind === "destruction" ? "destruction_at" : "execution_at")

    const service: JobStore.JobStoreService = {
      get: (jobId) =>
        (direct !== undefined
          ? readPlain(direct, (d) => d.prepare(`SELECT body FROM uws_jobs WHERE list = ? AND job_id = ?`).all(list, jobId) as ReadonlyArray<Row>)
          : sql<Row>`SELECT body FROM uws_jobs WHERE list = ${list} AND job_id = ${jobId}`
        ).pipe(
          Effect.map((rows) => (rows[0] === undefined ? undefined : decodeJob(rows[0]))),
          Effect.mapError(failure("get"))
        ),
      insert: (job, deadlines) =>
        insert({ job, deadlines }).pipe(
          Effect.mapError(failure("insert")),
          Effect.flatMap((inserted) =>
            inserted
              ? jobChanged(job.jobId, { phase: job.phase, ...deadlines })
              : Effect.fail(new Errors.Conflict({ jobId: job.jobId, reason: "a job with this id exists." }))
          )
        ),
      update: (job, expectedVersion, deadlines) =>
        update({ job, expectedVersion, deadlines }).pipe(
          Effect.mapError(failure("update")),
          Effect.flatMap((applied) =>
            applied ? jobChanged(job.jobId, { phase: job.phase, ...deadlines }) : lost(job.jobId, expectedVersion)
          )
        ),
      remove: (jobId, expectedVersion) =>
        removeOne(jobId, expectedVersion).pipe(
          Effect.mapError(failure("remove")),
          Effect.flatMap((removed) => (removed ? jobChanged(jobId, undefined) : lost(jobId, expectedVersion)))
        ),
      list: (query) => Effect.mapError(listJobs(query), failure("list")),
      count: (query) => {
        const phases = [...new Set(query.phases)]
        if (phases.length === 0) return Effect.succeed(0)
        const clauses: Array<Fragment> = [sql`list = ${list}`, sql.in("phase", phases)]
        if (query.ownerId !== undefined) clauses.push(ownerClause(query.ownerId))
        if (query.quotaKey !== undefined) {
          clauses.push(query.quotaKey === null ? sql`quota_key IS NULL` : sql`quota_key = ${query.quotaKey}`)
        }
        return sql<{ readonly n: number | string }>`SELECT count(*) AS n FROM uws_jobs WHERE ${sql.and(clauses)}`.pipe(
          Effect.map((rows) => Number(rows[0]?.n ?? 0)),
          Effect.mapError(failure("count"))
        )
      },
      nextDeadline: (kind) => {
        const column = deadlineColumn(kind)
        return sql<{ readonly at: number | string | null }>`SELECT min(${column}) AS at FROM uws_jobs WHERE list = ${list} AND ${column} IS NOT NULL`.pipe(
          Effect.map((rows) => (rows[0]?.at === null || rows[0]?.at === undefined ? null : Number(rows[0].at))),
          Effect.mapError(failure("nextDeadline"))
        )
      },
      due: (kind, until, limit) => {
        const column = deadlineColumn(kind)
        return sql<{ readonly job_id: string }>`SELECT job_id FROM uws_jobs WHERE list = ${list} AND ${column} IS NOT NULL AND ${column} <= ${instant(Math.floor(until))}
            ORDER BY ${column} LIMIT ${limit}`.pipe(
          Effect.map((rows) => rows.map((r) => r.job_id)),
          Effect.mapError(failure("due"))
        )
      }
    }
    // SQLite: this process is the file's one writer, so what it last read or wrote is current.
    return sql.onDialectOrElse({ pg: () => service, orElse: () => withReadCache(service, sql, list) })
  })
