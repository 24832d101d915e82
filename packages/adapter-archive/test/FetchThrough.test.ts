/**
 * Serve if stored, else fetch, against a real upstream HTTP server on loopback that counts its
 * hits: a stored document is served at once; one not stored answers 202 and is fetched once,
 * however many ask at the same time; each way an upstream can fail ends the fetch in ERROR with
 * its reason and leaves nothing behind (no container, no stored object, no spool file); the
 * retention tiers (Permanent, Cache with its time to live ended by the core's reaper).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { FetchThrough, HttpUpstream, MemoryStorage, Upstream } from "@uws-kit/adapter-archive"
import { Identity, JobStore } from "@uws-kit/core"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { isErrorEnvelope, makeHarness, seedForm, type Harness } from "./support/harness.js"
import { closedPort, sha256, startUpstream, type Upstream as UpstreamServer } from "./support/upstream.js"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Setup {
  readonly h: Harness
  readonly memory: MemoryStorage.MemoryStorage
  readonly spool: string
  readonly upstream: UpstreamServer
  readonly get: (p: string, headers?: Record<string, string>) => Promise<Response>
  readonly job: (identifier: string) => Promise<{ phase: string; error: string | null }>
}

const setup = async (
  options: {
    readonly parameters?: Record<string, string>
    /** Further upstreams, asked after the test's server. */
    readonly more?: ReadonlyArray<{ name: string; parameters: Record<string, string> }>
    readonly first?: ReadonlyArray<{ name: string; parameters: Record<string, string> }>
    readonly retryAfter?: number
  } = {}
): Promise<Setup> => {
  const upstream = await startUpstream()
  cleanups.push(upstream.close)
  const spool = await fs.mkdtemp(path.join(os.tmpdir(), "uws-fetch-spool-"))
  cleanups.push(() => fs.rm(spool, { recursive: true, force: true }))
  const declared = [...(options.first ?? []), { name: "local", parameters: { UrlTemplate: `${upstream.url}/{path}`, ...options.parameters } }, ...(options.more ?? [])]
  const upstreams = await Promise.all(declared.map((u) => Effect.runPromise(Upstream.host(u.name, HttpUpstream.make(), u.parameters))))
  cleanups.push(async () => {
    for (const u of upstreams) await Effect.runPromise(Effect.ignore(u.dispose))
  })
  const memory = MemoryStorage.make()
  const h = await makeHarness({
    storages: [{ name: "memory", plugin: memory }],
    archive: { concurrency: 4, fetch: { upstreams, spoolDirectory: spool, retryAfter: options.retryAfter ?? 60_000 } }
  })
  cleanups.push(h.close)
  return {
    h,
    memory,
    spool,
    upstream,
    get: (p, headers = {}) => h.call("GET", p, undefined, headers),
    job: async (identifier) => {
      const job = await Effect.runPromise(h.archive.uws.get(Identity.system, FetchThrough.containerIdOf(identifier)))
      return { phase: job.phase, error: job.errorSummary?.message ?? null }
    }
  }
}

const bytes = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff)

describe("serve if stored, else fetch", () => {
  it("answers 202 with the fetch's URL, then serves the document and keeps it: the upstream is asked once", async () => {
    const s = await setup()
    const doc = bytes(200_000)
    s.upstream.documents.set("10.1000/xyz123", doc)
    const first = await s.get("/api/fetch/10.1000/xyz123")
    expect(first.status).toBe(202)
    const id = FetchThrough.containerIdOf("10.1000/xyz123")
    expect(first.headers.get("location")).toBe(`/api/fetch-status/${id}`)
    const body = (await first.json()) as any
    expect(body.data).toMatchObject({ id, state: "fetching", job: `/api/fetch-status/${id}`, document: "/api/fetch/10.1000/xyz123" })

    const status = (await (await s.get(`/api/fetch-status/${id}?WAIT=20`)).json()) as any
    expect(status.data).toMatchObject({ state: "stored", saveType: "Permanent", archiveUntilDate: null, container: `/api/document/${id}` })

    const served = await s.get("/api/fetch/10.1000/xyz123")
    expect(served.status).toBe(200)
    expect(served.headers.get("content-type")).toBe("application/pdf")
    expect(served.headers.get("content-length")).toBe(String(doc.length))
    expect(served.headers.get("etag")).toBe(`"${sha256(doc)}"`)
    expect(served.headers.get("content-security-policy")).toMatch(/sandbox/)
    expect(sha256(new Uint8Array(await served.arrayBuffer()))).toBe(sha256(doc))
    // Percent-encoded the same: the same document, from the store.
    expect((await s.get("/api/fetch/10.1000%2Fxyz123")).status).toBe(200)
    expect(s.upstream.hits.get("10.1000/xyz123")).toBe(1)

    // A container like any other: its detail, its retention tier, its hash.
    const detail = await s.h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "admin" })
    expect(detail.body.data).toMatchObject({ name: "10.1000/xyz123", saveType: 2, saveTypeName: "Permanent", archiveUntilDate: null, status: 4, upgrade: { state: "not-configured" } })
    expect(detail.body.data.hashes).toEqual([{ of: "document", algorithm: "SHA-256", encoding: "base64", value: Buffer.from(sha256(doc), "hex").toString("base64") }])
    expect(await fs.readdir(s.spool)).toEqual([])
  })

  it("starts one fetch for 25 concurrent identical requests (one upstream hit), and all of them get the document", async () => {
    const s = await setup()
    const doc = bytes(50_000, 3)
    s.upstream.documents.set("paper/42", doc)
    const held = s.upstream.hold()
    const asked = await Promise.all(Array.from({ length: 25 }, () => s.get("/api/fetch/paper/42")))
    expect(asked.map((r) => r.status)).toEqual(Array(25).fill(202))
    expect(new Set(asked.map((r) => r.headers.get("location"))).size).toBe(1)
    // Waiting requests join the same fetch too.
    const waiting = Promise.all(Array.from({ length: 10 }, () => s.get("/api/fetch/paper/42?WAIT=20")))
    await new Promise((resolve) => setTimeout(resolve, 100))
    held.release()
    const answered = await waiting
    expect(answered.map((r) => r.status)).toEqual(Array(10).fill(200))
    for (const r of answered) expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(sha256(doc))
    expect(s.upstream.hits.get("paper/42")).toBe(1)
    expect(s.memory.locators()).toHaveLength(1)
  })

  it("asks the upstreams in declared order: one without the document, one failing, then one that has it", async () => {
    const other = await startUpstream()
    cleanups.push(other.close)
    const s = await setup({
      first: [
        { name: "empty", parameters: { UrlTemplate: `${other.url}/{id}` } },
        { name: "down", parameters: { UrlTemplate: `http://127.0.0.1:${await closedPort()}/{id}` } }
      ]
    })
    s.upstream.documents.set("book", bytes(1000))
    const r = await s.get("/api/fetch/book?WAIT=20")
    expect(r.status).toBe(200)
    expect(other.hits.get("book")).toBe(1)
    expect(s.upstream.hits.get("book")).toBe(1)
  })
})

describe("upstream failures end the fetch in ERROR with the reason and keep nothing", () => {
  const cases: ReadonlyArray<{ name: string; identifier: string; parameters?: Record<string, string>; unreachable?: boolean; reason: RegExp }> = [
    { name: "404", identifier: "not/there", reason: /local: does not have it/ },
    { name: "unreachable", identifier: "any", unreachable: true, reason: /cannot be reached: .*ECONNREFUSED/ },
    { name: "500", identifier: "broken/1", reason: /answered HTTP 500/ },
    { name: "stalled mid-body", identifier: "stall/1", parameters: { TimeoutSeconds: "1" }, reason: /nothing came for 1 s after 1000 bytes/ },
    { name: "no answer at all", identifier: "silent/1", parameters: { TimeoutSeconds: "1" }, reason: /local: did not answer within 1s/ },
    { name: "shorter than announced", identifier: "short/1", reason: /broke off after \d+ bytes|announced 100000 bytes and sent 5000/ },
    { name: "larger than MaxBytes, no length announced", identifier: "big/1", parameters: { MaxBytes: "100000" }, reason: /sent more than the 100000 bytes taken/ },
    { name: "announces more than MaxBytes", identifier: "announced-big/1", parameters: { MaxBytes: "100000" }, reason: /announces 10000000 bytes, more than the 100000 taken/ },
    { name: "bytes not matching its own digest", identifier: "bad-digest/1", reason: /do not match the SHA-256 it announced/ },
    { name: "bytes not matching the content hash asked for", identifier: `sha256:${sha256(new TextEncoder().encode("hello"))}`, reason: /are not the document asked for/ }
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const s = await setup({ parameters: { ...(c.unreachable === true ? { UrlTemplate: `http://127.0.0.1:${await closedPort()}/{path}` } : {}), ...c.parameters } })
      const url = `/api/fetch/${c.identifier}?WAIT=20`
      const r = await s.get(url)
      const body = (await r.json()) as any
      expect(r.status).toBe(502)
      expect(isErrorEnvelope(body, "FetchFailed")).toBe(true)
      expect(body.errorDescription).toMatch(c.reason)
      expect(body.errorDescription).not.toMatch(/\bjob\b/i)
      expect(r.headers.get("retry-after")).toMatch(/^\d+$/)
      const job = await s.job(c.identifier)
      expect(job.phase).toBe("ERROR")
      expect(job.error).toMatch(c.reason)
      // Nothing kept: no stored object, no spool file, no container to see or find.
      expect(s.memory.locators()).toEqual([])
      expect(await fs.readdir(s.spool)).toEqual([])
      const id = FetchThrough.containerIdOf(c.identifier)
      expect((await s.h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "admin" })).status).toBe(404)
      expect((await s.h.json("POST", "/api/document/search", JSON.stringify({}), { "content-type": "application/json", "x-caller": "admin" })).body.data.totalRecords).toBe(0)
      // Asked again before retryAfter: the same answer, the upstream not asked again.
      const hits = s.upstream.total()
      const again = await s.get(url)
      expect(again.status).toBe(502)
      expect(s.upstream.total()).toBe(hits)
    }, 20_000)
  }

  it("fetches again once retryAfter has passed since the failure", async () => {
    const s = await setup({ retryAfter: 200 })
    expect((await s.get("/api/fetch/later?WAIT=20")).status).toBe(502)
    s.upstream.documents.set("later", bytes(100))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const r = await s.get("/api/fetch/later?WAIT=20")
    expect(r.status).toBe(200)
    expect(s.upstream.hits.get("later")).toBe(2)
  })

  it("forgets failed fetches once they may be tried again (at start, then periodically): the job list holds containers only", async () => {
    const upstream = await startUpstream()
    cleanups.push(upstream.close)
    const jobStore = JobStore.makeMemory()
    const start = async () => {
      const u = await Effect.runPromise(Upstream.host("local", HttpUpstream.make(), { UrlTemplate: `${upstream.url}/{path}` }))
      const h = await makeHarness({ storages: [{ name: "memory", plugin: MemoryStorage.make() }], archive: { jobStore, fetch: { upstreams: [u], retryAfter: 0 } } })
      return { h, close: async () => (await h.close(), await Effect.runPromise(Effect.ignore(u.dispose))) }
    }
    const first = await start()
    expect((await first.h.call("GET", "/api/fetch/gone?WAIT=20")).status).toBe(502)
    await first.close()
    expect(await Effect.runPromise(jobStore.count({ phases: ["ERROR"] }))).toBe(1)
    const second = await start()
    cleanups.push(second.close)
    for (let i = 0; i < 100 && (await Effect.runPromise(jobStore.count({ phases: ["ERROR"] }))) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await Effect.runPromise(jobStore.count({ phases: ["ERROR"] }))).toBe(0)
  })

  it("a fetch cannot be started by creating its container job directly", async () => {
    const s = await setup()
    s.upstream.documents.set("x", bytes(10))
    const job = await Effect.runPromise(
      s.h.archive.uws.create(Identity.anonymous, { parameters: [{ name: FetchThrough.IdentifierParam, value: "x" }, { name: "ContainerName", value: "x" }, { name: "SaveType", value: "Permanent" }, { name: "StorageId", value: "4" }], run: true })
    )
    await s.h.settle()
    const after = await Effect.runPromise(s.h.archive.uws.get(Identity.system, job.jobId))
    expect(after.phase).toBe("ERROR")
    expect(after.errorSummary?.message).toMatch(/is fetched by asking the archive for it/)
    expect(s.upstream.total()).toBe(0)
  })

  it("refuses bad identifiers with the archive's envelope", async () => {
    const s = await setup()
    for (const p of ["/api/fetch/", "/api/fetch/a%00b", `/api/fetch/${"x".repeat(1100)}`]) {
      const r = await s.h.json("GET", p)
      expect(r.status, p).toBe(400)
      expect(isErrorEnvelope(r.body, "InvalidArgument")).toBe(true)
    }
    expect((await s.h.json("GET", "/api/fetch/x?WAIT=soon")).status).toBe(400)
    expect((await s.h.json("GET", "/api/fetch-status/fetch-nothing")).body.errorCode).toBe("DocumentNotFound")
    expect(s.upstream.total()).toBe(0)
  })
})

describe("retention tiers", () => {
  it("Cache: kept for its time to live, then deleted by the reaper, and fetched again when asked", async () => {
    const s = await setup({ parameters: { Retention: "Cache", CacheTtlSeconds: "1" } })
    const doc = bytes(3000)
    s.upstream.documents.set("cached", doc)
    const before = Date.now()
    expect((await s.get("/api/fetch/cached?WAIT=20")).status).toBe(200)
    const id = FetchThrough.containerIdOf("cached")
    const detail = await s.h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "admin" })
    expect(detail.body.data).toMatchObject({ saveType: 3, saveTypeName: "Cache", isAvailable: true })
    const until = Date.parse(detail.body.data.archiveUntilDate)
    expect(until).toBeGreaterThanOrEqual(before + 1000)
    expect(until).toBeLessThan(Date.now() + 1000)
    const cacheSearch = await s.h.json("POST", "/api/document/search", JSON.stringify({ filters: { saveType: "Cache" } }), { "x-caller": "admin" })
    expect(cacheSearch.body.data.totalRecords).toBe(1)
    // The reaper archives the job at its destruction time; the archive then deletes the document.
    for (let i = 0; i < 100 && ((await s.job("cached")).phase !== "ARCHIVED" || s.memory.locators().length > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect((await s.job("cached")).phase).toBe("ARCHIVED")
    expect(s.memory.locators()).toEqual([])
    const ended = await s.h.json("GET", `/api/document/${id}`, undefined, { "x-caller": "admin" })
    expect(ended.body.data).toMatchObject({ saveTypeName: "Cache", isAvailable: false, status: 5 })
    // Asked again: fetched again.
    const again = await s.get("/api/fetch/cached?WAIT=20")
    expect(again.status).toBe(200)
    expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(sha256(doc))
    expect(s.upstream.hits.get("cached")).toBe(2)
  })

  it("an upload may be a Cache (6 h by default, or until its ArchiveDate); the search filters by tier", async () => {
    const s = await setup()
    const post = (fields: Record<string, string>) => s.h.json("POST", "/api/document/content", seedForm(fields), { "x-caller": "4" })
    const t = Date.now()
    const cache = await post({ SaveType: "Cache" })
    expect(cache.status).toBe(200)
    const until = await post({ SaveType: "3", ArchiveDate: "2099-01-01T00:00:00Z" })
    expect(until.status).toBe(200)
    await post({ SaveType: "Permanent" })
    await s.h.settle()
    const d = await s.h.json("GET", `/api/document/${cache.body.data}`, undefined, { "x-caller": "4" })
    expect(d.body.data.saveTypeName).toBe("Cache")
    const ttlEnd = Date.parse(d.body.data.archiveUntilDate)
    expect(ttlEnd).toBeGreaterThanOrEqual(t + 6 * 3_600_000)
    expect(ttlEnd).toBeLessThan(Date.now() + 6 * 3_600_000 + 1000)
    expect((await s.h.json("GET", `/api/document/${until.body.data}`, undefined, { "x-caller": "4" })).body.data.archiveUntilDate).toBe("2099-01-01T00:00:00.000Z")
    const search = (saveType: unknown) => s.h.json("POST", "/api/document/search", JSON.stringify({ filters: { saveType } }), { "x-caller": "4" })
    expect((await search("Cache")).body.data.totalRecords).toBe(2)
    expect((await search(2)).body.data.totalRecords).toBe(1)
    const bad = await search("Forever")
    expect(bad.status).toBe(400)
    expect(bad.body.errorDescription).toMatch(/saveType must be Temporary, Permanent or Cache/)
  })
})

describe("for a browser", () => {
  it("answers a page that waits on the fetch (script allowed by its hash only, a refresh without script)", async () => {
    const s = await setup()
    s.upstream.documents.set("10.1/page", bytes(10))
    const held = s.upstream.hold()
    const r = await s.get("/api/fetch/10.1/page", { accept: "text/html,application/xhtml+xml", "sec-fetch-dest": "document" })
    expect(r.status).toBe(202)
    expect(r.headers.get("content-type")).toMatch(/^text\/html/)
    expect(r.headers.get("location")).toBe(`/api/fetch-status/${FetchThrough.containerIdOf("10.1/page")}`)
    expect(r.headers.get("content-security-policy")).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'.*connect-src 'self'/)
    const html = await r.text()
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>')
    expect(html).toContain(`data-status="/api/fetch-status/${FetchThrough.containerIdOf("10.1/page")}"`)
    expect(html).toContain('data-document="/api/fetch/10.1/page"')
    held.release()
  })
})
