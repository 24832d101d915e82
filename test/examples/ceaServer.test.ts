/**
 * The CEA example end to end over HTTP: jobs created from posted XML descriptions with direct
 * and indirect inputs (fetched from a local HTTP server), an indirect output delivered by PUT to
 * a destination, abort and execution-duration kills of the whole process group, a non-zero exit
 * in ERROR with the tail of stderr, bad descriptions refused with nothing run, and vos://
 * identifiers through a (stub) resolver.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { mkdtemp, readdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { gunzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ceaContribution } from "../../examples/cea/mount.js"
import * as Description from "../../examples/cea/Description.js"
import type { Contribution } from "../../examples/mount.js"

const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> => {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** The "remote storage": GET /files/{name} serves, PUT /put/{name} keeps the body. */
const files = new Map<string, Buffer>([["hello.txt", Buffer.from("hello, ".repeat(1000))]])
const received = new Map<string, { type: string | undefined; body: Buffer }>()
const remoteHandler = (req: IncomingMessage, res: ServerResponse) => {
  const url = req.url ?? "/"
  if (req.method === "PUT" && url.startsWith("/put/")) {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.set(url.slice(5), { type: req.headers["content-type"], body: Buffer.concat(chunks) })
      res.writeHead(201).end()
    })
    return
  }
  const file = url.startsWith("/files/") ? files.get(url.slice(7)) : undefined
  if (req.method === "GET" && file !== undefined) return void res.writeHead(200, { "content-type": "application/octet-stream" }).end(file)
  res.writeHead(url.startsWith("/put/") ? 405 : 404).end("no")
}

let remote: { server: Server; url: string }
let cea: { server: Server; url: string }
let contribution: Contribution
let workDirectory: string

beforeAll(async () => {
  remote = await listen(remoteHandler)
  workDirectory = await mkdtemp(path.join(tmpdir(), "uws-cea-test-"))
  contribution = await ceaContribution({
    workDirectory,
    trustForwarded: false,
    configFile: path.join(import.meta.dirname, "fixtures/cea-test-applications.json"),
    killGraceMillis: 500,
    // A stub of the space example's spaceUrl: vos://uws-kit.demo!space/{id}/{file} → the remote's files.
    resolveVos: (id) => {
      const m = /^vos:\/\/uws-kit\.demo!space\/([^/]+)\/(.+)$/.exec(id)
      return m === null ? undefined : `${remote.url}/${m[1] === "in" ? "files" : "put"}/${m[2]}`
    }
  })
  const mount = contribution.mounts[0]!
  cea = await listen(mount.listener)
})

afterAll(async () => {
  cea?.server.close()
  remote?.server.close()
  await contribution?.close()
  if (workDirectory !== undefined) await rm(workDirectory, { recursive: true, force: true })
})

const post = (description: Description.Description | string, query = "?PHASE=RUN") =>
  fetch(`${cea.url}/uws/cea/jobs${query}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/xml" },
    body: typeof description === "string" ? description : Description.render(description)
  })

const created = async (description: Description.Description | string, query?: string): Promise<string> => {
  const res = await post(description, query)
  if (res.status !== 303) throw new Error(`creation answered ${res.status}: ${await res.text()}`)
  return res.headers.get("location")!
}

interface JobJson {
  phase: string
  results: Array<{ id: string; href: string; mimeType?: string; size?: number }>
  errorSummary?: { message: string }
  jobInfo?: Record<string, string>
}

const job = async (url: string, query = ""): Promise<JobJson> => (await fetch(`${url}${query}`, { headers: { accept: "application/json" } })).json() as Promise<JobJson>

/** Blocks until the job leaves `phase` (or its PENDING/QUEUED/EXECUTING phases). */
const settled = async (url: string): Promise<JobJson> => {
  for (;;) {
    const j = await job(url, "?WAIT=30")
    if (!["PENDING", "QUEUED", "EXECUTING"].includes(j.phase)) return j
  }
}

/** The job once its process is started (its pid in jobInfo). */
const running = async (url: string): Promise<number> => {
  for (;;) {
    const j = await job(url, "?WAIT=5&PHASE=QUEUED")
    const pid = j.jobInfo?.["pid"]
    if (pid !== undefined) return Number(pid)
    if (!["QUEUED", "EXECUTING"].includes(j.phase)) throw new Error(`the job is ${j.phase}, never ran`)
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false
    throw e
  }
}

/** Waits (bounded by the test's time-out) for the process group to be gone. */
const gone = async (pid: number): Promise<void> => {
  while (alive(pid) || alive(-pid)) await new Promise((r) => setTimeout(r, 20))
}

describe("the CEA example over HTTP", () => {
  it("gzips an indirect input and delivers the indirect output to its destination by PUT", async () => {
    const url = await created({
      application: "gzip",
      inputs: [
        { name: "file", value: `${remote.url}/files/hello.txt`, indirect: true },
        { name: "level", value: "9", indirect: false }
      ],
      outputs: [{ name: "compressed", uri: `${remote.url}/put/hello.txt.gz` }]
    })
    const j = await settled(url)
    expect(j.phase).toBe("COMPLETED")
    const compressed = j.results.find((r) => r.id === "compressed")!
    expect(compressed.href).toBe(`${remote.url}/put/hello.txt.gz`)
    const put = received.get("hello.txt.gz")!
    expect(put.type).toBe("application/gzip")
    expect(gunzipSync(put.body).toString()).toBe(files.get("hello.txt")!.toString())
    expect(j.results.map((r) => r.id).sort()).toEqual(["compressed", "stderr"])
  })

  it("keeps the output when no destination is given, from a direct input", async () => {
    const url = await created({ application: "gzip", inputs: [{ name: "file", value: "inline text", indirect: false }], outputs: [] })
    const j = await settled(url)
    expect(j.phase).toBe("COMPLETED")
    const res = await fetch(j.results.find((r) => r.id === "compressed")!.href)
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe("inline text")
  })

  it("passes every value as one argument, never through a shell", async () => {
    const url = await created({ application: "echo", inputs: [{ name: "a", value: "two words; $(id) `id` *", indirect: false }], outputs: [] })
    const j = await settled(url)
    expect(j.phase).toBe("COMPLETED")
    expect(await (await fetch(j.results.find((r) => r.id === "stdout")!.href)).text()).toBe("[two words; $(id) `id` *]")
  })

  it("refuses, at creation, a value that would be read as an option", async () => {
    const res = await post({ application: "echo", inputs: [{ name: "a", value: "--help", indirect: false }], outputs: [] })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain(`The value of a ("--help") would be read as an option`)
  })

  it("ends a non-zero exit in ERROR with the tail of stderr", async () => {
    const url = await created({ application: "fail", inputs: [{ name: "why", value: "the input was bad", indirect: false }], outputs: [] })
    const j = await settled(url)
    expect(j.phase).toBe("ERROR")
    expect(j.errorSummary?.message).toBe("fail exited with status 3: starting\nthe input was bad")
    expect(await (await fetch(j.results.find((r) => r.id === "stderr")!.href)).text()).toBe("starting\nthe input was bad\n")
  })

  it("kills the whole process group on abort", async () => {
    const url = await created({ application: "sleep", inputs: [{ name: "seconds", value: "300", indirect: false }], outputs: [] })
    const pid = await running(url)
    expect(alive(-pid)).toBe(true)
    const res = await fetch(`${url}/phase`, { method: "POST", body: new URLSearchParams({ PHASE: "ABORT" }), redirect: "manual" })
    expect(res.status).toBe(303)
    expect((await settled(url)).phase).toBe("ABORTED")
    await gone(pid)
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }))
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }))
  })

  // The core's machine ends a timed-out job ABORTED with an error summary (its one rule for every
  // application); the process group is killed all the same.
  it("kills a command running past the execution duration; the job ends ABORTED with the reason", async () => {
    const url = await created({ application: "sleep", inputs: [{ name: "seconds", value: "300", indirect: false }], outputs: [] }, "?PHASE=RUN&EXECUTIONDURATION=1")
    const pid = await running(url)
    const j = await settled(url)
    expect(j.phase).toBe("ABORTED")
    expect(j.errorSummary?.message).toContain("longer than its execution duration of 1 s")
    await gone(pid)
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }))
  })

  it("refuses bad descriptions with 400 and creates nothing", async () => {
    const before = ((await (await fetch(`${cea.url}/uws/cea/jobs`, { headers: { accept: "application/json" } })).json()) as { jobs: Array<unknown> }).jobs.length
    for (const [doc, message] of [
      [`<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><tool xmlns="urn:uws-kit:cea:1" application="gzip"/>`, "DTDs and entity declarations are refused"],
      [`<tool xmlns="urn:uws-kit:cea:1" application="rm"/>`, `no application "rm"`],
      [`<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input><parameter name="file" indirect="true">file:///etc/passwd</parameter></input></tool>`, "file: URIs are not fetched"],
      [`<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input>${"<parameter name=\"p\">x</parameter>".repeat(5000)}</input></tool>`, "maxElements"]
    ] as const) {
      const res = await post(doc)
      expect(res.status).toBe(400)
      expect(await res.text()).toContain(message)
    }
    const after = ((await (await fetch(`${cea.url}/uws/cea/jobs`, { headers: { accept: "application/json" } })).json()) as { jobs: Array<unknown> }).jobs.length
    expect(after).toBe(before)
  })

  it("reads vos:// inputs and delivers to vos:// destinations through the resolver", async () => {
    const url = await created({
      application: "gzip",
      inputs: [{ name: "file", value: "vos://uws-kit.demo!space/in/hello.txt", indirect: true }],
      outputs: [{ name: "compressed", uri: "vos://uws-kit.demo!space/out/vos.gz" }]
    })
    const j = await settled(url)
    expect(j.phase).toBe("COMPLETED")
    expect(j.results.find((r) => r.id === "compressed")!.href).toBe(`${remote.url}/put/vos.gz`)
    expect(gunzipSync(received.get("vos.gz")!.body).toString()).toBe(files.get("hello.txt")!.toString())
  })

  it("ends in ERROR when an indirect input cannot be fetched or a destination refuses", async () => {
    const missing = await settled(await created({ application: "gzip", inputs: [{ name: "file", value: `${remote.url}/files/none`, indirect: true }], outputs: [] }))
    expect(missing.phase).toBe("ERROR")
    expect(missing.errorSummary?.message).toBe(`Fetching ${remote.url}/files/none answered 404 Not Found.`)
    const refused = await settled(
      await created({ application: "gzip", inputs: [{ name: "file", value: "x", indirect: false }], outputs: [{ name: "compressed", uri: `${remote.url}/nowhere` }] })
    )
    expect(refused.phase).toBe("ERROR")
    expect(refused.errorSummary?.message).toBe(`Delivering to ${remote.url}/nowhere answered 404 Not Found.`)
  })

  it("publishes the application list as HTML and XML", async () => {
    const xml = await (await fetch(`${cea.url}/uws/cea/applications?format=xml`)).text()
    expect(xml).toContain(`<application name="sleep">`)
    expect(xml).toContain(`<output name="compressed" mimeType="application/gzip">`)
    const html = await fetch(`${cea.url}/uws/cea/applications`)
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(await html.text()).toContain(`<h2 id="gzip">gzip</h2>`)
    expect((await fetch(`${cea.url}/uws/cea/cea-jdl.xsd`)).status).toBe(200)
  })

  it("removes each job's folder once it has run, whatever the ending", async () => {
    // Every job of the tests before this one (aborted and timed-out ones included) has ended (each waited for its end).
    const ended = await settled(await created({ application: "fail", inputs: [{ name: "why", value: "x", indirect: false }], outputs: [] }))
    expect(ended.phase).toBe("ERROR")
    // The folder goes in the run's `finally`, just after the service records the end.
    while ((await readdir(workDirectory)).length > 0) await new Promise((r) => setTimeout(r, 20))
    expect(await readdir(workDirectory)).toEqual([])
  })
})
