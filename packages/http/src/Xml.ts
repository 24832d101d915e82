/**
 * THE XML reader of uws-kit: every XML document a binding reads (a SOAP envelope, a REST
 * termination document, …) goes through {@link read}, so every binding refuses the same things
 * the same way.
 *
 * It streams the text through `saxes` (XML 1.0 well-formedness, no DTD processing), resolves
 * namespaces itself and builds a small element tree, in time and memory linear in the text
 * whatever the document:
 * - no DTD, no markup declaration: a `<!DOCTYPE …>` is refused, so there are no external
 *   entities (XXE) and no entity expansion (billion laughs); only the five predefined entities
 *   and character references to legal XML 1.0 characters are decoded;
 * - XML 1.0 well-formedness, strictly: illegal characters, a second root, text outside the root,
 *   unbound prefixes, duplicate attributes, reserved namespace bindings are refused; so are
 *   processing instructions (SOAP forbids them; nothing else here needs them);
 * - explicit limits on nesting depth, element count, attributes and namespace declarations per
 *   element, namespace declarations per document and text per element, each refused with a
 *   problem naming the limit. The document is abandoned at the first problem.
 *
 * While reading, each prefix has a stack of bindings (a lookup is O(1), whatever the depth). In
 * the tree, namespace scopes are chained: an element that declares namespaces gets a scope
 * holding only its own declarations and pointing at its parent's; an element that declares none
 * shares its parent's. Nothing is copied per element, and `resolvePrefix` walks at most
 * `maxDepth` links. (A map copied per element made a 495 KB envelope with 16,000 declarations
 * exhaust the heap; saxes' own namespace mode walks every open element per prefix, 6× slower on
 * a 1 MiB envelope of 64-attribute elements 60 deep.)
 *
 * Errors are values: {@link read} never throws.
 *
 * @since 0.1.0
 */
import { SaxesParser } from "saxes"

/**
 * The limits of one document. Every document over one of them is refused with a problem whose
 * `limit` names it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  /** How deep elements may nest (the root is at depth 1). */
  readonly maxDepth: number
  /** How many elements a document may hold. */
  readonly maxElements: number
  /** How many attributes one element may carry, namespace declarations included. */
  readonly maxAttributes: number
  /** How many namespace declarations one element may carry. */
  readonly maxNamespaceDeclarations: number
  /** How many namespace declarations a whole document may carry. */
  readonly maxDocumentNamespaceDeclarations: number
  /** How many characters of text (character data and CDATA) one element may hold. */
  readonly maxTextLength: number
}

/**
 * Safe defaults: ample for any SOAP envelope or UWS document, far below what costs anything.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Limits = {
  maxDepth: 64,
  maxElements: 10_000,
  maxAttributes: 64,
  maxNamespaceDeclarations: 32,
  maxDocumentNamespaceDeclarations: 256,
  maxTextLength: 1024 * 1024
}

/**
 * An attribute with its namespace resolved (`""` = no namespace). Namespace declarations
 * (`xmlns`, `xmlns:p`) are not attributes here: they are in the element's scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attribute {
  readonly ns: string
  readonly local: string
  readonly value: string
}

/**
 * An element with its namespace resolved (`""` = no namespace).
 *
 * @since 0.1.0
 * @category models
 */
export interface Element {
  readonly ns: string
  readonly local: string
  readonly attributes: ReadonlyArray<Attribute>
  readonly children: ReadonlyArray<Element>
  /** The element's own character data (text and CDATA sections), decoded, in document order. */
  readonly text: string
  /**
   * The namespace URI a prefix is bound to here (`""` = the default namespace, which resolves to
   * `""` when there is none), or `undefined` when the prefix is not declared: what a QName
   * value (`xsi:type="p:T"`, a fault code) needs.
   */
  readonly resolvePrefix: (prefix: string) => string | undefined
}

/**
 * Why a document was refused: a markup `declaration` (DTD), `malformed` XML, or a `limit`
 * exceeded (then `limit` names it).
 *
 * @since 0.1.0
 * @category models
 */
export interface XmlProblem {
  readonly _tag: "XmlProblem"
  readonly kind: "declaration" | "malformed" | "limit"
  readonly message: string
  readonly limit?: keyof Limits
}

/**
 * What {@link read} answers: the root element, or the problem.
 *
 * @since 0.1.0
 * @category models
 */
export type Result = { readonly root: Element } | { readonly problem: XmlProblem }

const XML_NS = "http://www.w3.org/XML/1998/namespace"
const XMLNS_NS = "http://www.w3.org/2000/xmlns/"

/** One element's own namespace declarations, and the scope around it. */
class Scope {
  constructor(
    readonly own: Map<string, string>,
    readonly parent: Scope | undefined
  ) {}
}

const lookup = (scope: Scope | undefined, prefix: string): string | undefined => {
  if (prefix === "xml") return XML_NS
  if (prefix === "xmlns") return XMLNS_NS
  for (let s = scope; s !== undefined; s = s.parent) {
    const uri = s.own.get(prefix)
    if (uri !== undefined) return uri
  }
  return prefix === "" ? "" : undefined
}

class ElementNode implements Element {
  readonly children: Array<Element> = []
  text = ""
  constructor(
    readonly ns: string,
    readonly local: string,
    readonly attributes: ReadonlyArray<Attribute>,
    readonly scope: Scope | undefined
  ) {}
  resolvePrefix(prefix: string): string | undefined {
    return lookup(this.scope, prefix)
  }
}

/** Thrown from a saxes handler to abandon the document; caught in {@link read}. */
class Stop {
  constructor(readonly problem: XmlProblem) {}
}

const problem = (kind: XmlProblem["kind"], message: string, limit?: keyof Limits): XmlProblem =>
  limit === undefined ? { _tag: "XmlProblem", kind, message } : { _tag: "XmlProblem", kind, message, limit }

const over = (limit: keyof Limits, message: string): Stop => new Stop(problem("limit", `${message} (limit ${limit}).`, limit))

// saxes checks XML 1.0 characters but lets a lone UTF-16 surrogate through: not a character at all.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i

const declarationProblem = (what: string) =>
  problem("declaration", `${what} declarations are not accepted: DTDs and entity declarations are refused (no external entities, no entity expansion).`)

// saxes messages start with "line:column: ".
const describeSaxesError = (message: string): string => {
  const m = /^(\d+):(\d+): (.*)$/s.exec(message)
  return m === null ? `not well-formed XML: ${message}` : `not well-formed XML: ${m[3]!.replace(/\.$/, "")} (line ${m[1]}, column ${m[2]}).`
}

/**
 * Reads a whole document (already decoded to a string) into its root element, or says why it
 * was refused. Linear in the length of `text` in time and memory; never throws.
 *
 * @example
 * import { Xml } from "@uws-kit/http"
 *
 * const doc = Xml.read(`<t xmlns="urn:x">2030-01-01T00:00:00Z</t>`)
 * if ("root" in doc) console.log(doc.root.ns, doc.root.text)
 * else console.log(doc.problem.message)
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (text: string, limits?: Partial<Limits>): Result => {
  const lone = LONE_SURROGATE.exec(text)
  if (lone !== null) {
    const code = lone[0].charCodeAt(0).toString(16).toUpperCase()
    return { problem: problem("malformed", `the lone surrogate U+${code} is not a character (at offset ${lone.index}).`) }
  }
  const lim: Limits = limits === undefined ? defaultLimits : { ...defaultLimits, ...limits }
  // saxes checks XML; namespaces are resolved here (its own resolution walks every open element
  // for every prefix: depth × attributes per element). Each prefix has a stack of bindings, so a
  // lookup is O(1); each element remembers what it pushed, to pop it when it closes.
  const parser = new SaxesParser({ xmlns: false, position: true, defaultXMLVersion: "1.0", forceXMLVersion: true })
  const bindings = new Map<string, Array<string>>()
  const pushed: Array<ReadonlyArray<string> | undefined> = []
  const stack: Array<ElementNode> = []
  let root: ElementNode | undefined
  let elements = 0
  let documentDeclarations = 0
  // The start tag being read: its attribute and declaration counts, checked as saxes reports them.
  let attributes = 0
  let declarations = 0

  const malformed = (message: string) => new Stop(problem("malformed", `${message} (line ${parser.line}, column ${parser.column}).`))
  const split = (qname: string): readonly [prefix: string, local: string] => {
    const colon = qname.indexOf(":")
    if (colon === -1) return ["", qname]
    if (colon === 0 || colon === qname.length - 1 || qname.indexOf(":", colon + 1) !== -1) throw malformed(`"${qname}" is not a valid qualified name`)
    return [qname.slice(0, colon), qname.slice(colon + 1)]
  }
  const resolve = (prefix: string, qname: string): string => {
    if (prefix === "xml") return XML_NS
    const bound = bindings.get(prefix)
    const uri = bound === undefined ? undefined : bound[bound.length - 1]
    if (uri !== undefined) return uri
    if (prefix === "") return ""
    throw malformed(`the prefix "${prefix}" of "${qname}" is not declared`)
  }

  parser.on("error", (e) => {
    throw new Stop(problem("malformed", describeSaxesError(e.message)))
  })
  parser.on("doctype", () => {
    throw new Stop(declarationProblem("<!DOCTYPE"))
  })
  parser.on("processinginstruction", (pi) => {
    throw new Stop(problem("malformed", `processing instructions (<?${pi.target} …?>) are not accepted.`))
  })
  parser.on("opentagstart", () => {
    elements++
    if (elements > lim.maxElements) throw over("maxElements", `the document holds more than ${lim.maxElements} elements`)
    if (stack.length + 1 > lim.maxDepth) throw over("maxDepth", `elements nest deeper than ${lim.maxDepth} levels`)
    attributes = 0
    declarations = 0
  })
  parser.on("attribute", (attr) => {
    attributes++
    if (attributes > lim.maxAttributes) throw over("maxAttributes", `an element carries more than ${lim.maxAttributes} attributes`)
    if (attr.name === "xmlns" || attr.name.startsWith("xmlns:")) {
      declarations++
      documentDeclarations++
      if (declarations > lim.maxNamespaceDeclarations) {
        throw over("maxNamespaceDeclarations", `an element carries more than ${lim.maxNamespaceDeclarations} namespace declarations`)
      }
      if (documentDeclarations > lim.maxDocumentNamespaceDeclarations) {
        throw over("maxDocumentNamespaceDeclarations", `the document carries more than ${lim.maxDocumentNamespaceDeclarations} namespace declarations`)
      }
    }
  })
  parser.on("opentag", (tag) => {
    const parent = stack[stack.length - 1]
    let scope = parent?.scope
    // Declarations first: they apply to the element's own name and attributes.
    let mine: Map<string, string> | undefined
    for (const name in tag.attributes) {
      if (name !== "xmlns" && !name.startsWith("xmlns:")) continue
      const uri = tag.attributes[name]!
      const prefix = name === "xmlns" ? "" : split(name)[1]
      if (prefix === "xmlns" || uri === XMLNS_NS) throw malformed(`the namespace declaration ${name}="${uri}" is reserved`)
      if ((prefix === "xml") !== (uri === XML_NS)) throw malformed(`the prefix "xml" is bound to ${XML_NS} and nothing else is`)
      if (prefix !== "" && uri === "") throw malformed(`the prefix "${prefix}" cannot be undeclared in XML 1.0`)
      ;(mine ??= new Map()).set(prefix, uri)
    }
    if (mine !== undefined) {
      scope = new Scope(mine, scope)
      for (const [prefix, uri] of mine) {
        const bound = bindings.get(prefix)
        if (bound === undefined) bindings.set(prefix, [uri])
        else bound.push(uri)
      }
    }
    pushed.push(mine === undefined ? undefined : [...mine.keys()])
    const [prefix, local] = split(tag.name)
    if (prefix === "xmlns") throw malformed(`an element cannot be named "${tag.name}"`)
    const ns = resolve(prefix, tag.name)
    const attrs: Array<Attribute> = []
    let seen: Set<string> | undefined
    for (const name in tag.attributes) {
      if (name === "xmlns" || name.startsWith("xmlns:")) continue
      const [p, l] = split(name)
      if (p === "") {
        attrs.push({ ns: "", local: l, value: tag.attributes[name]! })
        continue
      }
      const uri = resolve(p, name)
      // Two prefixes bound to one namespace can still name one attribute twice.
      const id = `${uri} ${l}`
      if ((seen ??= new Set()).has(id)) throw malformed(`the attribute {${uri}}${l} appears twice`)
      seen.add(id)
      attrs.push({ ns: uri, local: l, value: tag.attributes[name]! })
    }
    const element = new ElementNode(ns, local, attrs, scope)
    if (parent === undefined) root = element
    else parent.children.push(element)
    stack.push(element)
  })
  parser.on("closetag", () => {
    stack.pop()
    const mine = pushed.pop()
    if (mine !== undefined) for (const prefix of mine) bindings.get(prefix)!.pop()
  })
  const addText = (t: string) => {
    const current = stack[stack.length - 1]
    if (current === undefined) return // whitespace around the root; saxes refuses anything else
    if (current.text.length + t.length > lim.maxTextLength) {
      throw over("maxTextLength", `an element holds more than ${lim.maxTextLength} characters of text`)
    }
    current.text += t
  }
  parser.on("text", addText)
  parser.on("cdata", addText)

  try {
    parser.write(text).close()
  } catch (e) {
    if (e instanceof Stop) {
      // A declaration saxes stumbled on before it could report the DOCTYPE whole (or one outside
      // any DOCTYPE) is still a declaration to whoever sent it.
      if (e.problem.kind === "malformed") {
        const at = DECLARATION.exec(text)
        if (at !== null) return { problem: declarationProblem(`<!${at[1]!.toUpperCase()}`) }
      }
      return { problem: e.problem }
    }
    return { problem: problem("malformed", `not well-formed XML: ${e instanceof Error ? e.message : String(e)}`) }
  }
  if (root === undefined) return { problem: problem("malformed", "the document has no root element.") }
  return { root }
}

/**
 * The children of an element with a given namespace and local name.
 *
 * @since 0.1.0
 * @category reading
 */
export const childrenNamed = (element: Element, ns: string, local: string): ReadonlyArray<Element> =>
  element.children.filter((c) => c.ns === ns && c.local === local)

/**
 * The value of an attribute, by namespace (`""` = none) and local name.
 *
 * @since 0.1.0
 * @category reading
 */
export const attribute = (element: Element, ns: string, local: string): string | undefined =>
  element.attributes.find((a) => a.ns === ns && a.local === local)?.value

/**
 * `{ns}local` (or `local` without a namespace), for messages.
 *
 * @since 0.1.0
 * @category reading
 */
export const clark = (element: Pick<Element, "ns" | "local">): string =>
  element.ns === "" ? element.local : `{${element.ns}}${element.local}`
