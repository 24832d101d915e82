/**
 * UWS 1.1 documents (job, job list, results, error summary) as XML fragments, valid against
 * `UWS-v1.1.xsd`: element order of the schema's sequences, `xsi:nil` for the required nillable
 * elements, times in ISO 8601 UTC with milliseconds. The fragments use the prefixes the envelope
 * declares once (`uws`, `xlink`, `xsi`, `u`), so they stay small. What a document holds, in which
 * order, is core's `JobDocument` model (shared with the REST binding); this module only writes it.
 */
import type { ErrorSummary, Job, ResultRef } from "@uws-kit/core/Job"
import * as JobDocument from "@uws-kit/core/JobDocument"
import { escapeAttribute as attr, escapeText as text } from "./xml.js"
import { formatDateTime } from "./types.js"

/** What rendering needs from the request: where results without an href are served. */
export interface RenderContext {
  readonly resultHref: (jobId: string, resultId: string) => string
}

// SOAP jobs have no URL of their own, so no parameter URL either: parameters are shown as stored.
const links = (jobId: string, ctx: RenderContext): JobDocument.Links => ({ result: (id) => ctx.resultHref(jobId, id) })

const nil = (tag: string) => `<${tag} xsi:nil="true"/>`

/** `uws:result` elements. */
const resultElements = (results: ReadonlyArray<JobDocument.ResultEntry>): string => {
  let out = ""
  for (const r of results) {
    out += `<uws:result id="${attr(r.id)}" xlink:type="simple" xlink:href="${attr(r.href)}"${r.size === undefined ? "" : ` size="${r.size}"`}${r.mimeType === undefined ? "" : ` mime-type="${attr(r.mimeType)}"`}/>`
  }
  return out
}

const resultsElement = (results: ReadonlyArray<JobDocument.ResultEntry>): string =>
  results.length === 0 ? "<uws:results/>" : `<uws:results>${resultElements(results)}</uws:results>`

/** The `uws:results` element. */
export const results = (jobId: string, refs: ReadonlyArray<ResultRef>, ctx: RenderContext): string =>
  resultsElement(JobDocument.results({ results: refs }, links(jobId, ctx)))

/** The content of an element of type `uws:ErrorSummary`, with its attributes. */
export const errorSummaryAttributes = (e: ErrorSummary): string => ` type="${e.type}" hasDetail="${e.hasDetail}"`
export const errorSummaryContent = (e: ErrorSummary): string => `<uws:message>${text(e.message)}</uws:message>`

const TAGS: { readonly [N in JobDocument.Field["name"]]: string } = {
  jobId: "uws:jobId",
  runId: "uws:runId",
  ownerId: "uws:ownerId",
  phase: "uws:phase",
  quote: "uws:quote",
  creationTime: "uws:creationTime",
  startTime: "uws:startTime",
  endTime: "uws:endTime",
  executionDuration: "uws:executionDuration",
  destruction: "uws:destruction",
  parameters: "uws:parameters",
  results: "uws:results",
  errorSummary: "uws:errorSummary",
  jobInfo: "uws:jobInfo"
}

/** One field of a job or job reference. */
const field = (f: JobDocument.Field): string => {
  const tag = TAGS[f.name]
  switch (f._tag) {
    case "Text":
      return f.value === null ? nil(tag) : `<${tag}>${text(f.value)}</${tag}>`
    case "Phase":
      return `<${tag}>${f.value}</${tag}>`
    case "Instant":
      return f.value === null ? nil(tag) : `<${tag}>${formatDateTime(f.value)}</${tag}>`
    case "Int":
      return `<${tag}>${f.value}</${tag}>`
    case "Parameters": {
      // minOccurs="0": left out when there are none.
      if (f.value.length === 0) return ""
      let out = "<uws:parameters>"
      for (const p of f.value) out += `<uws:parameter id="${attr(p.id)}"${p.byReference ? ' byReference="true"' : ""}>${text(p.value)}</uws:parameter>`
      return `${out}</uws:parameters>`
    }
    case "Results":
      return resultsElement(f.value)
    case "ErrorSummary":
      return `<uws:errorSummary${errorSummaryAttributes(f.value)}>${errorSummaryContent(f.value)}</uws:errorSummary>`
    case "JobInfo": {
      if (f.value.length === 0 && f.terms === undefined) return "<uws:jobInfo/>"
      // jobInfo is `xs:any` (lax): one element per key, in the binding's namespace; the job's
      // terms (quote and termination state) first.
      let out = "<uws:jobInfo>"
      if (f.terms !== undefined) {
        const t = f.terms
        out += `<u:quoteState status="${t.quote}"${t.quoteAcceptedAt === null ? "" : ` acceptedAt="${formatDateTime(t.quoteAcceptedAt)}"`}/>`
        out += `<u:terminationState status="${t.termination}"/>`
      }
      for (const [key, value] of f.value) out += `<u:info key="${attr(key)}">${text(value)}</u:info>`
      return `${out}</uws:jobInfo>`
    }
  }
}

/** The `uws:job` element (JobSummary), version 1.1. */
export const job = (j: Job, ctx: RenderContext): string => {
  const summary = JobDocument.jobSummary(j, links(j.jobId, ctx))
  let out = `<uws:job version="${summary.version}">`
  for (const f of summary.fields) out += field(f)
  return out + "</uws:job>"
}

/** The `uws:jobs` element (job list), version 1.1; no hrefs: SOAP jobs have no URL of their own. */
export const jobs = (list: ReadonlyArray<Job>): string => {
  if (list.length === 0) return '<uws:jobs version="1.1"/>'
  let out = '<uws:jobs version="1.1">'
  for (const j of list) {
    const ref = JobDocument.jobRef(j)
    out += `<uws:jobref id="${attr(ref.id)}">`
    for (const f of ref.fields) out += field(f)
    out += "</uws:jobref>"
  }
  return out + "</uws:jobs>"
}

/** A WS-Addressing endpoint reference to a job: the endpoint, plus the job as a reference parameter. */
export const endpointReference = (address: string, resourceId: string): string =>
  `<wsa:EndpointReference><wsa:Address>${text(address)}</wsa:Address><wsa:ReferenceParameters><u:ResourceIdentifier>${text(resourceId)}</u:ResourceIdentifier></wsa:ReferenceParameters></wsa:EndpointReference>`
