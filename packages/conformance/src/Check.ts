/**
 * What a check is given and how it judges: a context that talks HTTP to the job list under test
 * (recording every exchange), creates and settles jobs, reads UWS documents (remembering each for
 * the schema check) and fails with the request that showed the fault.
 *
 * @since 0.1.0
 */
import { Documents, type Client } from "@uws-kit/client"
import * as Phases from "@uws-kit/core/Phase"
import type { Phase } from "@uws-kit/core/Phase"
import * as Exchange from "./Exchange.js"
import type * as Schema from "./Schema.js"

/**
 * Parameters as the command line gives them (`NAME=VALUE`, repeatable names allowed).
 *
 * @since 0.1.0
 * @category models
 */
export type Params = ReadonlyArray<readonly [string, string]>

/**
 * How to reach the server and which jobs to make.
 *
 * @since 0.1.0
 * @category models
 */
export interface Jobs {
  /** Parameters of a job that completes quickly. */
  readonly quick: Params
  /** Parameters of a job that stays EXECUTING for a while (several seconds at least). */
  readonly slow?: Params | undefined
  /** Parameters of a job that ends in ERROR. */
  readonly error?: Params | undefined
}

/**
 * A check failed: why, and the exchange that showed it (when one did).
 *
 * @since 0.1.0
 * @category errors
 */
export class Failure extends Error {
  override readonly name = "Failure"
  constructor(
    message: string,
    readonly exchange?: Exchange.Exchange
  ) {
    super(message)
  }
}

/**
 * A check cannot run against this server as configured (e.g. no slow job was named).
 *
 * @since 0.1.0
 * @category errors
 */
export class Skip extends Error {
  override readonly name = "Skip"
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly list: string
  readonly jobs: Jobs
  readonly http: Exchange.Recorder
  /** Every UWS document read, for the schema check. */
  readonly documents: Array<Schema.Document>
  /** Jobs made by the run, deleted at its end. */
  readonly made: Set<string>
  /** Longest a job may take to settle (ms). */
  readonly settleTimeout: number
  readonly note: (text: string) => void
}

/**
 * A fixed check: an id, the section of UWS 1.1 it tests, and what it does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Check {
  readonly id: string
  readonly section: string
  readonly title: string
  /** The kind of job the check cannot run without (the report skips it when none is given). */
  readonly needs?: "error"
  readonly run: (ctx: Context) => Promise<void>
}

/**
 * Fails the check unless `condition` holds.
 *
 * @since 0.1.0
 * @category assertions
 */
export function expect(condition: boolean, message: string, exchange?: Exchange.Exchange): asserts condition {
  if (!condition) throw new Failure(message, exchange)
}

/**
 * Fails unless the exchange has one of the statuses.
 *
 * @since 0.1.0
 * @category assertions
 */
export const expectStatus = (e: Exchange.Exchange, statuses: ReadonlyArray<number>, what: string): void =>
  expect(statuses.includes(e.status), `${what}: expected ${statuses.join(" or ")}, got ${e.status}.`, e)

/**
 * Fails unless the exchange answered a 303 whose Location is `target` (trailing slashes aside).
 *
 * @since 0.1.0
 * @category assertions
 */
export const expectSeeOther = (e: Exchange.Exchange, target: string, what: string): void => {
  expectStatus(e, [303], what)
  const norm = (u: string) => u.replace(/\/+$/, "")
  expect(e.location !== undefined && norm(e.location) === norm(target), `${what}: the 303 should point to ${target}, not ${e.location ?? "nowhere"}.`, e)
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Creates a job; its URL from the 303's Location (UWS 1.1 §2.2.3.1).
 *
 * @since 0.1.0
 * @category actions
 */
export const create = async (ctx: Context, params: Params, run = false): Promise<{ readonly url: string; readonly exchange: Exchange.Exchange }> => {
  const exchange = await ctx.http.send({ method: "POST", url: ctx.list, form: run ? [...params, ["PHASE", "RUN"]] : params })
  expectStatus(exchange, [303], "creating a job")
  expect(exchange.location !== undefined, "creating a job: the 303 has no Location.", exchange)
  ctx.made.add(exchange.location)
  return { url: exchange.location, exchange }
}

/**
 * Reads a UWS document of the given root from a 200 answer, remembering it for the schema check.
 *
 * @since 0.1.0
 * @category actions
 */
export const readDocument = <A>(ctx: Context, exchange: Exchange.Exchange, what: string, parse: (xml: string) => A): A => {
  expectStatus(exchange, [200], what)
  expect(Exchange.isXml(exchange), `${what}: expected an XML document, got ${exchange.contentType || "no content type"}.`, exchange)
  ctx.documents.push({ name: `${Exchange.curl(exchange)}  → ${exchange.status}`, xml: exchange.body })
  try {
    return parse(exchange.body)
  } catch (e) {
    throw new Failure(`${what}: not a UWS document: ${e instanceof Error ? e.message : String(e)}`, exchange)
  }
}

/**
 * GETs a job document.
 *
 * @since 0.1.0
 * @category actions
 */
export const getJob = async (ctx: Context, url: string, query = ""): Promise<{ readonly job: Client.JobSummary; readonly exchange: Exchange.Exchange }> => {
  const exchange = await ctx.http.send({ method: "GET", url: url + query })
  return { job: readDocument(ctx, exchange, `GET ${url}${query}`, (xml) => Documents.parseJob(xml, url)), exchange }
}

/**
 * GETs the job list with a query.
 *
 * @since 0.1.0
 * @category actions
 */
export const getList = async (ctx: Context, query = ""): Promise<{ readonly list: Omit<Client.JobList, "next">; readonly exchange: Exchange.Exchange }> => {
  const url = ctx.list + query
  const exchange = await ctx.http.send({ method: "GET", url })
  return { list: readDocument(ctx, exchange, `GET ${url}`, (xml) => Documents.parseJobList(xml, ctx.list)), exchange }
}

/**
 * POSTs a form to a job's sub-resource (or the job itself when `sub` is "").
 *
 * @since 0.1.0
 * @category actions
 */
export const post = (ctx: Context, url: string, sub: string, form: Params): Promise<Exchange.Exchange> =>
  ctx.http.send({ method: "POST", url: sub === "" ? url : `${url}/${sub}`, form })

/**
 * Waits until the job is in one of `phases` (or in a final phase, which then fails), with WAIT
 * where the server blocks and short pauses where it does not: it must work on a server whose
 * WAIT is broken, so that the WAIT checks alone report that.
 *
 * @since 0.1.0
 * @category actions
 */
export const settle = async (ctx: Context, url: string, phases: ReadonlyArray<Phase>): Promise<Client.JobSummary> => {
  const deadline = Date.now() + ctx.settleTimeout
  let { job } = await getJob(ctx, url)
  while (!phases.includes(job.phase)) {
    if (Phases.isFinal(job.phase)) throw new Failure(`the job ${url} ended in ${job.phase}, expected ${phases.join(" or ")}.`)
    const left = deadline - Date.now()
    if (left <= 0) throw new Failure(`the job ${url} stayed ${job.phase} for ${ctx.settleTimeout / 1000} s, expected ${phases.join(" or ")}.`)
    const started = Date.now()
    const seconds = Math.max(1, Math.min(5, Math.floor(left / 1000)))
    job = (await getJob(ctx, url, `?WAIT=${seconds}&PHASE=${job.phase}`)).job
    if (Date.now() - started < 50) await sleep(100)
  }
  return job
}

/**
 * A fresh id no server will have made.
 *
 * @since 0.1.0
 * @category utils
 */
export const unknownId = (): string => `no-such-job-${Math.random().toString(36).slice(2, 10)}`

/**
 * Case-insensitive parameter lookup (UWS parameter names are case-insensitive, DALI §3).
 *
 * @since 0.1.0
 * @category utils
 */
export const paramValues = (params: ReadonlyArray<{ readonly name: string; readonly value: string }>, name: string): ReadonlyArray<string> =>
  params.filter((p) => p.name.toLowerCase() === name.toLowerCase()).map((p) => p.value)
