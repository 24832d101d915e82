/**
 * Message fields: one description per child element of an operation's request or response
 * wrapper, from which the WSDL's schema is written, requests are decoded and responses are
 * encoded. Keeping the three in one description is what keeps the served contract and the
 * handler in agreement.
 */
import type { ErrorSummary, Parameter } from "@uws-kit/core/Job"
import type { Phase } from "@uws-kit/core/Phase"
import * as Namespaces from "../Namespaces.js"
import type { RenderContext } from "./render.js"
import { errorSummaryAttributes, errorSummaryContent } from "./render.js"
import {
  decodeBase64,
  decodeBoolean,
  decodeDateTime,
  decodeInt,
  decodePhase,
  formatDateTime,
  isNil,
  type Decoded
} from "./types.js"
import { attribute, escapeAttribute, escapeText, type XmlElement } from "./xml.js"

/**
 * The XML Schema type of a field: its name in the WSDL (prefix `xsd`, `uws` or `u`), how an
 * element of it is read, and how a value is written (attributes, then content).
 */
export interface FieldType<A> {
  readonly xsd: string
  readonly decode: (element: XmlElement) => Decoded<A>
  readonly encode: (value: A) => { readonly attributes: string; readonly content: string }
  /** A named type the binding's schema must define for this field type. */
  readonly definition?: string
}

/** How often a field occurs. */
export type Occurs = "one" | "optional" | "many"

/** A local element of a wrapper. */
export interface Field<N extends string = string, A = any, O extends Occurs = Occurs, Nil extends boolean = boolean> {
  readonly _tag: "Field"
  readonly name: N
  readonly type: FieldType<A>
  readonly occurs: O
  readonly nillable: Nil
  readonly documentation: string
}

/** A reference to a global element of an imported schema (`uws:job`, `wsa:EndpointReference`). */
export interface Ref<N extends string = string, A = any> {
  readonly _tag: "Ref"
  /** The key of the value in the message's values. */
  readonly name: N
  /** The element's QName in the WSDL. */
  readonly element: string
  readonly encode: (value: A, ctx: RenderContext) => string
  readonly documentation: string
}

/** What a wrapper holds. */
export type Part = Field | Ref

type FieldValue<F> =
  F extends Field<string, infer A, infer O, infer Nil>
    ? O extends "many"
      ? ReadonlyArray<A>
      : O extends "one"
        ? Nil extends true
          ? A | null
          : A
        : Nil extends true
          ? A | null | undefined
          : A | undefined
    : F extends Ref<string, infer A>
      ? A
      : never

/** The values of a wrapper, by field name. */
export type Values<Ps extends ReadonlyArray<Part>> = { readonly [P in Ps[number] as P["name"]]: FieldValue<P> }

// ---- field types -----------------------------------------------------------------------------

const simple = <A>(xsd: string, decode: (text: string) => Decoded<A>, format: (value: A) => string): FieldType<A> => ({
  xsd,
  decode: (element) =>
    element.children.length > 0 ? { ok: false, reason: "must hold a value, not elements." } : decode(element.text),
  encode: (value) => ({ attributes: "", content: escapeText(format(value)) })
})

/** `xsd:int`. */
export const int: FieldType<number> = simple("xsd:int", decodeInt, String)
/** `xsd:boolean`. */
export const boolean: FieldType<boolean> = simple("xsd:boolean", decodeBoolean, String)
/** `xsd:dateTime`, as epoch milliseconds. */
export const dateTime: FieldType<number> = simple("xsd:dateTime", decodeDateTime, formatDateTime)
/** `xsd:string`, exactly as sent. */
export const string: FieldType<string> = simple("xsd:string", (text) => ({ ok: true, value: text }), (s) => s)
/** `uws:ExecutionPhase`. */
export const phase: FieldType<Phase> = simple("uws:ExecutionPhase", decodePhase, (p) => p)
/** `uws:JobIdentifier`. */
export const jobId: FieldType<string> = simple("uws:JobIdentifier", (text) => ({ ok: true, value: text }), (s) => s)

/**
 * `u:Parameter`: a UWS parameter as `uws:Parameter` writes it (`id` attribute, value as text,
 * `byReference`), declared as simple content because `uws:Parameter` is a mixed type, which
 * SOAP toolkits (zeep among them) cannot fill with text.
 */
export const parameter: FieldType<Parameter> = {
  xsd: "u:Parameter",
  definition: `<xsd:complexType name="Parameter"><xsd:annotation><xsd:documentation>A job parameter, as uws:Parameter: id is its name, the text its value; byReference: the value is a URL to fetch it from.</xsd:documentation></xsd:annotation><xsd:simpleContent><xsd:extension base="xsd:string"><xsd:attribute name="id" type="xsd:string" use="required"/><xsd:attribute name="byReference" type="xsd:boolean" use="optional" default="false"/></xsd:extension></xsd:simpleContent></xsd:complexType>`,
  decode: (element) => {
    if (element.children.length > 0) return { ok: false, reason: "a parameter holds its value as text, not elements." }
    const id = attribute(element, "", "id")
    if (id === undefined || id.trim() === "") return { ok: false, reason: 'a parameter needs a non-empty "id" attribute (its name).' }
    const byReference = attribute(element, "", "byReference")
    let byRef = false
    if (byReference !== undefined) {
      const b = decodeBoolean(byReference)
      if (!b.ok) return { ok: false, reason: `byReference: ${b.reason}` }
      byRef = b.value
    }
    return { ok: true, value: byRef ? { name: id, value: element.text, byReference: true } : { name: id, value: element.text } }
  },
  encode: (p) => ({
    attributes: ` id="${escapeAttribute(p.name)}"${p.byReference === true ? ' byReference="true"' : ""}`,
    content: escapeText(p.value)
  })
}

/** An uploaded file (UWS inline parameter, §2.2.3.1.1): `name` attribute, base64 content. */
export interface Upload {
  readonly name: string
  readonly mimeType: string | undefined
  readonly content: Uint8Array
}

/** `u:Upload`. */
export const upload: FieldType<Upload> = {
  xsd: "u:Upload",
  definition: `<xsd:complexType name="Upload"><xsd:annotation><xsd:documentation>A file sent with the job (a UWS inline parameter): the job gets the parameter {name} = param:{name}, by reference.</xsd:documentation></xsd:annotation><xsd:simpleContent><xsd:extension base="xsd:base64Binary"><xsd:attribute name="name" type="xsd:string" use="required"/><xsd:attribute name="mimeType" type="xsd:string" use="optional"/></xsd:extension></xsd:simpleContent></xsd:complexType>`,
  decode: (element) => {
    if (element.children.length > 0) return { ok: false, reason: "an upload holds base64 text, not elements." }
    const name = attribute(element, "", "name")
    if (name === undefined || name.trim() === "") return { ok: false, reason: 'an upload needs a non-empty "name" attribute.' }
    const content = decodeBase64(element.text)
    if (!content.ok) return content
    return { ok: true, value: { name, mimeType: attribute(element, "", "mimeType"), content: content.value } }
  },
  encode: () => {
    throw new Error("uploads are never sent back")
  }
}

/** `uws:ErrorSummary`. */
export const errorSummary: FieldType<ErrorSummary> = {
  xsd: "uws:ErrorSummary",
  decode: () => ({ ok: false, reason: "an error summary is never sent in a request." }),
  encode: (e) => ({ attributes: errorSummaryAttributes(e), content: errorSummaryContent(e) })
}

// ---- constructors ------------------------------------------------------------------------------

/** A field that occurs once. */
export const one = <N extends string, A>(name: N, type: FieldType<A>, documentation: string): Field<N, A, "one", false> => ({
  _tag: "Field",
  name,
  type,
  occurs: "one",
  nillable: false,
  documentation
})

/** A field that occurs once and may be `xsi:nil` (`null`). */
export const nillable = <N extends string, A>(name: N, type: FieldType<A>, documentation: string): Field<N, A, "one", true> => ({
  _tag: "Field",
  name,
  type,
  occurs: "one",
  nillable: true,
  documentation
})

/** A field that may be left out. */
export const optional = <N extends string, A>(name: N, type: FieldType<A>, documentation: string): Field<N, A, "optional", false> => ({
  _tag: "Field",
  name,
  type,
  occurs: "optional",
  nillable: false,
  documentation
})

/** A field that may be left out or be `xsi:nil` (`null`). */
export const optionalNillable = <N extends string, A>(
  name: N,
  type: FieldType<A>,
  documentation: string
): Field<N, A, "optional", true> => ({ _tag: "Field", name, type, occurs: "optional", nillable: true, documentation })

/** A field that occurs any number of times. */
export const many = <N extends string, A>(name: N, type: FieldType<A>, documentation: string): Field<N, A, "many", false> => ({
  _tag: "Field",
  name,
  type,
  occurs: "many",
  nillable: false,
  documentation
})

/** A reference to a global element. */
export const ref = <N extends string, A>(
  name: N,
  element: string,
  encode: (value: A, ctx: RenderContext) => string,
  documentation: string
): Ref<N, A> => ({ _tag: "Ref", name, element, encode, documentation })

// ---- decoding, encoding, schema ----------------------------------------------------------------

/**
 * Reads a wrapper's children into values: every child must be a declared field (in the binding's
 * namespace; unqualified children are accepted too), present as often as declared.
 */
export const decode = <Ps extends ReadonlyArray<Part>>(parts: Ps, wrapper: XmlElement): Decoded<Values<Ps>> => {
  if (wrapper.text.trim() !== "") return { ok: false, reason: `<${wrapper.local}> must not hold text.` }
  const byName = new Map<string, Array<XmlElement>>()
  for (const child of wrapper.children) {
    const field = parts.find((p) => p._tag === "Field" && p.name === child.local)
    if (field === undefined || (child.ns !== Namespaces.uwsSoap && child.ns !== "")) {
      const expected = parts.filter((p) => p._tag === "Field").map((p) => p.name)
      return {
        ok: false,
        reason: `<${wrapper.local}> has an unexpected element <${child.local}>${child.ns === "" ? "" : ` (namespace ${child.ns})`}; ${expected.length === 0 ? "it takes no elements" : `it takes ${expected.join(", ")}`}.`
      }
    }
    const list = byName.get(child.local)
    if (list === undefined) byName.set(child.local, [child])
    else list.push(child)
  }
  const values: Record<string, unknown> = {}
  for (const part of parts) {
    if (part._tag !== "Field") continue
    const elements = byName.get(part.name) ?? []
    if (part.occurs !== "many" && elements.length > 1) return { ok: false, reason: `<${part.name}> may occur only once.` }
    if (part.occurs === "one" && elements.length === 0) return { ok: false, reason: `<${part.name}> is required.` }
    const decoded: Array<unknown> = []
    for (const element of elements) {
      if (isNil(element)) {
        if (!part.nillable) return { ok: false, reason: `<${part.name}> cannot be nil.` }
        decoded.push(null)
        continue
      }
      const value = part.type.decode(element)
      if (!value.ok) return { ok: false, reason: `<${part.name}>: ${value.reason}` }
      decoded.push(value.value)
    }
    values[part.name] = part.occurs === "many" ? decoded : decoded[0]
  }
  return { ok: true, value: values as Values<Ps> }
}

/** Writes a wrapper's children, in declaration order. */
export const encode = <Ps extends ReadonlyArray<Part>>(parts: Ps, values: Values<Ps>, ctx: RenderContext): string => {
  let out = ""
  const record = values as Record<string, unknown>
  for (const part of parts) {
    const value = record[part.name]
    if (part._tag === "Ref") {
      out += part.encode(value, ctx)
      continue
    }
    const items = part.occurs === "many" ? (value as ReadonlyArray<unknown>) : value === undefined ? [] : [value]
    for (const item of items) {
      if (item === null) {
        out += `<u:${part.name} xsi:nil="true"/>`
        continue
      }
      const { attributes, content } = part.type.encode(item)
      out += content === "" ? `<u:${part.name}${attributes}/>` : `<u:${part.name}${attributes}>${content}</u:${part.name}>`
    }
  }
  return out
}

const documentation = (text: string) =>
  text === "" ? "" : `<xsd:annotation><xsd:documentation>${escapeText(text)}</xsd:documentation></xsd:annotation>`

/** The `xsd:sequence` declaring a wrapper's children. */
export const schema = (parts: ReadonlyArray<Part>): string => {
  if (parts.length === 0) return "<xsd:sequence/>"
  let out = "<xsd:sequence>"
  for (const part of parts) {
    if (part._tag === "Ref") {
      out += `<xsd:element ref="${part.element}">${documentation(part.documentation)}</xsd:element>`
      continue
    }
    const min = part.occurs === "one" ? "" : ' minOccurs="0"'
    const max = part.occurs === "many" ? ' maxOccurs="unbounded"' : ""
    const nil = part.nillable ? ' nillable="true"' : ""
    out += `<xsd:element name="${part.name}" type="${part.type.xsd}"${min}${max}${nil}>${documentation(part.documentation)}</xsd:element>`
  }
  return out + "</xsd:sequence>"
}
