/**
 * Negotiation: HTML for browsers only, the first offer when nothing matches, and the XML-only
 * clients of UWS v0.3 recognised.
 */
import { describe, expect, it } from "vitest"
import { Negotiation } from "../src/index.js"

const PAGES = ["application/xml", "text/xml", "application/json", "text/html"] as const
const JAVA = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"
const FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

describe("Negotiation", () => {
  it("gives HTML to a browser only: Java's default Accept gets XML", () => {
    expect(Negotiation.negotiate(JAVA, PAGES, Negotiation.isBrowser(JAVA, undefined))).toBe("application/xml")
    expect(Negotiation.negotiate(FIREFOX, PAGES, Negotiation.isBrowser(FIREFOX, undefined))).toBe("text/html")
    expect(Negotiation.isBrowser("*/*", "document")).toBe(true)
  })

  it("answers the first offer for no Accept, */*, or nothing acceptable; the asked type otherwise (cached alike)", () => {
    for (const accept of [undefined, "", "*/*", "image/png"]) expect(Negotiation.negotiate(accept, PAGES)).toBe("application/xml")
    for (let i = 0; i < 2; i++) expect(Negotiation.negotiate("application/json", PAGES)).toBe("application/json")
    expect(Negotiation.negotiate("text/xml;q=0.5, application/json;q=0.4", PAGES)).toBe("text/xml")
  })

  it("recognises a client that accepts only XML", () => {
    expect(Negotiation.onlyXml("application/xml")).toBe("application/xml")
    expect(Negotiation.onlyXml("text/xml, application/xml")).toBe("text/xml")
    expect(Negotiation.onlyXml("application/xml, text/plain;q=0")).toBe("application/xml")
    expect(Negotiation.onlyXml("application/xml, */*")).toBeUndefined()
    expect(Negotiation.onlyXml(undefined)).toBeUndefined()
  })
})
