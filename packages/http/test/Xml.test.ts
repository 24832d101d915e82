/**
 * The one XML reader: random well-formed documents (random namespaces, prefixes, attributes,
 * text that needs escaping, CDATA, comments) read back to the tree they were written from; their
 * random mutations and truncations never throw; a document over any limit is refused with that
 * limit named, and a document exactly at every limit is read. Plus the fixed refusals a SOAP or
 * REST endpoint relies on (DTDs, entities, illegal characters, unbound prefixes, …).
 */
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Xml } from "@uws-kit/http"

// ---- the model ------------------------------------------------------------------------------

interface Attr {
  readonly ns: string
  readonly local: string
  readonly value: string
}

interface Tree {
  readonly ns: string
  readonly local: string
  readonly attributes: ReadonlyArray<Attr>
  /** Text segments and children interleaved: a string is text, a Tree a child element. */
  readonly content: ReadonlyArray<string | Tree>
}

/** What the reader should give back for a tree. */
interface Plain {
  readonly ns: string
  readonly local: string
  readonly attributes: ReadonlyArray<Attr>
  readonly text: string
  readonly children: ReadonlyArray<Plain>
}

const byName = (a: Attr, b: Attr) => (a.ns + " " + a.local < b.ns + " " + b.local ? -1 : 1)

const expected = (t: Tree): Plain => ({
  ns: t.ns,
  local: t.local,
  attributes: [...t.attributes].sort(byName),
  text: t.content.filter((c): c is string => typeof c === "string").join(""),
  children: t.content.filter((c): c is Tree => typeof c !== "string").map(expected)
})

const plain = (e: Xml.Element): Plain => ({
  ns: e.ns,
  local: e.local,
  attributes: [...e.attributes].sort(byName),
  text: e.text,
  children: e.children.map(plain)
})

// Legal XML 1.0 characters, with those that need escaping well represented.
const char = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("<", ">", "&", '"', "'", "\r", "\n", "\t", " ", "]", "]]>", "\r\n", "é", "😀", "\u00A0", "\uFFFD") },
  { weight: 6, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) }
)
const text = fc.array(char, { maxLength: 8 }).map((a) => a.join("").replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, ""))
const NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,5}$/
const local = fc.oneof(fc.stringMatching(NAME), fc.constantFrom("é", "Ünïcode", "a-b.c_d")).filter((n) => !/^xml/i.test(n))
const nsUri = fc.constantFrom("", "urn:a", "urn:b", "http://x.test/p?q=1&r=2", "urn:é", "http://www.w3.org/XML/1998/namespace")

const attrs = fc.uniqueArray(
  fc.record({ ns: nsUri, local, value: text }),
  { maxLength: 4, selector: (a) => `${a.ns} ${a.local}` }
)

const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.record({
    ns: nsUri.filter((n) => n !== "http://www.w3.org/XML/1998/namespace"),
    local,
    attributes: attrs,
    content: fc.array(fc.oneof({ depthSize: "small" }, { weight: 3, arbitrary: text }, { weight: 2, arbitrary: tie("tree") }), { maxLength: 4 })
  })
})).tree

// ---- writing it (test-only escapers and namespace choices) ---------------------------------

const escText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;")
const escAttr = (s: string) =>
  escText(s).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\t/g, "&#9;")

/** The choices the writer makes, drawn at random: prefixes, CDATA, comments, redundant declarations. */
interface Style {
  readonly next: () => number
}

interface Stats {
  depth: number
  elements: number
  maxAttributes: number
  maxDeclarations: number
  declarations: number
  maxText: number
}

type Scope = ReadonlyMap<string, string>

const serialize = (t: Tree, style: Style): { readonly xml: string; readonly stats: Stats; readonly scopes: ReadonlyArray<Scope> } => {
  const stats: Stats = { depth: 0, elements: 0, maxAttributes: 0, maxDeclarations: 0, declarations: 0, maxText: 0 }
  // The bindings in force on each element, in document order, as the writer made them.
  const scopes: Array<Scope> = []
  let counter = 0
  const write = (e: Tree, scope: Scope, depth: number): string => {
    stats.elements++
    stats.depth = Math.max(stats.depth, depth)
    const local_ = new Map(scope) // the writer's own bookkeeping; the reader copies nothing
    const decls: Array<string> = []
    const declare = (prefix: string, uri: string) => {
      decls.push(prefix === "" ? ` xmlns="${escAttr(uri)}"` : ` xmlns:${prefix}="${escAttr(uri)}"`)
      local_.set(prefix, uri)
    }
    const prefixFor = (uri: string, isAttribute: boolean): string => {
      if (uri === "http://www.w3.org/XML/1998/namespace") return "xml"
      if (!isAttribute && (local_.get("") ?? "") === uri && style.next() % 3 !== 0) return ""
      for (const [p, u] of local_) if (p !== "" && u === uri && style.next() % 2 === 0) return p
      if (!isAttribute && style.next() % 2 === 0) {
        declare("", uri)
        return ""
      }
      const p = `p${counter++}`
      declare(p, uri)
      return p
    }
    // The element's name first: an unprefixed element in no namespace needs the default undone.
    let name: string
    if (e.ns === "") {
      if ((local_.get("") ?? "") !== "") {
        // `xmlns=""` is the one legal undeclaration in XML 1.0.
        decls.push(` xmlns=""`)
        local_.set("", "")
      }
      name = e.local
    } else {
      const p = prefixFor(e.ns, false)
      name = p === "" ? e.local : `${p}:${e.local}`
    }
    const attributes = e.attributes.map((a) => {
      const qname = a.ns === "" ? a.local : `${prefixFor(a.ns, true)}:${a.local}`
      return ` ${qname}${style.next() % 4 === 0 ? " = " : "="}"${escAttr(a.value)}"`
    })
    // Sometimes a redundant declaration, to exercise shadowing.
    if (style.next() % 5 === 0) declare(`r${counter++}`, "urn:redundant")
    scopes.push(local_)
    stats.declarations += decls.length
    stats.maxDeclarations = Math.max(stats.maxDeclarations, decls.length)
    stats.maxAttributes = Math.max(stats.maxAttributes, decls.length + attributes.length)
    let own = 0
    const inner = e.content
      .map((c) => {
        if (typeof c !== "string") return write(c, local_, depth + 1)
        own += c.length
        const r = style.next() % 6
        if (r === 0 && c !== "" && !c.includes("]]>") && !c.includes("\r")) return `<![CDATA[${c}]]>`
        if (r === 1) return `${escText(c)}<!-- c -->`
        return escText(c)
      })
      .join("")
    stats.maxText = Math.max(stats.maxText, own)
    const head = `<${name}${decls.join("")}${attributes.join("")}`
    return inner === "" && style.next() % 2 === 0 ? `${head}/>` : `${head}>${inner}</${name}>`
  }
  const body = write(t, new Map(), 1)
  const prolog = [``, `<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0"?>\n`, `<!-- before -->\n`][style.next() % 4]!
  return { xml: `${prolog}${body}${style.next() % 2 === 0 ? "\n" : ""}`, stats, scopes }
}

const style = fc.infiniteStream(fc.nat()).map((s): Style => {
  const it = s[Symbol.iterator]()
  return { next: () => it.next().value as number }
})

const document = fc.tuple(tree, style).map(([t, s]) => ({ tree: t, ...serialize(t, s) }))

const unlimited: Xml.Limits = {
  maxDepth: Number.MAX_SAFE_INTEGER,
  maxElements: Number.MAX_SAFE_INTEGER,
  maxAttributes: Number.MAX_SAFE_INTEGER,
  maxNamespaceDeclarations: Number.MAX_SAFE_INTEGER,
  maxDocumentNamespaceDeclarations: Number.MAX_SAFE_INTEGER,
  maxTextLength: Number.MAX_SAFE_INTEGER
}

const statOf: { readonly [K in keyof Xml.Limits]: (s: Stats) => number } = {
  maxDepth: (s) => s.depth,
  maxElements: (s) => s.elements,
  maxAttributes: (s) => s.maxAttributes,
  maxNamespaceDeclarations: (s) => s.maxDeclarations,
  maxDocumentNamespaceDeclarations: (s) => s.declarations,
  maxTextLength: (s) => s.maxText
}

const limitNames = Object.keys(statOf) as ReadonlyArray<keyof Xml.Limits>

// ---- properties -----------------------------------------------------------------------------

describe("Xml.read (properties)", () => {
  it("reads a random well-formed document back to the tree it was written from", () => {
    fc.assert(
      fc.property(document, ({ tree: t, xml }) => {
        const out = Xml.read(xml, unlimited)
        if (!("root" in out)) throw new Error(`${out.problem.message}\n${xml}`)
        expect(plain(out.root)).toEqual(expected(t))
      }),
      { numRuns: propertyRuns(400) }
    )
  })

  it("resolves prefixes through the chained scopes as the writer bound them", () => {
    fc.assert(
      fc.property(document, ({ xml, scopes }) => {
        const out = Xml.read(xml, unlimited)
        if (!("root" in out)) throw new Error(out.problem.message)
        const inOrder: Array<Xml.Element> = []
        const walk = (e: Xml.Element) => {
          inOrder.push(e)
          e.children.forEach(walk)
        }
        walk(out.root)
        expect(inOrder).toHaveLength(scopes.length)
        inOrder.forEach((e, i) => {
          for (const [prefix, uri] of scopes[i]!) expect(e.resolvePrefix(prefix), `${prefix} on element ${i}`).toBe(uri)
          if (!scopes[i]!.has("")) expect(e.resolvePrefix("")).toBe("")
          expect(e.resolvePrefix("xml")).toBe("http://www.w3.org/XML/1998/namespace")
          expect(e.resolvePrefix("no-such-prefix")).toBeUndefined()
        })
      }),
      { numRuns: propertyRuns(100) }
    )
  })

  it("never throws on a mutated or truncated document: a tree or a problem", () => {
    const fragments = fc.constantFrom("<", ">", "</", "/>", "&", "&amp;", "&#0;", "&#x110000;", "&bogus;", ";", '"', "'", "=", ":", "xmlns:p=\"\"", "<!DOCTYPE x>", "<![CDATA[", "]]>", "<!--", "-->", "<?pi?>", "\u0000", "\uD800", "\uFFFF", "p:", " ")
    const mutation = fc.oneof(
      fc.nat().map((i) => (x: string) => x.slice(0, i % (x.length + 1))),
      fc.tuple(fc.nat(), fc.nat({ max: 8 })).map(([i, n]) => (x: string) => x.slice(0, i % (x.length + 1)) + x.slice((i % (x.length + 1)) + n)),
      fc.tuple(fc.nat(), fragments).map(([i, s]) => (x: string) => x.slice(0, i % (x.length + 1)) + s + x.slice(i % (x.length + 1))),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })).map(([i, c]) => (x: string) => {
        const at = i % Math.max(1, x.length)
        return x.slice(0, at) + String.fromCharCode(c) + x.slice(at + 1)
      })
    )
    fc.assert(
      fc.property(document, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom<Partial<Xml.Limits> | undefined>(undefined, { maxDepth: 3, maxElements: 5 }), ({ xml }, ms, limits) => {
        let input = xml
        for (const m of ms) input = m(input)
        let out: Xml.Result | undefined
        expect(() => {
          out = Xml.read(input, limits)
        }).not.toThrow()
        expect(out !== undefined && ("root" in out || ("problem" in out && out.problem.message.length > 10))).toBe(true)
      }),
      { numRuns: propertyRuns(500) }
    )
  })

  it("refuses a document over any one limit, naming that limit; reads it at exactly every limit", () => {
    fc.assert(
      fc.property(document, fc.constantFrom(...limitNames), ({ xml, stats }, name) => {
        const exact = Object.fromEntries(limitNames.map((n) => [n, statOf[n](stats)])) as unknown as Xml.Limits
        expect("root" in Xml.read(xml, exact), xml).toBe(true)
        const stat = statOf[name](stats)
        fc.pre(stat > 0)
        const out = Xml.read(xml, { ...unlimited, [name]: stat - 1 })
        expect("problem" in out, `${name} = ${stat - 1}: ${xml}`).toBe(true)
        if (!("problem" in out)) return
        expect(out.problem.kind).toBe("limit")
        expect(out.problem.limit).toBe(name)
        expect(out.problem.message).toContain(name)
      }),
      { numRuns: propertyRuns(400) }
    )
  })
})

// ---- fixed refusals -------------------------------------------------------------------------

const refused = (xml: string, limits?: Partial<Xml.Limits>) => {
  const out = Xml.read(xml, limits)
  if ("root" in out) throw new Error(`read: ${xml}`)
  return out.problem
}

describe("Xml.read refuses", () => {
  it("any DTD, as a declaration: internal and external entities, entity bombs, parameter entities", () => {
    for (const xml of [
      `<!DOCTYPE t [<!ENTITY d "2030-01-01T00:00:00Z">]><t>&d;</t>`,
      `<!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/passwd">]><t>&e;</t>`,
      `<!DOCTYPE t [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><t>&b;</t>`,
      `<!DOCTYPE t [<!ENTITY % p SYSTEM "http://evil.test/x.dtd"> %p;]><t/>`,
      `<!DOCTYPE t SYSTEM "http://evil.test/t.dtd"><t/>`,
      `<!DOCTYPE t [<!ENTITY d "x">`,
      `<t><!ENTITY d "x"></t>`
    ]) {
      const p = refused(xml)
      expect(p.kind, xml).toBe("declaration")
      expect(p.message).toMatch(/<!(DOCTYPE|ENTITY) declarations are not accepted/)
    }
  })

  it("what XML 1.0 and namespaces forbid, as malformed", () => {
    for (const xml of [
      "",
      "not xml",
      "<a>\u0000</a>",
      "<a>\u0007</a>",
      "<a>&#0;</a>",
      "<a>&#xFFFE;</a>",
      "<a>\uD800</a>",
      '<a b="\uDC00"/>',
      "<a>&nbsp;</a>",
      "<a>a & b</a>",
      "<a/><b/>",
      "<a/>junk",
      "junk<a/>",
      "<p:a/>",
      '<a p:x="1"/>',
      '<a x="1" x="2"/>',
      '<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>',
      '<a xmlns:p="urn:x"><b xmlns:p=""/></a>',
      '<a xmlns:xml="urn:x"/>',
      '<a xmlns:p="http://www.w3.org/2000/xmlns/"/>',
      "<a><?pi x?></a>",
      '<a/><?xml version="1.0"?>',
      '<?xml version="1.1"?><a>&#x1;</a>',
      "<a:b:c xmlns:a='u'/>",
      "<a></b>",
      "<a>"
    ]) {
      expect(refused(xml).kind, JSON.stringify(xml)).toBe("malformed")
    }
  })

  it("documents over the default limits, naming the limit", () => {
    const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join("")
    const cases: ReadonlyArray<readonly [keyof Xml.Limits, string]> = [
      ["maxDepth", "<a>".repeat(65) + "</a>".repeat(65)],
      ["maxElements", `<a>${"<b/>".repeat(10_000)}</a>`],
      ["maxAttributes", `<a${many(65, (i) => ` x${i}="1"`)}/>`],
      ["maxNamespaceDeclarations", `<a${many(33, (i) => ` xmlns:p${i}="u:${i}"`)}/>`],
      ["maxDocumentNamespaceDeclarations", `<a>${many(257, (i) => `<b xmlns:p${i}="u:${i}"/>`)}</a>`],
      ["maxTextLength", `<a>${"x".repeat(1024 * 1024 + 1)}</a>`]
    ]
    for (const [limit, xml] of cases) {
      const p = refused(xml)
      expect(p.limit, limit).toBe(limit)
      expect(p.message).toContain(limit)
    }
    // …and at exactly the defaults, read.
    for (const xml of [
      "<a>".repeat(64) + "</a>".repeat(64),
      `<a>${"<b/>".repeat(9_999)}</a>`,
      `<a${many(64, (i) => ` x${i}="1"`)}/>`,
      `<a${many(32, (i) => ` xmlns:p${i}="u:${i}"`)}/>`,
      `<a>${many(256, (i) => `<b xmlns:p${i}="u:${i}"/>`)}</a>`
    ]) {
      expect("root" in Xml.read(xml)).toBe(true)
    }
  })
})

describe("Xml.read reads", () => {
  it("namespaces, QName prefixes through chained scopes, text, CDATA and references", () => {
    const out = Xml.read(
      `<?xml version="1.0"?><e xmlns="urn:d" xmlns:p="urn:p"><p:a xmlns:q="urn:q" q:x="&lt;&#x41;&#66;">t&amp;<![CDATA[<c>]]><b xmlns="" xmlns:p="urn:p2"/></p:a>\r\nz</e>`
    )
    if (!("root" in out)) throw new Error(out.problem.message)
    const e = out.root
    expect([e.ns, e.local, e.text]).toEqual(["urn:d", "e", "\nz"])
    const a = e.children[0]!
    expect([a.ns, a.local, a.text]).toEqual(["urn:p", "a", "t&<c>"])
    expect(a.attributes).toEqual([{ ns: "urn:q", local: "x", value: "<AB" }])
    expect([a.resolvePrefix("q"), a.resolvePrefix("p"), a.resolvePrefix("")]).toEqual(["urn:q", "urn:p", "urn:d"])
    const b = a.children[0]!
    expect([b.ns, b.resolvePrefix(""), b.resolvePrefix("p"), b.resolvePrefix("q")]).toEqual(["", "", "urn:p2", "urn:q"])
    expect(e.resolvePrefix("q")).toBeUndefined()
    expect(Xml.attribute(a, "urn:q", "x")).toBe("<AB")
    expect(Xml.clark(a)).toBe("{urn:p}a")
    expect(Xml.childrenNamed(e, "urn:p", "a")).toHaveLength(1)
  })
})
