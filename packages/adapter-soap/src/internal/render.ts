/**
 * UWS 1.1 documents (job, job list, results, error summary) as XML fragments, valid against
 * `UWS-v1.1.xsd`: element order of the schema's sequences, `xsi:nil` for the required nillable
 * elements, times in ISO 8601 UTC with milliseconds. The fragments use the prefixes the envelope
 * declares once (`uws`, `xlink`, `xsi`, `u`), so they stay small.
 */
import type { ErrorSummary, Job, ResultRef } from "@uws-kit/core/Job"
import { escapeAttribute as attr, escapeText as text } from "./xml.js"
import { formatDateTime } from "./types.js"

/** What rendering needs from the request: where results without an href are served. */
export interface RenderContext {
  readonly resultHref: (jobId: string, resultId: string) => string
}

const nil = (tag: string) => `<${tag} xsi:nil="true"/>`
const time = (tag: string, ms: number | null) => (ms === null ? nil(tag) : `<${tag}>${formatDateTime(ms)}</${tag}>`)

/** `uws:result` elements of a job. */
export const resultElements = (jobId: string, results: ReadonlyArray<ResultRef>, ctx: RenderContext): string => {
  let out = ""
  for (const r of results) {
    const href = r.href ?? ctx.resultHref(jobId, r.id)
    out += `<uws:result id="${attr(r.id)}" xlink:type="simple" xlink:href="${attr(href)}"${r.size === undefined ? "" : ` size="${r.size}"`}${r.mimeType === undefined ? "" : ` mime-type="${attr(r.mimeType)}"`}/>`
  }
  return out
}

/** The `uws:results` element. */
export const results = (jobId: string, refs: ReadonlyArray<ResultRef>, ctx: RenderContext): string =>
  refs.length === 0 ? "<uws:results/>" : `<uws:results>${resultElements(jobId, refs, ctx)}</uws:results>`

/** The content of an element of type `uws:ErrorSummary`, with its attributes. */
export const errorSummaryAttributes = (e: ErrorSummary): string => ` type="${e.type}" hasDetail="${e.hasDetail}"`
export const errorSummaryContent = (e: ErrorSummary): string => `<uws:message>${text(e.message)}</uws:message>`

/** The `uws:job` element (JobSummary), version 1.1. */
export const job = (j: Job, ctx: RenderContext): string => {
  let out = `<uws:job version="1.1"><uws:jobId>${text(j.jobId)}</uws:jobId>`
  if (j.runId !== null) out += `<uws:runId>${text(j.runId)}</uws:runId>`
  out += j.ownerId === null ? nil("uws:ownerId") : `<uws:ownerId>${text(j.ownerId)}</uws:ownerId>`
  out += `<uws:phase>${j.phase}</uws:phase>`
  out += time("uws:quote", j.quote)
  out += `<uws:creationTime>${formatDateTime(j.creationTime)}</uws:creationTime>`
  out += time("uws:startTime", j.startTime)
  out += time("uws:endTime", j.endTime)
  out += `<uws:executionDuration>${j.executionDuration}</uws:executionDuration>`
  out += time("uws:destruction", j.destruction)
  if (j.parameters.length > 0) {
    out += "<uws:parameters>"
    for (const p of j.parameters) {
      out += `<uws:parameter id="${attr(p.name)}"${p.byReference === true ? ' byReference="true"' : ""}>${text(p.value)}</uws:parameter>`
    }
    out += "</uws:parameters>"
  }
  out += results(j.jobId, j.results, ctx)
  if (j.errorSummary !== null) {
    out += `<uws:errorSummary${errorSummaryAttributes(j.errorSummary)}>${errorSummaryContent(j.errorSummary)}</uws:errorSummary>`
  }
  if (j.jobInfo !== null) {
    const entries = Object.entries(j.jobInfo)
    out += entries.length === 0 ? "<uws:jobInfo/>" : "<uws:jobInfo>"
    // jobInfo is `xs:any` (lax): one element per key, in the binding's namespace.
    for (const [key, value] of entries) out += `<u:info key="${attr(key)}">${text(value)}</u:info>`
    if (entries.length > 0) out += "</uws:jobInfo>"
  }
  return out + "</uws:job>"
}

/** The `uws:jobs` element (job list), version 1.1; no hrefs: SOAP jobs have no URL of their own. */
export const jobs = (list: ReadonlyArray<Job>): string => {
  if (list.length === 0) return '<uws:jobs version="1.1"/>'
  let out = '<uws:jobs version="1.1">'
  for (const j of list) {
    out += `<uws:jobref id="${attr(j.jobId)}"><uws:phase>${j.phase}</uws:phase>`
    if (j.runId !== null) out += `<uws:runId>${text(j.runId)}</uws:runId>`
    out += j.ownerId === null ? nil("uws:ownerId") : `<uws:ownerId>${text(j.ownerId)}</uws:ownerId>`
    out += `<uws:creationTime>${formatDateTime(j.creationTime)}</uws:creationTime></uws:jobref>`
  }
  return out + "</uws:jobs>"
}

/** A WS-Addressing endpoint reference to a job: the endpoint, plus the job as a reference parameter. */
export const endpointReference = (address: string, resourceId: string): string =>
  `<wsa:EndpointReference><wsa:Address>${text(address)}</wsa:Address><wsa:ReferenceParameters><u:ResourceIdentifier>${text(resourceId)}</u:ResourceIdentifier></wsa:ReferenceParameters></wsa:EndpointReference>`
