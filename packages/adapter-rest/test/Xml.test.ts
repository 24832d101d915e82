/**
 * The XML writer: escaping that a parser undoes exactly, and job documents that keep the
 * schema's rules for any job (element order, nils, version, by-reference values), agreeing with
 * the JSON representation.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Phase } from "@uws-kit/core"
import type { Job } from "@uws-kit/core/Job"
import { propertyRuns } from "@uws-kit/core/testing"
import { Json, Xml } from "@uws-kit/adapter-rest"
import { elementNames, parseXml } from "./support.js"

const ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g
const anyText = fc.string({ unit: "binary", maxLength: 16 })
const controlHeavy = fc.string({ unit: fc.constantFrom("a", "<", "&", ">", '"', "'", "\t", "\n", "\r", "\u0001", "\u001f", "\uFFFE", "é", "]]>"), maxLength: 16 })
const text = fc.oneof(anyText, controlHeavy)

describe("escaping", () => {
  it("a parser reads back every string, with only XML-illegal characters replaced by U+FFFD", () => {
    fc.assert(
      fc.property(text, (s) => {
        const doc = parseXml(`<a x="${Xml.escapeAttribute(s)}">${Xml.escapeText(s)}</a>`)
        const expected = s.replace(ILLEGAL, "\uFFFD")
        expect(doc.a["@x"] ?? "").toBe(expected)
        expect(typeof doc.a === "string" ? doc.a : (doc.a["#text"] ?? "")).toBe(expected)
        expect(Xml.isXmlSafe(s)).toBe(expected === s)
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("replaces unpaired surrogates, keeps pairs", () => {
    expect(Xml.escapeText("a\uD800b\uDC00c")).toBe("a\uFFFDb\uFFFDc")
    expect(Xml.escapeText("😀")).toBe("😀")
    expect(Xml.isXmlSafe("\uD800")).toBe(false)
  })
})

const instant = fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) })
const nullable = <A>(a: fc.Arbitrary<A>) => fc.option(a, { nil: null })
const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,8}$/)

const job: fc.Arbitrary<Job> = fc.record({
  jobId: fc.stringMatching(/^[a-z0-9]{1,16}$/),
  runId: nullable(text),
  ownerId: nullable(text),
  phase: fc.constantFrom(...Phase.all),
  quote: nullable(instant),
  creationTime: instant,
  startTime: nullable(instant),
  endTime: nullable(instant),
  executionDuration: fc.integer({ min: 0, max: 2_147_483_647 }),
  destruction: nullable(instant),
  parameters: fc.array(
    fc.oneof(
      fc.record({ name, value: text }),
      name.map((n) => ({ name: n, value: `param:${n}`, byReference: true })),
      fc.record({ name, value: fc.webUrl(), byReference: fc.constant(true) })
    ),
    { maxLength: 5 }
  ),
  results: fc.uniqueArray(
    fc.oneof(
      fc.record({ id: name, mimeType: fc.constantFrom("text/plain", "application/x-votable+xml"), size: fc.nat() }, { requiredKeys: ["id"] }),
      fc.record({ id: name, href: fc.webUrl({ withQueryParameters: true }) })
    ),
    { selector: (r) => r.id, maxLength: 4 }
  ),
  errorSummary: nullable(fc.record({ type: fc.constantFrom("transient" as const, "fatal" as const), message: text, hasDetail: fc.boolean() })),
  jobInfo: nullable(fc.dictionary(name, text, { maxKeys: 3 })),
  version: fc.nat()
})

const SEQUENCE = [
  "uws:jobId",
  "uws:runId",
  "uws:ownerId",
  "uws:phase",
  "uws:quote",
  "uws:creationTime",
  "uws:startTime",
  "uws:endTime",
  "uws:executionDuration",
  "uws:destruction",
  "uws:parameters",
  "uws:results",
  "uws:errorSummary",
  "uws:jobInfo"
]
const JOB_URL = "https://h.example/uws/jobs/x"

describe("job documents", () => {
  it("follow the schema's sequence, nil rules and version for any job, and agree with the JSON", () => {
    fc.assert(
      fc.property(job, (j) => {
        const xml = Xml.jobDocument(j, JOB_URL)
        const names = elementNames(xml, "uws:job")
        // In the schema's order, each at most once; the required ones always there.
        expect(names).toEqual(SEQUENCE.filter((n) => names.includes(n)))
        for (const required of ["uws:jobId", "uws:ownerId", "uws:phase", "uws:creationTime", "uws:startTime", "uws:endTime", "uws:executionDuration", "uws:destruction", "uws:results"]) {
          expect(names).toContain(required)
        }
        const doc = parseXml(xml)["uws:job"]
        const json = Json.job(j, JOB_URL)
        expect(doc["@version"]).toBe("1.1")
        expect(doc["uws:phase"]).toBe(j.phase)
        expect(doc["uws:executionDuration"]).toBe(String(j.executionDuration))
        for (const [el, value] of [
          ["uws:ownerId", json.ownerId],
          ["uws:startTime", json.startTime],
          ["uws:endTime", json.endTime],
          ["uws:destruction", json.destruction],
          ["uws:quote", json.quote]
        ] as const) {
          if (value === null) expect(doc[el]["@xsi:nil"], el).toBe("true")
          else expect(doc[el], el).toBe(el === "uws:ownerId" ? value.replace(ILLEGAL, "\uFFFD") : value)
        }
        for (const t of [json.creationTime, json.startTime, json.endTime, json.destruction, json.quote]) {
          if (t !== null) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
        }
        // Parameters: exact when XML can carry them, else by reference to where they are served.
        const params: Array<any> = doc["uws:parameters"] === "" ? [] : (doc["uws:parameters"]["uws:parameter"] ?? [])
        expect(params.map((p) => p["@id"])).toEqual(j.parameters.map((p) => p.name))
        j.parameters.forEach((p, i) => {
          const x = params[i]
          const shown = x["#text"] ?? ""
          if (p.byReference === true && p.value.startsWith("param:")) {
            expect(shown).toBe(`${JOB_URL}/parameters/${encodeURIComponent(p.name)}`)
            expect(json.parameters[i]).toEqual({ id: p.name, value: shown, byReference: true })
          } else if (Xml.isXmlSafe(p.value)) {
            expect(shown).toBe(p.value)
            expect(x["@byReference"]).toBe(p.byReference === true ? "true" : undefined)
            expect(json.parameters[i]!.value).toBe(p.value)
          } else {
            expect(x["@byReference"]).toBe("true")
            expect(shown.startsWith(`${JOB_URL}/parameters/${encodeURIComponent(p.name)}`)).toBe(true)
            expect(json.parameters[i]!.value).toBe(p.value)
          }
        })
        const results: Array<any> = doc["uws:results"] === "" ? [] : (doc["uws:results"]["uws:result"] ?? [])
        expect(results.map((r) => [r["@id"], r["@xlink:href"]])).toEqual(json.results.map((r) => [r.id, r.href]))
        if (j.errorSummary !== null) {
          expect(doc["uws:errorSummary"]["@type"]).toBe(j.errorSummary.type)
          expect(doc["uws:errorSummary"]["@hasDetail"]).toBe(String(j.errorSummary.hasDetail))
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("job lists carry one jobref per job with its link, in order", () => {
    fc.assert(
      fc.property(fc.uniqueArray(job, { selector: (j) => j.jobId, maxLength: 5 }), (jobs) => {
        const xml = Xml.jobListDocument(jobs, (id) => `${JOB_URL}/${id}`)
        const doc = parseXml(xml)["uws:jobs"]
        expect(doc["@version"]).toBe("1.1")
        const refs: Array<any> = doc["uws:jobref"] ?? []
        expect(refs.map((r) => [r["@id"], r["@xlink:href"], r["uws:phase"]])).toEqual(jobs.map((j) => [j.jobId, `${JOB_URL}/${j.jobId}`, j.phase]))
        for (const r of refs) {
          const names = Object.keys(r).filter((k) => k.startsWith("uws:"))
          expect(names).toEqual(["uws:phase", "uws:runId", "uws:ownerId", "uws:creationTime"].filter((n) => names.includes(n)))
        }
      }),
      { numRuns: propertyRuns(100) }
    )
  })
})
