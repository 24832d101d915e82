/**
 * Shared test fixtures: a service with an application a test can steer by parameters, a REST
 * binding over it, and small helpers to send requests and read answers.
 */
import { Identity, Job as Jobs, Uws, Worker } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import type { Policy } from "@uws-kit/core/Policy"
import { JobFailure } from "@uws-kit/core/Worker"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { XMLParser } from "fast-xml-parser"

/**
 * The application: `MODE=fail` fails with a detail, `MODE=block` runs until aborted, `MODE=none`
 * finishes without results, `MODE=two` gives two results, otherwise one text result echoing
 * `TEXT`. `HREF` adds a result living elsewhere.
 */
export const steerable = Worker.make({
  name: "steer",
  run: async (job, context) => {
    const mode = Jobs.parameter(job, "MODE")
    if (mode === "fail") throw new JobFailure({ message: "failed on purpose", detail: "line 1: the detail" })
    if (mode === "block") {
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()))
      return []
    }
    if (mode === "none") return []
    const results: Array<Worker.ResultSpec> = [{ id: "result", mimeType: "text/plain", content: `echo ${Jobs.parameter(job, "TEXT") ?? ""}` }]
    if (mode === "two") results.push({ id: "extra", mimeType: "application/octet-stream", content: new Uint8Array([1, 2, 3]) })
    const href = Jobs.parameter(job, "HREF")
    if (href !== undefined) results.push({ id: "remote", href, mimeType: "image/fits", size: 3000 })
    return results
  }
})

export const BASE = "http://uws.test/uws"

/** Callers come from the `x-user` header (absent = anonymous). */
export const byHeader = (request: Request): Caller => {
  const user = request.headers.get("x-user")
  return user === null ? Identity.anonymous : Identity.user(user)
}

export interface Fixture {
  readonly service: Uws.UwsService
  readonly rest: RestAdapter.RestAdapter
  readonly call: (path: string, init?: RequestInit) => Promise<Response>
  readonly close: () => Promise<void>
}

export const fixture = async (
  options: {
    readonly policy?: Partial<Policy>
    readonly maxWait?: number
    readonly rest?: Partial<RestAdapter.RestOptions>
    readonly worker?: Worker.Worker
  } = {}
): Promise<Fixture> => {
  let n = 0
  const started = await Uws.start({
    worker: options.worker ?? steerable,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait }),
    makeJobId: () => `job${++n}`
  })
  const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws", identify: byHeader, ...options.rest })
  return {
    service: started.service,
    rest,
    call: (path, init) => rest.handler(new Request(path.startsWith("http") ? path : `${BASE}${path}`, init)),
    close: async () => {
      await rest.dispose()
      await started.close()
    }
  }
}

export const form = (pairs: Record<string, string> | ReadonlyArray<readonly [string, string]>): RequestInit => ({
  method: "POST",
  body: new URLSearchParams(Array.isArray(pairs) ? (pairs as Array<[string, string]>) : Object.entries(pairs))
})

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: false,
  parseTagValue: false,
  htmlEntities: true,
  trimValues: false,
  isArray: (name) => ["uws:parameter", "uws:result", "uws:jobref", "kit:entry"].includes(name)
})

/** Parses a UWS document, keeping prefixes (so `xlink:href` is checked literally). */
export const parseXml = (xml: string): any => parser.parse(xml)

/** Element names of a parsed element, in document order. */
export const elementNames = (xml: string, root: string): Array<string> => {
  const start = xml.indexOf(`<${root}`)
  const body = xml.slice(xml.indexOf(">", start) + 1, xml.lastIndexOf(`</${root}>`))
  const names: Array<string> = []
  let depth = 0
  for (const m of body.matchAll(/<(\/?)([A-Za-z:]+)[^>]*?(\/?)>/g)) {
    if (m[1] === "/") depth--
    else {
      if (depth === 0) names.push(m[2]!)
      if (m[3] !== "/") depth++
    }
  }
  return names
}

/** Creates a job through the binding, answering its id. */
export const createJob = async (f: Fixture, pairs: Record<string, string> = {}, user?: string): Promise<string> => {
  const init = form(pairs)
  const res = await f.call("/jobs", { ...init, headers: user === undefined ? {} : { "x-user": user } })
  if (res.status !== 303) throw new Error(`creation answered ${res.status}: ${await res.text()}`)
  return res.headers.get("location")!.split("/").pop()!
}

/** Waits (blocking WAIT) until the job leaves the active phases. */
export const settled = async (f: Fixture, jobId: string, user?: string): Promise<string> => {
  for (let i = 0; i < 50; i++) {
    const res = await f.call(`/jobs/${jobId}?WAIT=-1`, { headers: { accept: "application/json", ...(user === undefined ? {} : { "x-user": user }) } })
    const job = (await res.json()) as { phase: string }
    if (!["PENDING", "QUEUED", "EXECUTING"].includes(job.phase)) return job.phase
  }
  throw new Error("the job did not settle")
}
