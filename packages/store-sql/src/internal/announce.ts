/**
 * PostgreSQL announcements on the channel "uws_kit", sent by the writer right after its write
 * commits (not by a trigger inside the write: a NOTIFY in a transaction holds a database-wide lock
 * through its commit's flush, which serialises every writer behind one fsync at a time).
 *
 * "J list job phase destruction execution origin": a job changed (phase empty: deleted);
 * "L list origin": a lease was released. Fields are tab-separated; origin is the writer's
 * application_name, its instance id.
 */
import type { SqlClient } from "@effect/sql"
import { Deferred, Effect, Exit, FiberId, Runtime } from "effect"

export const CHANNEL = "uws_kit"

const announce = (sql: SqlClient.SqlClient, fields: ReadonlyArray<string>) =>
  sql.onDialectOrElse({
    pg: () =>
      sql`SELECT pg_notify(${CHANNEL}, ${fields.join("\t") + "\t"} || coalesce(current_setting('application_name', true), ''))`.pipe(
        Effect.asVoid,
        // The write is committed: a lost announcement only delays other instances (they also look
        // on their own), it must not turn a done write into a failure.
        Effect.catchAll((e) => Effect.logWarning(`a change was not announced to other instances: ${e.message}`))
      ),
    orElse: () => Effect.void
  })

const BATCH = 256

const instant = (t: number | null) => (t === null ? "" : String(t))

export interface JobChange {
  readonly phase: string
  readonly destruction: number | null
  readonly execution: number | null
}

/**
 * Announces a store's job changes, in order. A lone change is announced at once; changes made
 * while a statement is on its way go together in the next one (under load, one round trip for
 * many writers, up to `BATCH`). Each caller returns once its own announcement is sent. The
 * statements run on the runtime the store was made in, outside any transaction of the caller.
 */
export const makeJobAnnouncer = (sql: SqlClient.SqlClient, list: string, runtime: Runtime.Runtime<never>) => {
  if (sql.onDialectOrElse({ pg: () => false, orElse: () => true })) {
    return (_jobId: string, _change: JobChange | undefined): Effect.Effect<void> => Effect.void
  }
  let pending: Array<readonly [string, Deferred.Deferred<void>]> = []
  let sending = false
  const send: Effect.Effect<void> = Effect.suspend(() => {
    const batch = pending.slice(0, BATCH)
    pending = pending.slice(batch.length)
    if (batch.length === 0) {
      sending = false
      return Effect.void
    }
    const notifies = batch.map((_, i) => `pg_notify('${CHANNEL}', $${i + 1} || s.origin)`).join(", ")
    return sql
      .unsafe(
        `SELECT ${notifies} FROM (SELECT coalesce(current_setting('application_name', true), '') AS origin) AS s`,
        batch.map(([payload]) => payload)
      )
      .pipe(
        Effect.asVoid,
        Effect.catchAll((e) => Effect.logWarning(`changes were not announced to other instances: ${e.message}`)),
        Effect.ensuring(Effect.sync(() => batch.forEach(([, done]) => Deferred.unsafeDone(done, Exit.void)))),
        Effect.zipRight(send)
      )
  })
  return (jobId: string, change: JobChange | undefined): Effect.Effect<void> =>
    Effect.suspend(() => {
      const done = Deferred.unsafeMake<void>(FiberId.none)
      const fields = ["J", list, jobId, change?.phase ?? "", instant(change?.destruction ?? null), instant(change?.execution ?? null)]
      pending.push([fields.join("\t") + "\t", done])
      if (!sending) {
        sending = true
        Runtime.runFork(runtime)(send)
      }
      return Deferred.await(done)
    })
}

export const leaseReleased = (sql: SqlClient.SqlClient, list: string) => announce(sql, ["L", list])
