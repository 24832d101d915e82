/**
 * The document readers: UWS job, job list, results and parameters documents (UWS 1.0 and 1.1)
 * → typed values. They read any server's documents, not only uws-kit's: elements and attributes
 * are matched by local name whatever their namespace or prefix (as pyvo does), absent, empty and
 * `xsi:nil` values read as `null`, and a phase name this client does not know reads as UNKNOWN.
 *
 * The XML goes through `Xml.read` of `@uws-kit/http`, the reader every uws-kit binding uses: no
 * DTD is read, so a server's answer cannot make the client fetch an external entity (XXE) or
 * expand an entity bomb; such an answer is refused as `malformed`, saying so. Processing
 * instructions before the root (the `<?xml-stylesheet?>` that UWS 1.1 §2.2.2 suggests for
 * browsers, which DaCHS sends) are skipped; anywhere else they are refused.
 *
 * @since 0.1.0
 */
import type { Parameter } from "@uws-kit/core/Job"
import * as Phases from "@uws-kit/core/Phase"
import type { Phase } from "@uws-kit/core/Phase"
import { Iso8601, Xml } from "@uws-kit/http"
import { Either } from "effect"
import { malformed } from "./UwsClientError.js"

// ---- models ------------------------------------------------------------------------------

/**
 * A result as a UWS document lists it. `href` is absolute when the document's URL was known.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultLink {
  readonly id: string
  readonly href: string | null
  readonly mimeType?: string
  readonly size?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorSummary {
  readonly type: string
  readonly hasDetail: boolean
  readonly message: string
}

/**
 * A job document (the schema's `JobSummary`). Times are `Date`s; absent, empty and `xsi:nil`
 * values are `null`.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobSummary {
  /** The document's `version` attribute; "1.0" when absent, as UWS 1.1 §2.2.1.1 says. */
  readonly version: string
  readonly jobId: string
  readonly runId: string | null
  readonly ownerId: string | null
  /** A phase name this client does not know reads as "UNKNOWN" (the client should re-query). */
  readonly phase: Phase
  readonly quote: Date | null
  readonly creationTime: Date | null
  readonly startTime: Date | null
  readonly endTime: Date | null
  /** Seconds; 0 = unlimited; `null` when the document has none. */
  readonly executionDuration: number | null
  readonly destruction: Date | null
  readonly parameters: ReadonlyArray<Parameter>
  readonly results: ReadonlyArray<ResultLink>
  readonly errorSummary: ErrorSummary | null
  /**
   * The text-only children of `jobInfo`, keyed by their `name` attribute when they have one
   * (`<entry name="progress">…</entry>`), else by their local name.
   */
  readonly jobInfo: Readonly<Record<string, string>> | null
}

/**
 * A job document and the URL it was read from.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteJob extends JobSummary {
  readonly url: string
}

/**
 * One entry of a job list (the schema's `ShortJobDescription`).
 *
 * @since 0.1.0
 * @category models
 */
export interface JobReference {
  readonly jobId: string
  /** The job's URL: the entry's `xlink:href`, else the list URL + "/" + id (what pyvo assumes). */
  readonly url: string
  readonly phase: Phase
  readonly runId: string | null
  readonly ownerId: string | null
  readonly creationTime: Date | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobList {
  readonly version: string
  /** The URL the list was finally read from (a server may redirect to bound it, e.g. with LAST). */
  readonly url: string
  readonly jobs: ReadonlyArray<JobReference>
  /** The next page, when the server pages with a `Link: <…>; rel="next"` header (an extension). */
  readonly next: string | null
}

// ---- reading XML -------------------------------------------------------------------------

/**
 * The limits the readers give `Xml.read`. Its defaults are sized for requests a service reads;
 * a client reads answers, and a job list of thousands of jobs (about five elements each) or a
 * long inline query is normal there. The reader is linear in time and memory whatever the
 * document, so these only stop the absurd; depth and attributes per element keep the defaults.
 *
 * @since 0.1.0
 * @category constants
 */
export const limits: Partial<Xml.Limits> = {
  maxElements: 5_000_000,
  maxDocumentNamespaceDeclarations: 1_000_000,
  maxTextLength: 64 * 1024 * 1024
}

// White space, comments and processing instructions: what may come before the root element.
const PROLOG_ITEM = /\s+|<!--[\s\S]*?-->|<\?([^\s?]*)[\s\S]*?\?>/y

/**
 * The text with the processing instructions before the root blanked out (the XML declaration
 * kept), so that line and column numbers in a refusal still point into what the server sent.
 */
const withoutPrologInstructions = (text: string): string => {
  let out = text
  PROLOG_ITEM.lastIndex = 0
  for (let m = PROLOG_ITEM.exec(text); m !== null && m[0] !== ""; m = PROLOG_ITEM.exec(text)) {
    const target = m[1]
    if (target === undefined || target.toLowerCase() === "xml") continue
    const start = PROLOG_ITEM.lastIndex - m[0].length
    out = out.slice(0, start) + m[0].replace(/[^\n]/g, " ") + out.slice(PROLOG_ITEM.lastIndex)
  }
  return out
}

/** The root element, checked to be the expected UWS document (by local name). */
const rootOf = (xml: string, expected: string, url: string): Xml.Element => {
  const doc = Xml.read(withoutPrologInstructions(xml), limits)
  if ("problem" in doc) {
    const { problem } = doc
    if (problem.kind === "declaration" && /^\s*<!DOCTYPE\s+html[\s>]/i.test(xml)) {
      throw malformed(`Expected a UWS <${expected}> document, got an HTML page.`, url)
    }
    throw malformed(`Expected a UWS <${expected}> document; the answer was refused: ${problem.message}`, url)
  }
  if (doc.root.local !== expected) throw malformed(`Expected a UWS <${expected}> document, got <${doc.root.local}>.`, url)
  return doc.root
}

const child = (element: Xml.Element | undefined, local: string): Xml.Element | undefined =>
  element?.children.find((c) => c.local === local)

const children = (element: Xml.Element | undefined, local: string): ReadonlyArray<Xml.Element> =>
  element === undefined ? [] : element.children.filter((c) => c.local === local)

/** An attribute by local name, whatever its prefix (`href` is `xlink:href` in every document). */
const attr = (element: Xml.Element | undefined, local: string): string | undefined =>
  element?.attributes.find((a) => a.local === local)?.value

const isNil = (element: Xml.Element): boolean => attr(element, "nil")?.trim() === "true"

/** The text of an element: `undefined` when absent, `null` when nil, else its text. */
const rawText = (element: Xml.Element | undefined): string | null | undefined =>
  element === undefined ? undefined : isNil(element) ? null : element.text

const optText = (element: Xml.Element | undefined): string | null => rawText(element) ?? null

/** An identifier (owner, run id): an empty element means there is none, as in UWS 1.0 documents. */
const optId = (element: Xml.Element | undefined): string | null => {
  const t = optText(element)
  return t === null || t.trim() === "" ? null : t
}

const date = (element: Xml.Element | undefined, field: string, url: string): Date | null => {
  const t = optText(element)
  if (t === null || t.trim() === "") return null
  const parsed = Iso8601.parse(t)
  if (Either.isLeft(parsed)) throw malformed(`<${field}> is not an ISO 8601 instant: ${parsed.left}`, url)
  return new Date(parsed.right)
}

const phaseOf = (element: Xml.Element | undefined, url: string): Phase => {
  const t = optText(element)
  if (t === null || t.trim() === "") throw malformed("The document has no <phase>.", url)
  return Phases.parse(t) ?? "UNKNOWN"
}

const resolve = (href: string, base: string | undefined): string => {
  if (base === undefined || base === "") return href
  try {
    return new URL(href, base).href
  } catch {
    return href
  }
}

const parametersOf = (element: Xml.Element | undefined): ReadonlyArray<Parameter> =>
  children(element, "parameter").map((p) => {
    const name = attr(p, "id") ?? ""
    const value = rawText(p) ?? ""
    return attr(p, "byReference") === "true" ? { name, value, byReference: true } : { name, value }
  })

const resultsOf = (element: Xml.Element | undefined, base: string | undefined): ReadonlyArray<ResultLink> =>
  children(element, "result").map((r) => {
    const href = attr(r, "href")
    const mimeType = attr(r, "mime-type")
    const size = attr(r, "size")
    const n = size === undefined ? NaN : Number(size)
    return {
      id: attr(r, "id") ?? "",
      href: href === undefined ? null : resolve(href, base),
      ...(mimeType === undefined ? {} : { mimeType }),
      ...(Number.isSafeInteger(n) && n >= 0 ? { size: n } : {})
    }
  })

const jobInfoOf = (element: Xml.Element | undefined): Readonly<Record<string, string>> | null => {
  if (element === undefined || isNil(element)) return null
  const out: Record<string, string> = {}
  for (const item of element.children) {
    // `<entry name="progress">3/10</entry>` (a name attribute) or `<progress>3/10</progress>`;
    // structured entries have no single text to show and are left out.
    if (item.children.length > 0 || isNil(item)) continue
    out[attr(item, "name") ?? item.local] = item.text
  }
  return out
}

// ---- the readers -------------------------------------------------------------------------

/**
 * Reads a UWS job document (1.0 or 1.1, any namespace prefix). Relative result hrefs are
 * resolved against `url` when given.
 *
 * @since 0.1.0
 * @category reading
 * @example
 * import { Documents } from "@uws-kit/client"
 * const job = Documents.parseJob(`<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>1</jobId><phase>PENDING</phase></job>`)
 * job.phase // "PENDING"
 */
export const parseJob = (xml: string, url?: string): JobSummary => {
  const u = url ?? ""
  const job = rootOf(xml, "job", u)
  const jobId = optText(child(job, "jobId"))
  if (jobId === null || jobId.trim() === "") throw malformed("The job document has no <jobId>.", u)
  const ed = optText(child(job, "executionDuration"))
  const executionDuration = ed === null || ed.trim() === "" ? null : Number(ed.trim())
  if (executionDuration !== null && !Number.isFinite(executionDuration)) {
    throw malformed(`<executionDuration> is not a number: "${ed}".`, u)
  }
  const errorElement = child(job, "errorSummary")
  const errorSummary: ErrorSummary | null =
    errorElement === undefined || isNil(errorElement)
      ? null
      : {
          type: attr(errorElement, "type") ?? "fatal",
          hasDetail: attr(errorElement, "hasDetail") === "true",
          message: optText(child(errorElement, "message")) ?? ""
        }
  return {
    version: attr(job, "version") ?? "1.0",
    jobId: jobId.trim(),
    runId: optId(child(job, "runId")),
    ownerId: optId(child(job, "ownerId")),
    phase: phaseOf(child(job, "phase"), u),
    quote: date(child(job, "quote"), "quote", u),
    creationTime: date(child(job, "creationTime"), "creationTime", u),
    startTime: date(child(job, "startTime"), "startTime", u),
    endTime: date(child(job, "endTime"), "endTime", u),
    executionDuration,
    destruction: date(child(job, "destruction"), "destruction", u),
    parameters: parametersOf(child(job, "parameters")),
    results: resultsOf(child(job, "results"), url),
    errorSummary,
    jobInfo: jobInfoOf(child(job, "jobInfo"))
  }
}

/**
 * Reads a UWS job list (`<jobs>` of `<jobref>`s). Entries without an `xlink:href` get
 * `url + "/" + id`.
 *
 * @since 0.1.0
 * @category reading
 */
export const parseJobList = (xml: string, url: string): Omit<JobList, "next"> => {
  const jobs = rootOf(xml, "jobs", url)
  const base = url.replace(/[?#].*$/, "").replace(/\/+$/, "")
  return {
    version: attr(jobs, "version") ?? "1.0",
    url,
    jobs: children(jobs, "jobref").map((ref) => {
      const jobId = attr(ref, "id") ?? ""
      const href = attr(ref, "href")
      return {
        jobId,
        url: href === undefined ? `${base}/${encodeURIComponent(jobId)}` : resolve(href, url),
        phase: phaseOf(child(ref, "phase"), url),
        runId: optId(child(ref, "runId")),
        ownerId: optId(child(ref, "ownerId")),
        creationTime: date(child(ref, "creationTime"), "creationTime", url)
      }
    })
  }
}

/**
 * Reads a UWS `<results>` document. Relative hrefs are resolved against `url` when given.
 *
 * @since 0.1.0
 * @category reading
 */
export const parseResults = (xml: string, url?: string): ReadonlyArray<ResultLink> => resultsOf(rootOf(xml, "results", url ?? ""), url)

/**
 * Reads a UWS `<parameters>` document.
 *
 * @since 0.1.0
 * @category reading
 */
export const parseParameters = (xml: string, url?: string): ReadonlyArray<Parameter> => parametersOf(rootOf(xml, "parameters", url ?? ""))
