/**
 * Result views through the REST binding: `GET …/results/{id}?…` answers the application's view
 * of the stored result for the query string; bad query strings get a 400 that changes nothing;
 * another caller's job stays hidden; results without a view are served as stored.
 */
import { Content, Job as Jobs, Worker } from "@uws-kit/core"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { createJob, fixture, settled, type Fixture } from "./support.js"

const decoder = new TextDecoder()

/** Stores `LINES` lines as `lines`; its view `page` answers lines FROM..TO (1-based) of them. */
const paged = Worker.make({
  name: "paged",
  views: {
    page: ({ query, read, url }) =>
      Effect.gen(function* () {
        const get = (name: string) => query.find(([n]) => n.toUpperCase() === name)?.[1]
        const from = Number(get("FROM") ?? "1")
        const to = Number(get("TO") ?? "2")
        if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
          return yield* Effect.fail(`FROM and TO must be whole numbers with 1 ≤ FROM ≤ TO, not ${get("FROM")}, ${get("TO")}`)
        }
        const stored = yield* read("lines")
        const text = decoder.decode(yield* Effect.orDie(Content.toBytes(stored.stream)))
        const lines = text.split("\n").slice(from - 1, to)
        if (get("THROW") !== undefined) throw new Error("the view broke")
        return { mimeType: "text/plain", content: `${lines.join("\n")}\nnext: ${url}?FROM=${to + 1}&TO=${2 * to - from + 1}\n` }
      }),
    broken: () => {
      throw new Error("the view broke")
    }
  },
  run: async (job) => {
    const n = Number(Jobs.parameter(job, "LINES") ?? "5")
    const lines = Array.from({ length: n }, (_, i) => `line ${i + 1}`).join("\n")
    return [
      { id: "lines", mimeType: "text/plain", content: lines },
      { id: "page", mimeType: "text/plain", content: "ask with FROM and TO" },
      { id: "broken", mimeType: "text/plain", content: "x" }
    ]
  }
})

let f: Fixture
beforeEach(async () => {
  f = await fixture({ maxWait: 5_000, worker: paged })
})
afterEach(async () => {
  await f.close()
})

const run = async (user?: string) => {
  const id = await createJob(f, { LINES: "5", PHASE: "RUN" }, user)
  expect(await settled(f, id, user)).toBe("COMPLETED")
  return id
}

describe("result views", () => {
  it("answers the view for the query string, with a link to the next page", async () => {
    const id = await run("alice")
    const res = await f.call(`/jobs/${id}/results/page?FROM=2&TO=3`, { headers: { "x-user": "alice" } })
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/)
    expect(res.headers.get("cache-control")).toBe("no-store")
    expect(await res.text()).toBe(`line 2\nline 3\nnext: http://uws.test/uws/jobs/${id}/results/page?FROM=4&TO=5\n`)
    const first = await f.call(`/jobs/${id}/results/page`, { headers: { "x-user": "alice" } })
    expect(await first.text()).toMatch(/^line 1\nline 2\nnext: /)
  })

  it("serves results without a view as stored, query string or not", async () => {
    const id = await run("alice")
    const res = await f.call(`/jobs/${id}/results/lines?FROM=2`, { headers: { "x-user": "alice" } })
    expect(await res.text()).toBe("line 1\nline 2\nline 3\nline 4\nline 5")
  })

  it("answers a view's refusal as 400 with its message, and changes nothing", async () => {
    const id = await run("alice")
    const res = await f.call(`/jobs/${id}/results/page?FROM=3&TO=1`, { headers: { "x-user": "alice", accept: "text/plain" } })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain("FROM and TO must be whole numbers")
    const job = await (await f.call(`/jobs/${id}/phase`, { headers: { "x-user": "alice" } })).text()
    expect(job).toBe("COMPLETED")
  })

  it("answers a view that throws as a 500 naming the application, never a crash", async () => {
    const id = await run("alice")
    for (const path of [`/jobs/${id}/results/broken`, `/jobs/${id}/results/page?THROW=1`]) {
      const res = await f.call(path, { headers: { "x-user": "alice", accept: "text/plain" } })
      expect(res.status).toBe(500)
      expect(await res.text()).toContain("the view broke")
    }
  })

  it("hides another caller's job and an unknown result as it does for stored results", async () => {
    const id = await run("alice")
    const other = await f.call(`/jobs/${id}/results/page?FROM=1&TO=1`, { headers: { "x-user": "bob" } })
    expect([403, 404]).toContain(other.status)
    const stored = await f.call(`/jobs/${id}/results/lines`, { headers: { "x-user": "bob" } })
    expect(other.status).toBe(stored.status)
    const pending = await createJob(f, { LINES: "1" }, "alice")
    expect((await f.call(`/jobs/${pending}/results/page`, { headers: { "x-user": "alice" } })).status).toBe(404)
  })
})

