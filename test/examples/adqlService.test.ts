/**
 * The ADQL service over HTTP against the catalogue itself: random queries of the subset give the
 * rows the same query gives run directly on the catalogue (a plain translation, without the
 * CONTAINS box); the cursor's pages put together are the whole table; bad queries end the job in
 * ERROR with a located message; bad pages are a 400.
 */
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Condition, Expr, Query } from "../../examples/adql/Adql.js"
import { print } from "../../examples/adql/Adql.js"
import * as Catalogue from "../../examples/adql/Catalogue.js"
import { catalogueShape, condition, containsOnTable, query } from "./adqlArbitraries.js"
import { infoOf, rowsOf, runJob, serve, type Served } from "./adqlSupport.js"

let served: Served
beforeAll(async () => {
  served = await serve(20_000)
})
afterAll(async () => {
  await served.close()
})

/** The query as SQL the simplest way (every value bound), to run straight on the catalogue. */
const directSql = (q: Query): { sql: string; params: Array<number> } => {
  const params: Array<number> = []
  const expr = (e: Expr): string => {
    switch (e.kind) {
      case "number":
        params.push(e.value)
        return "?"
      case "column":
        return e.name
      case "negate":
        return `(-${expr(e.operand)})`
      case "arithmetic":
        return `(${expr(e.left)} ${e.op} ${expr(e.right)})`
      case "contains":
        return `(${Catalogue.distanceFunction}(${expr(e.point[0])}, ${expr(e.point[1])}, ${expr(e.circle[0])}, ${expr(e.circle[1])}) <= ${expr(e.circle[2])})`
    }
  }
  const cond = (c: Condition): string => {
    switch (c.kind) {
      case "compare":
        return `(${expr(c.left)} ${c.op} ${expr(c.right)})`
      case "between":
        return `(${expr(c.operand)} ${c.negated ? "NOT " : ""}BETWEEN ${expr(c.low)} AND ${expr(c.high)})`
      case "and":
      case "or":
        return `(${cond(c.left)} ${c.kind} ${cond(c.right)})`
      case "not":
        return `(NOT ${cond(c.operand)})`
    }
  }
  const cols = q.columns === "*" ? "*" : q.columns.map((c) => c.name).join(", ")
  const where = q.where === undefined ? "" : ` WHERE ${cond(q.where)}`
  const order = [...q.orderBy.map((o) => `${o.column}${o.descending ? " DESC" : ""}`), "id"].join(", ")
  const sql = `SELECT ${cols} FROM stars${where} ORDER BY ${order}${q.top === undefined ? "" : ` LIMIT ${q.top}`}`
  return { sql, params }
}

/**
 * Queries of the subset over the catalogue (at most 300 rows, to stay quick); half of them look
 * in a circle (with or without another condition), which random conditions alone seldom do.
 */
const queries = fc
  .tuple(
    query(catalogueShape, { maxTop: 300 }),
    fc.option(fc.tuple(containsOnTable, fc.option(condition(catalogueShape, 1), { nil: undefined })), { nil: undefined })
  )
  .map(([q, circle]): Query => {
    const top = q.top ?? 300
    if (circle === undefined) return { ...q, top }
    const [contains, other] = circle
    const inside: Condition = { kind: "compare", op: "=", left: contains, right: { kind: "number", value: 1, at: 0 }, at: 0 }
    return { ...q, top, where: other === undefined ? inside : { kind: "and", left: inside, right: other, at: 0 } }
  })

describe("ADQL service", () => {
  it("answers random queries of the subset with the rows the catalogue gives them directly", async () => {
    const db = Catalogue.open(served.catalogue)
    try {
      await fc.assert(
        fc.asyncProperty(queries, async (q) => {
          const text = print(q)
          const { url, phase } = await runJob(served.base, { ADQL: text })
          if (phase !== "COMPLETED") throw new Error(`${text}: ${phase}: ${await (await fetch(`${url}/error`)).text()}`)
          const table = await (await fetch(`${url}/results/table`)).text()
          const { sql, params } = directSql(q)
          const direct = (db.prepare(sql).raw(true).all(...params) as Array<Array<unknown>>).map((r) => r.map(String))
          expect(rowsOf(table)).toEqual(direct)
        }),
        { numRuns: propertyRuns(40) }
      )
    } finally {
      db.close()
    }
  })

  it("finds the stars within a circle whatever the circle's size and place (the box never cuts one off)", async () => {
    const db = Catalogue.open(served.catalogue)
    try {
      for (const [ra, dec, r] of [[0, 0, 3], [359.5, 10, 2], [10, 89, 5], [180, -88, 4], [90, 60, 45], [0, 0, 180]] as const) {
        const text = `SELECT id FROM stars WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${ra}, ${dec}, ${r})) = 1`
        const { url, phase } = await runJob(served.base, { QUERY: text, LANG: "ADQL", REQUEST: "doQuery" })
        expect(phase).toBe("COMPLETED")
        const rows = rowsOf(await (await fetch(`${url}/results/table`)).text()).map((row) => row[0])
        const direct = (db.prepare("SELECT id, ra, dec FROM stars ORDER BY id").all() as Array<{ id: number; ra: number; dec: number }>)
          .filter((s) => Catalogue.distance(s.ra, s.dec, ra, dec) <= r)
          .map((s) => String(s.id))
        expect(rows.length).toBeGreaterThan(0)
        expect(rows).toEqual(direct)
      }
    } finally {
      db.close()
    }
  })

  it("pages through the table with the cursor: the pages, next after next, are the whole table", async () => {
    const { url, phase } = await runJob(served.base, { ADQL: "SELECT id, mag FROM stars WHERE mag < 12 ORDER BY mag DESC" })
    expect(phase).toBe("COMPLETED")
    const table = await (await fetch(`${url}/results/table`)).text()
    const all = rowsOf(table)
    expect(all.length).toBeGreaterThan(250)
    for (const start of [`${url}/results/cursor`, `${url}/results/cursor?FIRST=1&LAST=77`]) {
      const pages: Array<Array<Array<string>>> = []
      let next: string | undefined = start
      while (next !== undefined) {
        const res: Response = await fetch(next)
        expect(res.status).toBe(200)
        expect(res.headers.get("content-type")).toMatch(/^application\/x-votable\+xml/)
        const page = await res.text()
        pages.push(rowsOf(page))
        next = infoOf(page, "next")
      }
      expect(pages.flat()).toEqual(all)
      expect(pages[0]!.length).toBe(start.includes("LAST=77") ? 77 : 100)
    }
    const beyond = await (await fetch(`${url}/results/cursor?FIRST=${all.length + 1}&LAST=${all.length + 10}`)).text()
    expect(rowsOf(beyond)).toEqual([])
    expect(infoOf(beyond, "next")).toBeUndefined()
    const header = await (await fetch(`${url}/results/header`)).text()
    expect(rowsOf(header)).toEqual([])
    expect([...header.matchAll(/<FIELD name="(\w+)"/g)].map((m) => m[1])).toEqual(["id", "mag"])
  })

  it("refuses a bad page with 400 and its reason", async () => {
    const { url } = await runJob(served.base, { ADQL: "SELECT TOP 5 id FROM stars" })
    for (const [query, reason] of [
      ["FIRST=0", "FIRST must be a row number"],
      ["FIRST=5&LAST=2", "LAST (2) must not be before FIRST (5)"],
      ["FIRST=1&LAST=20000", "a page holds at most 10000 rows"],
      ["LAST=x", "LAST must be a row number"]
    ] as const) {
      const res = await fetch(`${url}/results/cursor?${query}`, { headers: { accept: "text/plain" } })
      expect(res.status).toBe(400)
      expect(await res.text()).toContain(reason)
    }
  })

  it("ends a job whose query is outside the subset in ERROR, saying where and what was expected", async () => {
    const { url, phase } = await runJob(served.base, { ADQL: "SELECT ra FROM stars WHERE ra >" })
    expect(phase).toBe("ERROR")
    expect(await (await fetch(`${url}/error`)).text()).toContain("ADQL error at line 1, column 32: expected one of -, a number, a name, CONTAINS, (, found the end of the query")
    for (const [params, message] of [
      [{ QUERY: "SELECT TOP 1 id FROM stars", LANG: "SQL" }, 'LANG must be ADQL, not "SQL"'],
      [{ ADQL: "SELECT TOP 1 id FROM stars", FORMAT: "csv" }, 'FORMAT must be votable'],
      [{ ADQL: "SELECT TOP 1 id FROM stars", MAXREC: "-1" }, 'MAXREC must be a whole number of rows'],
      [{ ADQL: "SELECT TOP 1 id FROM stars", REQUEST: "getCapabilities" }, "REQUEST must be doQuery"],
      [{}, "give the query as ADQL"]
    ] as const) {
      const job = await runJob(served.base, params)
      expect(job.phase).toBe("ERROR")
      expect(await (await fetch(`${job.url}/error`)).text()).toContain(message)
    }
  })

  it("cuts the table at MAXREC and says so (QUERY_STATUS=OVERFLOW), on every page too", async () => {
    const { url } = await runJob(served.base, { ADQL: "SELECT id FROM stars", MAXREC: "150" })
    const table = await (await fetch(`${url}/results/table`)).text()
    expect(rowsOf(table).length).toBe(150)
    expect(table).toMatch(/<\/TABLE>\n  <INFO name="QUERY_STATUS" value="OVERFLOW">/)
    const last = await (await fetch(`${url}/results/cursor?FIRST=101&LAST=200`)).text()
    expect(rowsOf(last).length).toBe(50)
    expect(last).toContain(`<INFO name="QUERY_STATUS" value="OVERFLOW">`)
  })
})
