/**
 * `jobDescription`: a job list that also takes a job description document POSTed in its own
 * media type (UWS 0.3 §3.4), beside forms.
 */
import { describe, expect, it } from "vitest"
import { fixture } from "./support.js"

// A toy description language: one `name=value` per line.
const lines = {
  mediaTypes: ["text/x-lines"],
  parse: (text: string) => {
    const parameters = []
    for (const line of text.split("\n").filter((l) => l !== "")) {
      const i = line.indexOf("=")
      if (i < 1) return { _tag: "Left" as const, left: `line "${line}" is not name=value` }
      parameters.push({ name: line.slice(0, i), value: line.slice(i + 1), byReference: true })
    }
    return { _tag: "Right" as const, right: parameters }
  }
}

const post = (body: string, type = "text/x-lines", query = "") => ({ path: `/jobs${query}`, init: { method: "POST", body, headers: { "content-type": type } } })

describe("jobDescription", () => {
  it("creates a job from the document's parameters, job control from the query", async () => {
    const f = await fixture({ rest: { jobDescription: lines } })
    try {
      const { path, init } = post("TEXT=hello\nMODE=none\n", "text/x-lines; charset=utf-8", "?PHASE=RUN&RUNID=r1")
      const res = await f.call(path, init)
      expect(res.status).toBe(303)
      const jobId = res.headers.get("location")!.split("/").pop()!
      const job = await f.call(`/jobs/${jobId}`, { headers: { accept: "application/json" } }).then((r) => r.json())
      expect(job.runId).toBe("r1")
      expect(job.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ id: "text", value: "hello", byReference: true })]))
      expect(["QUEUED", "EXECUTING", "COMPLETED"]).toContain(job.phase)
    } finally {
      await f.close()
    }
  })

  it("refuses a bad document with 400 and its message, creating nothing", async () => {
    const f = await fixture({ rest: { jobDescription: lines } })
    try {
      const { path, init } = post("no equals sign")
      const res = await f.call(path, init)
      expect(res.status).toBe(400)
      expect(await res.text()).toContain(`line "no equals sign" is not name=value`)
      const list = await f.call("/jobs", { headers: { accept: "application/json" } }).then((r) => r.json())
      expect(list.jobs).toEqual([])
    } finally {
      await f.close()
    }
  })

  it("refuses parameters in the query beside a document", async () => {
    const f = await fixture({ rest: { jobDescription: lines } })
    try {
      const { path, init } = post("TEXT=a", "text/x-lines", "?TEXT=b")
      const res = await f.call(path, init)
      expect(res.status).toBe(400)
      expect(await res.text()).toContain("job control only, not TEXT")
    } finally {
      await f.close()
    }
  })

  it("keeps forms working, and refuses the media type without the option (415)", async () => {
    const f = await fixture({ rest: { jobDescription: lines } })
    const plain = await fixture()
    try {
      const formed = await f.call("/jobs", { method: "POST", body: new URLSearchParams({ TEXT: "x" }) })
      expect(formed.status).toBe(303)
      const { path, init } = post("TEXT=a")
      expect((await plain.call(path, init)).status).toBe(415)
    } finally {
      await f.close()
      await plain.close()
    }
  })
})
