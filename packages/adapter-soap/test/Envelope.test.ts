/**
 * Reading SOAP requests: content types, envelopes of both versions, header blocks and
 * WS-Addressing, and the safe XML reader underneath (property-tested as a parser).
 */
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Envelope, Namespaces } from "@uws-kit/adapter-soap"
import { propertyRuns } from "@uws-kit/core/testing"
import { Xml } from "@uws-kit/http"
import { escapeAttribute, escapeText } from "../src/internal/xml.js"
import { envelope, TNS } from "./helpers.js"

const parseDocument = Xml.read

const tag = <A>(e: Either.Either<A, { readonly tag: string }>) => (Either.isLeft(e) ? e.left.tag : "ok")

describe("transport", () => {
  it("reads SOAP 1.1 from text/xml and its SOAPAction, unquoted", () => {
    expect(Envelope.transport("text/xml; charset=UTF-8", '"urn:x:getPhase"')).toEqual(
      Either.right({ version: "1.1", action: "urn:x:getPhase", charset: "utf-8" })
    )
    expect(Envelope.transport("text/xml", '""')).toEqual(Either.right({ version: "1.1", action: undefined, charset: "utf-8" }))
    expect(Envelope.transport("text/xml", undefined)).toEqual(Either.right({ version: "1.1", action: undefined, charset: "utf-8" }))
  })

  it("reads SOAP 1.2 from application/soap+xml and its action parameter, even quoted with ';'", () => {
    expect(Envelope.transport('application/soap+xml;charset=utf-8;action="urn:a;b"', undefined)).toEqual(
      Either.right({ version: "1.2", action: "urn:a;b", charset: "utf-8" })
    )
    expect(Envelope.transport("Application/SOAP+XML", undefined)).toEqual(
      Either.right({ version: "1.2", action: undefined, charset: "utf-8" })
    )
  })

  it("refuses other media types", () => {
    for (const ct of [undefined, "application/json", "text/plain", "application/xml", "", "garbage"]) {
      expect(tag(Envelope.transport(ct, undefined)), String(ct)).toBe("UnsupportedMediaType")
    }
  })
})

describe("parse", () => {
  const ok = (xml: string, version: "1.1" | "1.2" = "1.1") => {
    const r = Envelope.parse(xml, version)
    if (Either.isLeft(r)) throw new Error(`${r.left.tag}: ${r.left.reason}`)
    return r.right
  }

  it("finds the operation element, WS-Addressing headers and the job's ResourceIdentifier", () => {
    for (const version of ["1.1", "1.2"] as const) {
      const r = ok(envelope("getPhase", "", { version, resourceId: " j1 ", messageId: "urn:uuid:1", wsaAction: `${TNS}:getPhase` }), version)
      expect(r.body.ns).toBe(TNS)
      expect(r.body.local).toBe("getPhase")
      expect(r.resourceId).toBe("j1")
      expect(r.addressing).toEqual({ action: `${TNS}:getPhase`, messageId: "urn:uuid:1", to: undefined })
    }
  })

  it("accepts the ResourceIdentifier in the WS-Addressing namespace too (the 0.5 draft's wsa:ResourceIdentifier)", () => {
    const xml = envelope("getPhase", "", { headerXml: `<wsa:ResourceIdentifier>j9</wsa:ResourceIdentifier>` })
    expect(ok(xml).resourceId).toBe("j9")
  })

  it("is a VersionMismatch when the envelope is not the announced version, or not SOAP", () => {
    expect(tag(Envelope.parse(envelope("getPhase", "", { version: "1.2" }), "1.1"))).toBe("VersionMismatch")
    expect(tag(Envelope.parse(envelope("getPhase", "", { version: "1.1" }), "1.2"))).toBe("VersionMismatch")
    expect(tag(Envelope.parse(`<e:Envelope xmlns:e="urn:other"><e:Body/></e:Envelope>`, "1.1"))).toBe("VersionMismatch")
  })

  it("refuses documents that are not envelopes, and envelopes without exactly one body element", () => {
    const s = Namespaces.soap11
    for (const xml of [
      `<x/>`,
      `<s:Envelope xmlns:s="${s}"/>`,
      `<s:Envelope xmlns:s="${s}"><s:Header/></s:Envelope>`,
      `<s:Envelope xmlns:s="${s}"><s:Body/></s:Envelope>`,
      `<s:Envelope xmlns:s="${s}"><s:Body><a/><b/></s:Body></s:Envelope>`,
      `<s:Envelope xmlns:s="${s}"><s:Body>text<a/></s:Body></s:Envelope>`,
      `<s:Envelope xmlns:s="${s}"><s:Body><a/></s:Body><s:Header/></s:Envelope>`,
      `<s:Envelope xmlns:s="${s}"><s:Body><a/></s:Body><s:Body><a/></s:Body></s:Envelope>`,
      `<s:Envelope xmlns:s="${s}"><s:Header><unqualified/></s:Header><s:Body><a/></s:Body></s:Envelope>`
    ]) {
      expect(tag(Envelope.parse(xml, "1.1")), xml).toBe("MalformedEnvelope")
    }
  })

  it("faults on mustUnderstand header blocks it does not understand, unless they target another role", () => {
    const h = (attrs: string) => `<x:Security xmlns:x="urn:sec" ${attrs}/>`
    expect(tag(Envelope.parse(envelope("getJobs", "", { headerXml: h('s:mustUnderstand="1"') }), "1.1"))).toBe("MustUnderstand")
    expect(tag(Envelope.parse(envelope("getJobs", "", { headerXml: h('s:mustUnderstand="0"') }), "1.1"))).toBe("ok")
    expect(tag(Envelope.parse(envelope("getJobs", "", { headerXml: h('s:mustUnderstand="1" s:actor="urn:other"') }), "1.1"))).toBe("ok")
    expect(tag(Envelope.parse(envelope("getJobs", "", { version: "1.2", headerXml: h('s:mustUnderstand="true"') }), "1.2"))).toBe("MustUnderstand")
    expect(
      tag(
        Envelope.parse(
          envelope("getJobs", "", { version: "1.2", headerXml: h('s:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/none"') }),
          "1.2"
        )
      )
    ).toBe("ok")
    // WS-Addressing headers are understood, mustUnderstand or not.
    expect(tag(Envelope.parse(envelope("getJobs", "", { headerXml: `<wsa:To s:mustUnderstand="1">urn:x</wsa:To>` }), "1.1"))).toBe("ok")
  })

  it("refuses a WS-Addressing header or the ResourceIdentifier given twice", () => {
    expect(tag(Envelope.parse(envelope("getPhase", "", { messageId: "a", headerXml: "<wsa:MessageID>b</wsa:MessageID>" }), "1.1"))).toBe(
      "InvalidAddressingHeader"
    )
    expect(tag(Envelope.parse(envelope("getPhase", "", { resourceId: "a", headerXml: "<u:ResourceIdentifier>b</u:ResourceIdentifier>" }), "1.1"))).toBe(
      "InvalidAddressingHeader"
    )
  })
})

describe("DTDs, entities and hostile XML", () => {
  const cases: ReadonlyArray<[string, string]> = [
    [
      "external entity (XXE)",
      `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><u:getJobs xmlns:u="${TNS}">&xxe;</u:getJobs></s:Body></s:Envelope>`
    ],
    [
      "billion laughs",
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><x>&lol3;</x></s:Body></s:Envelope>`
    ],
    ["external DTD", `<!DOCTYPE s:Envelope SYSTEM "http://evil.example/x.dtd"><s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><x/></s:Body></s:Envelope>`],
    ["parameter entity", `<!DOCTYPE x [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]><x/>`],
    ["a declaration after the root", `<x/><!DOCTYPE x>`],
    ["lower-case doctype", `<!doctype x><x/>`],
    ["an ENTITY declaration inside the body", `<s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><!ENTITY a "b"><x/></s:Body></s:Envelope>`]
  ]
  for (const [name, xml] of cases) {
    it(`refuses ${name} before parsing`, () => {
      expect(tag(Envelope.parse(xml, "1.1"))).toBe("ForbiddenDeclaration")
    })
  }

  it("does not mistake '<!DOCTYPE' inside a comment or a CDATA section for a declaration", () => {
    const xml = `<!-- <!DOCTYPE x> --><s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><u:getJobs xmlns:u="${TNS}"><![CDATA[<!DOCTYPE html>]]></u:getJobs></s:Body></s:Envelope>`
    const r = Envelope.parse(xml, "1.1")
    expect(Either.isRight(r) && r.right.body.text).toBe("<!DOCTYPE html>")
  })

  it("refuses undeclared entities, stray ampersands and illegal characters", () => {
    for (const inner of ["&nbsp;", "a & b", "&#0;", "&#xD800;", "\u0001", "&#x110000;"]) {
      const r = Envelope.parse(envelope("getJobs", `<u:last>${inner}</u:last>`), "1.1")
      expect(tag(r), JSON.stringify(inner)).toBe("MalformedEnvelope")
    }
  })

  it("refuses unbound prefixes, duplicate attributes and junk around the root", () => {
    for (const xml of [
      `<s:Envelope><s:Body/></s:Envelope>`,
      `<s:Envelope xmlns:s="${Namespaces.soap11}" a="1" a="2"><s:Body><x/></s:Body></s:Envelope>`,
      `<s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><x p:a="1"/></s:Body></s:Envelope>`,
      `<s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><x/></s:Body></s:Envelope>junk`,
      `junk<s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><x/></s:Body></s:Envelope>`,
      `<s:Envelope xmlns:s="${Namespaces.soap11}"><s:Body><x></s:Body></s:Envelope>`,
      ``
    ]) {
      expect(tag(Envelope.parse(xml, "1.1")), xml).toBe("MalformedEnvelope")
    }
  })

  it("refuses nesting deeper than 64 elements", () => {
    const deep = "<a>".repeat(100) + "</a>".repeat(100)
    expect(tag(Envelope.parse(envelope("getJobs", deep), "1.1"))).toBe("MalformedEnvelope")
  })
})

describe("the XML reader (properties)", () => {
  const text = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(s))

  it("reads back exactly the text and attribute values it escapes (CR, tabs and line feeds included)", () => {
    fc.assert(
      fc.property(text, text, (content, value) => {
        const doc = parseDocument(`<r a="${escapeAttribute(value)}">${escapeText(content)}</r>`)
        expect("root" in doc).toBe(true)
        if (!("root" in doc)) return
        // Lone surrogates cannot be written; they come back as U+FFFD.
        const clean = (s: string) => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")
        expect(doc.root.text).toBe(clean(content))
        expect(doc.root.attributes[0]?.value).toBe(clean(value))
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("never throws, whatever the input", () => {
    const fragments = fc.constantFrom("<", ">", "</", "/>", "<a", "<a>", "</a>", "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "&", "&amp;", "&#", ";", '"', "'", "=", "xmlns:p=", "p:", " ", "\n", "<!DOCTYPE", "x")
    const junk = fc.oneof(fc.string({ maxLength: 60 }), fc.array(fragments, { maxLength: 30 }).map((a) => a.join("")))
    fc.assert(
      fc.property(junk, (input) => {
        const out = parseDocument(input)
        expect("root" in out || "problem" in out).toBe(true)
      }),
      { numRuns: propertyRuns(500) }
    )
  })
})
