import type { Parameter } from "@uws-kit/core/Job"
import * as Phases from "@uws-kit/core/Phase"
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { create } from "xmlbuilder2"
import { Documents, UwsClientError } from "../src/index.js"

const UWS = "http://www.ivoa.net/xml/UWS/v1.0"
const XLINK = "http://www.w3.org/1999/xlink"
const XSI = "http://www.w3.org/2001/XMLSchema-instance"

// ---- a writer for UWS job documents, in the shapes servers use ---------------------------

interface Style {
  /** "" = default namespace. */
  readonly prefix: string
  readonly version: string | undefined
  readonly pretty: boolean
  /** How null optional values are written: as xsi:nil, or left out. */
  readonly nulls: "nil" | "omit"
}

// xmlbuilder2 escapes `&` only where it does not start something that looks like a reference
// (`&a;`, `&#65;` pass through as markup); escaped here first, every `&` is written as `&amp;`.
const literal = (s: string): string => s.replaceAll("&", "&amp;")

const renderJob = (job: Documents.JobSummary, style: Style): string => {
  const q = (name: string) => (style.prefix === "" ? name : `${style.prefix}:${name}`)
  const root = create({ version: "1.0", encoding: "UTF-8" }).ele(UWS, q("job"), style.version === undefined ? {} : { version: style.version })
  root.att("http://www.w3.org/2000/xmlns/", "xmlns:xsi", XSI).att("http://www.w3.org/2000/xmlns/", "xmlns:xlink", XLINK)
  const el = (name: string, value: string | null, nillable: boolean) => {
    if (value !== null) root.ele(UWS, q(name)).txt(literal(value))
    else if (nillable && style.nulls === "nil") root.ele(UWS, q(name)).att(XSI, "xsi:nil", "true")
  }
  const t = (d: Date | null) => (d === null ? null : d.toISOString())
  el("jobId", job.jobId, false)
  el("runId", job.runId, false)
  el("ownerId", job.ownerId, true)
  el("phase", job.phase, false)
  el("quote", t(job.quote), true)
  el("creationTime", t(job.creationTime), false)
  el("startTime", t(job.startTime), true)
  el("endTime", t(job.endTime), true)
  el("executionDuration", job.executionDuration === null ? null : String(job.executionDuration), false)
  el("destruction", t(job.destruction), true)
  const params = root.ele(UWS, q("parameters"))
  for (const p of job.parameters) {
    const e = params.ele(UWS, q("parameter"), { id: literal(p.name) })
    if (p.byReference === true) e.att("byReference", "true")
    if (p.value !== "") e.txt(literal(p.value))
  }
  const results = root.ele(UWS, q("results"))
  for (const r of job.results) {
    const e = results.ele(UWS, q("result"), { id: r.id })
    if (r.href !== null) e.att(XLINK, "xlink:href", literal(r.href))
    if (r.mimeType !== undefined) e.att("mime-type", r.mimeType)
    if (r.size !== undefined) e.att("size", String(r.size))
  }
  if (job.errorSummary !== null) {
    root
      .ele(UWS, q("errorSummary"), { type: job.errorSummary.type, hasDetail: String(job.errorSummary.hasDetail) })
      .ele(UWS, q("message"))
      .txt(literal(job.errorSummary.message))
  }
  if (job.jobInfo !== null) {
    const info = root.ele(UWS, q("jobInfo"))
    for (const [k, v] of Object.entries(job.jobInfo)) info.ele(UWS, q(k)).txt(literal(v))
  }
  return root.doc().end({ prettyPrint: style.pretty })
}

// Characters XML 1.0 can carry. A bare CR is normalised to LF by every XML parser, so values
// with CR are not expected to survive and are left out.
const xmlChar = fc
  .oneof(
    { weight: 6, arbitrary: fc.constantFrom("a", "Z", "0", " ", "<", ">", "&", '"', "'", "=", "\n", "\t", "é", "→", "😀", ";", "#") },
    { weight: 1, arbitrary: fc.integer({ min: 0x20, max: 0xd7ff }).map((c) => String.fromCodePoint(c)) }
  )
const xmlString = (max = 12) => fc.array(xmlChar, { maxLength: max }).map((cs) => cs.join(""))
const nonBlank = xmlString().filter((s) => s.trim() !== "")
const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,11}$/)
const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2200, 0, 1) }).map((ms) => new Date(ms))
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null })

const jobSummary: fc.Arbitrary<Documents.JobSummary> = fc.record({
  version: fc.constant("1.1"),
  jobId: token,
  runId: orNull(nonBlank),
  ownerId: orNull(nonBlank),
  phase: fc.constantFrom(...Phases.all),
  quote: orNull(instant),
  creationTime: instant.map((d): Date | null => d),
  startTime: orNull(instant),
  endTime: orNull(instant),
  executionDuration: fc.nat({ max: 10_000_000 }).map((n): number | null => n),
  destruction: orNull(instant),
  parameters: fc.array(
    fc.record({ name: nonBlank, value: xmlString(20), byReference: fc.boolean() }).map((p) =>
      p.byReference ? p : { name: p.name, value: p.value }
    ),
    { maxLength: 5 }
  ),
  results: fc.array(
    fc.record(
      {
        id: token,
        href: fc.oneof(fc.constant(null), fc.webUrl()),
        mimeType: fc.constantFrom("text/plain", "application/x-votable+xml"),
        size: fc.nat()
      },
      { requiredKeys: ["id", "href"] }
    ),
    { maxLength: 3 }
  ),
  errorSummary: orNull(fc.record({ type: fc.constantFrom("transient", "fatal"), hasDetail: fc.boolean(), message: nonBlank })),
  jobInfo: orNull(fc.dictionary(token, nonBlank, { maxKeys: 3 }))
})

const style: fc.Arbitrary<Style> = fc.record({
  prefix: fc.constantFrom("uws", "", "x"),
  version: fc.constantFrom<string | undefined>("1.1", undefined),
  pretty: fc.boolean(),
  nulls: fc.constantFrom("nil" as const, "omit" as const)
})

// xmlbuilder2 writes a tab or line feed in an attribute as is, and XML 1.0 §3.3.3 makes every
// conforming reader see a space there (a writer that means the character escapes it, as
// uws-kit's does). Parameter names are `id` attributes.
const asAttributeName = (p: Parameter): Parameter => ({ ...p, name: p.name.replace(/[\t\n]/g, " ") })

/** The message of the `malformed` error that reading `xml` as a job fails with. */
const refusal = (xml: string): string => {
  try {
    Documents.parseJob(xml, "http://h/jobs/a")
  } catch (e) {
    expect(e).toBeInstanceOf(UwsClientError)
    expect((e as UwsClientError).kind).toBe("malformed")
    return (e as Error).message
  }
  throw new Error("read without complaint")
}

describe("parseJob", () => {
  it("reads back every field a server writes, whatever the prefix, layout or version", () => {
    fc.assert(
      fc.property(jobSummary, style, (job, s) => {
        // Pretty printing indents mixed content; values are compared on unindented documents.
        const parsed = Documents.parseJob(renderJob(job, { ...s, pretty: false }))
        expect(parsed).toEqual({ ...job, version: s.version ?? "1.0", parameters: job.parameters.map(asAttributeName) })
        if (s.pretty) {
          const pretty = Documents.parseJob(renderJob(job, s))
          expect({ phase: pretty.phase, jobId: pretty.jobId, results: pretty.results }).toEqual({
            phase: job.phase,
            jobId: job.jobId,
            results: job.results
          })
        }
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("reads the UWS 1.1 specification's example job", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <uws:jobId>120</uws:jobId>
  <uws:runId>foo</uws:runId>
  <uws:ownerId xsi:nil="true"/>
  <uws:phase>COMPLETED</uws:phase>
  <uws:quote>2014-09-10T10:01:02.135</uws:quote>
  <uws:creationTime>2014-09-10T10:00:02.135Z</uws:creationTime>
  <uws:startTime>2014-09-10T10:01:02.135Z</uws:startTime>
  <uws:endTime>2014-09-10T10:01:02.135Z</uws:endTime>
  <uws:executionDuration>0</uws:executionDuration>
  <uws:destruction>2014-09-10T10:01:02.135+01:00</uws:destruction>
  <uws:parameters>
    <uws:parameter id="parameter1">value1</uws:parameter>
    <uws:parameter id="parameter2" byReference="true">http://myserver.org/uws/jobs/jobid123/param2</uws:parameter>
  </uws:parameters>
  <uws:results>
    <uws:result id="result1" xlink:href="result1.vot"/>
    <uws:result id="result2" xlink:href="http://other.org/r2"/>
  </uws:results>
</uws:job>`
    const job = Documents.parseJob(xml, "http://h/uws/jobs/120")
    expect(job).toMatchObject({
      version: "1.1",
      jobId: "120",
      runId: "foo",
      ownerId: null,
      phase: "COMPLETED",
      executionDuration: 0,
      parameters: [
        { name: "parameter1", value: "value1" },
        { name: "parameter2", value: "http://myserver.org/uws/jobs/jobid123/param2", byReference: true }
      ],
      results: [
        { id: "result1", href: "http://h/uws/jobs/result1.vot" },
        { id: "result2", href: "http://other.org/r2" }
      ],
      errorSummary: null
    })
    expect(job.quote?.toISOString()).toBe("2014-09-10T10:01:02.135Z")
    expect(job.destruction?.toISOString()).toBe("2014-09-10T09:01:02.135Z")
  })

  it("reads a UWS 1.0 job (no version attribute, error message)", () => {
    const xml = `<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>a</jobId><ownerId/><phase>ERROR</phase>
      <executionDuration>60</executionDuration><destruction></destruction>
      <errorSummary type="transient" hasDetail="true"><message>out of disk</message></errorSummary></job>`
    expect(Documents.parseJob(xml)).toMatchObject({
      version: "1.0",
      phase: "ERROR",
      ownerId: null,
      destruction: null,
      errorSummary: { type: "transient", hasDetail: true, message: "out of disk" }
    })
  })

  it("reads jobInfo entries named by attribute or by element", () => {
    const xml = `<job xmlns="${UWS}" xmlns:kit="urn:k"><jobId>a</jobId><phase>EXECUTING</phase><jobInfo>
      <kit:entry name="progress">3/10</kit:entry><kit:entry name="slept">3.0 s</kit:entry><note>hi</note><deep><x>1</x></deep></jobInfo></job>`
    expect(Documents.parseJob(xml).jobInfo).toEqual({ progress: "3/10", slept: "3.0 s", note: "hi" })
  })

  it("reads an unknown phase name as UNKNOWN", () => {
    expect(Documents.parseJob(`<job><jobId>a</jobId><phase>RUNNING</phase></job>`).phase).toBe("UNKNOWN")
  })

  it("refuses what is not a job document, saying what it got", () => {
    expect(refusal(`<jobs/>`)).toContain("got <jobs>")
    expect(refusal(`<html><body>hi</body></html>`)).toContain("got <html>")
    expect(refusal(`not xml at all`)).toMatch(/job/)
    expect(refusal(`<job><phase>PENDING</phase></job>`)).toContain("jobId")
    expect(refusal(`<job><jobId>a</jobId><phase>PENDING</phase><startTime>yesterday</startTime></job>`)).toContain("startTime")
    expect(refusal(`<job><jobId>a</jobId><phase>PENDING</phase><executionDuration>ten</executionDuration></job>`)).toContain("executionDuration")
  })
})

describe("parseJobList, parseResults, parseParameters", () => {
  it("reads job references, resolving links or building them from the list URL", () => {
    const xml = `<uws:jobs xmlns:uws="${UWS}" xmlns:xlink="${XLINK}" xmlns:xsi="${XSI}" version="1.1">
      <uws:jobref id="a" xlink:href="http://h/uws/jobs/a"><uws:phase>PENDING</uws:phase><uws:ownerId xsi:nil="true"/><uws:creationTime>2026-01-01T00:00:00.000Z</uws:creationTime></uws:jobref>
      <uws:jobref id="b c"><uws:phase>EXECUTING</uws:phase><uws:runId>r</uws:runId><uws:ownerId>alice</uws:ownerId></uws:jobref>
    </uws:jobs>`
    const list = Documents.parseJobList(xml, "http://h/uws/jobs?PHASE=PENDING")
    expect(list.version).toBe("1.1")
    expect(list.jobs).toEqual([
      { jobId: "a", url: "http://h/uws/jobs/a", phase: "PENDING", runId: null, ownerId: null, creationTime: new Date("2026-01-01T00:00:00.000Z") },
      { jobId: "b c", url: "http://h/uws/jobs/b%20c", phase: "EXECUTING", runId: "r", ownerId: "alice", creationTime: null }
    ])
    expect(Documents.parseJobList(`<jobs xmlns="${UWS}"/>`, "http://h/jobs").jobs).toEqual([])
  })

  it("reads results and parameters documents", () => {
    expect(
      Documents.parseResults(
        `<results xmlns="${UWS}" xmlns:xl="${XLINK}"><result id="r" xl:href="r.txt" mime-type="text/plain" size="12"/></results>`,
        "http://h/jobs/1/results"
      )
    ).toEqual([{ id: "r", href: "http://h/jobs/1/r.txt", mimeType: "text/plain", size: 12 }])
    expect(Documents.parseParameters(`<parameters xmlns="${UWS}"><parameter id="Q"> a &lt; b </parameter><parameter id="E"/></parameters>`)).toEqual([
      { name: "Q", value: " a < b " },
      { name: "E", value: "" }
    ])
  })
})


const jobReference: fc.Arbitrary<Documents.JobReference> = fc.record({
  jobId: token,
  url: fc.webUrl(),
  phase: fc.constantFrom(...Phases.all),
  runId: orNull(nonBlank),
  ownerId: orNull(nonBlank),
  creationTime: orNull(instant)
})

const renderJobList = (jobs: ReadonlyArray<Documents.JobReference>, style: Style): string => {
  const q = (name: string) => (style.prefix === "" ? name : `${style.prefix}:${name}`)
  const root = create({ version: "1.0", encoding: "UTF-8" }).ele(UWS, q("jobs"), style.version === undefined ? {} : { version: style.version })
  root.att("http://www.w3.org/2000/xmlns/", "xmlns:xsi", XSI).att("http://www.w3.org/2000/xmlns/", "xmlns:xlink", XLINK)
  for (const j of jobs) {
    const ref = root.ele(UWS, q("jobref"), { id: j.jobId }).att(XLINK, "xlink:href", literal(j.url))
    ref.ele(UWS, q("phase")).txt(j.phase)
    if (j.runId !== null) ref.ele(UWS, q("runId")).txt(literal(j.runId))
    if (j.ownerId !== null) ref.ele(UWS, q("ownerId")).txt(literal(j.ownerId))
    else if (style.nulls === "nil") ref.ele(UWS, q("ownerId")).att(XSI, "xsi:nil", "true")
    if (j.creationTime !== null) ref.ele(UWS, q("creationTime")).txt(j.creationTime.toISOString())
  }
  return root.doc().end({ prettyPrint: style.pretty })
}

describe("reading back what a server wrote", () => {
  it("job lists: every reference, whatever the prefix, layout or version", () => {
    fc.assert(
      fc.property(fc.array(jobReference, { maxLength: 6 }), style, (jobs, s) => {
        const list = Documents.parseJobList(renderJobList(jobs, { ...s, pretty: false }), "http://h/jobs")
        // Links are resolved against the list's URL, which writes an absolute one in normal form.
        const resolved = jobs.map((j) => ({ ...j, url: new URL(j.url).href }))
        expect(list).toEqual({ version: s.version ?? "1.0", url: "http://h/jobs", jobs: resolved })
        // Indentation adds white space only around elements, never inside a value's element.
        expect(Documents.parseJobList(renderJobList(jobs, s), "http://h/jobs").jobs.map((j) => [j.jobId, j.url, j.phase])).toEqual(
          resolved.map((j) => [j.jobId, j.url, j.phase])
        )
      }),
      { numRuns: propertyRuns(200) }
    )
  })

  it("results and parameters documents: what the job document carries, read alone", () => {
    fc.assert(
      fc.property(jobSummary, style, (job, s) => {
        const doc = renderJob(job, { ...s, pretty: false })
        // The job document's <results> and <parameters>, made the root of their own documents.
        const own = (name: string) => {
          const q = s.prefix === "" ? name : `${s.prefix}:${name}`
          const at = doc.indexOf(`<${q}`)
          const end = doc.indexOf(`</${q}>`, at)
          const body = end === -1 ? doc.slice(at, doc.indexOf("/>", at) + 2) : doc.slice(at, end + q.length + 3)
          const prefix = s.prefix === "" ? "xmlns" : `xmlns:${s.prefix}`
          return body.replace(`<${q}`, `<${q} ${prefix}="${UWS}" xmlns:xlink="${XLINK}"`)
        }
        expect(Documents.parseResults(own("results"))).toEqual(job.results)
        expect(Documents.parseParameters(own("parameters"))).toEqual(job.parameters.map(asAttributeName))
      }),
      { numRuns: propertyRuns(100) }
    )
  })

  it("instants in the forms servers write: Z, no zone (UTC), a numeric offset", () => {
    const doc = (t: string) => `<job xmlns="${UWS}"><jobId>a</jobId><phase>PENDING</phase><creationTime>${t}</creationTime></job>`
    fc.assert(
      fc.property(instant, fc.integer({ min: -14 * 60, max: 14 * 60 }), (d, offsetMinutes) => {
        const iso = d.toISOString()
        expect(Documents.parseJob(doc(iso)).creationTime).toEqual(d)
        expect(Documents.parseJob(doc(iso.slice(0, -1))).creationTime).toEqual(d)
        const local = new Date(d.getTime() + offsetMinutes * 60_000).toISOString().slice(0, -1)
        const sign = offsetMinutes < 0 ? "-" : "+"
        const abs = Math.abs(offsetMinutes)
        const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`
        expect(Documents.parseJob(doc(`${local}${zone}`)).creationTime).toEqual(d)
      }),
      { numRuns: propertyRuns(200) }
    )
    expect(Documents.parseJob(doc("2026-11-23T10:00:00.123456Z")).creationTime?.toISOString()).toBe("2026-11-23T10:00:00.123Z")
    expect(Documents.parseJob(doc("2026-11-23")).creationTime?.toISOString()).toBe("2026-11-23T00:00:00.000Z")
    for (const bad of ["2026-02-30T00:00:00Z", "2026-13-01", "soon", "2026-01-01T25:00:00Z"]) {
      expect(() => Documents.parseJob(doc(bad)), bad).toThrow(/<creationTime> is not an ISO 8601 instant/)
    }
  })
})

// ---- what a hostile or careless server may send -------------------------------------------

const job = (inner: string) => `<job xmlns="${UWS}"><jobId>a</jobId><phase>PENDING</phase>${inner}</job>`

describe("hostile answers", () => {
  const laughs = [
    `<?xml version="1.0"?>`,
    `<!DOCTYPE job [`,
    `<!ENTITY l0 "ha">`,
    ...Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`),
    `]>`,
    job(`<runId>&l9;</runId>`)
  ].join("\n")

  it("refuses an entity bomb (billion laughs) without expanding it, saying why", () => {
    const message = refusal(laughs)
    expect(message).toContain("<!DOCTYPE")
    expect(message).toMatch(/no entity expansion/)
  })

  it("refuses external entities (XXE: a file, a URL, a parameter entity) without reading them", () => {
    for (const dtd of [
      `<!DOCTYPE job [<!ENTITY x SYSTEM "file:///etc/passwd">]>`,
      `<!DOCTYPE job [<!ENTITY x SYSTEM "http://h/secret">]>`,
      `<!DOCTYPE job [<!ENTITY % p SYSTEM "http://h/evil.dtd"> %p;]>`,
      `<!DOCTYPE job SYSTEM "http://h/uws.dtd">`
    ]) {
      const message = refusal(`<?xml version="1.0"?>${dtd}${job(`<runId>&x;</runId>`)}`)
      expect(message, dtd).toMatch(/DTDs and entity declarations are refused \(no external entities/)
    }
  })

  it("refuses an entity declared without a DOCTYPE, and an undeclared entity", () => {
    expect(refusal(`<!ENTITY x "y">${job("")}`)).toMatch(/<!ENTITY declarations are not accepted/)
    expect(refusal(job(`<runId>&nbsp;</runId>`))).toMatch(/undefined entity/)
  })

  it("says an HTML page is an HTML page (a login page, a proxy's error)", () => {
    expect(refusal(`<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body></body></html>`)).toBe(
      "Expected a UWS <job> document, got an HTML page."
    )
  })

  it("reads past the stylesheet instruction UWS suggests for browsers, and comments, before the root", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by DaCHS -->\n<?xml-stylesheet href='/static/xsl/uws-job-to-html.xsl' type='text/xsl'?>\n${job("<runId>r</runId>")}`
    expect(Documents.parseJob(xml)).toMatchObject({ jobId: "a", runId: "r", phase: "PENDING" })
  })

  it("still refuses a processing instruction inside the document, with its position", () => {
    expect(refusal(`<?xml-stylesheet href="a.xsl"?>\n${job("<?php echo 1 ?>")}`)).toMatch(/processing instructions.*not accepted/)
    expect(refusal(`<?xml-stylesheet href="a.xsl"?>\n<job><jobId>a</jobId><phase>PENDING</phase></jbo>`)).toMatch(/line 2, column/)
  })
})
