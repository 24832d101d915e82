/**
 * WAL checkpoints off the event loop. SQLite copies the write-ahead log back into the database
 * file (a checkpoint) on the connection that commits once the log holds 1,000 pages, and waits
 * there for two flushes (the log's, then the file's): one request in a few hundred stalls, and
 * on a small VM that is a third of what a small transaction costs on average (102 µs with those
 * checkpoints, 67 µs with none; 10,000 jobs' five transactions each, /tmp benchmark).
 *
 * Here a connection of its own on a worker thread runs PASSIVE checkpoints (they never block
 * readers or writers) every `WRITES` writes and once the database has been quiet for
 * `QUIET_MS`. The log starts over from its beginning only when a write begins with all of it
 * copied, which a checkpoint racing the writes rarely leaves; so the main connection keeps its
 * own automatic checkpoint at `BACKSTOP` pages: by then nearly everything is copied, its
 * checkpoint copies the rest and flushes little, and the log starts over. The log thus grows to
 * about 16 MiB instead of 4. If the worker fails, the connection goes back to SQLite's default.
 * Durability is unchanged: commits flush (or not) as the connection's `synchronous` says, and a
 * checkpoint flushes the log before and the file after, on whichever connection runs it.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import type Sqlite from "better-sqlite3"

/**
 * Writes after which a checkpoint is asked for (when none is running): a job's change dirties
 * six or seven pages (its row and indexes), so about SQLite's own 1,000 pages. Asked for more
 * often, the checkpoints cost more in all (each flushes twice), on the core the clients need.
 */
const WRITES = 150
/** A checkpoint this long (ms) after the last commit, so a quiet database's file is up to date. */
export const QUIET_MS = 200
/** The main connection's own automatic checkpoint, pages (SQLite's default is 1,000). */
export const BACKSTOP = 4_000
const SQLITE_DEFAULT = 1_000

export interface Checkpointer {
  /** A transaction of `writes` writes was committed on the main connection. */
  readonly committed: (writes: number) => void
  /** Stops the worker, after the checkpoint it is running, if any. */
  readonly close: () => Promise<void>
}

// CommonJS, evaluated by the worker: no TypeScript loader is needed there.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const Database = require(workerData.driver)
const db = new Database(workerData.filename, { fileMustExist: true })
db.pragma("busy_timeout = 5000")
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close()
    parentPort.close()
    return
  }
  try {
    db.pragma("wal_checkpoint(PASSIVE)")
    parentPort.postMessage("done")
  } catch (e) {
    parentPort.postMessage({ failed: String(e && e.message || e) })
  }
})
`

const driver = createRequire(import.meta.url).resolve("better-sqlite3")

/**
 * A checkpointer for `db`, or `undefined` where there is nothing to do: an in-memory or
 * read-only database, or one not in WAL mode. `onFailure` hears why the worker stopped (the
 * main connection then checkpoints by itself again).
 */
export const startCheckpointer = (db: Sqlite.Database, onFailure: (reason: string) => void, options: { readonly driver?: string } = {}): Checkpointer | undefined => {
  if (db.memory || db.readonly || db.name === "" || String(db.pragma("journal_mode", { simple: true })).toLowerCase() !== "wal") return undefined
  // Its synchronous level stays SQLite's default: a checkpoint flushes alike under FULL and NORMAL.
  const worker = new Worker(workerSource, { eval: true, workerData: { driver: options.driver ?? driver, filename: db.name } })
  // The process may end without closing the database (SQLite recovers from the log).
  worker.unref()
  db.pragma(`wal_autocheckpoint = ${BACKSTOP}`)

  let failed = false
  let closing = false
  let running = false
  /** A checkpoint was asked for while one ran: another follows it. */
  let again = false
  let writes = 0
  let quiet: NodeJS.Timeout | undefined
  /** When the last commit was told (performance.now()). */
  let lastCommit = 0

  const fail = (reason: string) => {
    if (failed || closing) return
    failed = true
    if (quiet !== undefined) clearTimeout(quiet)
    try {
      if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT}`)
    } catch {
      // A connection busy in a transaction takes the setting at its next call: not needed here.
    }
    void worker.terminate()
    onFailure(reason)
  }
  worker.on("message", (message: unknown) => {
    running = false
    if (typeof message === "object" && message !== null && "failed" in message) fail(`a checkpoint failed: ${String(message.failed)}`)
    else if (again) request()
  })
  worker.on("error", (error) => fail(error.message))
  worker.on("exit", (code) => {
    if (!closing) fail(`its thread exited (${code})`)
  })

  const request = () => {
    if (failed || closing) return
    again = running
    if (running) return
    running = true
    writes = 0
    worker.postMessage("checkpoint")
  }
  // One timer for a run of commits, not one re-armed per commit: when it fires early it waits
  // out the rest of the quiet spell.
  const onQuiet = () => {
    const left = lastCommit + QUIET_MS - performance.now()
    if (left > 1) {
      quiet = setTimeout(onQuiet, left)
      quiet.unref()
      return
    }
    quiet = undefined
    request()
  }

  return {
    committed: (n) => {
      if (failed || closing) return
      writes += n
      if (writes >= WRITES) request()
      lastCommit = performance.now()
      if (quiet === undefined) {
        quiet = setTimeout(onQuiet, QUIET_MS)
        quiet.unref()
      }
    },
    close: () => {
      if (closing) return Promise.resolve()
      closing = true
      if (quiet !== undefined) clearTimeout(quiet)
      if (failed) return Promise.resolve()
      return new Promise<void>((resolve) => {
        worker.once("exit", () => resolve())
        worker.postMessage("close")
      })
    }
  }
}
