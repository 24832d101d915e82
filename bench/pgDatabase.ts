/**
 * A PostgreSQL database of a benchmark's own on the server at 127.0.0.1:5432 (or
 * UWS_BENCH_PG_URL): created with a random name, dropped by `drop`, so runs never meet. The
 * server's `postgres` database is only connected to (never migrated) to create and drop it.
 */
import { randomBytes } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"

export const pgServer = process.env["UWS_BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432"

const admin = (f: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, f).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(`${pgServer}/postgres`), maxConnections: 1, connectTimeout: "5 seconds" })),
      Effect.scoped
    ) as Effect.Effect<unknown, unknown>
  )

export const makePgDatabase = async (): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const name = `uws_bench_${randomBytes(4).toString("hex")}`
  await admin((sql) => sql`CREATE DATABASE ${sql(name)}`).catch((e: unknown) => {
    throw new Error(`PostgreSQL did not answer at ${pgServer} (${String(e)}); start it or set UWS_BENCH_PG_URL`)
  })
  return {
    url: `${pgServer}/${name}`,
    drop: () => admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).then(() => undefined)
  }
}
