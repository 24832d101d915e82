/**
 * `checkServer(url, options)`: the fixed checks, then the property-based run, against one job
 * list, as a {@link Report.Report}. The jobs it makes are deleted at the end.
 *
 * @since 0.1.0
 */
import { type Check, type Context, Failure, type Jobs, Skip } from "./Check.js"
import { checks, schemaCheck } from "./Checks.js"
import * as Exchange from "./Exchange.js"
import * as Property from "./Property.js"
import type * as Report from "./Report.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Jobs {
  /** Random client sequences to run (default 25; 0 = none). */
  readonly runs?: number
  /** Seed of the random sequences (default: random; the report says which, to replay). */
  readonly seed?: number
  /** Only the checks with these ids (the schema check always runs). */
  readonly only?: ReadonlyArray<string>
  /** Headers for every request (e.g. authorisation). */
  readonly headers?: Readonly<Record<string, string>>
  /** How requests are sent (default: the global fetch); an in-process handler fits too. */
  readonly fetch?: (request: Request) => Promise<Response>
  /** Longest a job may take to reach the phase a check needs (ms; default 60 000). */
  readonly settleTimeout?: number
  /** Called before each check and after the last. */
  readonly onProgress?: (progress: Progress) => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly done: number
  readonly total: number
  /** What runs now; undefined when all is done. */
  readonly current: string | undefined
}

/**
 * The checks a run makes, in order (the schema check last), for those that register them
 * elsewhere (e.g. as vitest tests).
 *
 * @since 0.1.0
 * @category checks
 */
export const allChecks: ReadonlyArray<Check> = [...checks, schemaCheck]

const evidenceOf = (exchanges: ReadonlyArray<Exchange.Exchange>, failing: Exchange.Exchange | undefined): Array<string> => {
  // The failing exchange in full, after the (at most five) requests that led to it.
  const upTo = failing === undefined ? exchanges.length : exchanges.indexOf(failing) + 1
  const before = exchanges.slice(Math.max(0, upTo - 6), upTo - (failing === undefined ? 0 : 1))
  return [...before.map((e) => `${Exchange.curl(e)}  → ${e.status}`), ...(failing === undefined ? [] : [Exchange.describe(failing)])]
}

/**
 * Runs one check in a context; never throws.
 *
 * @since 0.1.0
 * @category running
 */
export const runCheck = async (check: Check, ctx: Omit<Context, "note">): Promise<Report.CheckResult> => {
  const notes: Array<string> = []
  const from = ctx.http.exchanges().length
  const started = Date.now()
  const base = { id: check.id, section: check.section, title: check.title }
  try {
    await check.run({ ...ctx, note: (n) => notes.push(n) })
    return { ...base, outcome: "pass", notes, evidence: [], millis: Date.now() - started }
  } catch (e) {
    const millis = Date.now() - started
    if (e instanceof Skip) return { ...base, outcome: "skip", message: e.message, notes, evidence: [], millis }
    const mine = ctx.http.exchanges().slice(from)
    const message = e instanceof Error ? e.message : String(e)
    const failing = e instanceof Failure ? e.exchange : undefined
    return { ...base, outcome: "fail", message: e instanceof Failure ? message : `the check could not talk to the server: ${message}`, notes, evidence: evidenceOf(mine, failing), millis }
  }
}

/**
 * A context for the checks against `url`.
 *
 * @since 0.1.0
 * @category running
 */
export const context = (url: string, options: Options): Omit<Context, "note"> => ({
  list: url.replace(/\/+$/, ""),
  jobs: { quick: options.quick, slow: options.slow, error: options.error },
  http: Exchange.recorder({
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.headers === undefined ? {} : { headers: options.headers })
  }),
  documents: [],
  made: new Set(),
  settleTimeout: options.settleTimeout ?? 60_000
})

/**
 * Deletes the jobs a run made (best effort: a server that cannot delete has been told so by the
 * checks already).
 *
 * @since 0.1.0
 * @category running
 */
export const cleanUp = async (ctx: Omit<Context, "note">, options: Pick<Options, "fetch" | "headers">): Promise<void> => {
  const doFetch = options.fetch ?? ((r: Request) => fetch(r))
  await Promise.all(
    [...ctx.made].map((url) =>
      doFetch(new Request(url, { method: "DELETE", redirect: "manual", ...(options.headers === undefined ? {} : { headers: options.headers }) }))
        .then((r) => r.body?.cancel())
        .catch(() => undefined)
    )
  )
  ctx.made.clear()
}

/**
 * Checks the UWS 1.1 job list at `url` and answers the report (it never throws for what the
 * server does; an unreachable server fails every check with the reason).
 *
 * @since 0.1.0
 * @category running
 * @example
 * import { checkServer, Report } from "@uws-kit/conformance"
 * const report = await checkServer("http://localhost:8080/uws/echo/jobs", { quick: [["A", "1"]] })
 * console.log(Report.text(report))
 */
export const checkServer = async (url: string, options: Options): Promise<Report.Report> => {
  const startedAt = new Date()
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31)
  const ctx = context(url, options)
  const selected = allChecks.filter((c) => options.only === undefined || options.only.includes(c.id) || c === schemaCheck)
  const runs = options.runs ?? 25
  const total = selected.length + (runs > 0 ? 1 : 0)
  const results: Array<Report.CheckResult> = []
  for (const check of selected) {
    options.onProgress?.({ done: results.length, total, current: check.id })
    if (check === schemaCheck) await cleanUp(ctx, options)
    results.push(await runCheck(check, ctx))
  }
  await cleanUp(ctx, options)
  let property: Report.PropertyResult | undefined
  if (runs > 0) {
    options.onProgress?.({ done: results.length, total, current: "property" })
    property = await Property.run(ctx.list, { ...options, runs, seed })
  }
  options.onProgress?.({ done: total, total, current: undefined })
  const count = (o: Report.Outcome) => results.filter((r) => r.outcome === o).length + (property?.outcome === o ? 1 : 0)
  return {
    url: ctx.list,
    seed,
    startedAt: startedAt.toISOString(),
    millis: Date.now() - startedAt.getTime(),
    checks: results,
    property,
    passed: count("pass"),
    failed: count("fail"),
    skipped: count("skip")
  }
}
