/**
 * The application server's configuration: which applications it runs, how each one's command
 * line is built, and its typed inputs and named outputs. Read once at start and checked with
 * effect/Schema; any mistake stops the start with a message naming the key
 * (`applications[1].command[2]: {levle} is not a declared parameter`).
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { Either, ParseResult, Schema } from "effect"
import { placeholders } from "./Argv.js"

const Name = Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_-]{0,63}$/, { message: () => "a name: lower-case letters, digits, _ and -, starting with a letter" }))

const Input = Schema.Struct({
  name: Name,
  description: Schema.String,
  type: Schema.Literal("string", "integer", "number", "boolean", "file"),
  /** Absent or `null`: required. */
  default: Schema.optional(Schema.String),
  optional: Schema.optional(Schema.Boolean),
  min: Schema.optional(Schema.Number),
  max: Schema.optional(Schema.Number),
  choices: Schema.optional(Schema.Array(Schema.String)),
  /** What an input file holds (documentation). */
  mimeType: Schema.optional(Schema.String)
})
export type Input = typeof Input.Type

const Output = Schema.Struct({
  name: Name,
  description: Schema.String,
  mimeType: Schema.String,
  /** `stdout`: the command's standard output is this result; `file`: `{name}` in the command is the path it writes. */
  from: Schema.Literal("stdout", "file")
})
export type Output = typeof Output.Type

const Application = Schema.Struct({
  name: Name,
  description: Schema.String,
  /** argv: each element becomes exactly one argument; `{input}`, `{output}` and `{here}` are replaced. */
  command: Schema.NonEmptyArray(Schema.String),
  inputs: Schema.Array(Input),
  outputs: Schema.Array(Output)
})
export type Application = typeof Application.Type

const File = Schema.Struct({ applications: Schema.NonEmptyArray(Application) })

/** Names every job has besides the application's own. */
export const reserved = ["application", "stdout", "stderr", "here"] as const

export interface Catalogue {
  readonly applications: ReadonlyArray<Application>
  /** The configuration's folder: `{here}` in commands. */
  readonly here: string
  readonly find: (name: string) => Application | undefined
}

const pathOf = (p: ReadonlyArray<PropertyKey>) =>
  p.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("")

/** The checks a schema cannot state: names unique and not reserved, placeholders declared, bounds sane. */
const consistency = (file: typeof File.Type): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const apps = new Set<string>()
  file.applications.forEach((app, a) => {
    const at = `applications[${a}]`
    if (apps.has(app.name)) problems.push(`${at}.name: "${app.name}" is declared twice.`)
    apps.add(app.name)
    const names = new Set<string>()
    const each = [...app.inputs.map((p, i) => [p, `${at}.inputs[${i}]`] as const), ...app.outputs.map((p, i) => [p, `${at}.outputs[${i}]`] as const)]
    for (const [p, key] of each) {
      if ((reserved as ReadonlyArray<string>).includes(p.name)) problems.push(`${key}.name: "${p.name}" is reserved (${reserved.join(", ")}).`)
      if (names.has(p.name)) problems.push(`${key}.name: "${p.name}" is declared twice in ${app.name} (inputs and outputs share one namespace).`)
      names.add(p.name)
    }
    app.inputs.forEach((p, i) => {
      const key = `${at}.inputs[${i}]`
      if ((p.min !== undefined || p.max !== undefined) && p.type !== "integer" && p.type !== "number") problems.push(`${key}.min: only numbers have bounds.`)
      if (p.choices !== undefined && p.type !== "string") problems.push(`${key}.choices: only strings have choices.`)
      if (p.default !== undefined && p.type === "file") problems.push(`${key}.default: a file has no default.`)
    })
    const fromStdout = app.outputs.filter((o) => o.from === "stdout")
    if (fromStdout.length > 1) problems.push(`${at}.outputs: at most one output comes from stdout.`)
    app.command.forEach((element, i) => {
      for (const name of placeholders(element)) {
        if (name !== "here" && !names.has(name)) problems.push(`${at}.command[${i}]: {${name}} is not a declared parameter of ${app.name}.`)
        if (app.outputs.some((o) => o.name === name && o.from === "stdout")) problems.push(`${at}.command[${i}]: {${name}} comes from stdout; it has no path.`)
      }
      if (i === 0 && placeholders(element).some((n) => n !== "here")) problems.push(`${at}.command[0]: the program must not come from a parameter.`)
    })
    app.outputs.forEach((o, i) => {
      if (o.from === "file" && !app.command.some((e) => placeholders(e).includes(o.name))) problems.push(`${at}.outputs[${i}]: ${o.name} comes from a file but the command never names {${o.name}}.`)
    })
  })
  return problems
}

/** Reads and checks a configuration document (JSON text); `Left` lists every problem, each naming its key. */
export const parse = (text: string, here: string): Either.Either<Catalogue, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(`not JSON: ${(e as Error).message}`)
  }
  const decoded = Schema.decodeUnknownEither(File, { errors: "all", onExcessProperty: "error" })(json)
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    return Either.left(issues.map((i) => `${pathOf(i.path) || "(top)"}: ${i.message}`).join("\n"))
  }
  const problems = consistency(decoded.right)
  if (problems.length > 0) return Either.left(problems.join("\n"))
  const applications = decoded.right.applications
  return Either.right({ applications, here, find: (name) => applications.find((a) => a.name === name.toLowerCase()) })
}

/** The example's configuration file. */
export const defaultConfigFile = path.join(import.meta.dirname, "applications.json")

/** Loads a configuration file; throws with every problem named by key. */
export const load = (file: string = defaultConfigFile): Catalogue => {
  const parsed = parse(readFileSync(file, "utf8"), path.dirname(path.resolve(file)))
  if (Either.isLeft(parsed)) throw new Error(`${file} is not a valid application configuration:\n${parsed.left}`)
  return parsed.right
}
