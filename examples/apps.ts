/**
 * The demo's two UWS applications, written against the public API of `@uws-kit/core` only.
 *
 * - `echo` accepts any parameters and finishes at once with one result, `result`: a VOTable
 *   listing the parameters it got (a VOTable, so that pyvo's `fetch_result()` reads it as a
 *   table). A parameter `ERROR=<message>` makes the job end in ERROR with that message.
 * - `sleep` sleeps `SECONDS` seconds (default 5, at most 3600, fractions allowed), reporting its
 *   progress in the job's jobInfo every second, and stops at once when the job is aborted
 *   (its work is an Effect, so an abort interrupts it).
 */
import { Job, Worker } from "@uws-kit/core"
import { Duration, Effect } from "effect"

const VOTABLE_TYPE = "application/x-votable+xml"

// XML 1.0 cannot carry most control characters; a parameter may hold anything.
const INVALID_XML = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu

const xml = (s: string) =>
  s
    .replace(INVALID_XML, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")

/** A one-table VOTable 1.4 document in the shape TAP results have (pyvo reads it as such). */
const votable = (
  description: string,
  fields: ReadonlyArray<{ readonly name: string; readonly datatype: string; readonly arraysize?: string }>,
  rows: ReadonlyArray<ReadonlyArray<string>>
) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n` +
  `<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n` +
  ` <RESOURCE type="results">\n` +
  `  <INFO name="QUERY_STATUS" value="OK"/>\n` +
  `  <TABLE name="result">\n` +
  `   <DESCRIPTION>${xml(description)}</DESCRIPTION>\n` +
  fields
    .map((f) => `   <FIELD name="${xml(f.name)}" datatype="${f.datatype}"${f.arraysize === undefined ? "" : ` arraysize="${f.arraysize}"`}/>\n`)
    .join("") +
  `   <DATA><TABLEDATA>\n` +
  rows.map((r) => `    <TR>${r.map((v) => `<TD>${xml(v)}</TD>`).join("")}</TR>\n`).join("") +
  `   </TABLEDATA></DATA>\n` +
  `  </TABLE>\n` +
  ` </RESOURCE>\n` +
  `</VOTABLE>\n`

/**
 * Echoes its parameters as a VOTable (columns `name`, `value`, `byReference`), or fails with
 * the message given as `ERROR`.
 */
export const echo: Worker.Worker = Worker.make({
  name: "echo",
  quote: () => 0,
  run: (job) => {
    const error = Job.parameter(job, "ERROR")
    if (error !== undefined) {
      return Effect.fail(new Worker.JobFailure({ message: error.trim() === "" ? "failed, as ERROR asked" : error }))
    }
    const table = votable(
      `The ${job.parameters.length} parameters job ${job.jobId} received.`,
      [
        { name: "name", datatype: "unicodeChar", arraysize: "*" },
        { name: "value", datatype: "unicodeChar", arraysize: "*" },
        { name: "byReference", datatype: "boolean" }
      ],
      job.parameters.map((p) => [p.name, p.value, p.byReference === true ? "T" : "F"])
    )
    return Effect.succeed([{ id: "result", mimeType: VOTABLE_TYPE, content: table }])
  }
})

/** The longest a `sleep` job may sleep, in seconds. */
export const maxSleepSeconds = 3600
const defaultSleepSeconds = 5

const secondsOf = (value: string | undefined): number | string => {
  if (value === undefined) return defaultSleepSeconds
  const n = Number(value.trim())
  return value.trim() !== "" && Number.isFinite(n) && n >= 0 && n <= maxSleepSeconds
    ? n
    : `SECONDS must be a number of seconds from 0 to ${maxSleepSeconds}, not "${value}".`
}

/** Sleeps `SECONDS` seconds, reporting progress every second; an abort stops it at once. */
export const sleep: Worker.Worker = Worker.make({
  name: "sleep",
  validate: (parameters) => {
    const seconds = secondsOf(Job.parameter({ parameters }, "SECONDS"))
    return typeof seconds === "string" ? { _tag: "Left", left: seconds } : { _tag: "Right", right: parameters }
  },
  quote: (job) => {
    const seconds = secondsOf(Job.parameter(job, "SECONDS"))
    return typeof seconds === "number" ? Math.ceil(seconds) : null
  },
  run: (job, context) =>
    Effect.gen(function* () {
      const seconds = secondsOf(Job.parameter(job, "SECONDS"))
      if (typeof seconds === "string") return yield* Effect.fail(new Worker.JobFailure({ message: seconds }))
      const steps = Math.max(1, Math.ceil(seconds))
      const started = Date.now()
      for (let step = 1; step <= steps; step++) {
        yield* Effect.sleep(Duration.millis((seconds * 1000) / steps))
        yield* context.reportProgress({
          progress: `${step}/${steps}`,
          slept: `${((Date.now() - started) / 1000).toFixed(1)} s of ${seconds} s`
        })
      }
      const table = votable(
        `Job ${job.jobId} slept.`,
        [
          { name: "requested", datatype: "double" },
          { name: "slept", datatype: "double" }
        ],
        [[String(seconds), ((Date.now() - started) / 1000).toFixed(3)]]
      )
      return [{ id: "result", mimeType: VOTABLE_TYPE, content: table }]
    })
})
