/**
 * THE XML escaper of uws-kit: every binding that writes XML (REST documents, SOAP envelopes,
 * faults, the WSDL) escapes character data and attribute values here, so a value written by one
 * binding reads back the same through any other.
 *
 * - `\r` is written as `&#13;` (and, in attributes, `\t` and `\n` as `&#9;`/`&#10;`): a parser's
 *   line-end and attribute-value normalisation would otherwise change the value.
 * - Characters XML 1.0 cannot carry even escaped (C0 controls but tab, LF and CR; U+FFFE, U+FFFF;
 *   unpaired surrogates) become U+FFFD, so the document stays well-formed. A job created through
 *   another binding may hold them; a writer that must keep such a value exactly asks
 *   {@link isRepresentable} first and shows it by reference instead.
 *
 * @since 0.1.0
 */

// Characters XML 1.0 cannot hold even escaped, and unpaired surrogates.
const UNREPRESENTABLE_SOURCE =
  "[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]"
const UNREPRESENTABLE = new RegExp(UNREPRESENTABLE_SOURCE)
const UNREPRESENTABLE_G = new RegExp(UNREPRESENTABLE_SOURCE, "g")
// One test decides whether a value needs any work: the common case (plain text) is returned as is.
const TEXT_WORK = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/
const ATTRIBUTE_WORK = /[&<>"\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/

const ENTITY: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;"
}

/**
 * Whether a string can be written as XML 1.0 character data exactly as it is (escaped, but with
 * no character replaced).
 *
 * @since 0.1.0
 * @category escaping
 */
export const isRepresentable = (s: string): boolean => !UNREPRESENTABLE.test(s)

/**
 * Escapes character data: `&`, `<`, `>` and `\r`; characters XML cannot carry become U+FFFD.
 *
 * @example
 * import { XmlEscape } from "@uws-kit/http"
 * XmlEscape.text("a < b\r\n") // "a &lt; b&#13;\n"
 *
 * @since 0.1.0
 * @category escaping
 */
export const text = (s: string): string =>
  TEXT_WORK.test(s) ? s.replace(UNREPRESENTABLE_G, "\uFFFD").replace(/[&<>\r]/g, (c) => ENTITY[c]!) : s

/**
 * Escapes an attribute value (double-quoted): as {@link text}, plus `"`, tab and line feed.
 *
 * @example
 * import { XmlEscape } from "@uws-kit/http"
 * XmlEscape.attribute('say "hi"\t') // "say &quot;hi&quot;&#9;"
 *
 * @since 0.1.0
 * @category escaping
 */
export const attribute = (s: string): string =>
  ATTRIBUTE_WORK.test(s) ? s.replace(UNREPRESENTABLE_G, "\uFFFD").replace(/[&<>"\t\n\r]/g, (c) => ENTITY[c]!) : s
