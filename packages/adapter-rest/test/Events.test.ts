/**
 * `GET …/jobs/{id}/events`: server-sent events of one job for its live page. Only a caller who
 * may read the job gets them (the job's own 403/404 otherwise); the stream opens with the job,
 * sends each change (progress included) as a `job` event whose data is the page's snapshot, and
 * ends once the job is final; a heartbeat comment keeps a quiet stream open; watchers of one job
 * share one subscription to the service's changes, released with the last.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Duration } from "effect"
import { Identity, Job as Jobs, Uws, Worker } from "@uws-kit/core"
import { describe, expect, it } from "vitest"
import * as Events from "../src/internal/routes/events.js"
import { BASE, fixture, form } from "./support.js"

/** Reports progress 1/2, waits for the test's go, then reports 2/2 and completes. */
const gated = () => {
  const gates = new Map<string, () => void>()
  const worker = Worker.make({
    name: "gated",
    run: async (job, context) => {
      await Effect.runPromise(context.reportProgress({ progress: "1/2" }))
      await new Promise<void>((resolve) => gates.set(job.jobId, resolve))
      await Effect.runPromise(context.reportProgress({ progress: "2/2" }))
      return [{ id: "result", mimeType: "text/plain", content: `done ${Jobs.parameter(job, "TEXT") ?? ""}` }]
    }
  })
  const open = async (jobId: string) => {
    for (let i = 0; i < 200 && !gates.has(jobId); i++) await new Promise((r) => setTimeout(r, 10))
    gates.get(jobId)!()
  }
  return { worker, open }
}

/** Reads a response's text as it comes: `until(p)` reads until `p` holds or the stream ends (time-out 10 s). */
const reader = (response: Response) => {
  const r = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ""
  let ended = false
  const until = async (done: (text: string) => boolean = () => false, ms = 10_000) => {
    const deadline = Date.now() + ms
    while (!ended && !done(text) && Date.now() < deadline) {
      const next = await Promise.race([r.read(), new Promise<"late">((res) => setTimeout(() => res("late"), deadline - Date.now()))])
      if (next === "late") break
      if (next.done) ended = true
      else text += next.value
    }
    return { text, ended }
  }
  return { until, cancel: () => r.cancel() }
}

const readUntil = async (response: Response, done?: (text: string) => boolean, ms?: number) => {
  const r = reader(response)
  const out = await r.until(done, ms)
  if (!out.ended) await r.cancel()
  return out
}

const jobEvents = (text: string) =>
  [...text.matchAll(/^event: job\ndata: (.*)\n\n/gm)].map((m) => JSON.parse(m[1]!) as ReturnType<typeof Events.snapshot>)

const running = async (f: Awaited<ReturnType<typeof fixture>>, user = "alice") => {
  const created = await f.call("/jobs", { ...form({ PHASE: "RUN", TEXT: "x" }), headers: { "x-user": user } })
  const url = created.headers.get("location")!
  for (let i = 0; i < 200; i++) {
    const phase = await (await f.call(`${url}/phase`, { headers: { "x-user": user } })).text()
    if (phase === "EXECUTING") break
    await new Promise((r) => setTimeout(r, 10))
  }
  return url
}

describe("job events (server-sent events)", () => {
  it("stream the job, each change, and end after the final phase", async () => {
    const { worker, open } = gated()
    const f = await fixture({ worker })
    try {
      const url = await running(f)
      const response = await f.call(`${url}/events`, { headers: { "x-user": "alice", accept: "text/event-stream" } })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/)
      expect(response.headers.get("cache-control")).toBe("no-store")
      const read = reader(response)
      // The first event, before the application goes on.
      await read.until((t) => t.includes("event: job"))
      await open(url.split("/").pop()!)
      const { text, ended } = await read.until()
      expect(ended).toBe(true)
      expect(text.startsWith("retry: 3000\n\n")).toBe(true)
      const events = jobEvents(text)
      expect(events[0]!.phase).toBe("EXECUTING")
      expect(events[0]!.progress).toBe(0.5)
      expect(events.map((e) => e.progress)).toContain(1)
      expect(events.at(-1)!.phase).toBe("COMPLETED")
      expect(events.filter((e) => e.phase === "COMPLETED")).toHaveLength(1)
      for (const e of events) {
        expect(e.jobId).toBe(url.split("/").pop())
        expect(typeof e.now).toBe("string")
        expect(e.startTime).toMatch(/Z$/)
      }
    } finally {
      await f.close()
    }
  })

  it("of a job already final: one event, then the end", async () => {
    const f = await fixture()
    try {
      const created = await f.call("/jobs", { ...form({ PHASE: "RUN", MODE: "none" }), headers: { "x-user": "alice" } })
      const url = created.headers.get("location")!
      await f.call(`${url}?WAIT=5&PHASE=QUEUED`, { headers: { "x-user": "alice" } })
      await f.call(`${url}?WAIT=5&PHASE=EXECUTING`, { headers: { "x-user": "alice" } })
      const { text, ended } = await readUntil(await f.call(`${url}/events`, { headers: { "x-user": "alice" } }))
      expect(ended).toBe(true)
      expect(jobEvents(text).map((e) => e.phase)).toEqual(["COMPLETED"])
    } finally {
      await f.close()
    }
  })

  it("are the owner's: another caller gets 403, an unknown job 404, a change 405, and nothing streams", async () => {
    const f = await fixture({ rest: { vosi: false } })
    try {
      const created = await f.call("/jobs", { ...form({ MODE: "block" }), headers: { "x-user": "alice" } })
      const url = created.headers.get("location")!
      const other = await f.call(`${url}/events`, { headers: { "x-user": "mallory" } })
      expect(other.status).toBe(403)
      expect(other.headers.get("content-type")).not.toMatch(/event-stream/)
      expect((await f.call(`${BASE}/jobs/nope/events`, { headers: { "x-user": "alice" } })).status).toBe(404)
      const post = await f.call(`${url}/events`, { method: "POST", headers: { "x-user": "alice" } })
      expect(post.status).toBe(405)
    } finally {
      await f.close()
    }
  })

  it("send heartbeat comments while nothing changes", async () => {
    const started = await Uws.start({ worker: gated().worker, makeJobId: () => "hb" })
    try {
      const job = await Effect.runPromise(started.service.create(Identity.user("alice"), { parameters: [] }))
      const { events } = Events.make({ service: started.service, closing: Effect.never } as never, Events.makeFeeds(started.service), Duration.millis(50))
      const response = await Effect.runPromise(Effect.scoped(events(job.jobId)({ caller: Identity.user("alice") } as never)))
      const { text } = await readUntil(HttpServerResponse.toWeb(response), (t) => t.split(": heartbeat\n\n").length > 3, 5_000)
      // A PENDING job does not move by itself: heartbeats follow its one event.
      expect(jobEvents(text).map((e) => e.phase)).toEqual(["PENDING"])
      expect(text).toMatch(/^retry: 3000\n\nevent: job\ndata: .*\n\n(: heartbeat\n\n){3}/)
    } finally {
      await started.close()
    }
  })

  it("end when the binding closes", async () => {
    const f = await fixture()
    try {
      const created = await f.call("/jobs", { ...form({ MODE: "block" }), headers: { "x-user": "alice" } })
      const read = reader(await f.call(`${created.headers.get("location")!}/events`, { headers: { "x-user": "alice" } }))
      await read.until((t) => t.includes("event: job"))
      await f.rest.dispose()
      expect((await read.until()).ended).toBe(true)
    } finally {
      await f.close()
    }
  })

  it("share one subscription per job, released with its last watcher", async () => {
    const started = await Uws.start({ worker: gated().worker })
    try {
      const feeds = Events.makeFeeds(started.service)
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            yield* feeds.watch("a")
            yield* feeds.watch("a")
            yield* feeds.watch("b")
            expect(feeds.watched()).toBe(2)
          })
        )
      )
      expect(feeds.watched()).toBe(0)
    } finally {
      await started.close()
    }
  })
})
