/**
 * The ADQL application: a TAP-style query job over the synthetic star catalogue.
 *
 * Parameters (names case-insensitive): `ADQL`, or TAP's `QUERY` with `LANG=ADQL`
 * (`REQUEST=doQuery` accepted); `FORMAT` (`votable`, the default; its MIME types too);
 * `MAXREC` (at most this many rows, default 100000; more are cut off with
 * `QUERY_STATUS=OVERFLOW`, as DALI says). A query outside the subset, or a bad parameter, ends
 * the job in ERROR with a message giving the position and what was expected there.
 *
 * Results, in this order (pyvo reads the first when none is called `result`):
 * - `table`: the whole result, a VOTable 1.4 TABLEDATA document;
 * - `header`: the same document without rows (its FIELDs);
 * - `cursor`: a view (see `ResultView` in @uws-kit/core): `…/results/cursor?FIRST=1&LAST=100`
 *   answers rows FIRST to LAST (1-based, inclusive) of `table`, and names the next page's URL in
 *   an `<INFO name="next">` after the table. Without FIRST/LAST, rows 1 to 100.
 */
import { Job, Worker } from "@uws-kit/core"
import { StorageFailure } from "@uws-kit/core/Errors"
import type { ResultView } from "@uws-kit/core/ResultView"
import { Effect, Stream } from "effect"
import { AdqlError, parse } from "./Adql.js"
import * as Catalogue from "./Catalogue.js"
import { translate } from "./Sql.js"
import * as VoTable from "./VoTable.js"

export const defaultMaxRec = 100_000
/** The rows one cursor page may hold. */
export const maxPage = 10_000
export const defaultPage = 100

const fail = (message: string) => Effect.fail(new Worker.JobFailure({ message }))

/** The query text and the row limit a job asks for, or why it cannot be run. */
export const request = (job: Pick<Job.JobData, "parameters">): { readonly query: string; readonly maxRec: number } | string => {
  const value = (name: string) => Job.parameter(job, name)
  const requestName = value("REQUEST")
  if (requestName !== undefined && requestName.trim().toLowerCase() !== "doquery") return `REQUEST must be doQuery, not "${requestName}"`
  const lang = value("LANG")
  if (lang !== undefined && !lang.trim().toUpperCase().startsWith("ADQL")) return `LANG must be ADQL, not "${lang}"`
  const format = (value("FORMAT") ?? value("RESPONSEFORMAT") ?? "votable").trim().toLowerCase()
  if (!["votable", "votable/td", "application/x-votable+xml", "text/xml"].includes(format)) {
    return `FORMAT must be votable (application/x-votable+xml), not "${format}"`
  }
  const maxRecText = value("MAXREC")
  const maxRec = maxRecText === undefined ? defaultMaxRec : Number(maxRecText.trim())
  if (!Number.isSafeInteger(maxRec) || maxRec < 0 || maxRecText?.trim() === "") return `MAXREC must be a whole number of rows, not "${maxRecText}"`
  const adql = value("ADQL")
  const query = adql ?? value("QUERY")
  if (query === undefined || query.trim() === "") return "give the query as ADQL (or QUERY with LANG=ADQL)"
  if (adql !== undefined && value("QUERY") !== undefined && value("QUERY") !== adql) return "give the query once: ADQL or QUERY, not both"
  return { query, maxRec }
}

const encoder = new TextEncoder()

/** The table's document, written as the result store reads it (one connection per job, closed at the end). */
async function* tableDocument(file: string, query: string, sql: string, params: ReadonlyArray<number>, fields: Parameters<typeof VoTable.head>[1], maxRec: number) {
  const db = Catalogue.open(file)
  try {
    yield encoder.encode(VoTable.head(query, fields, true))
    let n = 0
    let overflow = false
    let chunk = ""
    for (const values of db.prepare(sql).raw(true).iterate(...params) as IterableIterator<Array<unknown>>) {
      if (n === maxRec) {
        overflow = true
        break
      }
      n++
      chunk += VoTable.row(values)
      if (chunk.length > 1 << 16) {
        yield encoder.encode(chunk)
        chunk = ""
      }
    }
    yield encoder.encode(chunk + VoTable.tail(true, overflow ? [{ name: "QUERY_STATUS", value: "OVERFLOW", text: `more than MAXREC=${maxRec} rows` }] : []))
  } finally {
    db.close()
  }
}

const pageParameter = (query: ReadonlyArray<readonly [string, string]>, name: string): number | undefined | string => {
  const found = query.filter(([n]) => n.toUpperCase() === name)
  if (found.length === 0) return undefined
  const text = found[found.length - 1]![1].trim()
  const n = Number(text)
  return text !== "" && Number.isSafeInteger(n) && n >= 1 ? n : `${name} must be a row number (1, 2, …), not "${found[found.length - 1]![1]}"`
}

interface Page {
  readonly head: Array<string>
  readonly rows: Array<string>
  readonly tail: Array<string>
  /** Whether a row follows LAST. */
  more: boolean
}

/**
 * Reads a stored table line by line up to the row after LAST (to know whether there is a next
 * page), then stops reading. Plain iteration: Effect's per-element stream folds recurse once
 * per line of a chunk, which a large stored chunk turns into a stack overflow.
 */
const readPage = async (chunks: AsyncIterable<Uint8Array>, first: number, last: number): Promise<Page> => {
  const page: Page = { head: [], rows: [], tail: [], more: false }
  const decoder = new TextDecoder()
  let n = 0
  let inData = false
  let afterData = false
  let pending = ""
  const take = (line: string) => {
    if (afterData) page.tail.push(line)
    else if (inData && line.startsWith("<TR>")) {
      n++
      if (n > last) page.more = true
      else if (n >= first) page.rows.push(line)
    } else if (inData) afterData = true
    else {
      page.head.push(line)
      if (line === VoTable.dataOpening) inData = true
    }
  }
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true })
    let start = 0
    for (let end = pending.indexOf("\n"); end !== -1 && !page.more; end = pending.indexOf("\n", start)) {
      take(pending.slice(start, end))
      start = end + 1
    }
    if (page.more) return page
    pending = pending.slice(start)
  }
  pending += decoder.decode()
  if (pending !== "") take(pending)
  return page
}

/** Rows FIRST..LAST of the job's `table`, with the next page's URL when there are more rows. */
export const cursor: ResultView = ({ query, read, url }) =>
  Effect.gen(function* () {
    const firstAsked = pageParameter(query, "FIRST")
    const lastAsked = pageParameter(query, "LAST")
    if (typeof firstAsked === "string") return yield* Effect.fail(firstAsked)
    if (typeof lastAsked === "string") return yield* Effect.fail(lastAsked)
    const first = firstAsked ?? 1
    const last = lastAsked ?? first + defaultPage - 1
    if (last < first) return yield* Effect.fail(`LAST (${last}) must not be before FIRST (${first})`)
    if (last - first + 1 > maxPage) return yield* Effect.fail(`a page holds at most ${maxPage} rows (FIRST=${first}, LAST=${last})`)
    const stored = yield* read("table")
    const page = yield* Effect.tryPromise({
      try: () => readPage(Stream.toAsyncIterable(stored.stream), first, last),
      catch: (e) => (e instanceof StorageFailure ? e : new StorageFailure({ operation: "reading the table", reason: String(e) }))
    })
    const shown = page.rows.length === 0 ? "no rows" : `rows ${first} to ${first + page.rows.length - 1}`
    const overflow = page.tail.find((l) => l.includes(`name="QUERY_STATUS"`))
    const infos = [
      { name: "FIRST", value: String(first) },
      { name: "LAST", value: String(first + page.rows.length - 1), text: shown },
      ...(page.more ? [{ name: "next", value: `${url}?FIRST=${last + 1}&LAST=${last + (last - first + 1)}`, text: "the next page" }] : [])
    ]
    const tail = VoTable.tail(true, infos)
    return {
      mimeType: VoTable.mimeType,
      content: `${page.head.join("\n")}\n${page.rows.map((r) => `${r}\n`).join("")}${overflow === undefined ? tail : tail.replace(" </RESOURCE>\n", `${overflow}\n </RESOURCE>\n`)}`
    }
  })

/** The application, querying the catalogue in `file` (written at the first query if missing). */
export const make = (options: { readonly catalogue: string; readonly catalogueSize?: number }): Worker.Worker =>
  Worker.make({
    name: "adql",
    quote: () => 5,
    // A query only reads: running it again after a restart gives the same result.
    restartable: true,
    views: { cursor },
    run: (job) =>
      Effect.gen(function* () {
        const asked = request(job)
        if (typeof asked === "string") return yield* fail(asked)
        let translated: ReturnType<typeof translate>
        try {
          translated = translate(asked.query, parse(asked.query))
        } catch (e) {
          if (e instanceof AdqlError) return yield* fail(e.message)
          throw e
        }
        yield* Effect.promise(() => Catalogue.ensure(options.catalogue, options.catalogueSize))
        const { sql, params, columns } = translated
        const header = VoTable.head(asked.query, columns, false) + VoTable.tail(false)
        return [
          { id: "table", mimeType: VoTable.mimeType, content: tableDocument(options.catalogue, asked.query, sql, params, columns, asked.maxRec) },
          { id: "header", mimeType: VoTable.mimeType, content: header },
          // Stored as the header; GET …/results/cursor?FIRST=…&LAST=… answers pages of `table` (the view).
          { id: "cursor", mimeType: VoTable.mimeType, content: header }
        ]
      })
  })
