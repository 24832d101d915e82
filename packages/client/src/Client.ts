/**
 * A typed UWS client over `fetch`: create (with parameters and uploads), read, list with the
 * UWS 1.1 filters, run, abort, change destruction and execution duration, wait, read results and
 * delete. It speaks plain UWS 1.0/1.1 REST and XML, so it works against any UWS service, not only
 * uws-kit's. Requests go through the {@link Transport} (redirects, headers, error statuses) and
 * answers through the {@link Documents} readers; this module holds what UWS asks of a client:
 * which request each operation is, and `wait`, which uses the blocking `WAIT` with the `PHASE`
 * race guard, falling back to polling with back-off against servers that do not block.
 *
 * @since 0.1.0
 * @example
 * import { Client } from "@uws-kit/client"
 * const uws = Client.make("http://localhost:8080/uws/echo/jobs")
 * const job = await uws.create({ parameters: { GREETING: "hello" }, run: true })
 * const done = await uws.wait(job, { timeout: 60_000 })
 * const text = await (await uws.fetchResult(done, done.results[0]!)).text()
 */
import type { Parameter } from "@uws-kit/core/Job"
import * as Phases from "@uws-kit/core/Phase"
import type { Phase } from "@uws-kit/core/Phase"
import * as Documents from "./Documents.js"
import type { JobList, RemoteJob, ResultLink } from "./Documents.js"
import * as Transport from "./Transport.js"
import { UwsClientError } from "./UwsClientError.js"

/** What the client's operations answer, here so a client user needs only this module. */
export type { ErrorSummary, JobList, JobReference, JobSummary, RemoteJob, ResultLink } from "./Documents.js"
export { UwsClientError } from "./UwsClientError.js"

// ---- models ------------------------------------------------------------------------------

/**
 * A job given by id (resolved against the job list), by absolute URL, or as a document this
 * client returned.
 *
 * @since 0.1.0
 * @category models
 */
export type JobRef = string | URL | { readonly url: string }

/**
 * A file to send with a new job (UWS 1.1 §2.2.3.1.1 inline upload): the server makes it the
 * by-reference parameter `name` (`param:{name}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload {
  readonly name: string
  readonly content: Blob | Uint8Array | string
  readonly fileName?: string
  readonly mimeType?: string
}

/**
 * Parameters as a record (an array value repeats the name) or as ordered pairs.
 *
 * @since 0.1.0
 * @category models
 */
export type Parameters =
  | Readonly<Record<string, string | number | boolean | ReadonlyArray<string | number>>>
  | ReadonlyArray<readonly [string, string]>

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateOptions {
  readonly parameters?: Parameters
  readonly uploads?: ReadonlyArray<Upload>
  readonly runId?: string
  /** Seconds (0 = unlimited); the server may substitute its own value. */
  readonly executionDuration?: number
  readonly destruction?: Date | number
  /** Commit the job at once (`PHASE=RUN` with the creation request). */
  readonly run?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Union of phases (`PHASE` repeated). ARCHIVED jobs are listed only when asked for. */
  readonly phases?: ReadonlyArray<Phase>
  /** Jobs created strictly after this instant. */
  readonly after?: Date | number
  /** The most recently created `last` jobs. */
  readonly last?: number
  /**
   * Page size, for servers that page job lists (an extension: uws-kit's `limit` parameter);
   * follow {@link JobList.next} with `listPage`.
   */
  readonly limit?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  /** Resolve when the job is in one of these phases (default: COMPLETED, ERROR, ABORTED, ARCHIVED). */
  readonly phases?: ReadonlyArray<Phase>
  /** The instant by which `wait` gives up (a `Date` or epoch milliseconds). */
  readonly deadline?: Date | number
  /** Milliseconds from now by which `wait` gives up, when no `deadline` is given (default 600 000). */
  readonly timeout?: number
  readonly signal?: AbortSignal
}

/**
 * How requests are sent ({@link Transport.Options}: `fetch`, `headers`, `redirects`) and how
 * `wait` behaves.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions extends Transport.Options {
  /** Longest single blocking `WAIT` in seconds (default 60; the server may cap it lower). */
  readonly maxWait?: number
  /** Clock and sleep, replaceable in tests. */
  readonly now?: () => number
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UwsClient {
  /** The job list's URL. */
  readonly listUrl: string
  /** The URL of a job given by id, URL or document. */
  readonly jobUrl: (job: JobRef) => string
  readonly create: (options?: CreateOptions) => Promise<RemoteJob>
  readonly get: (job: JobRef) => Promise<RemoteJob>
  readonly list: (options?: ListOptions) => Promise<JobList>
  /** Reads a page named by {@link JobList.next}. */
  readonly listPage: (url: string) => Promise<JobList>
  readonly run: (job: JobRef) => Promise<RemoteJob>
  readonly abort: (job: JobRef) => Promise<RemoteJob>
  readonly setDestruction: (job: JobRef, destruction: Date | number) => Promise<RemoteJob>
  readonly setExecutionDuration: (job: JobRef, seconds: number) => Promise<RemoteJob>
  /** Updates parameters of a PENDING job (UWS 1.1 §2.1.11). */
  readonly updateParameters: (job: JobRef, parameters: Parameters) => Promise<RemoteJob>
  readonly phase: (job: JobRef) => Promise<Phase>
  readonly parameters: (job: JobRef) => Promise<ReadonlyArray<Parameter>>
  readonly results: (job: JobRef) => Promise<ReadonlyArray<ResultLink>>
  /** The result's content as a streaming response (checked to be 2xx). */
  readonly fetchResult: (job: JobRef, result: string | ResultLink) => Promise<Response>
  /** The `/error` resource as text. */
  readonly error: (job: JobRef) => Promise<string>
  /**
   * Blocks until the job is in one of `phases`, using `WAIT` with the `PHASE` guard. Fails with
   * `timeout` at the deadline and with `ended` when the job is final in another phase.
   */
  readonly wait: (job: JobRef, options?: WaitOptions) => Promise<RemoteJob>
  readonly delete: (job: JobRef) => Promise<void>
}

// ---- helpers -----------------------------------------------------------------------------

const defaultFinal: ReadonlyArray<Phase> = ["COMPLETED", "ERROR", "ABORTED", "ARCHIVED"]

const instant = (d: Date | number) => (typeof d === "number" ? new Date(d) : d).toISOString()

const pairs = (parameters: Parameters | undefined): Array<readonly [string, string]> => {
  if (parameters === undefined) return []
  if (Array.isArray(parameters)) return (parameters as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, v] as const)
  const out: Array<readonly [string, string]> = []
  for (const [k, v] of Object.entries(parameters as Record<string, unknown>)) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, String(one)])
  }
  return out
}

const form = (entries: ReadonlyArray<readonly [string, string]>) => {
  const body = new URLSearchParams()
  for (const [k, v] of entries) body.append(k, v)
  return body
}

const createBody = (request: CreateOptions): URLSearchParams | FormData => {
  const entries: Array<readonly [string, string]> = pairs(request.parameters)
  if (request.runId !== undefined) entries.push(["RUNID", request.runId])
  if (request.executionDuration !== undefined) entries.push(["EXECUTIONDURATION", String(request.executionDuration)])
  if (request.destruction !== undefined) entries.push(["DESTRUCTION", instant(request.destruction)])
  if (request.run === true) entries.push(["PHASE", "RUN"])
  if (request.uploads === undefined || request.uploads.length === 0) return form(entries)
  const fd = new FormData()
  for (const [k, v] of entries) fd.append(k, v)
  for (const u of request.uploads) {
    const type = u.mimeType ?? "application/octet-stream"
    const blob = u.content instanceof Blob ? u.content : new Blob([u.content as BlobPart], { type })
    fd.append(u.name, blob, u.fileName ?? u.name)
  }
  return fd
}

const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted === true) return resolve()
    const t = setTimeout(done, Math.max(0, ms))
    function done() {
      clearTimeout(t)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    signal?.addEventListener("abort", done, { once: true })
  })

// ---- the client --------------------------------------------------------------------------

/**
 * A client for one job list (`listUrl` is the `/{jobs}` URL, e.g.
 * `http://localhost:8080/uws/echo/jobs`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (listUrl: string, options: ClientOptions = {}): UwsClient => {
  const list = listUrl.replace(/\/+$/, "")
  const transport = Transport.make(options)
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? delay
  const maxWait = Math.max(1, Math.floor(options.maxWait ?? 60))
  const xml = Transport.xmlAccept

  const jobUrl = (job: JobRef): string => {
    if (job instanceof URL) return job.href
    if (typeof job === "object") return job.url
    return /^[a-z][a-z0-9+.-]*:/i.test(job) ? job : `${list}/${encodeURIComponent(job)}`
  }

  const readJob = async (ex: Transport.Exchange): Promise<RemoteJob> => {
    const text = await ex.response.text()
    return { ...Documents.parseJob(text, ex.url), url: ex.url }
  }

  const get = async (job: JobRef): Promise<RemoteJob> => readJob(await transport.send({ method: "GET", url: jobUrl(job), accept: xml }))

  /** A state-changing POST; the server normally answers 303 to the job, which is read. */
  const post = async (url: string, body: URLSearchParams, job: string): Promise<RemoteJob> => {
    const ex = await transport.send({ method: "POST", url, body, accept: xml })
    const type = ex.response.headers.get("content-type") ?? ""
    // A server that answers the POST with the job document itself saves a round trip.
    if (ex.first.location === undefined && type.includes("xml")) {
      const text = await ex.response.text()
      try {
        return { ...Documents.parseJob(text, job), url: job }
      } catch {
        return get(job)
      }
    }
    if (ex.first.location !== undefined && ex.url !== job) {
      await Transport.discard(ex.response)
      return get(job)
    }
    return readJob(ex)
  }

  const create = async (request: CreateOptions = {}): Promise<RemoteJob> => {
    const ex = await transport.send({ method: "POST", url: list, body: createBody(request), accept: xml })
    if (ex.first.location !== undefined) return readJob(ex)
    // No redirect: a server that answers with the new job's document; its id names its URL.
    const text = await ex.response.text()
    const summary = Documents.parseJob(text, undefined)
    const url = transport.redirects === "follow" && ex.url !== list ? ex.url : `${list}/${encodeURIComponent(summary.jobId)}`
    return { ...Documents.parseJob(text, url), url }
  }

  const readList = async (url: string): Promise<JobList> => {
    const ex = await transport.send({ method: "GET", url, accept: xml })
    const parsed = Documents.parseJobList(await ex.response.text(), ex.url)
    const link = ex.response.headers.get("link")
    const next = link === null ? null : /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link)?.[1]
    return { ...parsed, next: next === null || next === undefined ? null : new URL(next, ex.url).href }
  }

  const listJobs = (filters: ListOptions = {}): Promise<JobList> => {
    const query = new URLSearchParams()
    for (const p of filters.phases ?? []) query.append("PHASE", p)
    if (filters.after !== undefined) query.set("AFTER", instant(filters.after))
    if (filters.last !== undefined) query.set("LAST", String(filters.last))
    if (filters.limit !== undefined) query.set("limit", String(filters.limit))
    const q = query.toString()
    return readList(q === "" ? list : `${list}?${q}`)
  }

  const text = async (url: string): Promise<string> =>
    (await transport.send({ method: "GET", url, accept: Transport.textAccept })).response.text()

  const results = async (job: JobRef): Promise<ReadonlyArray<ResultLink>> => {
    const ex = await transport.send({ method: "GET", url: `${jobUrl(job)}/results`, accept: xml })
    return Documents.parseResults(await ex.response.text(), ex.url)
  }

  const fetchResult = async (job: JobRef, result: string | ResultLink): Promise<Response> => {
    const link = typeof result === "string" ? (await results(job)).find((r) => r.id === result) : result
    if (link === undefined) {
      throw new UwsClientError({ kind: "http", status: 404, url: jobUrl(job), message: `Job ${jobUrl(job)} lists no result "${String(result)}".` })
    }
    const href =
      link.href === null ? `${jobUrl(job)}/results/${encodeURIComponent(link.id)}` : new URL(link.href, `${jobUrl(job)}/results`).href
    return (await transport.send({ method: "GET", url: href, accept: "*/*" })).response
  }

  const remove = async (job: JobRef): Promise<void> => {
    const url = jobUrl(job)
    // The answer is a redirect to the job list, which there is no need to read.
    let ex = await transport.exchange({ method: "DELETE", url, accept: xml, stopAtFirst: true })
    if (ex.response.status === 405 || ex.response.status === 501) {
      // A server without HTTP DELETE: the form that browsers (and pyvo) use.
      await Transport.discard(ex.response)
      ex = await transport.exchange({ method: "POST", url, body: form([["ACTION", "DELETE"]]), accept: xml, stopAtFirst: true })
    }
    if (ex.response.status >= 400) {
      throw new UwsClientError({ kind: "http", status: ex.response.status, url: ex.url, message: `DELETE ${url}: ${await Transport.errorMessage(ex.response)}` })
    }
    await Transport.discard(ex.response)
  }

  const wait = async (job: JobRef, waitOptions: WaitOptions = {}): Promise<RemoteJob> => {
    const url = jobUrl(job)
    const phases = waitOptions.phases ?? defaultFinal
    const deadline =
      waitOptions.deadline !== undefined
        ? typeof waitOptions.deadline === "number"
          ? waitOptions.deadline
          : waitOptions.deadline.getTime()
        : now() + (waitOptions.timeout ?? 600_000)
    const signal = waitOptions.signal
    let backoff = 200
    let current = await get(url)
    let lastXml = ""
    for (;;) {
      if (phases.includes(current.phase)) return current
      if (Phases.isFinal(current.phase)) {
        throw new UwsClientError({
          kind: "ended",
          url,
          job: current,
          message: `Job ${current.jobId} is ${current.phase}, which cannot become ${phases.join(" or ")}.`
        })
      }
      const remaining = deadline - now()
      if (signal?.aborted === true) throw signal.reason ?? new Error("The wait was aborted.")
      if (remaining <= 0) {
        throw new UwsClientError({
          kind: "timeout",
          url,
          job: current,
          message: `Job ${current.jobId} was still ${current.phase} at the deadline (waiting for ${phases.join(" or ")}).`
        })
      }
      const seconds = Math.min(maxWait, Math.floor(remaining / 1000))
      const blocking = seconds > 0 && Number(current.version) >= 1.1
      const query = new URLSearchParams()
      if (blocking) {
        query.set("WAIT", String(seconds))
        // The race guard: block only while the job is still in the phase we last saw.
        if (Phases.isActive(current.phase)) query.set("PHASE", current.phase)
      }
      const started = now()
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), remaining + 1000)
      const onAbort = () => controller.abort()
      signal?.addEventListener("abort", onAbort, { once: true })
      try {
        const target = blocking ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url
        const ex = await transport.send({ method: "GET", url: target, accept: xml, signal: controller.signal })
        const body = await ex.response.text()
        const changed = body !== lastXml
        lastXml = body
        current = { ...Documents.parseJob(body, url), url }
        const blockedLongEnough = blocking && now() - started >= seconds * 900
        if (changed) backoff = 200
        else if (!blockedLongEnough) {
          // The server answered at once with nothing new: it does not block (UWS 1.0, a HELD
          // job, or a server that ignores WAIT), so poll, more slowly each time.
          await sleep(Math.min(backoff, Math.max(0, deadline - now())), signal)
          backoff = Math.min(backoff * 1.5, 10_000)
        }
      } catch (e) {
        if (controller.signal.aborted && !(e instanceof UwsClientError)) continue
        throw e
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener("abort", onAbort)
      }
    }
  }

  return {
    listUrl: list,
    jobUrl,
    create,
    get,
    list: listJobs,
    listPage: readList,
    run: (job) => post(`${jobUrl(job)}/phase`, form([["PHASE", "RUN"]]), jobUrl(job)),
    abort: (job) => post(`${jobUrl(job)}/phase`, form([["PHASE", "ABORT"]]), jobUrl(job)),
    setDestruction: (job, destruction) => post(`${jobUrl(job)}/destruction`, form([["DESTRUCTION", instant(destruction)]]), jobUrl(job)),
    setExecutionDuration: (job, seconds) =>
      post(`${jobUrl(job)}/executionduration`, form([["EXECUTIONDURATION", String(seconds)]]), jobUrl(job)),
    updateParameters: (job, parameters) => post(`${jobUrl(job)}/parameters`, form(pairs(parameters)), jobUrl(job)),
    phase: async (job) => Phases.parse((await text(`${jobUrl(job)}/phase`)).trim()) ?? "UNKNOWN",
    parameters: async (job) => {
      const ex = await transport.send({ method: "GET", url: `${jobUrl(job)}/parameters`, accept: xml })
      return Documents.parseParameters(await ex.response.text(), ex.url)
    },
    results,
    fetchResult,
    error: (job) => text(`${jobUrl(job)}/error`),
    wait,
    delete: remove
  }
}
