/**
 * The `space` application (issue 17, UWS v0.3 §3.3): the lease ends the space (TestClock), its
 * arithmetic stays within the policy, file names can never leave their space (fast-check), and
 * the files over HTTP answer their owner only (a second owner connects from 127.0.0.2).
 */
import { existsSync } from "node:fs"
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { request } from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Either, Layer, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Identity, JobStore, Policy, ResultStore, Uws } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"
import { fileName, leasePolicy, sizeOf, spaceUrl, vosId } from "../../examples/space/index.js"
import { spaceWorker } from "../../examples/space/worker.js"
import { startDemo, type Demo } from "../../examples/server.js"

const stores = Layer.merge(JobStore.layerMemory, ResultStore.layerMemory)
const owner = Identity.user("client:127.0.0.1")

describe("the lease (TestClock)", () => {
  it("a space lives until its termination time, extended within policy, and its files go with it", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "space-test-"))
    try {
      await Effect.runPromise(
        Effect.gen(function* () {
          const uws = yield* Uws.make({ worker: spaceWorker(root), policy: leasePolicy })
          const job = yield* uws.create(owner, { run: true, destruction: 60_000 })
          const done = yield* uws.waitForChange(owner, job.jobId, { timeout: "indefinitely", untilFinal: true })
          expect(done.phase).toBe("COMPLETED")
          expect(yield* uws.results(owner, job.jobId)).toEqual([{ id: "space", href: vosId(job.jobId) }])
          const folder = path.join(root, job.jobId)
          yield* Effect.promise(() => writeFile(path.join(folder, "a.txt"), "x"))
          // Extended to two minutes; asking past 7 days is clamped to them.
          expect((yield* uws.setDestruction(owner, job.jobId, 120_000)).destruction).toBe(120_000)
          yield* TestClock.adjust(60_000)
          expect(existsSync(path.join(folder, "a.txt"))).toBe(true)
          const far = (yield* uws.setDestruction(owner, job.jobId, 30 * 86_400_000)).destruction
          expect(far).toBe(7 * 86_400_000)
          yield* TestClock.adjust(7 * 86_400_000 - 60_001)
          expect(existsSync(folder)).toBe(true)
          yield* TestClock.adjust(1)
          // The reaper removes the folder with real file-system calls (the thread pool's): wait for
          // them, up to 10 s of real time. 500 turns of the loop were not always enough on a loaded
          // machine (1 in ~300 runs: the job destroyed, its folder not yet).
          for (const until = Date.now() + 10_000; existsSync(folder) && Date.now() < until; ) {
            yield* Effect.promise(() => new Promise((r) => setTimeout(r, 2)))
          }
          expect(existsSync(folder)).toBe(false)
          expect(Either.isLeft(yield* Effect.either(uws.get(owner, job.jobId)))).toBe(true)
        }).pipe(Effect.scoped, Effect.provide(stores), Effect.provide(TestContext.TestContext))
      )
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it("the lease arithmetic: a granted time is the one asked when within 7 days of creation, else exactly the limit; the past is refused", () => {
    const policy = Policy.make(leasePolicy)
    const max = 7 * 86_400_000
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 * max }), fc.integer({ min: -max, max: 3 * max }), (created, elapsed, ask) => {
        const now = created + elapsed
        const requested = now + ask
        const granted = Policy.destruction(policy, created, now, requested)
        if (requested <= now) return Either.isLeft(granted)
        if (Either.isLeft(granted)) return false
        return requested <= created + max ? granted.right === requested : granted.right === created + max
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("size: whole bytes from 1 to 64 MiB, else a message", () => {
    expect(sizeOf(undefined)).toBe(16 * 1024 * 1024)
    expect(sizeOf("1024")).toBe(1024)
    for (const bad of ["0", "-1", "1.5", "1e3", "", "67108865", "abc"]) expect(typeof sizeOf(bad)).toBe("string")
  })
})

describe("file names and identifiers", () => {
  const refused = ["..", ".", "../x", "a/b", "a\\b", "a\0b", "%2e%2e", "%2E%2E", "..%2f", "%2fetc", ".hidden", "", "x".repeat(129), "a b", "é"]
  it.each(refused)("refuses %j", (name) => expect(fileName(name).ok).toBe(false))

  it("never accepts a name that could leave its folder, however it is decoded", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(".", "/", "%", "2", "e", "f", "\\", "\0", "a") })), (raw) => {
        if (!fileName(raw).ok) return true
        let decoded = raw
        try { decoded = decodeURIComponent(raw) } catch { return false }
        const root = "/srv/space"
        return decoded === raw && path.dirname(path.join(root, decoded)) === root && !decoded.startsWith(".") && !/[\0/\\]/.test(decoded)
      }),
      { numRuns: propertyRuns(2000) }
    )
  })

  it("spaceUrl maps a space's vos identifier to its folder URL, and nothing else", () => {
    expect(spaceUrl(vosId("abc123"), "http://h:1/")).toBe("http://h:1/spaces/abc123/")
    for (const other of ["vos://uws-kit.demo!space/../x", "vos://other!space/abc", "http://x/abc", "vos://uws-kit.demo!space/"]) {
      expect(spaceUrl(other, "http://h")).toBeUndefined()
    }
  })
})

// Over HTTP, on the demo: the owner only.
const call = (url: string, method: string, body?: string, localAddress = "127.0.0.1", headers: Record<string, string> = {}) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    // The path is sent as written (a URL object would resolve %2e%2e before it left).
    const [, origin = "", rawPath = "/"] = /^(http:\/\/[^/]+)(\/.*)$/.exec(url) ?? []
    const { hostname, port } = new URL(origin)
    const req = request({ hostname, port, path: rawPath, method, localAddress, headers }, (res) => {
      let text = ""
      res.setEncoding("utf8").on("data", (c: string) => (text += c)).on("end", () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on("error", reject)
    req.end(body)
  })

const soap = (demo: Demo, operation: string, inner: string, resource?: string) =>
  call(
    `${demo.url}/soap/space`,
    "POST",
    `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:u="urn:uws-kit:soap:uws-0.3"><s:Header>${resource === undefined ? "" : `<u:ResourceIdentifier>${resource}</u:ResourceIdentifier>`}</s:Header><s:Body><u:${operation}>${inner}</u:${operation}></s:Body></s:Envelope>`,
    "127.0.0.1",
    { "content-type": "text/xml; charset=utf-8", soapaction: `"urn:uws-kit:soap:uws-0.3:${operation}"` }
  )

describe("the files over HTTP", () => {
  let demo: Demo
  let dataDir: string
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "space-demo-"))
    demo = await startDemo({ port: 0, dataDir })
  })
  afterAll(async () => {
    await demo?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it("owner: put, list, get, delete; others: 403; bad names: 400; over size: 413; destroy: gone", async () => {
    const created = await soap(demo, "createJob", `<u:parameter id="size">10</u:parameter><u:run>true</u:run>`)
    expect(created.status).toBe(200)
    const id = /<u:jobId>([^<]+)</.exec(created.text)?.[1] ?? ""
    const base = `${demo.url}/spaces/${id}/`
    for (let i = 0; i < 100 && (await call(base, "GET")).status === 409; i++) await new Promise((r) => setTimeout(r, 20))
    expect(await call(`${base}a.txt`, "PUT", "hello")).toMatchObject({ status: 201 })
    expect(await call(base, "GET")).toEqual({ status: 200, text: "a.txt\n" })
    expect(await call(`${base}a.txt`, "GET")).toEqual({ status: 200, text: "hello" })
    expect((await call(`${base}b.txt`, "PUT", "123456")).status).toBe(413)
    expect(await call(base, "GET")).toEqual({ status: 200, text: "a.txt\n" })
    for (const bad of ["..%2f..%2fuws.sqlite", "%2e%2e", ".x", "a%00b"]) expect([bad, (await call(`${base}${bad}`, "PUT", "x")).status]).toEqual([bad, 400])
    for (const method of ["GET", "PUT", "DELETE"]) expect((await call(`${base}a.txt`, method, method === "PUT" ? "evil" : undefined, "127.0.0.2")).status).toBe(403)
    expect((await call(base, "GET", undefined, "127.0.0.2")).status).toBe(403)
    expect(await call(`${base}a.txt`, "GET")).toEqual({ status: 200, text: "hello" })
    expect((await soap(demo, "getResults", "", id)).text).toContain(`vos://uws-kit.demo!space/${id}`)
    expect((await call(`${base}a.txt`, "DELETE")).status).toBe(204)
    expect((await call(`${base}a.txt`, "PUT", "again")).status).toBe(201)
    expect((await soap(demo, "destroy", "", id)).status).toBe(200)
    expect((await call(`${base}a.txt`, "GET")).status).toBe(404)
    expect(await readdir(path.join(dataDir, "spaces"))).not.toContain(id)
  })
})
