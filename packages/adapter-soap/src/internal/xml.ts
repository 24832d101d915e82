/**
 * XML for the SOAP binding: the element model and helpers of the one safe reader
 * (`@uws-kit/http`'s `Xml`) and the one escaper, under the names this package uses.
 */
import { Xml, XmlEscape } from "@uws-kit/http"

/** An element read by `Xml.read`. */
export type XmlElement = Xml.Element

export const { attribute, childrenNamed, clark } = Xml

/** The one escaper (`@uws-kit/http`'s `XmlEscape`), under the names this package's writers use. */
export const { attribute: escapeAttribute, text: escapeText } = XmlEscape
