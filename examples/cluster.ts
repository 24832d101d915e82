/**
 * `npm run start:cluster`: three instances of the demo (examples/server.ts) on three ports, sharing
 * one PostgreSQL database, as a host behind a load balancer would run them. Each instance keeps
 * its archive documents under its own data folder; the jobs, their queue and their leases are in
 * the database.
 *
 *     DATABASE_URL=postgres://postgres@127.0.0.1:5432/uws_kit_cluster PORT=8080 INSTANCES=3 npm run start:cluster
 *
 * The database is created if missing. Ctrl-C stops every instance.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"

const env = (name: string, fallback: string) => (process.env[name] === undefined || process.env[name] === "" ? fallback : process.env[name]!)
const databaseUrl = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/uws_kit_cluster")
const basePort = Number(env("PORT", "8080"))
const instances = Number(env("INSTANCES", "3"))
const dataDir = env("UWS_DATA_DIR", "./data")
const server = fileURLToPath(new URL("./server.ts", import.meta.url))

/** Creates the database named by the URL when it does not exist yet. */
const ensureDatabase = async (url: string) => {
  const parsed = new URL(url)
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ""))
  if (name === "") throw new Error(`DATABASE_URL names no database: ${url}`)
  parsed.pathname = "/postgres"
  await Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.flatMap(sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`, (rows) =>
        (rows[0]?.n ?? 0) > 0 ? Effect.void : Effect.asVoid(sql`CREATE DATABASE ${sql(name)}`)
      )
    ).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(parsed.toString()), maxConnections: 1 })), Effect.scoped)
  )
}

const main = async () => {
  if (!Number.isSafeInteger(basePort) || basePort < 1 || basePort + instances > 65536 || !(instances >= 1)) {
    console.error("PORT must be a port number and INSTANCES a count, e.g. PORT=8080 INSTANCES=3.")
    process.exit(2)
  }
  try {
    await ensureDatabase(databaseUrl)
  } catch (e) {
    console.error(`PostgreSQL did not answer at ${databaseUrl}: ${e instanceof Error ? e.message : String(e)}`)
    console.error("Start it (Debian: `apt-get install -y postgresql`, then `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), or set DATABASE_URL.")
    process.exit(1)
  }
  const children: Array<ChildProcess> = []
  let stopping = false
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true
    for (const c of children) if (c.exitCode === null) c.kill(signal)
  }
  for (let i = 0; i < instances; i++) {
    const name = `instance-${i + 1}`
    // The instances run as this launcher does: the built packages under `npm run start:cluster`,
    // their sources when it is started with --conditions=@uws-kit/source.
    const child = spawn(process.execPath, [...process.execArgv, server], {
      env: { ...process.env, PORT: String(basePort + i), DATABASE_URL: databaseUrl, UWS_INSTANCE: name, UWS_DATA_DIR: path.join(dataDir, name) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    const prefix = (chunk: string) => chunk.replace(/^(?=.)/gm, `[${name}] `)
    child.stdout!.setEncoding("utf8").on("data", (d: string) => process.stdout.write(prefix(d)))
    child.stderr!.setEncoding("utf8").on("data", (d: string) => process.stderr.write(prefix(d)))
    child.on("exit", (code, signal) => {
      console.log(`[${name}] exited (${signal ?? code})`)
      // One instance gone is what the others recover from; the launcher stops when asked to.
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(stopping ? 0 : 1)
    })
  }
  process.on("SIGINT", () => stopAll("SIGINT"))
  process.on("SIGTERM", () => stopAll("SIGTERM"))
}

void main()
