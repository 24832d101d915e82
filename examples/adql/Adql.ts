/**
 * The ADQL subset the example serves, parsed with chevrotain (a lexer and an LL(k) parser
 * written as grammar rules; no regular expressions beyond the tokens):
 *
 *   SELECT [TOP n] * | col, … FROM table [WHERE condition] [ORDER BY col [ASC|DESC], …]
 *
 * Conditions: comparisons (= <> != < <= > >=) of arithmetic expressions (+ - * /, unary minus,
 * numbers, columns, parentheses), [NOT] BETWEEN, AND, OR, NOT, parentheses, and
 * `CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ra0, dec0, r)) = 1` (or `= 0`).
 * Keywords and column names are case-insensitive. Anything else is a {@link AdqlError} with its
 * line, column and what was expected there.
 */
import { createToken, EmbeddedActionsParser, Lexer, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain"

/** An arithmetic expression. `at` is the offset of its first character in the query. */
export type Expr =
  | { readonly kind: "number"; readonly value: number; readonly at: number }
  | { readonly kind: "column"; readonly name: string; readonly at: number }
  | { readonly kind: "negate"; readonly operand: Expr; readonly at: number }
  | { readonly kind: "arithmetic"; readonly op: "+" | "-" | "*" | "/"; readonly left: Expr; readonly right: Expr; readonly at: number }
  | { readonly kind: "contains"; readonly point: readonly [Expr, Expr]; readonly circle: readonly [Expr, Expr, Expr]; readonly at: number }

export type Comparison = "=" | "<>" | "<" | "<=" | ">" | ">="

export type Condition =
  | { readonly kind: "compare"; readonly op: Comparison; readonly left: Expr; readonly right: Expr; readonly at: number }
  | { readonly kind: "between"; readonly negated: boolean; readonly operand: Expr; readonly low: Expr; readonly high: Expr; readonly at: number }
  | { readonly kind: "and" | "or"; readonly left: Condition; readonly right: Condition; readonly at: number }
  | { readonly kind: "not"; readonly operand: Condition; readonly at: number }

export interface OrderItem {
  readonly column: string
  readonly descending: boolean
  readonly at: number
}

export interface Query {
  readonly top: number | undefined
  /** `"*"` or the columns, as written (lower-cased). */
  readonly columns: "*" | ReadonlyArray<{ readonly name: string; readonly at: number }>
  readonly table: { readonly name: string; readonly at: number }
  readonly where: Condition | undefined
  readonly orderBy: ReadonlyArray<OrderItem>
}

/** A query outside the subset: where (1-based line and column) and what was expected. */
export class AdqlError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string
  ) {
    super(`ADQL error at line ${line}, column ${column}: ${reason}`)
    this.name = "AdqlError"
  }
}

// Tokens. Keywords take precedence over identifiers only as whole words (longer_alt).
const Identifier = createToken({ name: "Identifier", label: "a name", pattern: /[A-Za-z][A-Za-z0-9_]*/ })
const keyword = (word: string) =>
  createToken({ name: word, label: word, pattern: new RegExp(word, "i"), longer_alt: Identifier })
const Select = keyword("SELECT")
const Top = keyword("TOP")
const From = keyword("FROM")
const Where = keyword("WHERE")
const Order = keyword("ORDER")
const By = keyword("BY")
const Asc = keyword("ASC")
const Desc = keyword("DESC")
const And = keyword("AND")
const Or = keyword("OR")
const Not = keyword("NOT")
const Between = keyword("BETWEEN")
const Contains = keyword("CONTAINS")
const Point = keyword("POINT")
const Circle = keyword("CIRCLE")
const NumberLiteral = createToken({ name: "NumberLiteral", label: "a number", pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/ })
const StringLiteral = createToken({ name: "StringLiteral", label: "a 'string'", pattern: /'(?:[^']|'')*'/ })
const LessEqual = createToken({ name: "LessEqual", label: "<=", pattern: /<=/ })
const GreaterEqual = createToken({ name: "GreaterEqual", label: ">=", pattern: />=/ })
const NotEqual = createToken({ name: "NotEqual", label: "<>", pattern: /<>|!=/ })
const Less = createToken({ name: "Less", label: "<", pattern: /</ })
const Greater = createToken({ name: "Greater", label: ">", pattern: />/ })
const Equal = createToken({ name: "Equal", label: "=", pattern: /=/ })
const Plus = createToken({ name: "Plus", label: "+", pattern: /\+/ })
const Minus = createToken({ name: "Minus", label: "-", pattern: /-/ })
const Star = createToken({ name: "Star", label: "*", pattern: /\*/ })
const Slash = createToken({ name: "Slash", label: "/", pattern: /\// })
const LParen = createToken({ name: "LParen", label: "(", pattern: /\(/ })
const RParen = createToken({ name: "RParen", label: ")", pattern: /\)/ })
const Comma = createToken({ name: "Comma", label: ",", pattern: /,/ })
const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED })

const keywords = [Select, Top, From, Where, Order, By, Asc, Desc, And, Or, Not, Between, Contains, Point, Circle]
const allTokens: Array<TokenType> = [
  WhiteSpace,
  ...keywords,
  Identifier,
  NumberLiteral,
  StringLiteral,
  LessEqual,
  GreaterEqual,
  NotEqual,
  Less,
  Greater,
  Equal,
  Plus,
  Minus,
  Star,
  Slash,
  LParen,
  RParen,
  Comma
]

/** Words a column or table may not be named (they would read as keywords). */
export const reservedWords: ReadonlySet<string> = new Set(keywords.map((k) => k.name.toLowerCase()))

const lexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false })

// Inside parentheses a condition and an arithmetic expression start alike (`(ra + 1) > 2` vs
// `(ra > 1 AND …)`), so the grammar parses either and checks which one it got afterwards.
type Node = { readonly cond: Condition } | { readonly expr: Expr }

const found = (t: IToken) => (t.tokenType === undefined || t.tokenType.name === "EOF" ? "the end of the query" : `"${t.image}"`)
const labels = (types: ReadonlyArray<TokenType>) => [...new Set(types.map((t) => t.LABEL ?? t.name))]
const oneOf = (names: ReadonlyArray<string>) => (names.length === 1 ? names[0]! : `one of ${names.join(", ")}`)

// Errors say what was expected and what was found; the position is added by `parse`.
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected ${expected.LABEL ?? expected.name}, found ${found(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `expected the end of the query (or WHERE, ORDER BY), found ${found(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) =>
    `expected ${oneOf(labels(expectedPathsPerAlt.flatMap((paths) => paths.map((path) => path[0]!))))}${ruleName === "primary" ? " (a number, a column, CONTAINS or a parenthesis)" : ""}, found ${found(actual[0]!)}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) =>
    `expected ${oneOf(labels(expectedIterationPaths.map((path) => path[0]!)))}, found ${found(actual[0]!)}`
}

class AdqlParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { maxLookahead: 3, errorMessageProvider: messages })
    this.performSelfAnalysis()
  }

  query = this.RULE("query", (): Query => {
    this.CONSUME(Select)
    let top: number | undefined
    this.OPTION(() => {
      this.CONSUME(Top)
      const n = this.CONSUME(NumberLiteral)
      top = this.ACTION(() => topOf(n))
    })
    const columns = this.OR([
      { ALT: () => (this.CONSUME(Star), "*" as const) },
      {
        ALT: () => {
          const list: Array<{ name: string; at: number }> = []
          this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => {
            const t = this.CONSUME(Identifier)
            list.push({ name: t.image.toLowerCase(), at: t.startOffset })
          } })
          return list
        }
      }
    ])
    this.CONSUME(From)
    const table = this.CONSUME2(Identifier)
    let where: Condition | undefined
    this.OPTION2(() => {
      this.CONSUME(Where)
      const node = this.SUBRULE(this.condition)
      where = this.ACTION(() => asCondition(node))
    })
    const orderBy: Array<OrderItem> = []
    this.OPTION3(() => {
      this.CONSUME(Order)
      this.CONSUME(By)
      this.AT_LEAST_ONE_SEP2({ SEP: Comma, DEF: () => {
        const t = this.CONSUME3(Identifier)
        let descending = false
        this.OPTION4(() => this.OR2([{ ALT: () => this.CONSUME(Asc) }, { ALT: () => (this.CONSUME(Desc), (descending = true)) }]))
        orderBy.push({ column: t.image.toLowerCase(), descending, at: t.startOffset })
      } })
    })
    return { top, columns, table: { name: table.image.toLowerCase(), at: table.startOffset }, where, orderBy }
  })

  condition = this.RULE("condition", (): Node => {
    let left = this.SUBRULE(this.conjunction)
    this.MANY(() => {
      const op = this.CONSUME(Or)
      const right = this.SUBRULE2(this.conjunction)
      left = this.ACTION(() => ({ cond: { kind: "or", left: asCondition(left), right: asCondition(right), at: op.startOffset } }))
    })
    return left
  })

  conjunction = this.RULE("conjunction", (): Node => {
    let left = this.SUBRULE(this.negation)
    this.MANY(() => {
      const op = this.CONSUME(And)
      const right = this.SUBRULE2(this.negation)
      left = this.ACTION(() => ({ cond: { kind: "and", left: asCondition(left), right: asCondition(right), at: op.startOffset } }))
    })
    return left
  })

  negation = this.RULE("negation", (): Node =>
    this.OR([
      {
        ALT: () => {
          const not = this.CONSUME(Not)
          const operand = this.SUBRULE(this.negation)
          return this.ACTION(() => ({ cond: { kind: "not", operand: asCondition(operand), at: not.startOffset } as Condition }))
        }
      },
      { ALT: () => this.SUBRULE(this.predicate) }
    ])
  )

  predicate = this.RULE("predicate", (): Node => {
    const left = this.SUBRULE(this.sum)
    let result: Node = left
    this.OPTION(() =>
      this.OR([
        {
          ALT: () => {
            const op = this.SUBRULE(this.comparison)
            const right = this.SUBRULE2(this.sum)
            result = this.ACTION(() => ({ cond: { kind: "compare", op, left: asExpr(left), right: asExpr(right), at: asExpr(left).at } as Condition }))
          }
        },
        {
          ALT: () => {
            let negated = false
            this.OPTION2(() => (this.CONSUME(Not), (negated = true)))
            this.CONSUME(Between)
            const low = this.SUBRULE3(this.sum)
            this.CONSUME(And)
            const high = this.SUBRULE4(this.sum)
            result = this.ACTION(() => ({
              cond: { kind: "between", negated, operand: asExpr(left), low: asExpr(low), high: asExpr(high), at: asExpr(left).at } as Condition
            }))
          }
        }
      ])
    )
    return result
  })

  comparison = this.RULE("comparison", (): Comparison =>
    this.OR([
      { ALT: () => (this.CONSUME(Equal), "=" as const) },
      { ALT: () => (this.CONSUME(NotEqual), "<>" as const) },
      { ALT: () => (this.CONSUME(LessEqual), "<=" as const) },
      { ALT: () => (this.CONSUME(GreaterEqual), ">=" as const) },
      { ALT: () => (this.CONSUME(Less), "<" as const) },
      { ALT: () => (this.CONSUME(Greater), ">" as const) }
    ])
  )

  sum = this.RULE("sum", (): Node => {
    let left = this.SUBRULE(this.product)
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME(Minus) }])
      const right = this.SUBRULE2(this.product)
      left = this.ACTION(() => arithmetic(op, left, right))
    })
    return left
  })

  product = this.RULE("product", (): Node => {
    let left = this.SUBRULE(this.unary)
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(Star) }, { ALT: () => this.CONSUME(Slash) }])
      const right = this.SUBRULE2(this.unary)
      left = this.ACTION(() => arithmetic(op, left, right))
    })
    return left
  })

  unary = this.RULE("unary", (): Node =>
    this.OR([
      {
        ALT: () => {
          const minus = this.CONSUME(Minus)
          const operand = this.SUBRULE(this.unary)
          return this.ACTION(() => ({ expr: { kind: "negate", operand: asExpr(operand), at: minus.startOffset } as Expr }))
        }
      },
      { ALT: () => this.SUBRULE(this.primary) }
    ])
  )

  primary = this.RULE("primary", (): Node =>
    this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(NumberLiteral)
          return { expr: { kind: "number", value: Number(t.image), at: t.startOffset } as Expr }
        }
      },
      {
        ALT: () => {
          const t = this.CONSUME(Identifier)
          return { expr: { kind: "column", name: t.image.toLowerCase(), at: t.startOffset } as Expr }
        }
      },
      { ALT: () => ({ expr: this.SUBRULE(this.contains) }) },
      {
        ALT: () => {
          this.CONSUME(LParen)
          const inner = this.SUBRULE(this.condition)
          this.CONSUME(RParen)
          return inner
        }
      }
    ])
  )

  contains = this.RULE("contains", (): Expr => {
    const start = this.CONSUME(Contains)
    this.CONSUME(LParen)
    this.CONSUME(Point)
    this.CONSUME2(LParen)
    this.SUBRULE(this.frame)
    this.CONSUME(Comma)
    const ra = this.SUBRULE(this.sum)
    this.CONSUME2(Comma)
    const dec = this.SUBRULE2(this.sum)
    this.CONSUME(RParen)
    this.CONSUME3(Comma)
    this.CONSUME(Circle)
    this.CONSUME3(LParen)
    this.SUBRULE2(this.frame)
    this.CONSUME4(Comma)
    const ra0 = this.SUBRULE3(this.sum)
    this.CONSUME5(Comma)
    const dec0 = this.SUBRULE4(this.sum)
    this.CONSUME6(Comma)
    const r = this.SUBRULE5(this.sum)
    this.CONSUME2(RParen)
    this.CONSUME3(RParen)
    return this.ACTION(() => ({
      kind: "contains",
      point: [asExpr(ra), asExpr(dec)],
      circle: [asExpr(ra0), asExpr(dec0), asExpr(r)],
      at: start.startOffset
    }))
  })

  frame = this.RULE("frame", () => {
    const t = this.CONSUME(StringLiteral)
    this.ACTION(() => {
      const frame = t.image.slice(1, -1).trim().toUpperCase()
      if (frame !== "ICRS" && frame !== "") throw new Located(t.startOffset, `only the 'ICRS' frame is served, not ${t.image}`)
    })
  })
}

/** A semantic error found while parsing, at an offset (turned into line and column at the end). */
class Located extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string
  ) {
    super(reason)
  }
}

const topOf = (t: IToken): number => {
  const n = Number(t.image)
  if (!Number.isSafeInteger(n) || n < 0 || !/^\d+$/.test(t.image)) throw new Located(t.startOffset, `TOP takes a whole number of rows, not ${t.image}`)
  return n
}

const arithmetic = (op: IToken, left: Node, right: Node): Node => ({
  expr: { kind: "arithmetic", op: op.image as "+" | "-" | "*" | "/", left: asExpr(left), right: asExpr(right), at: asExpr(left).at }
})

const asExpr = (node: Node): Expr => {
  if ("expr" in node) return node.expr
  throw new Located(node.cond.at, "expected a number, a column or an arithmetic expression here, found a condition")
}

const asCondition = (node: Node): Condition => {
  if ("cond" in node) return node.cond
  throw new Located(node.expr.at, "expected a condition here (a comparison, BETWEEN, or CONTAINS(…) = 1), found a value")
}

const parser = new AdqlParser()

const position = (text: string, offset: number): { line: number; column: number } => {
  const before = text.slice(0, offset).split("\n")
  return { line: before.length, column: before[before.length - 1]!.length + 1 }
}

/** The most tokens a query may have, and the deepest nesting (parentheses, NOT, unary minus). */
export const maxTokens = 5_000
export const maxNesting = 100

// The parser and the translation recurse once per level: bound the levels before they start.
const tooDeep = (text: string, tokens: ReadonlyArray<IToken>) => {
  if (tokens.length > maxTokens) throw errorAt(text, tokens[maxTokens]!.startOffset, `a query may have at most ${maxTokens} words and symbols`)
  let depth = 0
  let prefixes = 0
  for (const t of tokens) {
    if (t.tokenType === LParen) depth++
    else if (t.tokenType === RParen) depth--
    prefixes = t.tokenType === Not || t.tokenType === Minus ? prefixes + 1 : 0
    if (depth > maxNesting || prefixes > maxNesting) throw errorAt(text, t.startOffset, `expressions may nest at most ${maxNesting} deep`)
  }
}

/** Parses a query of the subset, or throws an {@link AdqlError}. */
export const parse = (text: string): Query => {
  const lexed = lexer.tokenize(text)
  const bad = lexed.errors[0]
  if (bad !== undefined) {
    const { line, column } = position(text, bad.offset)
    throw new AdqlError(line, column, `unexpected character "${text.slice(bad.offset, bad.offset + bad.length).slice(0, 20)}"`)
  }
  tooDeep(text, lexed.tokens)
  parser.input = lexed.tokens
  let query: Query
  try {
    query = parser.query()
  } catch (e) {
    if (e instanceof Located) {
      const { line, column } = position(text, e.offset)
      throw new AdqlError(line, column, e.reason)
    }
    throw e
  }
  const error = parser.errors[0]
  if (error !== undefined) {
    const token = error.token
    const offset = token.tokenType.name === "EOF" ? text.length : token.startOffset
    const { line, column } = position(text, Number.isNaN(offset) ? text.length : offset)
    throw new AdqlError(line, column, error.message)
  }
  return query
}

const number = (n: number): string => String(n)

const printExpr = (e: Expr): string => {
  switch (e.kind) {
    case "number":
      return number(e.value)
    case "column":
      return e.name
    case "negate":
      return `(-${printExpr(e.operand)})`
    case "arithmetic":
      return `(${printExpr(e.left)} ${e.op} ${printExpr(e.right)})`
    case "contains":
      return `CONTAINS(POINT('ICRS', ${printExpr(e.point[0])}, ${printExpr(e.point[1])}), CIRCLE('ICRS', ${e.circle.map(printExpr).join(", ")}))`
  }
}

const printCondition = (c: Condition): string => {
  switch (c.kind) {
    case "compare":
      return `${printExpr(c.left)} ${c.op} ${printExpr(c.right)}`
    case "between":
      return `${printExpr(c.operand)} ${c.negated ? "NOT " : ""}BETWEEN ${printExpr(c.low)} AND ${printExpr(c.high)}`
    case "and":
    case "or":
      return `(${printCondition(c.left)} ${c.kind.toUpperCase()} ${printCondition(c.right)})`
    case "not":
      return `NOT (${printCondition(c.operand)})`
  }
}

/** The query as ADQL text that parses back to the same query (positions aside). */
export const print = (q: Query): string =>
  `SELECT ${q.top === undefined ? "" : `TOP ${q.top} `}${q.columns === "*" ? "*" : q.columns.map((c) => c.name).join(", ")} FROM ${q.table.name}` +
  (q.where === undefined ? "" : ` WHERE ${printCondition(q.where)}`) +
  (q.orderBy.length === 0 ? "" : ` ORDER BY ${q.orderBy.map((o) => `${o.column}${o.descending ? " DESC" : ""}`).join(", ")}`)

/** The line and column of an offset in the query, for errors found after parsing. */
export const errorAt = (text: string, offset: number, reason: string): AdqlError => {
  const { line, column } = position(text, offset)
  return new AdqlError(line, column, reason)
}
