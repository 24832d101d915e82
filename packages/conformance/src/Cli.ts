/**
 * The `uws` command line: `uws conform` (this package's checks) and, for the people who run
 * jobs, `submit`, `watch`, `list`, `results`, `abort` and `delete` on the typed client. Parsed
 * by `@effect/cli`; `--json` everywhere for scripts. Progress goes to stderr: a redrawn bar on a
 * terminal, one line per step otherwise.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Client, Documents, Transport, UwsClientError } from "@uws-kit/client"
import * as Phases from "@uws-kit/core/Phase"
import { Effect, Option } from "effect"
import { createWriteStream } from "node:fs"
import { mkdir, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Readable, Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import type { ReadableStream as WebReadableStream } from "node:stream/web"
import { checkServer, type Progress } from "./Conformance.js"
import * as Report from "./Report.js"

// ---- helpers -------------------------------------------------------------------------------

/** Thrown for what the user typed wrong; printed without a stack. */
class UsageError extends Error {}

const pairs = (items: ReadonlyArray<string>, what: string): Array<readonly [string, string]> =>
  items.map((item) => {
    const i = item.indexOf("=")
    if (i <= 0) throw new UsageError(`${what} "${item}" is not NAME=VALUE.`)
    return [item.slice(0, i), item.slice(i + 1)] as const
  })

const out = (text: string): void => {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`)
}

/** A progress line on stderr: redrawn in place on a terminal, one line per change otherwise. */
const progressLine = () => {
  const tty = process.stderr.isTTY === true
  let last = ""
  return {
    show: (text: string) => {
      if (text === last) return
      last = text
      if (tty) process.stderr.write(`\r\x1b[2K${text}`)
      else process.stderr.write(`${text}\n`)
    },
    done: () => {
      if (tty && last !== "") process.stderr.write("\n")
    }
  }
}

const bar = (done: number, total: number, width = 24) => {
  const filled = total <= 0 ? 0 : Math.round((done / total) * width)
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
}

/** The job list a job URL belongs to (its parent), for the client. */
const listOf = (jobUrl: string) => {
  const u = new URL(jobUrl)
  u.pathname = u.pathname.replace(/\/+$/, "").replace(/\/[^/]*$/, "")
  u.search = ""
  return u.href
}

/** Runs a command's body; what goes wrong is printed as one clear line and sets exit code 1. */
const guarded = (body: () => Promise<void>) =>
  Effect.promise(async () => {
    try {
      await body()
    } catch (e) {
      process.exitCode = 1
      if (e instanceof UwsClientError) {
        const what =
          e.kind === "http"
            ? "the server answered with an error"
            : e.kind === "malformed"
              ? "the answer is not a UWS document"
              : e.kind
        process.stderr.write(`uws: ${what}: ${e.message}\n`)
      } else if (e instanceof UsageError) process.stderr.write(`uws: ${e.message}\n`)
      else if (e instanceof TypeError && /fetch failed/.test(e.message)) {
        const cause = e.cause instanceof Error ? e.cause.message : ""
        process.stderr.write(`uws: cannot reach the server${cause === "" ? "" : `: ${cause}`}\n`)
      } else process.stderr.write(`uws: ${e instanceof Error ? e.message : String(e)}\n`)
    }
  })

const jsonFlag = Options.boolean("json").pipe(Options.withDescription("Print JSON for scripts instead of text."))

const jobLine = (job: Client.RemoteJob) => {
  const progress = job.jobInfo?.["progress"]
  return `${job.url}  ${job.phase}${progress === undefined ? "" : `  ${progress}`}${job.errorSummary === null ? "" : `  error: ${job.errorSummary.message}`}`
}

// ---- conform -------------------------------------------------------------------------------

const conform = Command.make(
  "conform",
  {
    url: Args.text({ name: "job-list-URL" }).pipe(Args.withDescription("The job list (/{jobs}) of the UWS 1.1 service to check.")),
    quick: Args.text({ name: "NAME=VALUE" }).pipe(Args.repeated, Args.withDescription("Parameters of a job that completes quickly.")),
    slow: Options.text("slow").pipe(Options.repeated, Options.withDescription("NAME=VALUE of a job that stays EXECUTING for a while (repeatable).")),
    error: Options.text("error").pipe(Options.repeated, Options.withDescription("NAME=VALUE of a job that ends in ERROR (repeatable).")),
    runs: Options.integer("runs").pipe(Options.withDefault(25), Options.withDescription("Random client sequences to run (0: none).")),
    seed: Options.integer("seed").pipe(Options.optional, Options.withDescription("Seed of the random sequences, to replay a run.")),
    json: Options.text("json").pipe(Options.optional, Options.withDescription("Write the report as JSON to this file.")),
    junit: Options.text("junit").pipe(Options.optional, Options.withDescription("Write the report as JUnit XML to this file."))
  },
  (a) =>
    guarded(async () => {
      const line = progressLine()
      const report = await checkServer(a.url, {
        quick: pairs(a.quick, "a parameter"),
        slow: a.slow.length === 0 ? undefined : pairs(a.slow, "--slow"),
        error: a.error.length === 0 ? undefined : pairs(a.error, "--error"),
        runs: a.runs,
        ...(Option.isSome(a.seed) ? { seed: a.seed.value } : {}),
        onProgress: (p: Progress) => line.show(`${bar(p.done, p.total)} ${p.done}/${p.total}${p.current === undefined ? " done" : ` ${p.current}`}`)
      })
      line.done()
      if (Option.isSome(a.json)) await writeFile(a.json.value, Report.json(report))
      if (Option.isSome(a.junit)) await writeFile(a.junit.value, Report.junit(report))
      out(Report.text(report))
      if (!Report.ok(report)) process.exitCode = 1
    })
).pipe(Command.withDescription("Check a UWS 1.1 service against the standard: fixed checks, then random client sequences."))

// ---- the client commands -----------------------------------------------------------------

const submit = Command.make(
  "submit",
  {
    url: Args.text({ name: "job-list-URL" }),
    params: Args.text({ name: "NAME=VALUE" }).pipe(Args.repeated),
    run: Options.boolean("run").pipe(Options.withDescription("Start the job (PHASE=RUN with the creation request).")),
    wait: Options.boolean("wait").pipe(Options.withDescription("Wait until the job has ended (implies --run).")),
    json: jsonFlag
  },
  (a) =>
    guarded(async () => {
      const client = Client.make(a.url)
      let job = await client.create({ parameters: pairs(a.params, "a parameter"), run: a.run || a.wait })
      if (a.wait) job = await waitWithProgress(client, job.url, a.json)
      out(a.json ? JSON.stringify(job, null, 2) : jobLine(job))
      if (a.wait && job.phase !== "COMPLETED") process.exitCode = 1
    })
).pipe(Command.withDescription("Create a job (and start it, and wait for it)."))

/**
 * Follows a job with blocking WAITs (PHASE-guarded, so each answers on a change or at its
 * timeout: no polling loop), showing its phase and progress, until it ends.
 */
const waitWithProgress = async (client: Client.UwsClient, url: string, quiet: boolean): Promise<Client.RemoteJob> => {
  const transport = Transport.make()
  const line = progressLine()
  let job = await client.get(url)
  for (;;) {
    const progress = job.jobInfo?.["progress"]
    const m = progress === undefined ? null : /^(\d+)\s*\/\s*(\d+)$/.exec(progress)
    if (!quiet) line.show(m === null ? `${job.phase}${progress === undefined ? "" : ` ${progress}`}` : `${bar(Number(m[1]), Number(m[2]))} ${progress} ${job.phase}`)
    if (!Phases.isActive(job.phase) && job.phase !== "HELD" && job.phase !== "SUSPENDED" && job.phase !== "UNKNOWN") break
    const started = Date.now()
    const { response } = await transport.send({ method: "GET", url: `${url}?WAIT=30&PHASE=${job.phase}`, accept: Transport.xmlAccept })
    const next = { ...Documents.parseJob(await response.text(), url), url }
    // A server that does not block (UWS 1.0) is asked again after a pause, not at once.
    if (Date.now() - started < 200 && next.phase === job.phase) await new Promise((r) => setTimeout(r, 1000))
    job = next
  }
  line.done()
  return job
}

const watch = Command.make("watch", { url: Args.text({ name: "job-URL" }), json: jsonFlag }, (a) =>
  guarded(async () => {
    const job = await waitWithProgress(Client.make(listOf(a.url)), a.url, a.json)
    out(a.json ? JSON.stringify(job, null, 2) : jobLine(job))
    if (job.phase !== "COMPLETED") process.exitCode = 1
  })
).pipe(Command.withDescription("Follow a job until it ends, with its phase and progress."))

const list = Command.make(
  "list",
  {
    url: Args.text({ name: "job-list-URL" }),
    phase: Options.choice("phase", Phases.all).pipe(Options.repeated, Options.withDescription("Only jobs in these phases (repeatable: their union).")),
    last: Options.integer("last").pipe(Options.optional, Options.withDescription("Only the N most recently created jobs.")),
    json: jsonFlag
  },
  (a) =>
    guarded(async () => {
      const jobs = await Client.make(a.url).list({ phases: a.phase, ...(Option.isSome(a.last) ? { last: a.last.value } : {}) })
      if (a.json) out(JSON.stringify(jobs.jobs, null, 2))
      else if (jobs.jobs.length === 0) process.stderr.write("no jobs\n")
      else for (const j of jobs.jobs) out(`${j.jobId}  ${j.phase.padEnd(9)}  ${j.creationTime?.toISOString() ?? "-".padEnd(24)}  ${j.url}`)
    })
).pipe(Command.withDescription("List jobs, optionally filtered by phase and recency."))

const results = Command.make(
  "results",
  { url: Args.text({ name: "job-URL" }), dir: Options.directory("out").pipe(Options.withDefault("."), Options.withDescription("Where to save the results.")), json: jsonFlag },
  (a) =>
    guarded(async () => {
      const client = Client.make(listOf(a.url))
      const links = await client.results(a.url)
      await mkdir(a.dir, { recursive: true })
      const saved: Array<{ id: string; file: string; bytes: number }> = []
      for (const link of links) {
        const response = await client.fetchResult(a.url, link)
        const total = Number(response.headers.get("content-length") ?? link.size ?? NaN)
        // The result's id names the file; nothing in it may leave the folder.
        const file = path.join(a.dir, link.id.replace(/[^\w.-]/g, "_"))
        const line = progressLine()
        let bytes = 0
        const count = new Transform({
          transform(chunk: Buffer, _enc, done) {
            bytes += chunk.length
            if (!a.json) line.show(Number.isFinite(total) ? `${bar(bytes, total)} ${link.id} ${bytes}/${total} bytes` : `${link.id} ${bytes} bytes`)
            done(null, chunk)
          }
        })
        if (response.body === null) await writeFile(file, "")
        else await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), count, createWriteStream(file))
        line.done()
        saved.push({ id: link.id, file, bytes })
      }
      if (a.json) out(JSON.stringify(saved, null, 2))
      else for (const s of saved) out(`${s.file}  ${s.bytes} bytes`)
    })
).pipe(Command.withDescription("Download a job's results."))

const abort = Command.make("abort", { url: Args.text({ name: "job-URL" }), json: jsonFlag }, (a) =>
  guarded(async () => {
    const job = await Client.make(listOf(a.url)).abort(a.url)
    out(a.json ? JSON.stringify(job, null, 2) : jobLine(job))
  })
).pipe(Command.withDescription("Abort a job."))

const remove = Command.make("delete", { url: Args.text({ name: "job-URL" }), json: jsonFlag }, (a) =>
  guarded(async () => {
    await Client.make(listOf(a.url)).delete(a.url)
    out(a.json ? JSON.stringify({ deleted: a.url }) : `deleted ${a.url}`)
  })
).pipe(Command.withDescription("Delete a job and its results."))

/**
 * The `uws` command and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("uws").pipe(
  Command.withDescription("IVOA UWS from the command line: run jobs, and check a service's conformance."),
  Command.withSubcommands([conform, submit, watch, list, results, abort, remove])
)

/**
 * Runs the command line on `argv` (as `process.argv`).
 *
 * @since 0.1.0
 * @category commands
 */
export const main = Command.run(command, { name: "uws", version: "0.1.0" })
