/**
 * The job description language (JDL) of this application server, after CEA's tool document:
 *
 *     <tool xmlns="urn:uws-kit:cea:1" application="gzip">
 *       <input>
 *         <parameter name="file" indirect="true">https://example.org/data.txt</parameter>
 *         <parameter name="level">9</parameter>
 *       </input>
 *       <output>
 *         <parameter name="compressed" indirect="true">https://example.org/put/here.gz</parameter>
 *       </output>
 *     </tool>
 *
 * Direct inputs carry their value, indirect ones (`indirect="true"`) a URI the server fetches;
 * an output parameter names the URI its result is delivered to (PUT). The schema is
 * `cea-jdl.xsd` beside this file. Read with the safe XML reader of `@uws-kit/http` (no DTD, no
 * entities, bounded): a document this module refuses creates no job.
 */
import * as path from "node:path"
import { Xml } from "@uws-kit/http"
import { Either } from "effect"
import type { Job } from "@uws-kit/core"

export const NS = "urn:uws-kit:cea:1"
export const schemaFile = path.join(import.meta.dirname, "cea-jdl.xsd")

export interface Description {
  readonly application: string
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly value: string; readonly indirect: boolean }>
  /** Where each named output goes (absent: kept by the service). */
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly uri: string }>
}

/** A job description is small: its files travel by reference. */
export const limits: Partial<Xml.Limits> = { maxDepth: 4, maxElements: 1000, maxTextLength: 256 * 1024 }

const NAME = /^[a-z][a-z0-9_-]{0,63}$/i
const BOOLEAN: Readonly<Record<string, boolean>> = { true: true, "1": true, false: false, "0": false }

const attr = (e: Xml.Element, local: string) => Xml.attribute(e, "", local)

const parameters = (section: Xml.Element | undefined, where: string): Either.Either<Array<{ name: string; value: string; indirect: boolean }>, string> => {
  const out: Array<{ name: string; value: string; indirect: boolean }> = []
  for (const p of section?.children ?? []) {
    if (p.ns !== NS || p.local !== "parameter") return Either.left(`<${where}> holds only <parameter> elements, not <${p.local}>.`)
    if (p.children.length > 0) return Either.left(`<parameter> holds text only.`)
    const name = attr(p, "name")
    if (name === undefined || !NAME.test(name)) return Either.left(`each <parameter> needs a name attribute (a letter, then letters, digits, _ or -; at most 64).`)
    const flag = attr(p, "indirect")
    const indirect = flag === undefined ? false : BOOLEAN[flag.trim()]
    if (indirect === undefined) return Either.left(`indirect="${flag}" on ${name} is not true or false.`)
    if (out.some((q) => q.name.toLowerCase() === name.toLowerCase())) return Either.left(`${name} is given twice in <${where}>.`)
    out.push({ name, value: p.text, indirect })
  }
  return Either.right(out)
}

/** Reads a job description; `Left` says what is wrong with it. */
export const parse = (text: string): Either.Either<Description, string> => {
  const doc = Xml.read(text, limits)
  if ("problem" in doc) return Either.left(doc.problem.message)
  const root = doc.root
  if (root.ns !== NS || root.local !== "tool") return Either.left(`the document must be a <tool> in namespace ${NS}, not <${root.local}>${root.ns === "" ? "" : ` in ${root.ns}`}.`)
  const application = attr(root, "application")
  if (application === undefined || !NAME.test(application)) return Either.left(`<tool> needs an application attribute naming an application.`)
  const sections = new Map<string, Xml.Element>()
  for (const c of root.children) {
    if (c.ns !== NS || (c.local !== "input" && c.local !== "output")) return Either.left(`<tool> holds <input> and <output> only, not <${c.local}>.`)
    if (sections.has(c.local)) return Either.left(`<${c.local}> is given twice.`)
    sections.set(c.local, c)
  }
  if (root.text.trim() !== "" || [...sections.values()].some((s) => s.text.trim() !== "")) return Either.left(`text is allowed only inside <parameter>.`)
  return Either.gen(function* () {
    const inputs = yield* parameters(sections.get("input"), "input")
    const outputs = yield* parameters(sections.get("output"), "output")
    for (const o of outputs) {
      if (!o.indirect) return yield* Either.left(`output ${o.name} must be indirect="true": its value is where the result goes.`)
      if (inputs.some((i) => i.name.toLowerCase() === o.name.toLowerCase())) return yield* Either.left(`${o.name} is both an input and an output.`)
    }
    return { application, inputs, outputs: outputs.map((o) => ({ name: o.name, uri: o.value.trim() })) }
  })
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/\r/g, "&#13;")

/** Writes a description (what a client sends). */
export const render = (d: Description): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<tool xmlns="${NS}" application="${escape(d.application)}">\n` +
  `  <input>\n${d.inputs.map((p) => `    <parameter name="${p.name}"${p.indirect ? ` indirect="true"` : ""}>${escape(p.value)}</parameter>\n`).join("")}  </input>\n` +
  `  <output>\n${d.outputs.map((o) => `    <parameter name="${o.name}" indirect="true">${escape(o.uri)}</parameter>\n`).join("")}  </output>\n</tool>\n`

/**
 * The job's UWS parameters: `application`, then the inputs (indirect ones by reference), then the
 * outputs' destinations (by reference). The application's definition tells inputs from outputs.
 */
export const toParameters = (d: Description): Array<Job.Parameter> => [
  { name: "application", value: d.application },
  ...d.inputs.map((p) => (p.indirect ? { name: p.name, value: p.value.trim(), byReference: true } : { name: p.name, value: p.value })),
  ...d.outputs.map((o) => ({ name: o.name, value: o.uri, byReference: true }))
]
