/**
 * The HTTP edge of the REST binding against what browsers do (issue #8): cross-site form posts
 * with the literal headers Chromium and Firefox send are refused (403, the negotiated error
 * document) and change nothing, while same-origin posts, `Sec-Fetch-Site: none` and clients
 * that are not browsers work; HTML pages carry a strict CSP and friends, and load their script
 * and stylesheet from the binding; deleting from the HTML asks first; HEAD changes nothing; a
 * client that half-closes the connection after its complete request still gets its answer.
 */
import { createServer } from "node:http"
import { connect, type AddressInfo } from "node:net"
import { Effect } from "effect"
import * as Identity from "@uws-kit/core/Identity"
import { afterEach, describe, expect, it } from "vitest"
import { Html } from "@uws-kit/adapter-rest"
import { createJob, fixture, settled, type Fixture } from "./support.js"

let f: Fixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const CHROMIUM_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
const FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

/** What Chromium sends for a form on `origin` posting here (a navigation the user clicked). */
const chromiumForm = (origin: string, site: string): Record<string, string> => ({
  "cache-control": "max-age=0",
  "sec-ch-ua": '"Chromium";v="120", "Not?A_Brand";v="8"',
  "sec-ch-ua-mobile": "?0",
  "sec-ch-ua-platform": '"Linux"',
  "upgrade-insecure-requests": "1",
  origin,
  "content-type": "application/x-www-form-urlencoded",
  "user-agent": CHROMIUM_UA,
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
  "sec-fetch-site": site,
  "sec-fetch-mode": "navigate",
  "sec-fetch-user": "?1",
  "sec-fetch-dest": "document",
  referer: `${origin}/`,
  "accept-encoding": "gzip, deflate, br",
  "accept-language": "en-US,en;q=0.9"
})

/** What Firefox sends for the same form. */
const firefoxForm = (origin: string, site: string): Record<string, string> => ({
  "user-agent": FIREFOX_UA,
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "accept-language": "en-US,en;q=0.5",
  "accept-encoding": "gzip, deflate, br",
  "content-type": "application/x-www-form-urlencoded",
  origin,
  referer: `${origin}/`,
  "upgrade-insecure-requests": "1",
  "sec-fetch-dest": "document",
  "sec-fetch-mode": "navigate",
  "sec-fetch-site": site,
  "sec-fetch-user": "?1"
})

const EVIL = "http://evil.example"
const OWN = "http://uws.test"

const post = (headers: Record<string, string>, body: string) => ({ method: "POST", headers, body })

const phaseOf = async (fx: Fixture, jobId: string) =>
  ((await (await fx.call(`/jobs/${jobId}/phase`, { headers: { accept: "application/json" } })).json()) as { phase: string }).phase

const snapshot = async (fx: Fixture) =>
  JSON.stringify(await Effect.runPromise(fx.service.list(Identity.system, { phases: ["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD", "SUSPENDED", "ARCHIVED", "UNKNOWN"] })))

describe("cross-site requests (CSRF)", () => {
  for (const [browser, headersOf] of [
    ["Chromium", chromiumForm],
    ["Firefox", firefoxForm]
  ] as const) {
    it(`refuses ${browser}'s cross-site form posts of PHASE=RUN, PHASE=ABORT and ACTION=DELETE, and changes nothing`, async () => {
      f = await fixture()
      const pending = await createJob(f, { MODE: "block" })
      const running = await createJob(f, { MODE: "block", PHASE: "RUN" })
      const before = await snapshot(f)
      for (const [path, body] of [
        [`/jobs/${pending}/phase`, "PHASE=RUN"],
        [`/jobs/${running}/phase`, "PHASE=ABORT"],
        [`/jobs/${pending}`, "ACTION=DELETE"],
        ["/jobs", "MODE=none&PHASE=RUN"],
        ["/sync", "MODE=none"]
      ] as const) {
        const res = await f.call(path, post(headersOf(EVIL, "cross-site"), body))
        expect(res.status, `${path} ${body}`).toBe(403)
        expect(res.headers.get("content-type")).toMatch(/^text\/html/)
        expect(await res.text()).toContain("another site (http://evil.example)")
      }
      // A same-site page (another host of the same registrable domain) is another origin too.
      expect((await f.call(`/jobs/${pending}/phase`, post(headersOf("http://www.uws.test", "same-site"), "PHASE=RUN"))).status).toBe(403)
      // DELETE and PUT from another site's script: refused the same way.
      expect((await f.call(`/jobs/${pending}`, { method: "DELETE", headers: { origin: EVIL, "sec-fetch-site": "cross-site" } })).status).toBe(403)
      expect(
        (await f.call(`/jobs/${pending}/parameters/X`, { method: "PUT", headers: { origin: EVIL, "sec-fetch-site": "cross-site", "content-type": "text/plain" }, body: "1" }))
          .status
      ).toBe(403)
      expect(await snapshot(f)).toBe(before)
      expect(await phaseOf(f, pending)).toBe("PENDING")
    })

    it(`accepts ${browser}'s same-origin form posts`, async () => {
      f = await fixture()
      const job = await createJob(f, { MODE: "none" })
      const res = await f.call(`/jobs/${job}/phase`, post(headersOf(OWN, "same-origin"), "PHASE=RUN"))
      expect(res.status).toBe(303)
      expect(await settled(f, job)).toBe("COMPLETED")
      const del = await f.call(`/jobs/${job}`, post(headersOf(OWN, "same-origin"), "ACTION=DELETE"))
      expect(del.status).toBe(303)
    })
  }

  it("answers the refusal in the negotiated error form: the VOTable error document for XML clients, JSON for JSON", async () => {
    f = await fixture()
    const job = await createJob(f)
    const xml = await f.call(`/jobs/${job}/phase`, post({ origin: EVIL, "sec-fetch-site": "cross-site", accept: "application/xml", "content-type": "application/x-www-form-urlencoded" }, "PHASE=RUN"))
    expect(xml.status).toBe(403)
    const text = await xml.text()
    expect(text).toContain('<INFO name="QUERY_STATUS" value="ERROR">')
    expect(text).toContain('<INFO name="ERROR_TAG" value="CrossSiteRequest"/>')
    const json = await f.call(`/jobs/${job}/phase`, post({ origin: EVIL, "sec-fetch-site": "cross-site", accept: "application/json", "content-type": "application/x-www-form-urlencoded" }, "PHASE=RUN"))
    expect(await json.json()).toMatchObject({ error: { status: 403, tag: "CrossSiteRequest" } })
    expect(await phaseOf(f, job)).toBe("PENDING")
  })

  it("accepts Sec-Fetch-Site: none (the user's own navigation), clients that are not browsers, and allowedOrigins", async () => {
    f = await fixture({ rest: { allowedOrigins: ["https://portal.example"] } })
    const a = await createJob(f)
    expect((await f.call(`/jobs/${a}/phase`, post(chromiumForm(OWN, "none"), "PHASE=RUN"))).status).toBe(303)
    // curl, pyvo, Java: neither Origin nor Sec-Fetch-Site.
    const b = await createJob(f)
    expect((await f.call(`/jobs/${b}/phase`, post({ "content-type": "application/x-www-form-urlencoded", "user-agent": "curl/8.5.0", accept: "*/*" }, "PHASE=RUN"))).status).toBe(303)
    const c = await createJob(f)
    expect((await f.call(`/jobs/${c}/phase`, post(chromiumForm("https://portal.example", "cross-site"), "PHASE=RUN"))).status).toBe(303)
    // An older browser without Fetch Metadata: Origin alone decides.
    const d = await createJob(f)
    expect((await f.call(`/jobs/${d}/phase`, post({ origin: OWN, "content-type": "application/x-www-form-urlencoded" }, "PHASE=RUN"))).status).toBe(303)
    expect((await f.call(`/jobs/${d}`, post({ origin: EVIL, "content-type": "application/x-www-form-urlencoded" }, "ACTION=DELETE"))).status).toBe(403)
    // Behind a proxy, the public origin is the proxy's.
    const e = await createJob(f)
    const proxied = await f.call(`/jobs/${e}/phase`, post({ ...chromiumForm("https://uws.example.org", "same-origin"), "x-forwarded-proto": "https", "x-forwarded-host": "uws.example.org" }, "PHASE=RUN"))
    expect(proxied.status).toBe(303)
  })

  it("refuses an allowed origin that is not an origin when the adapter is built", async () => {
    const { RestAdapter } = await import("@uws-kit/adapter-rest")
    f = await fixture()
    expect(() => RestAdapter.makeRestAdapter({ service: f!.service, allowedOrigins: ["portal.example/path"] })).toThrow(/not an origin/)
  })
})

describe("HTML pages", () => {
  const html = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" }

  it("carry a strict CSP, X-Frame-Options, Referrer-Policy and nosniff, with no inline script or style", async () => {
    f = await fixture()
    const job = await createJob(f)
    for (const path of ["/jobs", `/jobs/${job}`, `/jobs/${job}/delete`, "/jobs/nope"]) {
      const res = await f.call(path, { headers: html })
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/)
      const csp = res.headers.get("content-security-policy")!
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
        expect(csp, path).toContain(directive)
      }
      expect(res.headers.get("x-frame-options")).toBe("DENY")
      expect(res.headers.get("referrer-policy")).toBe("same-origin")
      expect(res.headers.get("x-content-type-options")).toBe("nosniff")
      const text = await res.text()
      expect(text, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(text, path).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
    }
  })

  it("serve their script and stylesheet under the base path, cacheable for ever", async () => {
    f = await fixture()
    const page = await (await f.call("/jobs", { headers: html })).text()
    const script = /<script src="([^"]+)"/.exec(page)![1]!
    const style = /<link rel="stylesheet" href="([^"]+)"/.exec(page)![1]!
    expect(script).toBe(`http://uws.test/uws/uws-assets/${Html.assetName.script}`)
    expect(style).toBe(`http://uws.test/uws/uws-assets/${Html.assetName.stylesheet}`)
    const js = await f.call(script)
    expect(js.status).toBe(200)
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect(await js.text()).toBe(Html.script)
    const css = await f.call(style)
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8")
    expect(await css.text()).toBe(Html.stylesheet)
    expect((await f.call("/uws-assets/other.js")).status).toBe(404)
  })

  it("ask before deleting: the job page's Delete leads to a page whose form deletes", async () => {
    f = await fixture()
    const job = await createJob(f)
    const page = await (await f.call(`/jobs/${job}`, { headers: html })).text()
    expect(page).toContain(`<form class="inline" method="get" action="http://uws.test/uws/jobs/${job}/delete" id="delete-form">`)
    const confirm = await f.call(`/jobs/${job}/delete`, { headers: html })
    expect(confirm.status).toBe(200)
    const text = await confirm.text()
    expect(text).toContain(`<form class="inline" method="post" action="http://uws.test/uws/jobs/${job}" id="confirm-delete-form"><input type="hidden" name="ACTION" value="DELETE">`)
    expect(await phaseOf(f, job)).toBe("PENDING")
    expect((await f.call(`/jobs/${job}/delete`, { method: "POST" })).status).toBe(405)
  })
})

describe("content users or applications supplied", () => {
  it("is served sandboxed and never sniffed: an HTML upload or result cannot run script in the service's origin", async () => {
    f = await fixture()
    const body = new FormData()
    body.append("MODE", "none")
    body.append("PAGE", new Blob(["<script>alert(document.cookie)</script>"], { type: "text/html" }), "page.html")
    const created = await f.call("/jobs", { method: "POST", body })
    expect(created.status).toBe(303)
    const job = created.headers.get("location")!.split("/").pop()!
    const upload = await f.call(`/jobs/${job}/parameters/PAGE`)
    expect(upload.status).toBe(200)
    expect(upload.headers.get("content-security-policy")).toMatch(/^sandbox;/)
    expect(upload.headers.get("x-content-type-options")).toBe("nosniff")
    const done = await createJob(f, { TEXT: "x", PHASE: "RUN" })
    await settled(f, done)
    const result = await f.call(`/jobs/${done}/results/result`)
    expect(result.headers.get("content-security-policy")).toMatch(/^sandbox;/)
    expect(result.headers.get("x-content-type-options")).toBe("nosniff")
  })
})

describe("HEAD changes nothing", () => {
  it("on every route, the job list is the same before and after; the sync facade's job-creating GET is refused to HEAD (405)", async () => {
    f = await fixture()
    const pending = await createJob(f, { TEXT: "a", MODE: "two" })
    const done = await createJob(f, { TEXT: "b", PHASE: "RUN" })
    const failed = await createJob(f, { MODE: "fail", PHASE: "RUN" })
    await settled(f, done)
    await settled(f, failed)
    const before = await snapshot(f)
    const paths = [
      "/jobs",
      "/jobs?PHASE=COMPLETED",
      "/sync",
      "/sync?TEXT=x",
      "/sync?MODE=none",
      `/sync/${done}`,
      `/sync/${pending}`,
      `/jobs/${pending}/delete`,
      `/uws-assets/${Html.assetName.script}`,
      `/uws-assets/${Html.assetName.stylesheet}`,
      "/nothing/here"
    ]
    for (const job of [pending, done, failed]) {
      paths.push(`/jobs/${job}`, `/jobs/${job}?WAIT=0`)
      for (const part of ["phase", "executionduration", "destruction", "termination", "quote", "error", "results", "parameters", "owner", "delete"]) {
        paths.push(`/jobs/${job}/${part}`)
      }
      paths.push(`/jobs/${job}/results/result`, `/jobs/${job}/parameters/TEXT`)
    }
    for (const path of paths) {
      for (const accept of ["*/*", "text/html", "application/json"]) {
        const res = await f.call(path, { method: "HEAD", headers: { accept } })
        expect(res.status, `HEAD ${path}`).not.toBe(500)
        if (path.startsWith("/sync") && !path.startsWith("/sync/")) {
          expect(res.status).toBe(405)
          expect(res.headers.get("allow")).toBe("GET, POST, OPTIONS")
        }
      }
    }
    expect(await snapshot(f)).toBe(before)
    // HEAD elsewhere is GET without a body.
    const head = await f.call(`/jobs/${done}`, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(head.headers.get("content-type")).toMatch(/^application\/xml/)
    expect((await f.call("/sync", { method: "OPTIONS" })).headers.get("allow")).toBe("GET, POST, OPTIONS")
  })
})

describe("a client that half-closes after its complete request (node:http)", () => {
  it("gets its answer, even from a blocking WAIT that outlasts the half-close", async () => {
    f = await fixture({ maxWait: 200 })
    const server = createServer(f.rest.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const id = await createJob(f, { MODE: "block", PHASE: "RUN" }, "alice")
      const exchange = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1")
          const chunks: Array<Buffer> = []
          socket.on("data", (d: Buffer) => chunks.push(d))
          socket.on("error", reject)
          socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")))
          // The whole request, then FIN (curl and some proxies do this; HTTP/1.1 allows it).
          socket.end(request, "latin1")
        })
      // Today: node:http ended the connection on the FIN while WAIT blocked; no answer at all.
      const waited = await exchange(`GET /uws/jobs/${id}?WAIT=30&PHASE=EXECUTING HTTP/1.1\r\nhost: uws.test\r\nx-user: alice\r\naccept: application/json\r\n\r\n`)
      expect(waited).toMatch(/^HTTP\/1\.1 200 /)
      expect(waited).toContain(`"jobId":"${id}"`)
      const body = "RUNID=half&MODE=none"
      const created = await exchange(`POST /uws/jobs HTTP/1.1\r\nhost: uws.test\r\nx-user: alice\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
      expect(created).toMatch(/^HTTP\/1\.1 303 /)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
