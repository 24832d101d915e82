import type { Job } from "@uws-kit/core/Job"
import { acceptedEvents } from "@uws-kit/core/JobMachine"
import type { Phase } from "@uws-kit/core/Phase"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { propertyRuns, testJob } from "@uws-kit/core/testing"
import * as Html from "../src/Html.js"

const LIST = "http://example.org/uws/echo/jobs"
const jobUrl = (id: string) => `${LIST}/${encodeURIComponent(id)}`

const job = (over: Partial<Job> = {}): Job =>
  testJob({ creationTime: Date.UTC(2026, 10, 25, 20, 0, 0, 123), executionDuration: 600, destruction: Date.UTC(2026, 11, 2, 20, 0, 0, 0), ...over })

const jobView = (j: Job): Html.JobView => ({
  title: "echo",
  listUrl: LIST,
  jobUrl: jobUrl(j.jobId),
  job: j,
  resultUrl: (id) => `${jobUrl(j.jobId)}/results/${encodeURIComponent(id)}`,
  acceptedEvents: acceptedEvents(j.phase)
})

/** The `<form>` elements of a page, each with its action and the fields it sends. */
const forms = (html: string) =>
  [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => ({
    action: /action="([^"]*)"/.exec(m[1]!)?.[1],
    method: /method="([^"]*)"/.exec(m[1]!)?.[1],
    fields: [...m[2]!.matchAll(/<input\b([^>]*)>/g)].map((i) => ({
      name: /name="([^"]*)"/.exec(i[1]!)?.[1],
      value: /value="([^"]*)"/.exec(i[1]!)?.[1],
      type: /type="([^"]*)"/.exec(i[1]!)?.[1]
    }))
  }))

describe("jobListPage", () => {
  const view = (over: Partial<Html.JobListView> = {}): Html.JobListView => ({
    title: "echo",
    listUrl: LIST,
    jobs: [job(), job({ jobId: "j2", phase: "COMPLETED", runId: "my run", results: [{ id: "result", size: 10 }] })],
    jobUrl,
    query: "",
    ...over
  })

  it("links every job and shows its phase and run id", () => {
    const html = Html.jobListPage(view())
    expect(html).toContain(`<a href="${LIST}/j1">j1</a>`)
    expect(html).toContain(`<a href="${LIST}/j2">j2</a>`)
    expect(html).toContain(`phase-COMPLETED`)
    expect(html).toContain("my run")
    expect(html).toContain("2026-11-25T20:00:00.123Z")
  })

  it("offers a filter link for every phase and marks the current filter", () => {
    const html = Html.jobListPage(view({ query: "PHASE=EXECUTING" }))
    expect(html).toContain(`href="${LIST}?PHASE=COMPLETED"`)
    expect(html).toContain(`href="${LIST}?PHASE=ARCHIVED"`)
    expect(html).toContain(`<strong>Executing</strong>`)
    expect(html).not.toContain(`href="${LIST}?PHASE=EXECUTING"`)
    expect(html).toContain(`href="${LIST}"`)
    expect(html).toContain("Filtered by <code>PHASE=EXECUTING</code>")
  })

  it("says when there is nothing to list", () => {
    expect(Html.jobListPage(view({ jobs: [] }))).toContain("No jobs yet.")
    expect(Html.jobListPage(view({ jobs: [], query: "PHASE=ERROR" }))).toContain("No jobs match this filter.")
  })

  it("has a creation form posting url-encoded fields to the list, with a run-now box sending PHASE=RUN", () => {
    const html = Html.jobListPage(view())
    const create = forms(html).find((f) => f.action === LIST)!
    expect(create.method).toBe("post")
    expect(html).toContain(`enctype="application/x-www-form-urlencoded"`)
    expect(create.fields).toContainEqual({ name: "PHASE", value: "RUN", type: "checkbox" })
    // The free parameter box is unnamed: only the fields the script makes from it are sent.
    expect(html).toMatch(/<textarea id="parameters"(?![^>]*name=)[^>]*>/)
  })
})

describe("jobPage", () => {
  it("shows every field of the job", () => {
    const j = job({
      jobId: "abc",
      runId: "r-1",
      ownerId: "alice",
      phase: "COMPLETED",
      quote: Date.UTC(2026, 10, 25, 20, 0, 5),
      startTime: Date.UTC(2026, 10, 25, 20, 0, 1),
      endTime: Date.UTC(2026, 10, 25, 20, 0, 2),
      executionDuration: 0,
      destruction: null
    })
    const html = Html.jobPage(jobView(j))
    for (const [field, value] of [
      ["jobId", "abc"],
      ["runId", "r-1"],
      ["ownerId", "alice"],
      ["quote", "2026-11-25T20:00:05.000Z"],
      ["creationTime", "2026-11-25T20:00:00.123Z"],
      ["startTime", "2026-11-25T20:00:01.000Z"],
      ["endTime", "2026-11-25T20:00:02.000Z"],
      ["executionDuration", "0 (unlimited)"],
      ["destruction", "none"]
    ] as const) {
      expect(html).toMatch(new RegExp(`<dd id="field-${field}">[^]*?${value.replace(/[.()]/g, "\\$&")}[^]*?</dd>`))
    }
    expect(html).toContain(`<span class="phase phase-COMPLETED">COMPLETED</span>`)
  })

  it("offers run, abort, destruction, execution duration and delete to a PENDING job", () => {
    const html = Html.jobPage(jobView(job()))
    const f = forms(html)
    const base = jobUrl("j1")
    expect(f.find((x) => x.action === `${base}/phase` && x.fields.some((i) => i.value === "RUN"))).toBeDefined()
    expect(f.find((x) => x.action === `${base}/phase` && x.fields.some((i) => i.value === "ABORT"))).toBeDefined()
    // Delete asks first: the button leads to the confirmation page (issue #8), whose form deletes.
    expect(f.find((x) => x.action === `${base}/delete`)!.method).toBe("get")
    const confirm = forms(Html.deleteConfirmationPage({ title: "t", listUrl: LIST, jobUrl: base, job: job() }))
    expect(confirm.find((x) => x.action === base)!.fields).toContainEqual({ name: "ACTION", value: "DELETE", type: "hidden" })
    const destruction = f.find((x) => x.action === `${base}/destruction`)!
    // The current destruction, in UTC, as the browser's date-time picker shows it.
    expect(destruction.fields).toContainEqual({ name: "DESTRUCTION", value: "2026-12-02T20:00:00", type: "datetime-local" })
    expect(f.find((x) => x.action === `${base}/executionduration`)!.fields).toContainEqual({
      name: "EXECUTIONDURATION",
      value: "600",
      type: "number"
    })
    expect(f.filter((x) => !x.action!.endsWith("/delete")).every((x) => x.method === "post")).toBe(true)
  })

  it("only offers the forms the phase accepts", () => {
    const completed = forms(Html.jobPage(jobView(job({ phase: "COMPLETED" }))))
    expect(completed.some((x) => x.action?.endsWith("/phase"))).toBe(false)
    expect(completed.some((x) => x.action?.endsWith("/executionduration"))).toBe(false)
    expect(completed.some((x) => x.action?.endsWith("/destruction"))).toBe(true)
    expect(completed.some((x) => x.action?.endsWith("/delete"))).toBe(true)

    const executing = forms(Html.jobPage(jobView(job({ phase: "EXECUTING" }))))
    expect(executing.filter((x) => x.action?.endsWith("/phase")).map((x) => x.fields[0]?.value)).toEqual(["ABORT"])
  })

  it("follows a moving job with a phase-guarded blocking WAIT, and stays still otherwise", () => {
    const executing = Html.jobPage(jobView(job({ phase: "EXECUTING" })))
    expect(executing).toContain(`<meta http-equiv="refresh" content="1; url=${jobUrl("j1")}?WAIT=3&amp;PHASE=EXECUTING">`)
    for (const phase of ["PENDING", "COMPLETED", "ERROR", "ABORTED", "HELD", "ARCHIVED"] as const) {
      expect(Html.jobPage(jobView(job({ phase })))).not.toContain("http-equiv")
    }
  })

  it("links results (stored ones under the job, external ones where they live) and by-reference parameters", () => {
    const j = job({
      phase: "COMPLETED",
      results: [
        { id: "result", mimeType: "application/x-votable+xml", size: 345 },
        { id: "far", href: "https://data.example.org/x.fits" }
      ],
      parameters: [
        { name: "QUERY", value: "SELECT 1" },
        { name: "UPLOAD", value: "param:UPLOAD", byReference: true },
        { name: "REF", value: "https://example.org/t.vot", byReference: true }
      ]
    })
    const html = Html.jobPage(jobView(j))
    expect(html).toContain(`<a href="${jobUrl("j1")}/results/result">result</a>`)
    expect(html).toContain("application/x-votable+xml")
    expect(html).toContain("345 B")
    expect(html).toContain(`<a href="https://data.example.org/x.fits">far</a>`)
    expect(html).toContain(`<a href="${jobUrl("j1")}/parameters/UPLOAD">param:UPLOAD</a>`)
    expect(html).toContain(`<a href="https://example.org/t.vot">https://example.org/t.vot</a>`)
    expect(html).toContain("SELECT 1")
  })

  it("shows the error summary, with a link to the details when there are some", () => {
    const j = job({ phase: "ERROR", errorSummary: { type: "fatal", message: "the table does not exist", hasDetail: true } })
    const html = Html.jobPage(jobView(j))
    expect(html).toContain("<strong>fatal</strong>: the table does not exist")
    expect(html).toContain(`<a href="${jobUrl("j1")}/error">Details</a>`)
    const plain = Html.jobPage(jobView({ ...j, errorSummary: { type: "transient", message: "later", hasDetail: false } }))
    expect(plain).not.toContain("/error\"")
  })

  it("shows progress reports", () => {
    const html = Html.jobPage(jobView(job({ phase: "EXECUTING", jobInfo: { progress: "3/10 s" } })))
    expect(html).toContain("<th>progress</th><td class=\"v\">3/10 s</td>")
  })
})

describe("errorPage", () => {
  it("shows status, title, message and the way back", () => {
    const html = Html.errorPage({ status: 403, title: "Forbidden", message: "RUN is not allowed in COMPLETED", backUrl: jobUrl("j1") })
    expect(html).toContain("<h1>403 Forbidden</h1>")
    expect(html).toContain("RUN is not allowed in COMPLETED")
    expect(html).toContain(`<a href="${jobUrl("j1")}" id="back">Back</a>`)
    expect(Html.errorPage({ status: 404, title: "Not Found", message: "x" })).not.toContain("Back")
  })
})

describe("escaping", () => {
  // Markup-significant characters in any value must not change the page's structure: the page
  // rendered with hostile values has exactly as many `<`, `>` and `"` as with harmless ones.
  const hostile = fc.string({ unit: fc.constantFrom("<", ">", "&", '"', "'", "a", " ", "é", "/", "=", "\n"), minLength: 1, maxLength: 12 })
  const structure = (html: string) => [...html].filter((c) => c === "<" || c === ">" || c === '"').length
  const phases = fc.constantFrom<Phase>("PENDING", "EXECUTING", "COMPLETED", "ERROR")

  it("keeps the structure of job pages whatever the values", () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 8, maxLength: 8 }), phases, (v, phase) => {
        const make = (s: ReadonlyArray<string>) =>
          job({
            jobId: s[0]!,
            runId: s[1]!,
            ownerId: s[2]!,
            phase,
            parameters: [{ name: s[3]!, value: s[4]! }],
            results: [{ id: s[5]!, mimeType: s[6]! }],
            errorSummary: { type: "fatal", message: s[7]!, hasDetail: false },
            jobInfo: { [s[6]!]: s[7]! }
          })
        const view = (j: Job) => ({ ...jobView(j), title: j.runId! })
        expect(structure(Html.jobPage(view(make(v))))).toBe(structure(Html.jobPage(view(make(v.map(() => "x"))))))
      })
    )
  })

  it("keeps the structure of list and error pages whatever the values", () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 4, maxLength: 4 }), (v) => {
        const list = (s: ReadonlyArray<string>) =>
          Html.jobListPage({ title: s[0]!, listUrl: LIST, jobs: [job({ jobId: s[1]!, runId: s[2]! })], jobUrl, query: `PHASE=${s[3]!}` })
        expect(structure(list(v))).toBe(structure(list(v.map(() => "x"))))
        const err = (s: ReadonlyArray<string>) => Html.errorPage({ status: 400, title: s[0]!, message: s[1]!, backUrl: s[2]! })
        expect(structure(err(v))).toBe(structure(err(v.map(() => "x"))))
      })
    )
  })
})

describe("progressOf", () => {
  const of = (progress: string | undefined) => Html.progressOf({ jobInfo: progress === undefined ? null : { progress } })
  it("reads a/b, n% and a fraction; anything else is no progress", () => {
    expect(of("3/10")).toBe(0.3)
    expect(of(" 45% ")).toBe(0.45)
    expect(of("0.25")).toBe(0.25)
    expect(Html.progressOf({ jobInfo: { Progress: "1/4" } })).toBe(0.25)
    for (const bad of [undefined, "", "abc", "1/0", "2", "-1/2", "50 percent", "1/2/3", "Infinity"]) expect(of(bad)).toBeNull()
    expect(of("12/10")).toBe(1)
  })
  it("is a number in [0, 1] or null for any text, and a/b for whole a ≤ b", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const p = of(s)
        expect(p === null || (p >= 0 && p <= 1)).toBe(true)
      }),
      { numRuns: propertyRuns(500) }
    )
    fc.assert(
      fc.property(fc.nat(1000), fc.integer({ min: 1, max: 1000 }), (a, b) => {
        expect(of(`${Math.min(a, b)}/${b}`)).toBeCloseTo(Math.min(a, b) / b, 12)
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})

describe("live pages", () => {
  const start = Date.UTC(2026, 10, 25, 20, 0, 10)
  const now = start + 65_000
  const executing = job({ jobId: "j1", phase: "EXECUTING", startTime: start, jobInfo: { progress: "3/10" } })

  it("an EXECUTING job's page: bar, elapsed and left times, events URL, refresh only without script", () => {
    const html = Html.jobPage({ ...jobView(executing), assets: { stylesheet: "/s.css", script: "/p.js" } }, now)
    expect(html).toContain(`<progress max="1" value="0.3" id="progress-bar">30%</progress>`)
    expect(html).toContain(`data-events="${jobUrl("j1")}/events"`)
    expect(html).toContain(`<span id="elapsed">1 min 5 s</span>`)
    expect(html).toContain(`<span id="left-execution">8 min 55 s</span>`)
    expect(html).toMatch(/<noscript><meta http-equiv="refresh"[^>]*><\/noscript>/)
    expect(html).not.toMatch(/<meta http-equiv="refresh"(?![^<]*<\/noscript>)[^>]*>(?!<\/noscript>)/)
    expect(html).toContain(`<script src="/p.js" defer></script>`)
  })

  it("a final job's page follows nothing and a never-started one shows no live section", () => {
    const done = Html.jobPage(jobView(job({ phase: "COMPLETED", startTime: start, endTime: start + 3000 })), now)
    expect(done).toContain(`<span id="elapsed">3 s</span>`)
    expect(done).not.toContain("data-events")
    expect(done).not.toContain("http-equiv")
    expect(Html.jobPage(jobView(job({ phase: "PENDING" })), now)).not.toContain(`id="live"`)
  })

  it("times carry their UTC value in a title; listings show a bar for EXECUTING jobs only", () => {
    const html = Html.jobPage(jobView(executing), now)
    expect(html).toContain(`<time datetime="2026-11-25T20:00:00.123Z" title="2026-11-25T20:00:00.123Z (UTC)">`)
    const list = Html.jobListPage({ title: "echo", listUrl: LIST, jobUrl, query: "", jobs: [executing, job({ jobId: "j2", phase: "COMPLETED", jobInfo: { progress: "1/1" } })] })
    expect(list.match(/<progress /g)).toHaveLength(1)
    expect(list).toContain(`<progress max="1" value="0.3" class="bar" title="30%">30%</progress>`)
  })

  it("the script reads the events and keeps times local (served as a file, nothing inline)", () => {
    expect(Html.script).toContain("new EventSource(")
    expect(Html.script).toContain("toLocaleString()")
    expect(Html.jobPage(jobView(executing), now)).not.toMatch(/<script>|<style>| on[a-z]+="/)
  })
})
