/**
 * The dumps' HTTP routes: answers in the archive's envelope, refusals that change nothing, the
 * index and chunks as files with their SHA-512 as ETag.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { DumpAdapter, Dumps } from "@uws-kit/adapter-archive"
import { Effect } from "effect"
import { afterEach, expect, it } from "vitest"
import { makeDumpHarness, type DumpHarness } from "./support/dumps.js"

const open: Array<{ h: DumpHarness; close: () => Promise<void> }> = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.close()
    await o.h.close()
  }
})

const setup = async (mayImport?: Dumps.DumpsOptions["mayImport"], maxWait?: number) => {
  const h = await makeDumpHarness()
  // A second dumps service on the same archive, with the access rule under test.
  const started = await Dumps.start({ archive: h.archive, plugins: h.plugins, directory: join(h.dir, "dumps2"), settleMillis: 0, ...(mayImport === undefined ? {} : { mayImport }), ...(maxWait === undefined ? {} : { maxWait }) })
  open.push({ h, close: started.close })
  const api = DumpAdapter.makeDumpAdapter({ dumps: started.dumps, identify: (r) => ({ id: r.headers.get("x-caller") ?? "4", admin: r.headers.get("x-admin") === "1" }) })
  const call = async (method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}) => {
    const res = await api.handler(new Request(`http://localhost${path}`, { method, ...(body === undefined ? {} : { body }), headers }))
    const type = res.headers.get("content-type") ?? ""
    return { status: res.status, headers: res.headers, body: type.includes("json") ? ((await res.json()) as any) : Buffer.from(await res.arrayBuffer()) }
  }
  const finish = (id: string) =>
    Effect.runPromise(started.dumps.uws.waitForChange({ id: null, admin: true }, id, { timeout: "60 seconds", untilFinal: true }))
  return { h, dumps: started.dumps, call, finish, dir: join(h.dir, "dumps2") }
}

it("export, index and chunk over HTTP; the chunk is served with its SHA-512 as ETag and a 304 for it", async () => {
  const { h, call, finish } = await setup()
  await h.upload("a", "document a")
  await h.settled()
  const started = await call("POST", "/dumps/export")
  expect(started.status).toBe(202)
  expect(started.body.errorCode).toBeNull()
  await finish(started.body.data.id)
  const job = await call("GET", started.body.data.href)
  expect(job.body.data).toMatchObject({ action: "export", phase: "COMPLETED", error: null })
  const index = await call("GET", "/dumps/index.json")
  const [chunk] = index.body.chunks
  const got = await call("GET", `/dumps/chunks/${chunk.name}`)
  expect(got.status).toBe(200)
  expect(got.headers.get("content-type")).toBe("application/x-tar")
  expect(got.headers.get("etag")).toBe(`"${chunk.sha512}"`)
  expect((got.body as Buffer).length).toBe(chunk.size)
  expect((await call("GET", `/dumps/chunks/${chunk.name}`, undefined, { "if-none-match": `"${chunk.sha512}"` })).status).toBe(304)
})

it("maxWait bounds a blocking wait on an export, whatever the caller asks", async () => {
  const { h, dumps, call, finish } = await setup(undefined, 100)
  expect(dumps.uws.maxWait).toBe(100)
  await h.upload("a", "document a")
  await h.settled()
  const started = await call("POST", "/dumps/export")
  await finish(started.body.data.id)
  // A finished export changes no more: only maxWait ends this wait (the core's 55 s would time the test out).
  const job = await Effect.runPromise(dumps.uws.waitForChange({ id: null, admin: true }, started.body.data.id, { timeout: "600 seconds" }))
  expect(job.phase).toBe("COMPLETED")
})

it("maxWait bounds a blocking wait on a container", async () => {
  const h = await makeDumpHarness({ maxWait: 100 })
  open.push({ h, close: async () => {} })
  expect(h.archive.uws.maxWait).toBe(100)
  await h.upload("a", "document a")
  await h.settled()
  const [container] = (await Effect.runPromise(h.archive.uws.list({ id: null, admin: true }, {}))).jobs
  const job = await Effect.runPromise(h.archive.uws.waitForChange({ id: null, admin: true }, container!.jobId, { timeout: "600 seconds" }))
  expect(job.jobId).toBe(container!.jobId)
})

it("refusals come in the envelope and change nothing", async () => {
  const { call, dir } = await setup()
  expect((await call("GET", "/dumps/chunks/nope.tar")).body).toMatchObject({ errorCode: "NotFound" })
  expect((await call("GET", "/dumps/chunks/..%2Findex.json")).status).toBe(404)
  expect((await call("GET", "/dumps/jobs/unknown")).body).toMatchObject({ errorCode: "DumpNotFound" })
  expect((await call("POST", "/dumps/export", '{"colour":"red"}')).body).toMatchObject({ errorCode: "InvalidArgument" })
  expect((await call("POST", "/dumps/export", "not json")).body).toMatchObject({ errorCode: "MalformedRequest" })
  expect((await call("POST", "/dumps/export", '{"filters":{"status":"x"}}')).body).toMatchObject({ errorCode: "InvalidArgument" })
  expect((await call("DELETE", "/dumps/index.json")).status).toBe(405)
  // Importing is for operators by default: refused, and the bag received is not kept.
  const refused = await call("POST", "/dumps/import", Buffer.alloc(1024), { "content-type": "application/x-tar" })
  expect(refused.status).toBe(403)
  expect(refused.body.errorDescription).toMatch(/operator/)
  expect(readdirSync(join(dir, "incoming"))).toEqual([])
  expect(JSON.stringify((await call("GET", "/dumps/index.json")).body.chunks)).toBe("[]")
})

it("an operator's import of something that is not a tar ends in ERROR naming it, and the bag is removed", async () => {
  const { call, finish, dir } = await setup()
  const started = await call("POST", "/dumps/import", Buffer.from("this is not a tar file at all".repeat(40)), { "content-type": "application/x-tar", "x-admin": "1" })
  expect(started.status).toBe(202)
  const done = await finish(started.body.data.id)
  expect(done.phase).toBe("ERROR")
  expect(done.errorSummary?.message).toMatch(/could not be read from its tar|not valid BagIt/)
  expect(readdirSync(join(dir, "incoming"))).toEqual([])
  expect(readdirSync(join(dir, "staging"))).toEqual([])
})
