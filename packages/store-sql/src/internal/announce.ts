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
import { Effect } from "effect"

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

const instant = (t: number | null) => (t === null ? "" : String(t))

export const jobChanged = (
  sql: SqlClient.SqlClient,
  list: string,
  jobId: string,
  change: { readonly phase: string; readonly destruction: number | null; readonly execution: number | null } | undefined
) =>
  announce(sql, ["J", list, jobId, change?.phase ?? "", instant(change?.destruction ?? null), instant(change?.execution ?? null)])

export const leaseReleased = (sql: SqlClient.SqlClient, list: string) => announce(sql, ["L", list])
