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
 * The writer is a small escaping string builder: no DOM, so a job renders in microseconds.
 *
 * @since 0.1.0
 */
import type { Job, ResultRef } from "@uws-kit/core/Job"
import { Iso8601 } from "@uws-kit/http"

const { format } = Iso8601
import { isUpload, parameterHref, resultHref } from "./internal/links.js"

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

// Characters XML 1.0 cannot hold even escaped, and unpaired surrogates.
const ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const ILLEGAL_G = new RegExp(ILLEGAL.source, "g")
const TEXT_SPECIAL = /[&<>\r]/
const ATTR_SPECIAL = /[&<>"\t\n\r]/

const entity: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;"
}

/**
 * Whether a string can be written as XML 1.0 character data exactly as it is.
 *
 * @since 0.1.0
 * @category escaping
 */
export const isXmlSafe = (s: string): boolean => !ILLEGAL.test(s)

/**
 * Escapes character data. `\r` is written as `&#13;` so that a parser gives it back (line-end
 * normalisation would otherwise drop it); characters XML cannot carry become U+FFFD.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeText = (s: string): string => {
  const clean = ILLEGAL.test(s) ? s.replace(ILLEGAL_G, "\uFFFD") : s
  return TEXT_SPECIAL.test(clean) ? clean.replace(/[&<>\r]/g, (c) => entity[c]!) : clean
}

/**
 * Escapes an attribute value (also tabs and line ends, which attribute normalisation would turn
 * into spaces).
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeAttribute = (s: string): string => {
  const clean = ILLEGAL.test(s) ? s.replace(ILLEGAL_G, "\uFFFD") : s
  return ATTR_SPECIAL.test(clean) ? clean.replace(/[&<>"\t\n\r]/g, (c) => entity[c]!) : clean
}

const element = (name: string, value: string | null, indent: string): string =>
  value === null ? `${indent}<uws:${name} xsi:nil="true"/>\n` : `${indent}<uws:${name}>${escapeText(value)}</uws:${name}>\n`

const time = (t: number | null) => (t === null ? null : format(t))

const resultElement = (jobUrl: string, r: ResultRef, indent: string): string =>
  `${indent}<uws:result id="${escapeAttribute(r.id)}" xlink:type="simple" xlink:href="${escapeAttribute(resultHref(jobUrl, r))}"` +
  (r.size === undefined ? "" : ` size="${r.size}"`) +
  (r.mimeType === undefined ? "" : ` mime-type="${escapeAttribute(r.mimeType)}"`) +
  "/>\n"

const resultsBody = (job: Job, jobUrl: string, indent: string): string =>
  job.results.map((r) => resultElement(jobUrl, r, indent)).join("")

const parametersBody = (job: Job, jobUrl: string, indent: string): string => {
  let out = ""
  const counts = new Map<string, number>()
  for (const p of job.parameters) counts.set(p.name, (counts.get(p.name) ?? 0) + 1)
  const seen = new Map<string, number>()
  for (const p of job.parameters) {
    const index = seen.get(p.name) ?? 0
    seen.set(p.name, index + 1)
    const id = ` id="${escapeAttribute(p.name)}"`
    if (isUpload(p)) {
      out += `${indent}<uws:parameter${id} byReference="true">${escapeText(parameterHref(jobUrl, p.name))}</uws:parameter>\n`
    } else if (!isXmlSafe(p.value)) {
      const href = parameterHref(jobUrl, p.name, counts.get(p.name)! > 1 ? index : undefined)
      out += `${indent}<uws:parameter${id} byReference="true">${escapeText(href)}</uws:parameter>\n`
    } else {
      out += `${indent}<uws:parameter${id}${p.byReference === true ? ' byReference="true"' : ""}>${escapeText(p.value)}</uws:parameter>\n`
    }
  }
  return out
}

/**
 * A job (`<uws:job>`, JobSummary). `jobUrl` is the job's absolute URL, the base of result and
 * parameter links.
 *
 * @since 0.1.0
 * @category documents
 */
export const jobDocument = (job: Job, jobUrl: string): string => {
  let out = `${DECLARATION}<uws:job ${NAMESPACES} version="1.1">\n`
  out += element("jobId", job.jobId, "  ")
  if (job.runId !== null) out += element("runId", job.runId, "  ")
  out += element("ownerId", job.ownerId, "  ")
  out += element("phase", job.phase, "  ")
  out += element("quote", time(job.quote), "  ")
  out += element("creationTime", format(job.creationTime), "  ")
  out += element("startTime", time(job.startTime), "  ")
  out += element("endTime", time(job.endTime), "  ")
  out += element("executionDuration", String(job.executionDuration), "  ")
  out += element("destruction", time(job.destruction), "  ")
  out +=
    job.parameters.length === 0
      ? "  <uws:parameters/>\n"
      : `  <uws:parameters>\n${parametersBody(job, jobUrl, "    ")}  </uws:parameters>\n`
  out += job.results.length === 0 ? "  <uws:results/>\n" : `  <uws:results>\n${resultsBody(job, jobUrl, "    ")}  </uws:results>\n`
  if (job.errorSummary !== null) {
    const e = job.errorSummary
    out += `  <uws:errorSummary type="${e.type}" hasDetail="${e.hasDetail}">\n    <uws:message>${escapeText(e.message)}</uws:message>\n  </uws:errorSummary>\n`
  }
  if (job.jobInfo !== null) {
    const entries = Object.entries(job.jobInfo)
    out += `  <uws:jobInfo xmlns:kit="${JOB_INFO_NAMESPACE}">\n`
    for (const [name, value] of entries) {
      out += `    <kit:entry name="${escapeAttribute(name)}">${escapeText(value)}</kit:entry>\n`
    }
    out += "  </uws:jobInfo>\n"
  }
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
    out += `  <uws:jobref id="${escapeAttribute(job.jobId)}" xlink:type="simple" xlink:href="${escapeAttribute(jobUrl(job.jobId))}">\n`
    out += element("phase", job.phase, "    ")
    if (job.runId !== null) out += element("runId", job.runId, "    ")
    out += element("ownerId", job.ownerId, "    ")
    out += element("creationTime", format(job.creationTime), "    ")
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
    : `${DECLARATION}<uws:results ${NAMESPACES}>\n${resultsBody(job, jobUrl, "  ")}</uws:results>\n`

/**
 * A job's parameters (`<uws:parameters>`).
 *
 * @since 0.1.0
 * @category documents
 */
export const parametersDocument = (job: Job, jobUrl: string): string =>
  job.parameters.length === 0
    ? `${DECLARATION}<uws:parameters ${NAMESPACES}/>\n`
    : `${DECLARATION}<uws:parameters ${NAMESPACES}>\n${parametersBody(job, jobUrl, "  ")}</uws:parameters>\n`

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
