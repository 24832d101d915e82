/**
 * XML for the SOAP binding: the element model and helpers of the one safe reader
 * (`@uws-kit/http`'s `Xml`), under the names this package uses, and the escapers its writers use.
 */
import { Xml } from "@uws-kit/http"

/** An element read by `Xml.read`. */
export type XmlElement = Xml.Element

export const { attribute, childrenNamed, clark } = Xml

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
