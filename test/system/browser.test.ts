/**
 * A real browser (Debian's headless Chromium, driven by playwright-core) uses the demo's HTML
 * pages the way a person would: follows the landing page, creates a job with parameters, changes
 * its destruction and execution duration, runs it, sees it complete and its result, deletes it;
 * runs and aborts a sleep job; sees an ERROR job's message and a refused request's error page;
 * and creates a job with JavaScript turned off. The pages work under their strict
 * Content-Security-Policy with no violation reported, deleting asks for confirmation, and a form
 * on another site posting to the demo is refused (CSRF). Screenshots go to test/artifacts/.
 */
import { existsSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { type Browser, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { CHROMIUM, launchChromium, ensureArtifacts, requireChromium } from "./support.js"

let demo: Demo
let browser: Browser
let shots: string
const consoleErrors: Array<string> = []
/** Every console message about the Content-Security-Policy, whatever its level. */
const cspReports: Array<string> = []

beforeAll(async () => {
  shots = ensureArtifacts()
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  // Without Chromium every test fails with the command that installs it (the suite never skips).
  if (!existsSync(CHROMIUM)) return
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

const newPage = async (javaScriptEnabled = true): Promise<Page> => {
  requireChromium()
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1100, height: 900 } })
  const page = await context.newPage()
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`)
    if (/Content.Security.Policy|Refused to (load|execute|apply|frame)/i.test(m.text())) cspReports.push(`${page.url()}: ${m.text()}`)
  })
  page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`))
  return page
}

const phase = (page: Page) => page.locator("#field-phase .phase").innerText()

/** Waits until the job page shows `wanted` (moving jobs reload themselves with a blocking WAIT). */
const untilPhase = async (page: Page, wanted: string) => {
  await page.locator(`#field-phase .phase-${wanted}`).waitFor({ timeout: 60_000 })
}

describe("the HTML pages in Chromium", () => {
  it("create, set destruction and execution duration, run, see the result, delete", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/`)
    expect(await page.title()).toBe("uws-kit demo")
    await page.click('a[href="/uws/echo/jobs"]')
    await page.locator("h1", { hasText: "echo jobs" }).waitFor()

    await page.fill("#parameters", "GREETING=hello browser\nRUNID=from-chromium\nNOTE=a < b & c")
    await Promise.all([page.waitForURL(/\/uws\/echo\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const jobUrl = page.url()
    expect(await phase(page)).toBe("PENDING")
    expect(await page.locator("#field-runId").innerText()).toBe("from-chromium")
    const params = await page.locator("#parameters tbody tr").allInnerTexts()
    expect(params.map((r) => r.split("\t").slice(0, 2).join("="))).toEqual(["greeting=hello browser", "note=a < b & c"])

    // The browser's own date-time picker value, read as UTC by the service.
    const when = new Date(Date.now() + 2 * 86_400_000)
    when.setUTCMilliseconds(0)
    await page.fill("#destruction", when.toISOString().slice(0, 19))
    await Promise.all([page.waitForURL(jobUrl), page.click("#destruction-form button")])
    // Shown in the browser's local time (issue 15), the UTC instant in the element and its title.
    const destruction = page.locator("#field-destruction time")
    expect(await destruction.getAttribute("datetime")).toBe(when.toISOString())
    expect(await destruction.getAttribute("title")).toBe(`${when.toISOString()} (UTC)`)
    expect(await destruction.innerText()).toBe(await page.evaluate((iso) => new Date(iso).toLocaleString(), when.toISOString()))

    await page.fill("#executionduration", "90")
    await Promise.all([page.waitForURL(jobUrl), page.click("#executionduration-form button")])
    expect(await page.locator("#field-executionDuration").innerText()).toBe("90 s")

    await page.click("#run-form button")
    await untilPhase(page, "COMPLETED")
    const result = page.locator("#results a", { hasText: "result" })
    expect(await result.getAttribute("href")).toBe(`${jobUrl}/results/result`)
    const votable = await page.request.get(`${jobUrl}/results/result`)
    expect(await votable.text()).toContain("<TD>hello browser</TD>")
    await page.screenshot({ path: join(shots, "chromium-job-completed.png"), fullPage: true })

    // Delete asks first, on a page of its own; nothing is deleted until that page's form is sent.
    await Promise.all([page.waitForURL(`${jobUrl}/delete?`), page.click("#delete-form button")])
    expect(await page.locator("h1").innerText()).toMatch(/^Delete job [a-z0-9]+\?$/)
    await page.screenshot({ path: join(shots, "chromium-delete-confirmation.png"), fullPage: true })
    expect((await page.request.get(jobUrl)).status()).toBe(200)
    await Promise.all([page.waitForURL(/\/uws\/echo\/jobs$/), page.click("#confirm-delete-form button")])
    const jobId = jobUrl.split("/").pop()!
    expect(await page.locator(`a[href="${jobUrl}"]`).count()).toBe(0)
    expect((await page.request.get(jobUrl)).status()).toBe(404)
    expect(jobId).not.toBe("")
  })

  it("runs a sleep job at creation, follows its progress, and aborts it", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/sleep/jobs`)
    await page.fill("#parameters", "SECONDS=60")
    await page.check("#run-now")
    await Promise.all([page.waitForURL(/\/uws\/sleep\/jobs\/[a-z0-9]+/), page.click("#create button[type=submit]")])
    await untilPhase(page, "EXECUTING")
    await page.locator("#job-info", { hasText: "progress" }).waitFor({ timeout: 30_000 })
    await page.screenshot({ path: join(shots, "chromium-sleep-executing.png"), fullPage: true })
    await page.click("#abort-form button")
    await untilPhase(page, "ABORTED")
    expect(await page.locator("#run-form").count()).toBe(0)
    expect(await page.locator("#abort-form").count()).toBe(0)
    expect(await page.locator("#field-endTime time").count()).toBe(1)
  })

  it("shows an ERROR job's message, and the service's refusal as an error page", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/echo/jobs`)
    await page.fill("#parameters", "ERROR=the telescope is closed")
    await page.check("#run-now")
    await Promise.all([page.waitForURL(/\/uws\/echo\/jobs\/[a-z0-9]+/), page.click("#create button[type=submit]")])
    await untilPhase(page, "ERROR")
    expect(await page.locator("#error").innerText()).toContain("the telescope is closed")

    // A destruction in the past is refused (400) with the service's reason, as a page.
    await page.fill("#destruction", "2001-01-01T00:00:00")
    await page.click("#destruction-form button")
    await page.locator("h1", { hasText: "400" }).waitFor()
    expect(await page.locator("#message").innerText()).toMatch(/not in the future/)
    await page.screenshot({ path: join(shots, "chromium-error-page.png"), fullPage: true })
  })

  it("shows a PENDING job's current quote, re-estimated when its parameters change, and accepts it to run (v0.3 two-phase commit)", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/sleep/jobs`)
    await page.fill("#parameters", "SECONDS=1")
    await Promise.all([page.waitForURL(/\/uws\/sleep\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const jobUrl = page.url()
    const quoted = () => page.locator("#field-quote time").first().getAttribute("datetime")
    expect(await page.locator("#quote-status").innerText()).toBe("estimated")
    const first = Date.parse((await quoted())!)
    expect(await page.locator("#quote").innerText()).toContain("The service predicts this job will be complete by")

    // The sleep application predicts SECONDS: more seconds, a later quote.
    expect((await page.request.post(`${jobUrl}/parameters`, { form: { SECONDS: "3" }, maxRedirects: 0 })).status()).toBe(303)
    await page.reload()
    const second = Date.parse((await quoted())!)
    expect(second).toBeGreaterThan(first)
    await page.screenshot({ path: join(shots, "chromium-quote-pending.png"), fullPage: true })

    await Promise.all([page.waitForURL(jobUrl), page.click("#accept-quote-form button")])
    await untilPhase(page, "COMPLETED")
    expect(await page.locator("#quote-status").innerText()).toBe("accepted")
    expect(Date.parse((await quoted())!)).toBe(second)
    expect(await page.locator("#accept-quote-form").count()).toBe(0)
  })

  it("refuses a parameter line that is not NAME=value before anything is sent", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/echo/jobs`)
    const before = await page.locator("#jobs tbody tr").count()
    await page.fill("#parameters", "GOOD=1\nthis line has no equals sign")
    await page.click("#create button[type=submit]")
    const message = await page.locator("#parameters").evaluate((el) => (el as HTMLTextAreaElement).validationMessage)
    expect(message).toContain("Line 2 is not NAME=value")
    await page.reload()
    expect(await page.locator("#jobs tbody tr").count()).toBe(before)
  })

  it("lists and filters jobs by phase", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/echo/jobs`)
    await page.click('.filters a:text-is("Error")')
    await page.waitForURL(/PHASE=ERROR$/)
    const phases = await page.locator("#jobs tbody .phase").allInnerTexts()
    expect(phases.length).toBeGreaterThan(0)
    expect(new Set(phases)).toEqual(new Set(["ERROR"]))
    await page.screenshot({ path: join(shots, "chromium-job-list.png"), fullPage: true })
  })

  it("creates and runs a job with JavaScript turned off (without free parameters)", async () => {
    const page = await newPage(false)
    await page.goto(`${demo.url}/uws/echo/jobs`)
    expect(await page.locator("noscript").count()).toBe(1)
    await page.check("#run-now")
    await Promise.all([page.waitForURL(/\/uws\/echo\/jobs\/[a-z0-9]+/), page.click("#create button[type=submit]")])
    await untilPhase(page, "COMPLETED")
    expect(await page.locator("#parameters").count()).toBe(0)
  })

  it("cancelling a delete keeps the job", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/echo/jobs`)
    await page.fill("#parameters", "KEEP=me")
    await Promise.all([page.waitForURL(/\/uws\/echo\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const jobUrl = page.url()
    await Promise.all([page.waitForURL(`${jobUrl}/delete?`), page.click("#delete-form button")])
    await Promise.all([page.waitForURL(jobUrl), page.click("#cancel-delete")])
    expect(await phase(page)).toBe("PENDING")
  })

  it("serves every page with its strict CSP, and the parameter box works under it", async () => {
    const page = await newPage()
    const response = await page.goto(`${demo.url}/uws/echo/jobs`)
    const csp = response!.headers()["content-security-policy"]!
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(response!.headers()["x-frame-options"]).toBe("DENY")
    // The stylesheet applied (served by the binding, not inline).
    expect(await page.locator("body").evaluate((b) => getComputedStyle(b).maxWidth)).not.toBe("none")
    await page.fill("#parameters", "FREE=parameter\nOTHER=2")
    await Promise.all([page.waitForURL(/\/uws\/echo\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const params = await page.locator("#parameters tbody tr").allInnerTexts()
    expect(params.map((r) => r.split("\t").slice(0, 2).join("="))).toEqual(["free=parameter", "other=2"])
    const landing = await page.goto(`${demo.url}/`)
    expect(landing!.headers()["content-security-policy"]).toContain("style-src 'sha256-")
  })

  it("refuses a form on another site that posts to a job (CSRF), and the job stays as it was", async () => {
    const page = await newPage()
    await page.goto(`${demo.url}/uws/sleep/jobs`)
    await page.fill("#parameters", "SECONDS=60")
    await Promise.all([page.waitForURL(/\/uws\/sleep\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const jobUrl = page.url()
    // The "other site": a page on 127.0.0.1 (another origin than the demo's localhost) whose form posts PHASE=RUN.
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" })
      res.end(`<!doctype html><title>win a prize</title><form id="f" method="post" action="${jobUrl}/phase"><input type="hidden" name="PHASE" value="RUN"><button>Claim</button></form>`)
    })
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve))
    try {
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
      const [answer] = await Promise.all([page.waitForResponse(`${jobUrl}/phase`), page.click("#f button")])
      expect(answer.status()).toBe(403)
      await page.locator("h1", { hasText: "403" }).waitFor()
      expect(await page.locator("#message").innerText()).toContain("another site")
      await page.screenshot({ path: join(shots, "chromium-csrf-refused.png"), fullPage: true })
      await page.goto(jobUrl)
      expect(await phase(page)).toBe("PENDING")
    } finally {
      await new Promise((resolve) => evil.close(resolve))
    }
  })

  it("reported no Content-Security-Policy violation on any page", () => {
    requireChromium()
    expect(cspReports).toEqual([])
  })

  it("logged no script or console errors on any page", () => {
    requireChromium()
    // The one refusal the tests provoke on purpose (a destruction in the past) is logged too.
    // So is the refused cross-site form (403).
    const unexpected = consoleErrors.filter(
      (e) => !/\/destruction: Failed to load resource: .* status of 400/.test(e) && !/\/phase: Failed to load resource: .* status of 403/.test(e)
    )
    expect(unexpected).toEqual([])
  })
})
