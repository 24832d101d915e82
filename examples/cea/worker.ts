/**
 * The binary application server as one UWS application (`cea`): a job names one of the
 * configured applications; running it fetches the indirect inputs into a folder of its own,
 * runs the command (an argv array, no shell) in its own process group with the job's execution
 * duration as a hard limit, keeps stdout and stderr as results, and stores each named output or
 * streams it (HTTP PUT) to the destination the job gave, the result then pointing there.
 */
import { spawn } from "node:child_process"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { Worker } from "@uws-kit/core"
import { Either } from "effect"
import { expand } from "./Argv.js"
import type { Catalogue } from "./Config.js"
import { checkValue, plan } from "./Plan.js"

/** Maps a `vos://` identifier to the HTTP URL of its bytes (the space example's `spaceUrl`), or `undefined`. */
export type VosResolver = (vosId: string) => string | undefined

export interface CeaOptions {
  readonly catalogue: Catalogue
  /** Without it, `vos://` inputs and destinations are refused. */
  readonly resolveVos?: VosResolver
  /** Largest input file fetched, in bytes (default 256 MiB). */
  readonly maxInputBytes?: number
  /** How long a process may ignore SIGTERM before SIGKILL (ms; default 2000). */
  readonly killGraceMillis?: number
  /** Where job folders are made (default the OS temporary folder). */
  readonly workDirectory?: string
}

const fail = (message: string, detail?: string): never => {
  throw new Worker.JobFailure(detail === undefined ? { message } : { message, detail })
}

const STDERR_TAIL = 2000

const httpUrl = (uri: string, resolveVos: VosResolver | undefined): string => {
  if (!uri.startsWith("vos:")) return uri
  const url = resolveVos?.(uri)
  return url ?? fail(`${uri} names no space this service can reach.`)
}

/** Fetches `uri` into `file`, at most `max` bytes. */
const download = async (uri: string, url: string, file: string, max: number, signal: AbortSignal) => {
  const res = await fetch(url, { signal }).catch((e: unknown) => fail(`Fetching ${uri} failed: ${(e as Error).message}`))
  if (!res.ok || res.body === null) fail(`Fetching ${uri} answered ${res.status} ${res.statusText}.`)
  let seen = 0
  const counted = Readable.fromWeb(res.body as never).on("data", (chunk: Buffer) => {
    seen += chunk.length
    if (seen > max) counted.destroy(new Worker.JobFailure({ message: `${uri} is larger than ${max} bytes.` }))
  })
  await pipeline(counted, createWriteStream(file)).catch((e: unknown) => {
    throw e instanceof Worker.JobFailure ? e : new Worker.JobFailure({ message: `Fetching ${uri} failed: ${(e as Error).message}` })
  })
}

/** Streams `file` to `uri` (HTTP PUT). */
const deliver = async (uri: string, url: string, file: string, mimeType: string, signal: AbortSignal) => {
  const size = (await stat(file)).size
  const res = await fetch(url, {
    method: "PUT",
    body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    headers: { "content-type": mimeType, "content-length": String(size) },
    duplex: "half",
    signal
  } as RequestInit).catch((e: unknown) => fail(`Delivering to ${uri} failed: ${(e as Error).message}`))
  await res.body?.cancel()
  if (!res.ok) fail(`Delivering to ${uri} answered ${res.status} ${res.statusText}.`)
  return size
}

const tail = async (file: string): Promise<string> => {
  const handle = await open(file, "r")
  try {
    const size = (await handle.stat()).size
    const start = Math.max(0, size - STDERR_TAIL)
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(size - start), 0, size - start, start)
    return buffer.subarray(0, bytesRead).toString("utf8").trim()
  } finally {
    await handle.close()
  }
}

const killGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal)
  } catch {
    // Already gone.
  }
}

/**
 * Runs argv in `dir`, stdout and stderr to files, in a new process group; on abort the whole
 * group gets SIGTERM, then SIGKILL after `grace` ms. Answers the exit code, or the signal.
 */
const runProcess = async (argv: ReadonlyArray<string>, dir: string, files: { stdout: string; stderr: string }, context: Worker.RunContext, grace: number) => {
  const [out, err] = await Promise.all([open(files.stdout, "w"), open(files.stderr, "w")])
  const child = (() => {
    try {
      return spawn(argv[0]!, argv.slice(1), {
        cwd: dir,
        detached: true,
        stdio: ["ignore", out.fd, err.fd],
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C.UTF-8", HOME: dir, TMPDIR: dir }
      })
    } finally {
      void out.close()
      void err.close()
    }
  })()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject)
    child.once("exit", (code, signal) => resolve({ code, signal }))
  })
  const pid = child.pid
  if (pid === undefined) return exited.catch((e: Error) => fail(`${argv[0]} could not be started: ${e.message}`))
  let killer: NodeJS.Timeout | undefined
  const stop = () => {
    killGroup(pid, "SIGTERM")
    killer = setTimeout(() => killGroup(pid, "SIGKILL"), grace)
  }
  if (context.signal.aborted) stop()
  else context.signal.addEventListener("abort", stop, { once: true })
  await context.progress({ pid: String(pid) }).catch(() => undefined)
  try {
    return await exited
  } finally {
    context.signal.removeEventListener("abort", stop)
    clearTimeout(killer)
    // Whatever the command left running in its group goes with it.
    killGroup(pid, "SIGKILL")
  }
}

/** The `cea` worker over `options.catalogue`. */
export const make = (options: CeaOptions): Worker.Worker => {
  const maxInput = options.maxInputBytes ?? 256 * 1024 * 1024
  const grace = options.killGraceMillis ?? 2000
  return Worker.make({
    name: "cea",
    // The command line is built once at creation too (files and fetched values stood in for),
    // so that a value that cannot be an argument refuses the job before anything runs.
    validate: (parameters) => {
      const p = Either.flatMap(plan(options.catalogue, parameters), ({ application, inputs }) => {
        const values = new Map<string, string>([["here", options.catalogue.here]])
        for (const input of application.inputs) {
          const given = inputs.get(input.name)
          if (given !== undefined) values.set(input.name, input.type === "file" || given.indirect ? "/job/in" : given.value)
        }
        for (const o of application.outputs) values.set(o.name, "/job/out")
        return expand(application.command, values)
      })
      return Either.isLeft(p) ? { _tag: "Left", left: p.left } : { _tag: "Right", right: parameters }
    },
    run: async (job, context) => {
      const p = plan(options.catalogue, job.parameters)
      if (Either.isLeft(p)) return fail(p.left)
      const { application, inputs, destinations } = p.right
      const dir = await mkdtemp(path.join(options.workDirectory ?? tmpdir(), `uws-cea-${application.name}-`))
      try {
        await Promise.all([mkdir(path.join(dir, "in")), mkdir(path.join(dir, "out"))])
        const values = new Map<string, string>([["here", options.catalogue.here]])
        for (const input of application.inputs) {
          const given = inputs.get(input.name)
          if (given === undefined) continue
          if (input.type === "file") {
            const file = path.join(dir, "in", input.name)
            if (given.indirect) await download(given.value.trim(), httpUrl(given.value.trim(), options.resolveVos), file, maxInput, context.signal)
            else await writeFile(file, given.value)
            values.set(input.name, file)
          } else if (given.indirect) {
            const file = path.join(dir, "in", input.name)
            await download(given.value.trim(), httpUrl(given.value.trim(), options.resolveVos), file, 64 * 1024, context.signal)
            const text = (await readFile(file, "utf8")).trim()
            const problem = checkValue(input, text)
            if (problem !== undefined) fail(`${problem} (fetched from ${given.value.trim()})`)
            values.set(input.name, text)
          } else values.set(input.name, given.value)
        }
        for (const o of application.outputs) if (o.from === "file") values.set(o.name, path.join(dir, "out", o.name))
        const argv = expand(application.command, values)
        if (Either.isLeft(argv)) return fail(argv.left)
        const files = { stdout: path.join(dir, "stdout"), stderr: path.join(dir, "stderr") }
        const exit = await runProcess(argv.right, dir, files, context, grace)
        if (context.signal.aborted) return [] // aborted or timed out: the service has already ended the job
        const stdoutOutput = application.outputs.find((o) => o.from === "stdout")
        const logs = [...(stdoutOutput === undefined ? [["stdout", files.stdout] as const] : []), ["stderr", files.stderr] as const]
        for (const [id, file] of logs) await context.publish({ id, mimeType: "text/plain; charset=utf-8", content: createReadStream(file) })
        if (exit.code !== 0) {
          const stderr = await tail(files.stderr)
          const how = exit.code === null ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`
          return fail(`${application.name} ${how}${stderr === "" ? "." : `: ${stderr.split("\n").slice(-5).join("\n")}`}`, stderr)
        }
        const results: Array<Worker.ResultSpec> = []
        for (const o of application.outputs) {
          const file = o.from === "stdout" ? files.stdout : path.join(dir, "out", o.name)
          if (!(await stat(file).then((s) => s.isFile(), () => false))) fail(`${application.name} wrote no ${o.name}.`)
          const destination = destinations.get(o.name)
          if (destination === undefined) {
            await context.publish({ id: o.name, mimeType: o.mimeType, content: createReadStream(file) })
          } else {
            const url = httpUrl(destination, options.resolveVos)
            const size = await deliver(destination, url, file, o.mimeType, context.signal)
            results.push({ id: o.name, mimeType: o.mimeType, href: url, size })
          }
        }
        return results
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
  })
}
