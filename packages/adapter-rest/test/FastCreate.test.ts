/**
 * The Node listener creates a job from a small urlencoded form itself (no platform request, no
 * router). Seen from a client it must be the app's answer exactly, valid request or not: generated
 * requests (routes, media types, forms good and bad, callers, other sites' pages, quotas) go to
 * two bindings over two identical services, one with the fast path and one on a host runtime
 * (which turns it off), behind one server (the same origin in every URL); the status, the
 * headers but the date and the body must be equal byte for byte, request after request.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import { Identity, JobStore, Uws } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import { propertyRuns } from "@uws-kit/core/testing"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { steerable } from "./support.js"

const GENERAL = "x-general"
const untraced = Effect.runSync(Effect.locally(Effect.runtime<never>(), HttpMiddleware.currentTracerDisabledWhen, () => true))

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))

/** `x-user`: absent = anonymous, `nobody` is refused, `later` is known only asynchronously. */
const identifyNode = (req: IncomingMessage): Caller | Promise<Caller> => {
  const user = req.headers["x-user"]
  if (user === "nobody") throw new Error("no such user")
  if (user === "later") return Promise.resolve(Identity.user("carol"))
  return typeof user === "string" ? Identity.user(user) : Identity.anonymous
}

/** Small quotas, so that generated sequences reach them. */
const policy = { maxStoredJobs: 6, maxActiveJobsPerOwner: 3, maxParametersPerJob: 3 }

const pair = async () => {
  const make = async (runtime?: typeof untraced) => {
    let n = 0
    const started = await Uws.start({ worker: steerable, jobStore: JobStore.makeMemory(), makeJobId: () => `job${++n}`, policy })
    const adapter = RestAdapter.makeRestAdapter({
      service: started.service,
      basePath: "/uws",
      identifyNode,
      allowedOrigins: ["https://portal.example"],
      ...(runtime === undefined ? {} : { runtime })
    })
    return { started, adapter }
  }
  const fast = await make()
  const general = await make(untraced)
  const server = createServer((req, res) => (req.headers[GENERAL] === undefined ? fast : general).adapter.listener(req, res))
  const url = await listen(server)
  const close = async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    for (const side of [fast, general]) {
      await side.adapter.dispose()
      await side.started.close()
    }
  }
  return { url, close }
}

const NAMES = ["TEXT", "PHASE", "RUNID", "DESTRUCTION", "EXECUTIONDURATION", "A", "text", "Phase", ""]
const VALUES = ["RUN", "SUSPEND", "x < y & z", "2030-01-01T00:00:00Z", "yesterday", "10", "-1", "é", ""]

const form = fc
  .array(fc.tuple(fc.constantFrom(...NAMES), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 6 }))), { maxLength: 6 })
  // Every job blocks once run, so that both services hold the same active jobs whatever the timing.
  .map((pairs) => new URLSearchParams([["MODE", "block"], ...pairs]).toString())

const body = fc.oneof(
  { weight: 4, arbitrary: form },
  fc.constantFrom("", "A=%ZZ", "A=%C3%28", "=x", "A=1&&B=2", "A=1;B=2", "A+B=c+d", "%", "MODE=block&PHASE=RUN&PHASE=RUN", "a=".repeat(30)),
  fc.string({ maxLength: 20 })
)

const request = fc.record({
  path: fc.constantFrom("/uws/jobs", "/uws/jobs", "/uws/jobs", "/uws/JOBS", "/uws/jobs/", "/uws/jobs?", "/uws/jobs?PHASE=RUN", "/uws/jobs/job1", "/uws/nothing", "/uws/jobs/%FF"),
  method: fc.constantFrom("POST", "POST", "POST", "PUT"),
  contentType: fc.constantFrom(
    undefined,
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "Application/X-WWW-Form-Urlencoded;charset=utf8",
    "application/x-www-form-urlencoded; charset=latin1",
    "text/plain",
    "multipart/form-data"
  ),
  body,
  user: fc.constantFrom(undefined, "alice", "alice", "bob", "nobody", "later"),
  origin: fc.constantFrom(undefined, undefined, "https://evil.example", "https://portal.example", "null"),
  site: fc.constantFrom(undefined, undefined, "cross-site", "same-origin", "none"),
  accept: fc.constantFrom(undefined, "application/json", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/xml")
})

type Generated = typeof request extends fc.Arbitrary<infer A> ? A : never

/** Status, headers but the date, and body: what a client can tell apart. */
const seen = async (res: Response) => ({ status: res.status, headers: [...res.headers].filter(([k]) => k !== "date"), body: await res.text() })

const send = (url: string, r: Generated, general: boolean) => {
  const headers: Record<string, string> = {}
  if (r.contentType !== undefined) headers["content-type"] = r.contentType
  if (r.user !== undefined) headers["x-user"] = r.user
  if (r.origin !== undefined) headers["origin"] = r.origin
  if (r.site !== undefined) headers["sec-fetch-site"] = r.site
  if (r.accept !== undefined) headers["accept"] = r.accept
  if (general) headers[GENERAL] = "1"
  return fetch(`${url}${r.path}`, { method: r.method, body: r.body, headers, redirect: "manual" })
}

describe("a job creation answered by the Node listener", () => {
  it("is the app's answer, byte for byte, for generated requests valid and invalid", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 12 }), async (requests) => {
        const { url, close } = await pair()
        try {
          for (const r of requests) {
            const fast = await seen(await send(url, r, false))
            const app = await seen(await send(url, r, true))
            expect(fast).toEqual(app)
          }
        } finally {
          await close()
        }
      }),
      { numRuns: propertyRuns(40) }
    )
  })

  it("creates, refuses a bad form, too many fields and a quota as the app does (examples)", async () => {
    const { url, close } = await pair()
    try {
      const statuses: Array<number> = []
      const base: Generated = {
        path: "/uws/jobs",
        method: "POST",
        contentType: "application/x-www-form-urlencoded",
        body: "MODE=block&TEXT=hi",
        user: "alice",
        origin: undefined,
        site: undefined,
        accept: undefined
      }
      for (const r of [base, { ...base, body: "A=%C3%28" }, { ...base, body: "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17&r=18&s=19&t=20" }, ...Array.from({ length: 7 }, () => base)]) {
        const fast = await seen(await send(url, r, false))
        expect(fast).toEqual(await seen(await send(url, r, true)))
        statuses.push(fast.status)
      }
      // Created, a form that is not UTF-8, too many fields, then created until alice's quota of
      // active jobs (3) refuses.
      expect(statuses.slice(0, 3)).toEqual([303, 400, 413])
      expect(statuses.slice(3, 5)).toEqual([303, 303])
      expect(statuses.slice(5)).toEqual([403, 403, 403, 403, 403])
    } finally {
      await close()
    }
  })

  it("answers PHASE=RUN/ABORT and DELETE of a job as the app does, for generated sequences", async () => {
    const change = fc.record({
      path: fc.constantFrom("/uws/jobs", "/uws/jobs/job1", "/uws/jobs/job2", "/uws/jobs/job9", "/uws/jobs/job1/phase", "/uws/jobs/job2/PHASE", "/uws/jobs/job2/phase?x=1", "/uws/jobs/job1/phase/"),
      method: fc.constantFrom("POST", "POST", "DELETE", "DELETE", "PUT"),
      contentType: fc.constantFrom(undefined, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "text/plain"),
      body: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom("PHASE=RUN", "PHASE=ABORT", "phase=run", "PHASE=SUSPEND", "PHASE=RUN&PHASE=ABORT", "", "MODE=block&TEXT=hi", "PHASE=%ZZ") },
        form
      ),
      user: fc.constantFrom(undefined, "alice", "bob", "nobody"),
      origin: fc.constantFrom(undefined, undefined, "https://evil.example"),
      site: fc.constantFrom(undefined, undefined, "cross-site"),
      accept: fc.constantFrom(undefined, "application/json", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    })
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 14 }), async (requests) => {
        const { url, close } = await pair()
        try {
          for (const r of requests) {
            // A DELETE carries no body (fetch would send an empty one with a length).
            const sent = (r.method === "DELETE" ? { ...r, body: undefined, contentType: undefined } : r) as unknown as Generated
            const fast = await seen(await send(url, sent, false))
            const app = await seen(await send(url, sent, true))
            expect(fast).toEqual(app)
          }
        } finally {
          await close()
        }
      }),
      { numRuns: propertyRuns(40) }
    )
  })

  it("answers a GET of a job with a query (WAIT, PHASE) as the app does, and a hang-up ends the wait", async () => {
    const { url, close } = await pair()
    try {
      const create: Generated = {
        path: "/uws/jobs",
        method: "POST",
        contentType: "application/x-www-form-urlencoded",
        body: "MODE=block",
        user: "alice",
        origin: undefined,
        site: undefined,
        accept: undefined
      }
      for (const general of [false, true]) expect((await send(url, create, general)).status).toBe(303)
      const queries = ["?WAIT=0", "?wait=0&PHASE=PENDING", "?WAIT=0&PHASE=EXECUTING", "?WAIT=1&PHASE=EXECUTING", "?WAIT=abc", "?WAIT=0&PHASE=X", "?WAIT=0&PHASE=PENDING&PHASE=QUEUED", "?A=%ZZ", "?", "?WAIT=0&x"]
      for (const query of queries) {
        for (const user of ["alice", "bob", undefined] as const) {
          for (const accept of [undefined, "application/json", "text/html"]) {
            const r: Generated = { ...create, path: `/uws/jobs/job1${query}` as Generated["path"], method: "GET" as Generated["method"], body: undefined as unknown as string, contentType: undefined, user, accept: accept as Generated["accept"] }
            // The two services created their job1 a few ms apart: instants aside.
            const instantsAside = (a: Awaited<ReturnType<typeof seen>>) => ({ ...a, body: a.body.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<instant>") })
            const fast = instantsAside(await seen(await send(url, r, false)))
            expect(fast).toEqual(instantsAside(await seen(await send(url, r, true))))
          }
        }
      }
      // A client that gives up on a blocked WAIT: the service is not held (the next answer comes at once).
      const gone = new AbortController()
      const blocked = fetch(`${url}/uws/jobs/job1?WAIT=30`, { headers: { "x-user": "alice" }, signal: gone.signal }).catch(() => "aborted")
      await new Promise((resolve) => setTimeout(resolve, 100))
      gone.abort()
      expect(await blocked).toBe("aborted")
      expect((await fetch(`${url}/uws/jobs/job1?WAIT=0`, { headers: { "x-user": "alice" } })).status).toBe(200)
    } finally {
      await close()
    }
  })
})
