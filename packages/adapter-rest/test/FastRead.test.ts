/**
 * The Node listener answers a plain GET of a job or its phase the store holds in memory without
 * running the app (no effect, no store read, the job rendered once per version), and a plain GET
 * of a stored result through the app's handler without the platform. Seen from a client it must be
 * the app's answer exactly, with the same rules: these tests compare it with the app's own answer
 * to the same request, given by a second binding of the same service on a host runtime (which
 * turns the fast path off), behind the same server so that both see the same origin. (An empty
 * query string cannot force the app: fetch drops a bare `?`, so both requests took the fast path.)
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Content, Errors, Identity, JobStore, ResultStore, Uws } from "@uws-kit/core"
import type { Caller } from "@uws-kit/core/Identity"
import { RestAdapter } from "@uws-kit/adapter-rest"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import { Effect, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { steerable } from "./support.js"

const open: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close()
})

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))

const GENERAL = "x-general"
/** A host runtime as the binding's own default is (untraced): only the fast path differs. */
const untraced = Effect.runSync(Effect.locally(Effect.runtime<never>(), HttpMiddleware.currentTracerDisabledWhen, () => true))

/** The same request to the binding's general path (the app). */
const viaApp = (target: string, init: RequestInit = {}) =>
  fetch(target, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), [GENERAL]: "1" } })

/** A REST binding over a memory store whose reads are counted, served by node:http. */
const serve = async (
  rest: Partial<RestAdapter.RestOptions> = {},
  hostCaller?: (req: IncomingMessage) => Caller | undefined,
  resultStore?: ResultStore.ResultStoreService
) => {
  const memory = JobStore.makeMemory()
  let reads = 0
  const jobStore: JobStore.JobStoreService = { ...memory, get: (jobId) => Effect.suspend(() => (reads++, memory.get(jobId))) }
  let n = 0
  const started = await Uws.start({ worker: steerable, jobStore, makeJobId: () => `job${++n}`, ...(resultStore === undefined ? {} : { resultStore }) })
  const adapter = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws", ...rest })
  const general = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws", ...rest, runtime: untraced })
  // `x-general: 1` sends a request to the binding without the fast path.
  const server = createServer((req, res) => {
    const caller = hostCaller?.(req)
    ;(req.headers[GENERAL] === undefined ? adapter : general).listener(req, res, caller === undefined ? undefined : { caller })
  })
  const url = await listen(server)
  open.push(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await adapter.dispose()
    await general.dispose()
    await started.close()
  })
  return { url, service: started.service, reads: () => reads }
}

/**
 * Status, headers but the date, and body: what a client can tell apart. The HTML page's
 * `data-now` is, like `Date`, the moment of answering (the live page's clock reference).
 */
const seen = async (res: Response) => {
  const headers = [...res.headers].filter(([k]) => k !== "date")
  return { status: res.status, headers, body: (await res.text()).replace(/ data-now="[^"]*"/, ' data-now="…"') }
}

const create = async (url: string, init: RequestInit = {}) => {
  const res = await fetch(`${url}/uws/jobs`, { method: "POST", body: new URLSearchParams({ TEXT: "hi <&>" }), redirect: "manual", ...init })
  expect(res.status).toBe(303)
  return res.headers.get("location")!
}

const ACCEPTS = [undefined, "*/*", "application/json", "text/xml", "application/xml;q=0.5, application/json", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]

describe("a plain GET of a job (or its phase) held in memory", () => {
  it("is the app's answer, byte for byte, in every representation and after every change, without reading the store", async () => {
    const { url, reads } = await serve()
    const job = await create(url)
    const compare = async () => {
      for (const target of [job, `${job}/phase`, `${job}/PHASE`])
        for (const accept of ACCEPTS) {
          const init = accept === undefined ? {} : { headers: { accept } }
          const before = reads()
          const fast = await seen(await fetch(target, init))
          expect(reads()).toBe(before)
          // The general path reads the store: proof that it is the other path answering.
          const app = await seen(await viaApp(target, init))
          expect(reads()).toBeGreaterThan(before)
          expect(fast).toEqual(app)
          expect(fast.status).toBe(200)
        }
    }
    await compare()
    // A new version is rendered anew: the answers follow the job.
    expect((await fetch(`${job}/phase`, { method: "POST", body: new URLSearchParams({ PHASE: "RUN" }), redirect: "manual" })).status).toBe(303)
    for (let i = 0; i < 100 && !(await (await fetch(`${job}/phase`)).text()).startsWith("COMPLETED"); i++) await new Promise((r) => setTimeout(r, 20))
    const xml = await (await fetch(job)).text()
    expect(xml).toContain("<uws:phase>COMPLETED</uws:phase>")
    expect(xml).toContain("/results/result")
    await compare()
  })

  it("carries the URLs of each request's own origin (forwarded hosts when trusted)", async () => {
    const { url } = await serve({ trustForwarded: true })
    const job = await create(url)
    const path = new URL(job).pathname
    for (const host of ["a.example", "b.example:8443", "a.example"]) {
      const res = await fetch(`${url}${path}`, { headers: { "x-forwarded-host": host, "x-forwarded-proto": "https", accept: "application/json" } })
      expect(((await res.json()) as { href: string }).href).toBe(`https://${host}${path}`)
    }
  })

  it("keeps the rules: another owner's job is 403, an unknown job 404, a refused caller 401 — each caller identified once", async () => {
    let identified = 0
    const identifyNode = (req: IncomingMessage): Caller | Promise<Caller> => {
      identified++
      const user = req.headers["x-user"]
      if (user === "nobody") throw new Error("no such user")
      if (user === "later") return Promise.resolve(Identity.user("alice"))
      return typeof user === "string" ? Identity.user(user) : Identity.anonymous
    }
    const { url } = await serve({ identifyNode })
    const job = await create(url, { headers: { "x-user": "alice" } })
    const requests: Array<[Record<string, string>, string, number]> = [
      [{ "x-user": "alice" }, job, 200],
      [{ "x-user": "later" }, job, 200],
      [{ "x-user": "bob" }, job, 403],
      [{}, job, 403],
      [{ "x-user": "alice" }, `${job}x`, 404],
      [{ "x-user": "nobody" }, job, 401]
    ]
    identified = 0
    requests.push(...requests.map(([headers, target, status]): [Record<string, string>, string, number] => [headers, `${target}/phase`, status]))
    for (const [headers, target, status] of requests) {
      const fast = await fetch(target, { headers })
      const app = await viaApp(target, { headers })
      expect([fast.status, app.status]).toEqual([status, status])
      expect(await fast.text()).toBe(await app.text())
    }
    expect(identified).toBe(requests.length * 2)
  })

  it("takes the caller the host passes with the request", async () => {
    const { url } = await serve({}, (req) => (req.headers["x-host-user"] === undefined ? undefined : Identity.user(String(req.headers["x-host-user"]))))
    const job = await create(url, { headers: { "x-host-user": "carol" } })
    expect((await fetch(job, { headers: { "x-host-user": "carol" } })).status).toBe(200)
    expect((await fetch(job, { headers: { "x-host-user": "dave" } })).status).toBe(403)
    expect((await fetch(job)).status).toBe(403)
  })

  it("is the app's 503 once the binding is disposed", async () => {
    const memory = JobStore.makeMemory()
    const started = await Uws.start({ worker: steerable, jobStore: memory })
    const adapter = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/uws" })
    const server = createServer(adapter.listener)
    const url = await listen(server)
    open.push(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await started.close()
    })
    const job = await create(url)
    await adapter.dispose()
    const res = await fetch(job)
    expect(res.status).toBe(503)
    expect(res.headers.get("retry-after")).toBe("5")
  })
})

/**
 * A memory result store that hands out its contents as a store on disk would, streamed, not in
 * memory: each content `times` times over, in pieces of one copy (counted in `pulled`, as the streams ended); a
 * content whose text starts with `echo fail` fails after its first piece.
 */
const streamingStore = (times: number, pulled = { n: 0, ended: 0 }): ResultStore.ResultStoreService => {
  const memory = ResultStore.makeMemory()
  const copies = (content: ResultStore.StoredContent, bytes: Uint8Array): ResultStore.StoredContent => {
    const pieces = Stream.map(Stream.range(1, times), () => (pulled.n++, bytes)).pipe(Stream.ensuring(Effect.sync(() => pulled.ended++)))
    const failing = Buffer.from(bytes.subarray(0, 9)).toString() === "echo fail"
    const failure = new Errors.StorageFailure({ operation: "read", reason: "the disk is gone" })
    return { size: content.size * times, mimeType: content.mimeType, stream: failing ? Stream.concat(Stream.take(pieces, 1), Stream.fail(failure)) : pieces }
  }
  return {
    ...memory,
    get: (jobId, key) =>
      Effect.flatMap(memory.get(jobId, key), (content) =>
        content === undefined ? Effect.succeed(undefined) : Effect.map(Stream.runCollect(content.stream), (chunks) => copies(content, Content.concat([...chunks])))
      )
  }
}

const runToEnd = async (url: string, job: string) => {
  expect((await fetch(`${job}/phase`, { method: "POST", body: new URLSearchParams({ PHASE: "RUN" }), redirect: "manual" })).status).toBe(303)
  for (let i = 0; i < 100 && !(await (await fetch(`${job}/phase`)).text()).startsWith("COMPLETED"); i++) await new Promise((r) => setTimeout(r, 20))
  expect(await (await fetch(`${job}/phase`)).text()).toBe("COMPLETED")
}

describe("a plain GET of a stored result", () => {
  it("is the app's answer, byte for byte: content, a result elsewhere (303), unknown results and jobs, any case of `results`", async () => {
    const { url } = await serve()
    const job = await create(url, { body: new URLSearchParams({ TEXT: "hi <&>", MODE: "two", HREF: "https://data.example/x.fits" }) })
    await runToEnd(url, job)
    const targets = ["results/result", "results/extra", "results/remote", "results/nothing", "RESULTS/result", "results/result/", "results/result%20"].map((t) => `${job}/${t}`)
    targets.push(`${job}x/results/result`, `${url}/uws/jobs/%ZZ/results/result`)
    for (const target of targets)
      for (const accept of ACCEPTS) {
        const init = { redirect: "manual" as const, ...(accept === undefined ? {} : { headers: { accept } }) }
        expect(await seen(await fetch(target, init)), `${target} ${accept}`).toEqual(await seen(await viaApp(target, init)))
      }
    expect((await fetch(`${job}/results/result`)).headers.get("content-type")).toBe("text/plain")
    expect(await (await fetch(`${job}/results/result`)).text()).toBe("echo hi <&>")
    expect((await fetch(`${job}/results/remote`, { redirect: "manual" })).headers.get("location")).toBe("https://data.example/x.fits")
  })

  it("keeps the rules: another owner's result is 403, a refused caller 401", async () => {
    const identifyNode = (req: IncomingMessage): Caller => {
      const user = req.headers["x-user"]
      if (user === "nobody") throw new Error("no such user")
      return typeof user === "string" ? Identity.user(user) : Identity.anonymous
    }
    const { url } = await serve({ identifyNode })
    const job = await create(url, { headers: { "x-user": "alice" } })
    expect((await fetch(`${job}/phase`, { method: "POST", body: new URLSearchParams({ PHASE: "RUN" }), redirect: "manual", headers: { "x-user": "alice" } })).status).toBe(303)
    for (let i = 0; i < 100 && (await fetch(`${job}/results/result`, { headers: { "x-user": "alice" } })).status !== 200; i++) await new Promise((r) => setTimeout(r, 20))
    for (const [headers, status] of [[{ "x-user": "alice" }, 200], [{ "x-user": "bob" }, 403], [{}, 403], [{ "x-user": "nobody" }, 401]] as const) {
      const fast = await seen(await fetch(`${job}/results/result`, { headers }))
      expect(fast.status).toBe(status)
      expect(fast).toEqual(await seen(await viaApp(`${job}/results/result`, { headers })))
    }
  })

  it("streams a result the store does not hold in memory, as the client takes it, and cuts the answer when the store fails", async () => {
    const { url } = await serve({}, undefined, streamingStore(300))
    const text = "x".repeat(10_000)
    const job = await create(url, { body: new URLSearchParams({ TEXT: text }) })
    await runToEnd(url, job)
    const whole = `echo ${text}`.repeat(300)
    const fast = await seen(await fetch(`${job}/results/result`))
    expect(fast.body.length).toBe(whole.length)
    expect(fast.body).toBe(whole)
    expect(fast).toEqual(await seen(await viaApp(`${job}/results/result`)))
    // A client reading slowly: the answer waits for it (drain) and arrives whole.
    const slow = await fetch(`${job}/results/result`)
    const reader = slow.body!.getReader()
    let received = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      received += value.length
      if (received < 200_000) await new Promise((r) => setTimeout(r, 5))
    }
    expect(received).toBe(whole.length)
    const broken = await create(url, { body: new URLSearchParams({ TEXT: `fail ${"y".repeat(10_000)}` }) })
    await runToEnd(url, broken)
    // Cut, not short: the client cannot take the first piece for the whole answer, nor wait for
    // the rest of its Content-Length (the platform's handler alone would leave it waiting).
    for (const read of [fetch, viaApp]) {
      const failed = await read(`${broken}/results/result`, { signal: AbortSignal.timeout(5_000) })
        .then((res) => res.text())
        .then(() => undefined, (e: Error) => e)
      expect(failed).toBeInstanceOf(Error)
      expect(failed!.name).not.toBe("TimeoutError")
    }
  })

  it("stops reading the store when the client hangs up", async () => {
    const pulled = { n: 0, ended: 0 }
    const { url } = await serve({}, undefined, streamingStore(100_000, pulled))
    const job = await create(url, { body: new URLSearchParams({ TEXT: "z".repeat(10_000) }) })
    await runToEnd(url, job)
    const aborting = new AbortController()
    const res = await fetch(`${job}/results/result`, { signal: aborting.signal })
    expect(res.headers.get("content-length")).toBe(String(10_005 * 100_000))
    await res.body!.getReader().read()
    aborting.abort()
    await new Promise((r) => setTimeout(r, 200))
    const after = pulled.n
    await new Promise((r) => setTimeout(r, 200))
    expect(pulled.n).toBe(after)
    expect(after).toBeLessThan(10_000)
    // The stream was ended (its resources released), not left waiting for a drain that never comes.
    expect(pulled.ended).toBe(1)
  })
})
