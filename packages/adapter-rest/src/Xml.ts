/**
 * The UWS 1.1 XML representations (`UWS-v1.1.xsd`, namespace `http://www.ivoa.net/xml/UWS/v1.0`):
 * the job list, a job, its results and its parameters.
 *
 * The rules the schema and the clients impose, all kept here:
 * - elements in the schema's `xs:sequence` order; `ownerId`, `startTime`, `endTime` and
 *   `destruction` always present, with `xsi:nil="true"` when empty; `quote` nil when unknown;
 * - `version="1.1"` on `job` and `jobs` only (the schema declares it nowhere else);
 * - instants as UTC with milliseconds and `Z`; `executionDuration` always a number;
 * - result links written with the literal prefix `xlink:href` (pyvo matches the qualified name);
 * - a parameter value that XML 1.0 cannot carry (control characters) is shown by reference, as
 *   the schema asks, pointing at `parameters/{name}` which serves it exactly; inline uploads are
 *   shown by reference to the URL of their content.
 *
 * What a document holds, in which order, is core's `JobDocument` model (shared with the SOAP
 * binding); this module only writes it, with `@uws-kit/http`'s one escaper. The writer is a small
 * string builder: no DOM, so a job renders in microseconds.
 *
 * @since 0.1.0
 */
import type { Job } from "@uws-kit/core/Job"
import * as JobDocument from "@uws-kit/core/JobDocument"
import { Iso8601, XmlEscape } from "@uws-kit/http"
import { parameterHref, resultHref } from "./internal/links.js"

const { format } = Iso8601

/**
 * The UWS namespace (unchanged since 1.0; 1.1 documents are marked by `version="1.1"`).
 *
 * @since 0.1.0
 * @category constants
 */
export const UWS_NAMESPACE = "http://www.ivoa.net/xml/UWS/v1.0"

/**
 * The namespace of the `jobInfo` entries this binding writes (`<kit:entry name="…">value</kit:entry>`).
 *
 * @since 0.1.0
 * @category constants
 */
export const JOB_INFO_NAMESPACE = "urn:uws-kit:jobinfo"

const XLINK = "http://www.w3.org/1999/xlink"
const XSI = "http://www.w3.org/2001/XMLSchema-instance"
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
const NAMESPACES = `xmlns:uws="${UWS_NAMESPACE}" xmlns:xlink="${XLINK}" xmlns:xsi="${XSI}"`

/**
 * Whether a string can be written as XML 1.0 character data exactly as it is (`@uws-kit/http`'s
 * `XmlEscape.isRepresentable`).
 *
 * @since 0.1.0
 * @category escaping
 */
export const isXmlSafe: (s: string) => boolean = XmlEscape.isRepresentable

/**
 * Escapes character data (`@uws-kit/http`'s `XmlEscape.text`).
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeText: (s: string) => string = XmlEscape.text

/**
 * Escapes an attribute value (`@uws-kit/http`'s `XmlEscape.attribute`).
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeAttribute: (s: string) => string = XmlEscape.attribute

const links = (jobUrl: string): JobDocument.Links => ({
  result: (id) => resultHref(jobUrl, { id }),
  parameter: (name, index) => parameterHref(jobUrl, name, index),
  isShowable: XmlEscape.isRepresentable
})

const element = (name: string, value: string | null, indent: string): string =>
  value === null ? `${indent}<uws:${name} xsi:nil="true"/>\n` : `${indent}<uws:${name}>${escapeText(value)}</uws:${name}>\n`

const resultsBody = (results: ReadonlyArray<JobDocument.ResultEntry>, indent: string): string => {
  let out = ""
  for (const r of results) {
    out +=
      `${indent}<uws:result id="${escapeAttribute(r.id)}" xlink:type="simple" xlink:href="${escapeAttribute(r.href)}"` +
      (r.size === undefined ? "" : ` size="${r.size}"`) +
      (r.mimeType === undefined ? "" : ` mime-type="${escapeAttribute(r.mimeType)}"`) +
      "/>\n"
  }
  return out
}

const parametersBody = (parameters: ReadonlyArray<JobDocument.ParameterEntry>, indent: string): string => {
  let out = ""
  for (const p of parameters) {
    out += `${indent}<uws:parameter id="${escapeAttribute(p.id)}"${p.byReference ? ' byReference="true"' : ""}>${escapeText(p.value)}</uws:parameter>\n`
  }
  return out
}

/**
 * The job's terms inside `jobInfo` (the schema's `xs:any`, lax): `<kit:quoteState status="…"
 * acceptedAt="…"/>` and `<kit:terminationState status="…"/>`.
 */
const termsElements = (terms: JobDocument.Terms, indent: string): string =>
  `${indent}<kit:quoteState status="${terms.quote}"${terms.quoteAcceptedAt === null ? "" : ` acceptedAt="${format(terms.quoteAcceptedAt)}"`}/>\n` +
  `${indent}<kit:terminationState status="${terms.termination}"/>\n`

/** One field of a job or job reference, at an indent (children one level deeper). */
const field = (f: JobDocument.Field, indent: string): string => {
  switch (f._tag) {
    case "Text":
    case "Phase":
      return element(f.name, f.value, indent)
    case "Instant":
      return element(f.name, f.value === null ? null : format(f.value), indent)
    case "Int":
      return element(f.name, String(f.value), indent)
    case "Parameters":
      return f.value.length === 0
        ? `${indent}<uws:parameters/>\n`
        : `${indent}<uws:parameters>\n${parametersBody(f.value, `${indent}  `)}${indent}</uws:parameters>\n`
    case "Results":
      return f.value.length === 0 ? `${indent}<uws:results/>\n` : `${indent}<uws:results>\n${resultsBody(f.value, `${indent}  `)}${indent}</uws:results>\n`
    case "ErrorSummary": {
      const e = f.value
      return `${indent}<uws:errorSummary type="${e.type}" hasDetail="${e.hasDetail}">\n${indent}  <uws:message>${escapeText(e.message)}</uws:message>\n${indent}</uws:errorSummary>\n`
    }
    case "JobInfo": {
      let out = `${indent}<uws:jobInfo xmlns:kit="${JOB_INFO_NAMESPACE}">\n`
      if (f.terms !== undefined) out += termsElements(f.terms, `${indent}  `)
      for (const [name, value] of f.value) out += `${indent}  <kit:entry name="${escapeAttribute(name)}">${escapeText(value)}</kit:entry>\n`
      return `${out}${indent}</uws:jobInfo>\n`
    }
  }
}

const version = (v: JobDocument.Version) => (v === "1.0" ? "" : ` version="${v}"`)

/**
 * A job (`<uws:job>`, JobSummary). `jobUrl` is the job's absolute URL, the base of result and
 * parameter links.
 *
 * @since 0.1.0
 * @category documents
 */
export const jobDocument = (job: Job, jobUrl: string): string => {
  const summary = JobDocument.jobSummary(job, links(jobUrl))
  let out = `${DECLARATION}<uws:job ${NAMESPACES}${version(summary.version)}>\n`
  for (const f of summary.fields) out += field(f, "  ")
  return `${out}</uws:job>\n`
}

/**
 * The job list (`<uws:jobs>`): one `jobref` per job with its phase, runId, ownerId and creation
 * time (UWS 1.1 §2.2.2.1).
 *
 * @since 0.1.0
 * @category documents
 */
export const jobListDocument = (jobs: ReadonlyArray<Job>, jobUrl: (jobId: string) => string): string => {
  let out = `${DECLARATION}<uws:jobs ${NAMESPACES} version="1.1">\n`
  for (const job of jobs) {
    const ref = JobDocument.jobRef(job)
    out += `  <uws:jobref id="${escapeAttribute(ref.id)}" xlink:type="simple" xlink:href="${escapeAttribute(jobUrl(ref.id))}">\n`
    for (const f of ref.fields) out += field(f, "    ")
    out += "  </uws:jobref>\n"
  }
  return `${out}</uws:jobs>\n`
}

/**
 * A job's results (`<uws:results>`).
 *
 * @since 0.1.0
 * @category documents
 */
export const resultsDocument = (job: Job, jobUrl: string): string =>
  job.results.length === 0
    ? `${DECLARATION}<uws:results ${NAMESPACES}/>\n`
    : `${DECLARATION}<uws:results ${NAMESPACES}>\n${resultsBody(JobDocument.results(job, links(jobUrl)), "  ")}</uws:results>\n`

/**
 * A job's parameters (`<uws:parameters>`).
 *
 * @since 0.1.0
 * @category documents
 */
export const parametersDocument = (job: Job, jobUrl: string): string =>
  job.parameters.length === 0
    ? `${DECLARATION}<uws:parameters ${NAMESPACES}/>\n`
    : `${DECLARATION}<uws:parameters ${NAMESPACES}>\n${parametersBody(JobDocument.parameters(job, links(jobUrl)), "  ")}</uws:parameters>\n`

/**
 * An atomic resource as a one-element UWS document (`<uws:phase>EXECUTING</uws:phase>`,
 * `<uws:quote xsi:nil="true"/>`), for a client that accepts only XML (UWS v0.3 draft). The
 * element is named as in the job document (`phase`, `executionDuration`, `destruction`, `quote`,
 * `ownerId`; `termination` for the v0.3 resource); `null` is written as `xsi:nil`. UWS-v1.1.xsd
 * declares none of these as global elements, so no schema governs them as a document root.
 *
 * @since 0.1.0
 * @category documents
 */
export const atomDocument = (name: string, value: string | null): string =>
  value === null
    ? `${DECLARATION}<uws:${name} ${NAMESPACES} xsi:nil="true"/>\n`
    : `${DECLARATION}<uws:${name} ${NAMESPACES}>${escapeText(value)}</uws:${name}>\n`
