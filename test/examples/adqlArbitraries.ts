/**
 * fast-check arbitraries over the ADQL subset's grammar (examples/adql/Adql.ts), as parsed
 * queries (`at` offsets 0: compare with `withoutPositions`).
 */
import fc from "fast-check"
import type { Comparison, Condition, Expr, Query } from "../../examples/adql/Adql.js"
import { columns } from "../../examples/adql/Catalogue.js"

const columnNames = columns.map((c) => c.name)

export interface Shape {
  /** Column names to draw from (any names for parser tests, the catalogue's for the service). */
  readonly names: fc.Arbitrary<string>
  readonly numbers: fc.Arbitrary<number>
  readonly tables: fc.Arbitrary<string>
}

const reserved = new Set(["select", "top", "from", "where", "order", "by", "asc", "desc", "and", "or", "not", "between", "contains", "point", "circle"])

/** Any grammar-valid query (names need not be the catalogue's). */
export const anyShape: Shape = {
  names: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((n) => !reserved.has(n)),
  numbers: fc.oneof(fc.nat(1000), fc.double({ min: 0, max: 1e30, noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0))),
  tables: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((n) => !reserved.has(n))
}

/** Queries the catalogue can answer: its columns and table, numbers in the ranges of its values. */
export const catalogueShape: Shape = {
  names: fc.constantFrom(...columnNames),
  numbers: fc.oneof(fc.integer({ min: 0, max: 360 }), fc.double({ min: 0, max: 360, noNaN: true }).map((x) => Math.round(x * 1000) / 1000)),
  tables: fc.constant("stars")
}

const comparisons: ReadonlyArray<Comparison> = ["=", "<>", "<", "<=", ">", ">="]

export const expr = (shape: Shape, depth: number): fc.Arbitrary<Expr> => {
  const leaf: fc.Arbitrary<Expr> = fc.oneof(
    shape.numbers.map((value): Expr => ({ kind: "number", value, at: 0 })),
    shape.names.map((name): Expr => ({ kind: "column", name, at: 0 }))
  )
  if (depth <= 0) return leaf
  const sub = expr(shape, depth - 1)
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: sub.map((operand): Expr => ({ kind: "negate", operand, at: 0 })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom("+", "-", "*", "/" as const), sub, sub).map(([op, left, right]): Expr => ({ kind: "arithmetic", op, left, right, at: 0 })) }
  )
}

/** CONTAINS on the table's own position with a constant circle: the translation with the box. */
export const containsOnTable: fc.Arbitrary<Extract<Expr, { kind: "contains" }>> =
  fc.tuple(catalogueShape.numbers, fc.integer({ min: -90, max: 90 }), fc.double({ min: 0, max: 30, noNaN: true })).map(([ra, dec, r]) => {
    const number = (value: number): Expr => ({ kind: "number", value, at: 0 })
    return {
      kind: "contains" as const,
      point: [{ kind: "column", name: "ra", at: 0 }, { kind: "column", name: "dec", at: 0 }] as const,
      circle: [number(ra), dec < 0 ? { kind: "negate", operand: number(-dec), at: 0 } : number(dec), number(Math.round(r * 1000) / 1000)] as const,
      at: 0
    }
  })

const contains = (shape: Shape): fc.Arbitrary<Expr> =>
  fc.oneof(
    containsOnTable,
    fc.tuple(expr(shape, 1), expr(shape, 1), expr(shape, 1), expr(shape, 1), expr(shape, 1)).map(([a, b, c, d, e]): Expr => ({
      kind: "contains",
      point: [a, b],
      circle: [c, d, e],
      at: 0
    }))
  )

export const condition = (shape: Shape, depth: number): fc.Arbitrary<Condition> => {
  const e = expr(shape, 2)
  const leaf: fc.Arbitrary<Condition> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...comparisons), e, e).map(([op, left, right]): Condition => ({ kind: "compare", op, left, right, at: 0 })) },
    { weight: 1, arbitrary: fc.tuple(fc.boolean(), e, e, e).map(([negated, operand, low, high]): Condition => ({ kind: "between", negated, operand, low, high, at: 0 })) },
    { weight: 1, arbitrary: fc.tuple(contains(shape), fc.constantFrom(0, 1)).map(([c, v]): Condition => ({ kind: "compare", op: "=", left: c, right: { kind: "number", value: v, at: 0 }, at: 0 })) }
  )
  if (depth <= 0) return leaf
  const sub = condition(shape, depth - 1)
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom("and", "or" as const), sub, sub).map(([kind, left, right]): Condition => ({ kind, left, right, at: 0 })) },
    { weight: 1, arbitrary: sub.map((operand): Condition => ({ kind: "not", operand, at: 0 })) }
  )
}

export const query = (shape: Shape, options: { readonly maxTop?: number } = {}): fc.Arbitrary<Query> =>
  fc.record({
    top: fc.option(fc.nat(options.maxTop ?? 1000), { nil: undefined }),
    columns: fc.oneof(fc.constant("*" as const), fc.array(shape.names.map((name) => ({ name, at: 0 })), { minLength: 1, maxLength: 4 })),
    table: shape.tables.map((name) => ({ name, at: 0 })),
    where: fc.option(condition(shape, 2), { nil: undefined }),
    orderBy: fc.array(fc.record({ column: shape.names, descending: fc.boolean(), at: fc.constant(0) }), { maxLength: 2 })
  })

/** A parsed value with every `at` set to 0, to compare structure alone. */
export const withoutPositions = <A>(value: A): A =>
  JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "at" ? 0 : v))) as A
