/**
 * Test databases: an SQLite file in a temporary folder, or a PostgreSQL database with a random
 * name on the machine's server (created here, dropped afterwards), so parallel runs never meet.
 * A missing PostgreSQL server fails the suite with what to do; it never skips.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"

/** The server the PostgreSQL suites use (trust auth, user postgres). */
export const pgServer = process.env.UWS_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432"

const admin = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, f).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(`${pgServer}/postgres`), maxConnections: 1, connectTimeout: "5 seconds" })),
      Effect.scoped
    ) as Effect.Effect<A, unknown>
  )

/** A new, empty PostgreSQL database; `drop` removes it. */
export const makePgDatabase = async (): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const name = `uws_test_${randomBytes(6).toString("hex")}`
  try {
    await admin((sql) => sql`CREATE DATABASE ${sql(name)}`)
  } catch (e) {
    throw new Error(
      `PostgreSQL is needed for this suite and did not answer at ${pgServer} (${String(e)}). ` +
        "Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` " +
        "(Debian: `apt-get install -y postgresql`), or set UWS_TEST_PG_URL."
    )
  }
  return {
    url: `${pgServer}/${name}`,
    drop: () => admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).then(() => undefined)
  }
}

/** A temporary folder holding an SQLite file; `drop` removes it. */
export const makeSqliteFile = async (): Promise<{ readonly url: string; readonly dir: string; readonly drop: () => Promise<void> }> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "uws-sqlite-"))
  return { url: path.join(dir, "uws.sqlite"), dir, drop: () => fs.rm(dir, { recursive: true, force: true }) }
}

let lists = 0
/** A fresh job-list name: every store made by a suite starts empty in the same database. */
export const freshList = () => `l${++lists}_${randomBytes(3).toString("hex")}`
