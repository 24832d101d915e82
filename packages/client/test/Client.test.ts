import type { Phase } from "@uws-kit/core/Phase"
import { describe, expect, it } from "vitest"
import { Client } from "../src/index.js"

const UWS = "http://www.ivoa.net/xml/UWS/v1.0"

// ---- behaviour against small fake servers --------------------------------------------------

interface Fake {
  readonly requests: Array<string>
  readonly handler: (req: Request) => Promise<Response>
}

const xmlJob = (id: string, phase: Phase, version: string | null = "1.1", extra = "") =>
  `<?xml version="1.0"?><uws:job xmlns:uws="${UWS}"${version === null ? "" : ` version="${version}"`}>` +
  `<uws:jobId>${id}</uws:jobId><uws:phase>${phase}</uws:phase><uws:executionDuration>0</uws:executionDuration>${extra}</uws:job>`

/** A server whose job moves through `phases`, one step per GET of the job. */
const stepping = (phases: ReadonlyArray<Phase>, version: string | null): Fake & { readonly step: () => number } => {
  const requests: Array<string> = []
  let i = 0
  return {
    requests,
    step: () => i,
    handler: async (req) => {
      const url = new URL(req.url)
      requests.push(`${req.method} ${url.pathname}${url.search}`)
      const phase = phases[Math.min(i, phases.length - 1)]!
      i++
      return new Response(xmlJob("j", phase, version), { headers: { "content-type": "application/xml" } })
    }
  }
}

/** A fake clock: `sleep` moves time forward instead of waiting. */
const fakeTime = () => {
  let t = 1_000_000
  const sleeps: Array<number> = []
  return {
    sleeps,
    now: () => t,
    advance: (ms: number) => void (t += ms),
    sleep: async (ms: number) => {
      sleeps.push(ms)
      t += ms
    }
  }
}

describe("wait", () => {
  it("blocks with WAIT and the PHASE guard of the phase it last saw", async () => {
    const server = stepping(["QUEUED", "EXECUTING", "COMPLETED"], "1.1")
    const time = fakeTime()
    const requests: Array<string> = []
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        // A blocking server: each WAIT returns after the job changed, a little later.
        time.advance(500)
        requests.push(req.url)
        return server.handler(req)
      },
      now: time.now,
      sleep: time.sleep
    })
    const job = await uws.wait("j", { timeout: 120_000 })
    expect(job.phase).toBe("COMPLETED")
    expect(requests).toEqual(["http://h/jobs/j", "http://h/jobs/j?WAIT=60&PHASE=QUEUED", "http://h/jobs/j?WAIT=60&PHASE=EXECUTING"])
  })

  it("asks for no longer than the time left before the deadline", async () => {
    const server = stepping(["EXECUTING", "EXECUTING", "COMPLETED"], "1.1")
    const time = fakeTime()
    const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep, maxWait: 30 })
    await uws.wait("j", { deadline: time.now() + 12_500 })
    expect(server.requests[1]).toBe("GET /jobs/j?WAIT=12&PHASE=EXECUTING")
  })

  it("polls with growing pauses a server that ignores WAIT, and never blocks a UWS 1.0 server", async () => {
    for (const version of ["1.1", null]) {
      const phases: Array<Phase> = [...Array.from({ length: 30 }, () => "EXECUTING" as const), "COMPLETED"]
      const server = stepping(phases, version)
      const time = fakeTime()
      const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep })
      const job = await uws.wait("j", { timeout: 3_600_000 })
      expect(job.phase).toBe("COMPLETED")
      expect(server.requests).toHaveLength(31)
      // Pauses grow (bounded) instead of spinning.
      expect(time.sleeps.length).toBeGreaterThan(20)
      expect(time.sleeps.every((ms, i) => i === 0 || ms >= time.sleeps[i - 1]!)).toBe(true)
      expect(Math.max(...time.sleeps)).toBeLessThanOrEqual(10_000)
      expect(time.sleeps.at(-1)).toBeGreaterThan(time.sleeps[0]! * 10)
      if (version === null) expect(server.requests.every((r) => !r.includes("WAIT"))).toBe(true)
    }
  })

  it("gives up at the deadline with the last job it saw", async () => {
    const server = stepping(["EXECUTING"], "1.1")
    const time = fakeTime()
    const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep })
    const error = await uws.wait("j", { timeout: 30_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Client.UwsClientError)
    expect(error).toMatchObject({ kind: "timeout", job: { phase: "EXECUTING", jobId: "j" } })
    expect(time.now()).toBeGreaterThanOrEqual(1_000_000 + 30_000)
    expect(time.now()).toBeLessThan(1_000_000 + 41_000)
  })

  it("reports a job that ended in another phase than the awaited ones", async () => {
    const server = stepping(["EXECUTING", "ABORTED"], "1.1")
    const time = fakeTime()
    const uws = Client.make("http://h/jobs", { fetch: server.handler, now: time.now, sleep: time.sleep })
    await expect(uws.wait("j", { phases: ["COMPLETED"], timeout: 60_000 })).rejects.toMatchObject({
      kind: "ended",
      job: { phase: "ABORTED" }
    })
    // The default phases include every final phase.
    const again = stepping(["EXECUTING", "ABORTED"], "1.1")
    const c2 = Client.make("http://h/jobs", { fetch: again.handler, now: time.now, sleep: time.sleep })
    expect((await c2.wait("j", { timeout: 60_000 })).phase).toBe("ABORTED")
  })
})

describe("requests and redirects", () => {
  it("learns the job URL from a relative Location and follows it", async () => {
    const seen: Array<string> = []
    const uws = Client.make("http://h/svc/jobs/", {
      fetch: async (req) => {
        seen.push(`${req.method} ${req.url} ${req.method === "POST" ? await req.text() : ""}`.trim())
        if (req.method === "POST") return new Response(null, { status: 303, headers: { location: "jobs/x1" } })
        return new Response(xmlJob("x1", "QUEUED"), { headers: { "content-type": "text/xml" } })
      }
    })
    const job = await uws.create({ parameters: { A: "1", B: ["2", "3"] }, runId: "r", executionDuration: 30, destruction: Date.UTC(2030, 0, 1), run: true })
    expect(job.url).toBe("http://h/svc/jobs/x1")
    expect(job.phase).toBe("QUEUED")
    expect(seen).toEqual([
      "POST http://h/svc/jobs A=1&B=2&B=3&RUNID=r&EXECUTIONDURATION=30&DESTRUCTION=2030-01-01T00%3A00%3A00.000Z&PHASE=RUN",
      "GET http://h/svc/jobs/x1"
    ])
  })

  it("sends uploads as multipart parts named after their parameter", async () => {
    let body: FormData | undefined
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        if (req.method === "POST") {
          body = await req.formData()
          return new Response(null, { status: 303, headers: { location: "http://h/jobs/u" } })
        }
        return new Response(xmlJob("u", "PENDING"))
      }
    })
    await uws.create({ parameters: [["LANG", "ADQL"]], uploads: [{ name: "t1", content: "a,b\n1,2\n", mimeType: "text/csv", fileName: "t1.csv" }] })
    expect(body?.get("LANG")).toBe("ADQL")
    const file = body?.get("t1") as File
    expect(file.name).toBe("t1.csv")
    expect(file.type).toBe("text/csv")
    expect(await file.text()).toBe("a,b\n1,2\n")
  })

  it("turns error responses into errors carrying the status and the server's message", async () => {
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) =>
        req.url.endsWith("/phase")
          ? new Response("RUN is not allowed in COMPLETED", { status: 403, headers: { "content-type": "text/plain" } })
          : new Response(JSON.stringify({ error: { tag: "JobNotFound", message: 'No job with id "z".' } }), {
              status: 404,
              headers: { "content-type": "application/json" }
            })
    })
    await expect(uws.run("a")).rejects.toMatchObject({ kind: "http", status: 403, message: expect.stringContaining("RUN is not allowed in COMPLETED") })
    await expect(uws.get("z")).rejects.toMatchObject({ kind: "http", status: 404, message: expect.stringContaining('No job with id "z".') })
  })

  it("deletes with HTTP DELETE, or with ACTION=DELETE where DELETE is not allowed", async () => {
    const seen: Array<string> = []
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        seen.push(`${req.method} ${req.url} ${req.method === "POST" ? await req.text() : ""}`.trim())
        if (req.method === "DELETE") return new Response("no", { status: 405 })
        return new Response(null, { status: 303, headers: { location: "/jobs" } })
      }
    })
    await uws.delete("a")
    expect(seen).toEqual(["DELETE http://h/jobs/a", "POST http://h/jobs/a ACTION=DELETE"])
  })

  it("builds list queries from the UWS 1.1 filters and reads a next-page link", async () => {
    const seen: Array<string> = []
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        seen.push(req.url)
        return new Response(`<jobs xmlns="${UWS}" version="1.1"/>`, { headers: { link: '<?cursor=abc>; rel="next"' } })
      }
    })
    const list = await uws.list({ phases: ["EXECUTING", "QUEUED"], after: Date.UTC(2026, 0, 1), last: 5 })
    expect(seen[0]).toBe("http://h/jobs?PHASE=EXECUTING&PHASE=QUEUED&AFTER=2026-01-01T00%3A00%3A00.000Z&LAST=5")
    expect(list.next).toBe("http://h/jobs?cursor=abc")
  })

  it("works with a fetch that follows redirects itself (a browser's), taking the job URL from where they ended", async () => {
    const seen: Array<string> = []
    const followed = (body: string, url: string) => {
      const res = new Response(body, { headers: { "content-type": "application/xml" } })
      Object.defineProperty(res, "url", { value: url })
      return res
    }
    const uws = Client.make("http://h/jobs", {
      redirects: "follow",
      fetch: async (req) => {
        seen.push(`${req.method} ${req.url} ${req.redirect}`)
        return followed(xmlJob("b1", "PENDING"), "http://h/jobs/b1")
      }
    })
    const job = await uws.create({ parameters: { A: "1" } })
    expect(job.url).toBe("http://h/jobs/b1")
    expect(seen).toEqual(["POST http://h/jobs follow"])
  })

  it("says what to do when fetch hides redirects and the client was not told", async () => {
    const uws = Client.make("http://h/jobs", {
      fetch: async () => {
        const res = new Response(null, { status: 200 })
        Object.defineProperty(res, "type", { value: "opaqueredirect" })
        return res
      }
    })
    await expect(uws.create()).rejects.toMatchObject({ kind: "redirect", message: expect.stringContaining('redirects: "follow"') })
  })

  it("accepts a server that answers a creation with the job itself instead of a redirect", async () => {
    const uws = Client.make("http://h/jobs", {
      fetch: async () => new Response(xmlJob("n1", "PENDING"), { status: 201, headers: { "content-type": "text/xml" } })
    })
    expect(await uws.create()).toMatchObject({ url: "http://h/jobs/n1", jobId: "n1", phase: "PENDING" })
  })

  it("refuses a reply that is not a UWS document, naming what came", async () => {
    const uws = Client.make("http://h/jobs", { fetch: async () => new Response("<html><body>login</body></html>", { headers: { "content-type": "text/html" } }) })
    await expect(uws.get("a")).rejects.toMatchObject({ kind: "malformed", message: expect.stringContaining("got <html>") })
  })

  it("refuses an answer carrying an entity bomb or an external entity, fetching nothing it names", async () => {
    const seen: Array<string> = []
    const laughs = `<!DOCTYPE job [<!ENTITY a "haha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>`
    const external = `<!DOCTYPE job [<!ENTITY x SYSTEM "http://h/secret">]>`
    const uws = Client.make("http://h/jobs", {
      fetch: async (req) => {
        seen.push(req.url)
        const dtd = req.url.endsWith("/bomb") ? laughs : external
        return new Response(`<?xml version="1.0"?>${dtd}${xmlJob("j", "PENDING").replace(/^<\?xml[^>]*>/, "").replace("<uws:phase>", "<uws:runId>&x;&c;</uws:runId><uws:phase>")}`, {
          headers: { "content-type": "application/xml" }
        })
      }
    })
    for (const id of ["bomb", "xxe"]) {
      const error = await uws.get(id).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Client.UwsClientError)
      expect(error).toMatchObject({ kind: "malformed", url: `http://h/jobs/${id}` })
      expect((error as Error).message).toMatch(/DTDs and entity declarations are refused \(no external entities, no entity expansion\)/)
    }
    expect(seen).toEqual(["http://h/jobs/bomb", "http://h/jobs/xxe"])
  })

  it("passes the caller's headers on every request", async () => {
    const auth: Array<string | null> = []
    const uws = Client.make("http://h/jobs", {
      headers: () => ({ authorization: "Bearer t" }),
      fetch: async (req) => {
        auth.push(req.headers.get("authorization"))
        return new Response(xmlJob("a", "PENDING"))
      }
    })
    await uws.get("a")
    expect(auth).toEqual(["Bearer t"])
  })
})
