/**
 * The cross-site decision: what browsers send for a cross-site and a same-origin form post,
 * the user's own navigation, older browsers with `Origin` only, allowed origins; and, over any
 * headers fast-check makes up, that safe methods and requests without browser headers are never
 * refused, and that a refusal always names a reason.
 */
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { BrowserPages, CrossSite } from "../src/index.js"

const OWN = "https://uws.example"
const check = CrossSite.make({ allowedOrigins: ["https://portal.example/"] })
const post = (headers: Record<string, string>) => check({ method: "POST", headers }, OWN)

describe("CrossSite", () => {
  it("refuses another site's page, by Fetch Metadata or, without it, by Origin", () => {
    expect(post({ origin: "http://evil.example", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" })).toContain("another site (http://evil.example)")
    expect(post({ origin: "https://sub.uws.example", "sec-fetch-site": "same-site" })).toBeDefined()
    expect(post({ "sec-fetch-site": "cross-site" })).toBeDefined()
    expect(post({ origin: "http://evil.example" })).toBeDefined()
    expect(post({ origin: "null" })).toBeDefined()
    expect(check({ method: "DELETE", headers: { origin: "http://evil.example" } }, OWN)).toBeDefined()
  })

  it("accepts this origin's pages, the user's own navigation, allowed origins and clients that are not browsers", () => {
    expect(post({ origin: OWN, "sec-fetch-site": "same-origin" })).toBeUndefined()
    expect(post({ "sec-fetch-site": "none" })).toBeUndefined()
    expect(post({ origin: "https://portal.example", "sec-fetch-site": "cross-site" })).toBeUndefined()
    expect(post({ origin: "HTTPS://UWS.EXAMPLE:443" })).toBeUndefined()
    expect(post({})).toBeUndefined()
    expect(check({ method: "GET", headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" } }, OWN)).toBeUndefined()
  })

  it("refuses an allowed origin that is not an origin", () => {
    for (const bad of ["portal.example", "https://portal.example/path", "ftp://x", ""]) {
      expect(() => CrossSite.make({ allowedOrigins: [bad] })).toThrow(/not an origin/)
    }
  })

  it("property: safe methods and requests without Origin or Sec-Fetch-Site are never refused; refusals give a reason", () => {
    const headerValue = fc.oneof(fc.constantFrom("cross-site", "same-site", "same-origin", "none", "http://evil.example", OWN, "null", ""), fc.string())
    fc.assert(
      fc.property(
        fc.constantFrom("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "get", "post"),
        fc.option(headerValue, { nil: undefined }),
        fc.option(headerValue, { nil: undefined }),
        fc.dictionary(fc.constantFrom("content-type", "referer", "user-agent", "accept"), fc.string()),
        (method, origin, site, other) => {
          const headers: Record<string, string> = { ...other }
          if (origin !== undefined) headers["origin"] = origin
          if (site !== undefined) headers["sec-fetch-site"] = site
          const verdict = check({ method, headers }, OWN)
          if (CrossSite.isSafeMethod(method) || (origin === undefined && (site === undefined || site === ""))) expect(verdict).toBeUndefined()
          if (verdict !== undefined) expect(verdict.length).toBeGreaterThan(0)
        }
      ),
      { numRuns: propertyRuns(500) }
    )
  })
})

describe("BrowserPages", () => {
  it("gives a strict policy, and hashes an inline style as a CSP source (the value openssl gives)", () => {
    const h = BrowserPages.headers({ script: "'self'", style: "'self'" })
    expect(h["content-security-policy"]).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    expect(h["x-frame-options"]).toBe("DENY")
    expect(BrowserPages.hashSource("body{}")).toBe("'sha256-fJgEClQWV1hGkK4qHMO0KotTsVnMYMXTq7/suurGyUo='")
  })
})
