/**
 * A parsed ADQL query as parameterised SQLite: every value is a bound parameter, and every
 * column or table name is first checked against the catalogue's own list (so only names from
 * that list ever reach the SQL text).
 *
 * `CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ra0, dec0, r)) = 1` on the table's own
 * `ra`/`dec` with a constant circle becomes a box the `dec` index can use (and an `ra` range
 * away from the poles) followed by the exact great-circle distance test; any other CONTAINS is
 * the distance test alone. Rows always come in a definite order (`id` breaks ties), so a page
 * of a result is the same page every time.
 */
import { type Condition, errorAt, type Expr, type Query } from "./Adql.js"
import { columns, distanceFunction, tableName, type ColumnName } from "./Catalogue.js"

export interface Translation {
  readonly sql: string
  readonly params: ReadonlyArray<number>
  /** The result's columns, in order. */
  readonly columns: ReadonlyArray<(typeof columns)[number]>
}

const known = new Map(columns.map((c) => [c.name as string, c]))

/** Translates a query parsed from `text` (for error positions), or throws an `AdqlError`. */
export const translate = (text: string, query: Query, options: { readonly maxRows?: number } = {}): Translation => {
  const params: Array<number> = []
  const column = (name: string, at: number): ColumnName => {
    if (!known.has(name)) throw errorAt(text, at, `no column "${name}" in ${tableName}; its columns are ${columns.map((c) => c.name).join(", ")}`)
    return name as ColumnName
  }
  if (query.table.name !== tableName) throw errorAt(text, query.table.at, `no table "${query.table.name}"; the one table is ${tableName}`)

  const expr = (e: Expr): string => {
    switch (e.kind) {
      case "number":
        params.push(e.value)
        return "?"
      case "column":
        return `"${column(e.name, e.at)}"`
      case "negate":
        return `(-${expr(e.operand)})`
      case "arithmetic":
        return `(${expr(e.left)} ${e.op} ${expr(e.right)})`
      case "contains":
        throw errorAt(text, e.at, "CONTAINS(…) can only be compared: CONTAINS(…) = 1 or CONTAINS(…) = 0")
    }
  }

  const distanceTest = (e: Extract<Expr, { kind: "contains" }>) =>
    `${distanceFunction}(${expr(e.point[0])}, ${expr(e.point[1])}, ${expr(e.circle[0])}, ${expr(e.circle[1])}) <= ${expr(e.circle[2])}`

  const inside = (e: Extract<Expr, { kind: "contains" }>): string => {
    const [ra0, dec0, r] = e.circle.map(constant)
    const onTable = e.point[0].kind === "column" && e.point[0].name === "ra" && e.point[1].kind === "column" && e.point[1].name === "dec"
    if (!onTable || ra0 === undefined || dec0 === undefined || r === undefined || !(r >= 0) || Math.abs(dec0) > 90) return distanceTest(e)
    const box: Array<string> = []
    params.push(dec0 - r, dec0 + r)
    box.push(`"dec" BETWEEN ? AND ?`)
    if (Math.abs(dec0) + r < 90) {
      // The widest ra half-width of a circle of radius r centred at dec0 (a little wider, for rounding).
      const half = (Math.asin(Math.min(1, Math.sin((r * Math.PI) / 180) / Math.cos((dec0 * Math.PI) / 180))) * 180) / Math.PI + 1e-9
      const low = (((ra0 - half) % 360) + 360) % 360
      const high = (((ra0 + half) % 360) + 360) % 360
      if (half < 180) {
        params.push(low, high)
        box.push(low <= high ? `"ra" BETWEEN ? AND ?` : `("ra" >= ? OR "ra" <= ?)`)
      }
    }
    return `(${box.join(" AND ")} AND ${distanceTest(e)})`
  }

  const condition = (c: Condition): string => {
    switch (c.kind) {
      case "compare": {
        const contains = c.left.kind === "contains" ? c.left : c.right.kind === "contains" ? c.right : undefined
        if (contains !== undefined) {
          const other = contains === c.left ? c.right : c.left
          const value = constant(other)
          if (c.op !== "=" || (value !== 0 && value !== 1)) {
            throw errorAt(text, c.at, "CONTAINS(…) can only be compared with = 1 (inside) or = 0 (outside)")
          }
          return value === 1 ? inside(contains) : `NOT (${distanceTest(contains)})`
        }
        return `${expr(c.left)} ${c.op} ${expr(c.right)}`
      }
      case "between":
        return `${expr(c.operand)} ${c.negated ? "NOT " : ""}BETWEEN ${expr(c.low)} AND ${expr(c.high)}`
      case "and":
      case "or":
        return `(${condition(c.left)} ${c.kind.toUpperCase()} ${condition(c.right)})`
      case "not":
        return `NOT (${condition(c.operand)})`
    }
  }

  const selected = query.columns === "*" ? columns : query.columns.map((c) => known.get(column(c.name, c.at))!)
  const list = selected.map((c) => `"${c.name}"`).join(", ")
  const where = query.where === undefined ? "" : ` WHERE ${condition(query.where)}`
  const order = [...query.orderBy.map((o) => `"${column(o.column, o.at)}"${o.descending ? " DESC" : ""}`), `"id"`].join(", ")
  const limit = Math.min(query.top ?? Infinity, options.maxRows ?? Infinity)
  const sql = `SELECT ${list} FROM "${tableName}"${where} ORDER BY ${order}${Number.isFinite(limit) ? " LIMIT ?" : ""}`
  return { sql, params: Number.isFinite(limit) ? [...params, limit] : params, columns: selected }
}

/** The value of an expression made of numbers only (`undefined` when it reads a column). */
const constant = (e: Expr): number | undefined => {
  switch (e.kind) {
    case "number":
      return e.value
    case "negate": {
      const v = constant(e.operand)
      return v === undefined ? undefined : -v
    }
    case "arithmetic": {
      const l = constant(e.left)
      const r = constant(e.right)
      if (l === undefined || r === undefined) return undefined
      return e.op === "+" ? l + r : e.op === "-" ? l - r : e.op === "*" ? l * r : r === 0 ? undefined : l / r
    }
    default:
      return undefined
  }
}
