/**
 * The UWS job document model every binding writes from: for any job, the fields come in the
 * schema's `xs:sequence` order, the required nillable ones are always there, the optional ones
 * exactly when the job has them, `creationTime` only from 1.1; uploads and values the writer
 * cannot carry are shown by reference to where the binding serves them; and the `param:` rule
 * it relies on.
 */
import { JobDocument } from "@uws-kit/core"
import { isUpload, type Job, type Parameter, uploadName, uploadParameter } from "@uws-kit/core/Job"
import * as Phases from "@uws-kit/core/Phase"
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

// UWS-v1.1.xsd, JobSummary and ShortJobDescription.
const JOB_SUMMARY = ["jobId", "runId", "ownerId", "phase", "quote", "creationTime", "startTime", "endTime", "executionDuration", "destruction", "parameters", "results", "errorSummary", "jobInfo"]
const SHORT_DESCRIPTION = ["phase", "runId", "ownerId", "creationTime"]
const ALWAYS = ["jobId", "ownerId", "phase", "quote", "startTime", "endTime", "executionDuration", "destruction", "parameters", "results"]

const instant = fc.integer({ min: 0, max: 253402300799999 })
const name = fc.constantFrom("a", "B", "in", "q")
const parameter: fc.Arbitrary<Parameter> = fc.oneof(
  fc.record({ name, value: fc.string() }),
  fc.record({ name, value: fc.string(), byReference: fc.boolean() }),
  name.map(uploadParameter),
  // `param:` by value is a value like any other, not an upload.
  name.map((n) => ({ name: n, value: `param:${n}` }))
)
const job: fc.Arbitrary<Job> = fc.record({
  jobId: fc.string({ minLength: 1 }),
  runId: fc.option(fc.string()),
  ownerId: fc.option(fc.string()),
  phase: fc.constantFrom(...Phases.all),
  quote: fc.option(instant),
  creationTime: instant,
  startTime: fc.option(instant),
  endTime: fc.option(instant),
  executionDuration: fc.nat(),
  destruction: fc.option(instant),
  parameters: fc.array(parameter, { maxLength: 6 }),
  results: fc.array(
    fc.record({ id: fc.string(), href: fc.string(), mimeType: fc.string(), size: fc.nat() }, { requiredKeys: ["id"] }),
    { maxLength: 4 }
  ),
  errorSummary: fc.option(fc.record({ type: fc.constantFrom("transient" as const, "fatal" as const), message: fc.string(), hasDetail: fc.boolean() })),
  jobInfo: fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
  version: fc.nat()
}).chain((j) =>
  // A job may keep its quote's and termination's state (every job the service makes does).
  fc.option(
    fc.record({
      quoteStatus: fc.constantFrom("unknown" as const, "estimated" as const, "accepted" as const, "exceeded" as const),
      quoteAcceptedAt: fc.option(instant),
      terminationStatus: fc.constantFrom("scheduled" as const, "rescheduled" as const, "reached" as const)
    }),
    { nil: undefined }
  ).map((terms): Job => (terms === undefined ? j : { ...j, ...terms }))
)
const version = fc.constantFrom<JobDocument.Version>("1.0", "1.1")

const links: JobDocument.Links = {
  result: (id) => `R/${id}`,
  parameter: (n, index) => `P/${n}${index === undefined ? "" : `?${index}`}`,
  isShowable: (v) => !v.includes("\u0001")
}

const isSubsequence = (names: ReadonlyArray<string>, order: ReadonlyArray<string>) => {
  let i = 0
  for (const n of names) {
    while (i < order.length && order[i] !== n) i++
    if (i === order.length) return false
    i++
  }
  return true
}

describe("JobDocument.jobSummary", () => {
  it("property: schema order; required nillable fields always, optional ones exactly when the job has them; creationTime from 1.1", () => {
    fc.assert(
      fc.property(job, version, (j, v) => {
        const summary = JobDocument.jobSummary(j, links, v)
        const names = summary.fields.map((f) => f.name)
        expect(summary.version).toBe(v)
        expect(isSubsequence(names, JOB_SUMMARY)).toBe(true)
        expect(new Set(names).size).toBe(names.length)
        for (const n of ALWAYS) expect(names).toContain(n)
        expect(names.includes("runId")).toBe(j.runId !== null)
        expect(names.includes("errorSummary")).toBe(j.errorSummary !== null)
        expect(names.includes("jobInfo")).toBe(j.jobInfo !== null || j.quoteStatus !== undefined)
        const info = summary.fields.find((f) => f._tag === "JobInfo")
        expect(info?._tag === "JobInfo" ? info.terms : undefined).toEqual(
          j.quoteStatus === undefined
            ? undefined
            : { quote: j.quoteStatus, quoteAcceptedAt: j.quoteAcceptedAt ?? null, termination: j.terminationStatus ?? "scheduled" }
        )
        expect(names.includes("creationTime")).toBe(v === "1.1")
        const ref = JobDocument.jobRef(j, v)
        expect(ref.id).toBe(j.jobId)
        expect(isSubsequence(ref.fields.map((f) => f.name), SHORT_DESCRIPTION)).toBe(true)
        expect(ref.fields.some((f) => f.name === "creationTime")).toBe(v === "1.1")
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("property: results carry their own href or the binding's; parameters as stored, or by reference when uploaded or unshowable", () => {
    fc.assert(
      fc.property(job, (j) => {
        expect(JobDocument.results(j, links).map((r) => r.href)).toEqual(j.results.map((r) => r.href ?? `R/${r.id}`))
        const shown = JobDocument.parameters(j, links)
        expect(shown.map((p) => p.id)).toEqual(j.parameters.map((p) => p.name))
        j.parameters.forEach((p, i) => {
          const many = j.parameters.filter((q) => q.name === p.name).length > 1
          const index = j.parameters.slice(0, i).filter((q) => q.name === p.name).length
          const expected = isUpload(p)
            ? { id: p.name, value: `P/${p.name}`, byReference: true }
            : p.value.includes("\u0001")
              ? { id: p.name, value: `P/${p.name}${many ? `?${index}` : ""}`, byReference: true }
              : { id: p.name, value: p.value, byReference: p.byReference === true }
          expect(shown[i]).toEqual(expected)
        })
        // A binding without parameter URLs shows every parameter as stored.
        expect(JobDocument.parameters(j, {})).toEqual(
          j.parameters.map((p) => ({ id: p.name, value: p.value, byReference: p.byReference === true }))
        )
      }),
      { numRuns: propertyRuns(500) }
    )
  })
})

describe("the param: upload rule", () => {
  it("property: an upload parameter names its upload; nothing else is an upload", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.option(fc.boolean(), { nil: undefined }), (n, value, byReference) => {
        expect(uploadName(uploadParameter(n))).toBe(n)
        expect(uploadParameter(n)).toEqual({ name: n, value: `param:${n}`, byReference: true })
        const p: Parameter = byReference === undefined ? { name: n, value } : { name: n, value, byReference }
        expect(isUpload(p)).toBe(byReference === true && value.startsWith("param:"))
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})
