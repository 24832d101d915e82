/**
 * The archive's HTML pages without a browser: every value escaped, the search's filters and
 * paging, refusals as pages with the archive's codes (and nothing changed), the upload form
 * refused from another site, the strict CSP, and the detail page showing whatever sections a
 * container's detail carries (copies, fixity, retention, time-stamps) and no crash without them.
 */
import { ArchivePages, MemoryStorage } from "@uws-kit/adapter-archive"
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { makeHarness, seedForm, type Harness } from "./support/harness.js"

const open: Array<Harness> = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})
const setup = async () => {
  const memory = MemoryStorage.make()
  const h = await makeHarness({ storages: [{ name: "memory", plugin: memory }] })
  open.push(h)
  return { h, memory }
}
const page = async (h: Harness, path: string, caller = "4") => {
  const r = await h.call("GET", path, undefined, { "x-caller": caller })
  return { status: r.status, headers: r.headers, html: await r.text() }
}
const upload = async (h: Harness, fields: Record<string, string> = {}) => {
  const r = await h.json("POST", "/api/document/content", seedForm(fields), { "x-caller": "4" })
  expect(r.status).toBe(200)
  return r.body.data as string
}
const urls: ArchivePages.Urls = {
  stylesheet: "/s.css",
  list: "/pages",
  detail: (id) => `/pages/document/${id}`,
  upload: "/pages/upload",
  docs: "/docs",
  openapi: "/openapi.json",
  signatures: (id) => `/document/${id}/sign`,
  json: (id) => `/document/${id}`
}

describe("list and search", () => {
  it("escapes names, filters by name and storage, pages with links that keep the filters", async () => {
    const { h } = await setup()
    await upload(h, { ContainerName: `<script>alert("x")</script>` })
    for (let i = 0; i < 5; i++) await upload(h, { ContainerName: `report-${i}`, StorageId: i % 2 === 0 ? "4" : "7" })
    await h.settle()
    const all = await page(h, "/api/pages")
    expect(all.status).toBe(200)
    expect(all.html).not.toContain("<script>")
    expect(all.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
    expect(all.html).toContain(`6 containers found.`)
    const byName = await page(h, "/api/pages?name=REPORT&storageId=4&pageSize=2")
    expect(byName.html).toContain("3 containers found.")
    expect(byName.html).toContain("page 1 of 2")
    expect(byName.html).toMatch(/href="\/api\/pages\?name=REPORT&amp;storageId=4&amp;page=2&amp;pageSize=2" rel="next"/)
    const second = await page(h, "/api/pages?name=REPORT&storageId=4&page=2&pageSize=2")
    expect((second.html.match(/<tr><td><a href="\/api\/pages\/document\//g) ?? []).length).toBe(1)
    expect(second.html).toContain(`value="REPORT"`)
    const none = await page(h, "/api/pages?name=nothing-like-this")
    expect(none.html).toContain(`id="no-containers"`)
  })

  it("a bad filter is a 400 page naming it, in the archive's words", async () => {
    const { h } = await setup()
    const bad = await page(h, "/api/pages?status=four&isArchived=maybe&page=0")
    expect(bad.status).toBe(400)
    expect(bad.html).toContain("InvalidArgument")
    expect(bad.html).toMatch(/filters\.status must be a status number/)
    expect(bad.html).toMatch(/filters\.isArchived must be true or false/)
    expect(bad.html).toMatch(/page must be a whole number from 1/)
    expect(bad.html).not.toMatch(/\bjob\b/i)
  })

  it("any query string is a page (200 or 400), never a crash, and never echoes markup", async () => {
    const { h } = await setup()
    await upload(h)
    await h.settle()
    const key = fc.constantFrom("name", "storageId", "sourceSystemId", "status", "isArchived", "page", "pageSize", "other")
    const text = fc.oneof(fc.string(), fc.constantFrom("<b>x</b>", "1", "0", "-1", "true", "false", "9007199254740993", "\"'&"))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, text), { maxLength: 6 }), async (pairs) => {
        const query = new URLSearchParams(pairs).toString()
        const r = await page(h, `/api/pages?${query}`)
        expect([200, 400]).toContain(r.status)
        expect(r.html).not.toContain("<b>")
      }),
      { numRuns: propertyRuns(40) }
    )
  })

  it("pages carry the strict CSP and their stylesheet is served, versioned", async () => {
    const { h } = await setup()
    const list = await page(h, "/api/pages")
    expect(list.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'none'; style-src 'self'/)
    expect(list.headers.get("x-frame-options")).toBe("DENY")
    const css = await h.call("GET", `/api/pages/assets/${ArchivePages.assetName.stylesheet}`)
    expect(css.status).toBe(200)
    expect(css.headers.get("content-type")).toMatch(/^text\/css/)
    expect(await css.text()).toBe(ArchivePages.stylesheet)
    expect((await page(h, "/api/pages/assets/other.css")).status).toBe(404)
  })
})

describe("detail", () => {
  it("shows the documents, hashes and the signature upgrade of a real container; unknown ids are a 404 page", async () => {
    const { h } = await setup()
    const id = await upload(h, { ContainerName: "Contract & annex" })
    await h.settle()
    const d = await page(h, `/api/pages/document/${id}`)
    expect(d.status).toBe(200)
    expect(d.html).toContain("<h1>Contract &amp; annex</h1>")
    expect(d.html).toContain("document.txt")
    expect(d.html).toContain("xlt1-detached.sig")
    expect(d.html).toContain(`href="/api/document/${id}/sign"`)
    expect(d.html).toContain(`id="section-upgrade"`)
    expect(d.html).toContain(`id="section-hashes"`)
    const missing = await page(h, "/api/pages/document/00000000-0000-0000-0000-000000000000")
    expect(missing.status).toBe(404)
    expect(missing.html).toContain("ContainerNotFound")
  })

  it("renders copies, fixity, retention and time-stamps when the detail has them, keyed by field", () => {
    const html = ArchivePages.detailPage(urls, {
      id: "c1",
      name: "n",
      retention: { tier: "Cache", until: "2026-12-01T00:00:00Z" },
      copies: [{ part: "document", goodCopies: 1, copies: [{ storage: "primary", state: "good" }, { storage: "mirror", state: "corrupt", detail: "<hash>" }] }],
      fixity: [{ checkedAt: "2026-11-30T10:00:00Z", storage: "mirror", outcome: "mismatch", repaired: true }],
      timestamps: { state: "stamped", stamps: [{ signature: "a.sig", tsa: "local" }] },
      somethingNew: { a: [1, 2] }
    })
    for (const s of ["retention", "copies", "fixity", "timestamps", "somethingNew"]) expect(html).toContain(`id="section-${s}"`)
    expect(html).toContain(`badge-corrupt`)
    expect(html).toContain(`badge-mismatch`)
    expect(html).toContain(`badge-stamped`)
    expect(html).toContain("&lt;hash&gt;")
    expect(html.indexOf("section-retention")).toBeLessThan(html.indexOf("section-copies"))
  })

  it("does not fail on a detail with none of them, nor on odd values", () => {
    const bare = ArchivePages.detailPage(urls, { id: "c2" })
    expect(bare).toContain(`id="summary"`)
    expect(bare).not.toContain(`id="section-copies"`)
    const odd = ArchivePages.detailPage(urls, { id: "c3", copies: null, fixity: [], document: null, signatureFiles: "x", nested: [[1], { a: null }] })
    expect(odd).toContain(`id="section-copies"`)
  })
})

describe("upload form", () => {
  it("posts to itself and answers with the new container's page", async () => {
    const { h } = await setup()
    const form = await page(h, "/api/pages/upload")
    expect(form.html).toContain(`enctype="multipart/form-data"`)
    expect(form.html).toContain(`<option value="7">7 · Accounting</option>`)
    const r = await h.call("POST", "/api/pages/upload", seedForm({ ContainerName: "from the form" }), { "x-caller": "4", "sec-fetch-site": "same-origin" })
    expect(r.status).toBe(303)
    const location = r.headers.get("location") ?? ""
    expect(location).toMatch(/^\/api\/pages\/document\/[0-9a-f-]{36}$/)
    expect((await page(h, location)).html).toContain("from the form")
  })

  it("is refused from another site's page, as a page, and keeps nothing", async () => {
    const { h, memory } = await setup()
    const r = await h.call("POST", "/api/pages/upload", seedForm(), { "x-caller": "4", "sec-fetch-site": "cross-site", origin: "http://evil.example" })
    expect(r.status).toBe(403)
    expect(r.headers.get("content-type")).toMatch(/^text\/html/)
    expect(await r.text()).toContain("CrossSiteRequest")
    const search = await h.json("POST", "/api/document/search", "{}", { "x-caller": "4" })
    expect(search.body.data.totalRecords).toBe(0)
    expect(memory.locators()).toEqual([])
  })

  it("a file input left empty (an unnamed, empty Signs part, as browsers send it) is no signature; an empty named one is still refused", async () => {
    const { h } = await setup()
    const body = (signsFileName: string) => {
      const b = "----pages-test"
      const field = (name: string, value: string) => `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
      return {
        headers: { "content-type": `multipart/form-data; boundary=${b}`, "x-caller": "4" },
        text:
          field("ContainerName", "no signature") +
          field("StorageId", "4") +
          field("SaveType", "Permanent") +
          `--${b}\r\nContent-Disposition: form-data; name="Content"; filename="document.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n` +
          `--${b}\r\nContent-Disposition: form-data; name="Signs"; filename="${signsFileName}"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n` +
          `--${b}--\r\n`
      }
    }
    const unnamed = body("")
    const r = await h.call("POST", "/api/pages/upload", unnamed.text, unnamed.headers)
    expect(r.status).toBe(303)
    const detail = await h.json("GET", (r.headers.get("location") ?? "").replace("/pages/document/", "/document/"), undefined, { "x-caller": "4" })
    expect(detail.body.data.signatureFiles).toEqual([])
    const named = body("empty.sig")
    const refused = await h.json("POST", "/api/document/content", named.text, named.headers)
    expect(refused.status).toBe(400)
    expect(refused.body.errorDescription).toMatch(/signature #1 is empty/)
  })

  it("a bad upload is a 400 page naming every problem", async () => {
    const { h } = await setup()
    const r = await h.call("POST", "/api/pages/upload", new FormData(), { "x-caller": "4" })
    expect(r.status).toBe(400)
    const html = await r.text()
    expect(html).toMatch(/ContainerName is required/)
    expect(html).toMatch(/Content is required/)
  })
})
