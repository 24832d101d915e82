/**
 * The one XML escaper: whatever the string, what it writes reads back (through the one XML
 * reader) as the string itself, or, for characters XML 1.0 cannot carry, with each of them
 * replaced by U+FFFD; and it never makes a document the reader refuses.
 */
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Xml, XmlEscape } from "@uws-kit/http"

const UNREPRESENTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.constantFrom("&", "<", ">", '"', "'", "\t", "\n", "\r", "\r\n", "\u0001", "\uD800", "\uDC00", "\uFFFE", "a", "é", "😀", "]]>") })
)

describe("XmlEscape", () => {
  it("property: text and attribute values read back exactly (unrepresentable characters as U+FFFD)", () => {
    fc.assert(
      fc.property(text, (s) => {
        const doc = Xml.read(`<r a="${XmlEscape.attribute(s)}">${XmlEscape.text(s)}</r>`)
        if (!("root" in doc)) throw new Error(doc.problem.message)
        const expected = s.replace(UNREPRESENTABLE, "\uFFFD")
        expect(doc.root.text).toBe(expected)
        expect(Xml.attribute(doc.root, "", "a")).toBe(expected)
        expect(XmlEscape.isRepresentable(s)).toBe(expected === s)
      }),
      { numRuns: propertyRuns(2000) }
    )
  })

  it("leaves plain text as it is, and escapes what XML would change", () => {
    expect(XmlEscape.text("SELECT * FROM t")).toBe("SELECT * FROM t")
    expect(XmlEscape.text("a < b & c > d\r\n")).toBe("a &lt; b &amp; c &gt; d&#13;\n")
    expect(XmlEscape.attribute('say "hi"\t\n')).toBe("say &quot;hi&quot;&#9;&#10;")
    expect(XmlEscape.text("\u0001\uD800")).toBe("\uFFFD\uFFFD")
    expect(XmlEscape.isRepresentable("😀")).toBe(true)
    expect(XmlEscape.isRepresentable("\uDE00")).toBe(false)
  })
})
