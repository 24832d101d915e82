/**
 * Safe, namespace-aware XML reading for SOAP envelopes, on top of fast-xml-parser.
 *
 * fast-xml-parser is not a validating or namespace-aware parser, so this module adds what a
 * SOAP endpoint needs and refuses what it must not accept:
 * - any markup declaration (`<!DOCTYPE`, `<!ENTITY`, …) is refused before parsing: no DTD, so no
 *   external entities (XXE) and no entity expansion (billion laughs);
 * - characters XML 1.0 forbids are refused;
 * - well-formedness is checked with fast-xml-parser's validator, plus one root element only;
 * - entity references are decoded here, strictly: the five predefined entities and character
 *   references to legal characters; anything else (`&nbsp;`, a stray `&`) is an error;
 * - names are resolved to (namespace URI, local name) with the in-scope declarations; an unbound
 *   prefix is an error.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser"

/** An attribute with its namespace resolved (`""` = no namespace). */
export interface XmlAttribute {
  readonly ns: string
  readonly local: string
  readonly value: string
}

/** An element with its namespace resolved. */
export interface XmlElement {
  readonly ns: string
  readonly local: string
  readonly attributes: ReadonlyArray<XmlAttribute>
  readonly children: ReadonlyArray<XmlElement>
  /** The element's own character data (text and CDATA sections), decoded, in document order. */
  readonly text: string
  /** Namespace declarations in scope (prefix → URI, `""` = default), to resolve QName values. */
  readonly scope: ReadonlyMap<string, string>
}

/** Why a document was refused. */
export interface XmlProblem {
  readonly kind: "declaration" | "malformed"
  readonly message: string
}

const XML_NS = "http://www.w3.org/XML/1998/namespace"
const XMLNS_NS = "http://www.w3.org/2000/xmlns/"

// XML 1.0 `Char`: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD and supplementary characters
// (well-formed surrogate pairs). Everything else is refused.
const ILLEGAL_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\uD800-\uDBFF\uDC00-\uDFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  allowBooleanAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded by `decode` below, strictly; the parser must not expand anything.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: "#cdata",
  commentPropName: false,
  maxNestedTags: 64
})

const problem = (kind: XmlProblem["kind"], message: string): XmlProblem => ({ kind, message })

/**
 * Finds markup declarations (`<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST`, `<!NOTATION`)
 * outside comments and CDATA sections. Linear; it also skips processing instructions, where
 * `<!` is not markup.
 */
const findDeclaration = (text: string): string | undefined => {
  let i = text.indexOf("<")
  while (i !== -1) {
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4)
      if (end === -1) return undefined // unterminated comment: the validator reports it
      i = text.indexOf("<", end + 3)
    } else if (text.startsWith("<![CDATA[", i)) {
      const end = text.indexOf("]]>", i + 9)
      if (end === -1) return undefined
      i = text.indexOf("<", end + 3)
    } else if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2)
      if (end === -1) return undefined
      i = text.indexOf("<", end + 2)
    } else if (text.startsWith("<!", i)) {
      return (/^<![A-Za-z]*/.exec(text.slice(i, i + 12))?.[0] ?? "<!").toUpperCase()
    } else {
      i = text.indexOf("<", i + 1)
    }
  }
  return undefined
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }
const REFERENCE = /&(?:([A-Za-z_][A-Za-z0-9._-]*)|#([0-9]+)|#x([0-9A-Fa-f]+));|&/g

const isLegalCodePoint = (cp: number) =>
  cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)

class Refused extends Error {
  constructor(readonly problem: XmlProblem) {
    super(problem.message)
  }
}

/** Decodes entity and character references; refuses undeclared entities and stray `&`. */
const decode = (raw: string): string => {
  if (raw.indexOf("&") === -1) return raw
  return raw.replace(REFERENCE, (match, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (name !== undefined) {
      const value = PREDEFINED[name]
      if (value === undefined) {
        throw new Refused(problem("malformed", `the entity "&${name};" is not declared (only &lt; &gt; &amp; &quot; &apos; exist without a DTD).`))
      }
      return value
    }
    if (dec !== undefined || hex !== undefined) {
      const cp = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16)
      if (!isLegalCodePoint(cp)) throw new Refused(problem("malformed", `the character reference "${match}" is not a legal XML character.`))
      return String.fromCodePoint(cp)
    }
    throw new Refused(problem("malformed", `a "&" must start an entity or character reference (write &amp;).`))
  })
}

type RawNode = Record<string, unknown>

const splitName = (qname: string): readonly [prefix: string, local: string] => {
  const colon = qname.indexOf(":")
  if (colon === -1) return ["", qname]
  if (colon === 0 || colon === qname.length - 1 || qname.indexOf(":", colon + 1) !== -1) {
    throw new Refused(problem("malformed", `"${qname}" is not a valid qualified name.`))
  }
  return [qname.slice(0, colon), qname.slice(colon + 1)]
}

const elementName = (node: RawNode): string | undefined => {
  for (const key of Object.keys(node)) if (key !== ":@") return key
  return undefined
}

const build = (name: string, node: RawNode, parentScope: ReadonlyMap<string, string>): XmlElement => {
  const rawAttributes = (node[":@"] ?? {}) as Record<string, string>
  let scope = parentScope
  const plain: Array<readonly [string, string]> = []
  for (const key of Object.keys(rawAttributes)) {
    // Attribute-value normalisation: literal tabs and line feeds become spaces; escaped ones stay.
    const value = decode(String(rawAttributes[key]).replace(/[\t\n]/g, " "))
    if (key === "xmlns" || key.startsWith("xmlns:")) {
      const prefix = key === "xmlns" ? "" : key.slice(6)
      if (prefix !== "" && value === "") throw new Refused(problem("malformed", `the prefix "${prefix}" cannot be undeclared.`))
      if (prefix === "xmlns" || (prefix === "xml" && value !== XML_NS) || (prefix !== "xml" && value === XML_NS) || value === XMLNS_NS) {
        throw new Refused(problem("malformed", `the namespace declaration ${key}="${value}" is reserved.`))
      }
      if (scope === parentScope) scope = new Map(parentScope)
      ;(scope as Map<string, string>).set(prefix, value)
    } else {
      plain.push([key, value])
    }
  }
  const resolve = (prefix: string, isAttribute: boolean): string => {
    if (prefix === "") return isAttribute ? "" : (scope.get("") ?? "")
    if (prefix === "xml") return XML_NS
    const uri = scope.get(prefix)
    if (uri === undefined) throw new Refused(problem("malformed", `the prefix "${prefix}" is not declared.`))
    return uri
  }
  const [prefix, local] = splitName(name)
  const attributes: Array<XmlAttribute> = []
  const seen = new Set<string>()
  for (const [key, value] of plain) {
    const [p, l] = splitName(key)
    const ns = resolve(p, true)
    const id = `${ns} ${l}`
    if (seen.has(id)) throw new Refused(problem("malformed", `the attribute "${key}" appears twice.`))
    seen.add(id)
    attributes.push({ ns, local: l, value })
  }
  const children: Array<XmlElement> = []
  let text = ""
  const content = node[name]
  if (Array.isArray(content)) {
    for (const child of content as Array<RawNode>) {
      if ("#text" in child) text += decode(String(child["#text"]))
      else if ("#cdata" in child) {
        for (const part of child["#cdata"] as Array<RawNode>) text += String(part["#text"] ?? "")
      } else {
        const childName = elementName(child)
        if (childName !== undefined) children.push(build(childName, child, scope))
      }
    }
  }
  return { ns: resolve(prefix, false), local, attributes, children, text, scope }
}

const rootScope: ReadonlyMap<string, string> = new Map()

/**
 * Parses a whole document into its root element, or says why it was refused.
 */
export const parseDocument = (input: string): { readonly root: XmlElement } | { readonly problem: XmlProblem } => {
  // XML end-of-line handling: CR LF and lone CR become LF before anything else.
  const text = input.includes("\r") ? input.replace(/\r\n?/g, "\n") : input
  const declaration = findDeclaration(text)
  if (declaration !== undefined) {
    return {
      problem: problem("declaration", `${declaration} declarations are not accepted: DTDs and entity declarations are refused (no external entities, no entity expansion).`)
    }
  }
  const bad = ILLEGAL_CHAR.exec(text)
  if (bad !== null) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
    return { problem: problem("malformed", `the character U+${code} is not allowed in XML (at offset ${bad.index}).`) }
  }
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    return { problem: problem("malformed", `not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col}).`) }
  }
  try {
    const nodes = parser.parse(text) as Array<RawNode>
    let root: XmlElement | undefined
    for (const node of nodes) {
      if ("#text" in node) {
        if (String(node["#text"]).trim() !== "") return { problem: problem("malformed", "text is not allowed outside the root element.") }
        continue
      }
      if ("#cdata" in node) return { problem: problem("malformed", "CDATA is not allowed outside the root element.") }
      const name = elementName(node)
      if (name === undefined) continue
      if (root !== undefined) return { problem: problem("malformed", "a document has exactly one root element.") }
      root = build(name, node, rootScope)
    }
    if (root === undefined) return { problem: problem("malformed", "the document has no root element.") }
    // The parser drops text after the root; the validator accepts it. Refuse it here.
    if (!/>\s*$/.test(text)) return { problem: problem("malformed", "text is not allowed after the root element.") }
    return { root }
  } catch (e) {
    if (e instanceof Refused) return { problem: e.problem }
    return { problem: problem("malformed", `not well-formed XML: ${e instanceof Error ? e.message : String(e)}`) }
  }
}

/** The children of an element with a given namespace and local name. */
export const childrenNamed = (element: XmlElement, ns: string, local: string): ReadonlyArray<XmlElement> =>
  element.children.filter((c) => c.ns === ns && c.local === local)

/** The value of an attribute, by namespace and local name. */
export const attribute = (element: XmlElement, ns: string, local: string): string | undefined =>
  element.attributes.find((a) => a.ns === ns && a.local === local)?.value

/** `{ns}local`, for messages. */
export const clark = (element: Pick<XmlElement, "ns" | "local">): string =>
  element.ns === "" ? element.local : `{${element.ns}}${element.local}`

// ---- writing --------------------------------------------------------------------------------

const ESCAPE: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\r": "&#13;",
  "\n": "&#10;",
  "\t": "&#9;"
}

// Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab/LF/CR, lone
// surrogates, U+FFFE/U+FFFF). A job created through another binding may hold them; they are
// written as U+FFFD so that the document stays well-formed.
const UNREPRESENTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const NEEDS_TEXT_ESCAPE = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/
const NEEDS_ATTR_ESCAPE = /[&<>"\r\n\t\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/

/** Escapes character data (keeping CR, which a parser would otherwise turn into LF). */
export const escapeText = (s: string): string =>
  NEEDS_TEXT_ESCAPE.test(s) ? s.replace(UNREPRESENTABLE, "\uFFFD").replace(/[&<>\r]/g, (c) => ESCAPE[c]!) : s

/** Escapes an attribute value (keeping whitespace exactly, which attribute normalisation would not). */
export const escapeAttribute = (s: string): string =>
  NEEDS_ATTR_ESCAPE.test(s) ? s.replace(UNREPRESENTABLE, "\uFFFD").replace(/[&<>"\r\n\t]/g, (c) => ESCAPE[c]!) : s
