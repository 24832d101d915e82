/**
 * The CEA example's parsers: the configuration (errors name the key), the job description
 * (valid descriptions round-trip; garbage, oversized documents, XXE and entity bombs are refused
 * with a clear message) and the argv templates (no value becomes an extra argument or an option
 * the template did not declare).
 */
import { propertyRuns } from "@uws-kit/core/testing"
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { expand, placeholders } from "../../examples/cea/Argv.js"
import * as Config from "../../examples/cea/Config.js"
import * as Description from "../../examples/cea/Description.js"
import { plan } from "../../examples/cea/Plan.js"

const runs = propertyRuns(200)

describe("configuration", () => {
  it("loads the example's applications", () => {
    const c = Config.load()
    expect(c.applications.map((a) => a.name)).toEqual(["gzip", "votable-stats"])
  })

  const app = { name: "a", description: "d", command: ["true"], inputs: [], outputs: [] }
  const problems = (doc: unknown) => {
    const r = Config.parse(JSON.stringify(doc), "/tmp")
    return Either.isLeft(r) ? r.left : "accepted"
  }

  it.each([
    [{ applications: [{ ...app, command: ["echo", "{levle}"] }] }, "applications[0].command[1]: {levle} is not a declared parameter of a."],
    [{ applications: [{ ...app, inputs: [{ name: "x", type: "int", description: "" }] }] }, "applications[0].inputs[0].type"],
    [{ applications: [{ ...app, name: "Bad Name" }] }, "applications[0].name"],
    [{ applications: [app, app] }, `applications[1].name: "a" is declared twice.`],
    [{ applications: [{ ...app, inputs: [{ name: "stderr", type: "string", description: "" }] }] }, `applications[0].inputs[0].name: "stderr" is reserved`],
    [{ applications: [{ ...app, command: ["{x}"], inputs: [{ name: "x", type: "string", description: "" }] }] }, "applications[0].command[0]: the program must not come from a parameter."],
    [{ applications: [{ ...app, outputs: [{ name: "o", from: "file", mimeType: "text/plain", description: "" }] }] }, "applications[0].outputs[0]: o comes from a file but the command never names {o}."],
    [{ applications: [{ ...app, extra: 1 }] }, "applications[0].extra"],
    [{ applications: [] }, "applications"]
  ])("refuses %j naming the key", (doc, expected) => {
    expect(problems(doc)).toContain(expected)
  })

  it("refuses a document that is not JSON", () => {
    expect(Either.getLeft(Config.parse("{", "/tmp"))._tag).toBe("Some")
  })
})

// XML 1.0 characters only (a description is an XML document); CR is kept through &#13;.
const xmlChar = fc.oneof(
  fc.constantFrom("a", "-", " ", "\t", "\n", "\r", "&", "<", ">", '"', "'", "]]>", "é", "😀", "{x}"),
  fc.string({ unit: "grapheme", maxLength: 3 })
)
const text = fc.array(xmlChar, { maxLength: 12 }).map((a) => a.join("").replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, ""))
const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/)
const description: fc.Arbitrary<Description.Description> = fc
  .record({
    application: name,
    inputs: fc.uniqueArray(fc.record({ name, value: text, indirect: fc.boolean() }), { selector: (p) => p.name, maxLength: 5 }),
    outputs: fc.uniqueArray(fc.record({ name: name.map((n) => `o${n}`), uri: fc.webUrl() }), { selector: (p) => p.name, maxLength: 3 })
  })
  .filter((d) => !d.outputs.some((o) => d.inputs.some((i) => i.name === o.name)))

describe("job descriptions", () => {
  it("round-trip: what render writes, parse reads back", () => {
    fc.assert(
      fc.property(description, (d) => {
        expect(Description.parse(Description.render(d))).toEqual(Either.right(d))
      }),
      { numRuns: runs }
    )
  })

  it("refuse garbage with a message, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), description.map((d) => Description.render(d).slice(0, -9))), (s) => {
        const r = Description.parse(s)
        if (Either.isLeft(r)) expect(r.left.length).toBeGreaterThan(0)
      }),
      { numRuns: runs }
    )
  })

  const refusals: ReadonlyArray<readonly [string, string, string]> = [
    ["XXE", `<?xml version="1.0"?><!DOCTYPE tool [<!ENTITY x SYSTEM "file:///etc/passwd">]><tool xmlns="urn:uws-kit:cea:1" application="gzip"><input><parameter name="file">&x;</parameter></input></tool>`, "DTDs and entity declarations are refused"],
    ["billion laughs", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><tool xmlns="urn:uws-kit:cea:1" application="gzip">&lol2;</tool>`, "DTDs and entity declarations are refused"],
    ["too many elements", `<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input>${`<parameter name="p">1</parameter>`.repeat(1001)}</input></tool>`, "limit maxElements"],
    ["too deep", `<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input><parameter name="p"><a><b/></a></parameter></input></tool>`, "maxDepth"],
    ["a value too long", `<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input><parameter name="p">${"x".repeat(300 * 1024)}</parameter></input></tool>`, "maxTextLength"],
    ["another root", `<job application="gzip"/>`, "must be a <tool> in namespace urn:uws-kit:cea:1"],
    ["no application", `<tool xmlns="urn:uws-kit:cea:1"/>`, "needs an application attribute"],
    ["a direct output", `<tool xmlns="urn:uws-kit:cea:1" application="gzip"><output><parameter name="o">http://x/</parameter></output></tool>`, "must be indirect"],
    ["a name twice", `<tool xmlns="urn:uws-kit:cea:1" application="gzip"><input><parameter name="a">1</parameter><parameter name="A">2</parameter></input></tool>`, "given twice"],
    ["not XML", `application=gzip`, "not well-formed XML"]
  ]
  it.each(refusals)("refuse %s", (_, doc, message) => {
    const r = Description.parse(doc)
    expect(Either.isLeft(r) ? r.left : "accepted").toContain(message)
  })
})

describe("argv templates", () => {
  // Templates: literal elements, options the provider wrote, placeholders alone or inside text, `--`.
  const element = fc.oneof(
    fc.constantFrom("prog", "--", "-v", "--out={b}", "-{a}", "x{a}y", "{a}", "{b}", "{c}", "{a}{b}", "{here}/bin"),
    fc.stringMatching(/^[a-z.\/]{1,6}$/)
  )
  const template = fc.array(element, { minLength: 1, maxLength: 8 })
  const value = fc.oneof(fc.string(), fc.constantFrom("-rf", "--help", "a b", "-", "x\0y", "'$(id)'", "{b}", "; rm -rf /"))
  const values = fc.record({ a: value, b: value, c: fc.option(value, { nil: undefined }), here: fc.constant("/srv/cea") })

  it("one argument per element present, values substituted literally, no option from a value", () => {
    fc.assert(
      fc.property(template, values, (t, v) => {
        const map = new Map(Object.entries(v).filter((e): e is [string, string] => e[1] !== undefined))
        const r = expand(t, map)
        const present = t.filter((e) => placeholders(e).every((n) => map.has(n)))
        if (Either.isLeft(r)) {
          // Refused only for a NUL or for a value that would start an argument with "-".
          expect(r.left).toMatch(/NUL|would be read as an option/)
          return
        }
        const argv = r.right
        expect(argv.length).toBe(present.length)
        let afterDashes = false
        present.forEach((e, i) => {
          expect(argv[i]).toBe(e.replace(/\{([a-z][a-z0-9_-]*)\}/g, (_, n: string) => map.get(n)!))
          if (!afterDashes && argv[i]!.startsWith("-")) expect(e.startsWith("-")).toBe(true)
          if (e === "--") afterDashes = true
        })
      }),
      { numRuns: runs }
    )
  })

  it("refuses a value that would become an option", () => {
    expect(expand(["gzip", "{f}"], new Map([["f", "--version"]]))).toEqual(Either.left(`The value of f ("--version") would be read as an option; values must not start with "-".`))
    expect(expand(["gzip", "--", "{f}"], new Map([["f", "--version"]]))).toEqual(Either.right(["gzip", "--", "--version"]))
  })
})

describe("plans", () => {
  const catalogue = Config.load()
  it("checks the application, the types and the destinations at creation", () => {
    const bad = (parameters: Array<{ name: string; value: string; byReference?: boolean }>) => Either.getLeft(plan(catalogue, parameters))
    expect(bad([])).toMatchObject({ value: expect.stringContaining("Name the application") })
    expect(bad([{ name: "application", value: "rm" }])).toMatchObject({ value: expect.stringContaining(`no application "rm"`) })
    expect(bad([{ name: "application", value: "gzip" }])).toMatchObject({ value: expect.stringContaining("gzip needs file") })
    expect(bad([{ name: "application", value: "gzip" }, { name: "file", value: "x" }, { name: "level", value: "12" }])).toMatchObject({ value: expect.stringContaining("level must be from 1 to 9") })
    expect(bad([{ name: "application", value: "gzip" }, { name: "file", value: "file:///etc/passwd", byReference: true }])).toMatchObject({ value: expect.stringContaining("file: URIs are not fetched") })
    expect(bad([{ name: "application", value: "gzip" }, { name: "file", value: "x" }, { name: "compressed", value: "ftp://x/y" }])).toMatchObject({ value: expect.stringContaining("ftp: URIs") })
    expect(bad([{ name: "application", value: "gzip" }, { name: "file", value: "x" }, { name: "shell", value: "1" }])).toMatchObject({ value: expect.stringContaining("gzip has no parameter shell") })
    expect(Either.isRight(plan(catalogue, [{ name: "APPLICATION", value: "gzip" }, { name: "FILE", value: "x" }]))).toBe(true)
  })
})
