/**
 * The live job page in real Chromium (headless, playwright-core): a `sleep` job of 3 seconds is
 * created and run from the job list's form; its page's progress bar advances and the page
 * reaches COMPLETED (results listed) with no navigation or reload — the server-sent events of
 * `…/events` and one fetch of the page on the phase change do it; times show in the browser's
 * local time (a time zone far from UTC here) with the UTC value in their title. Nothing breaks
 * the strict Content-Security-Policy. Screenshots go to test/artifacts/.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { type Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { CHROMIUM, launchChromium, ensureArtifacts, requireChromium } from "./support.js"

let demo: Demo
let browser: Browser | undefined
let shots: string

beforeAll(async () => {
  shots = ensureArtifacts()
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  if (!existsSync(CHROMIUM)) return
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await demo?.close()
})

describe("live job page (Chromium)", () => {
  it("a sleep job's bar advances and the page reaches COMPLETED by itself, without navigating", async () => {
    requireChromium()
    const context = await browser!.newContext({ viewport: { width: 1100, height: 900 }, timezoneId: "Asia/Tokyo", locale: "en-GB" })
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error" || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text())
    })
    page.on("pageerror", (e) => problems.push(e.message))

    const base = demo.url.replace("localhost", "127.0.0.1")
    await page.goto(`${base}/uws/sleep/jobs`)
    await page.fill("#parameters", "SECONDS=3")
    await page.check("#run-now")
    await Promise.all([page.waitForURL(/\/uws\/sleep\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const jobUrl = page.url()

    // From here on the document must stay the same one: no navigation, no reload.
    let navigations = 0
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations++
    })
    await page.evaluate(() => ((window as unknown as { uwsMarker: number }).uwsMarker = 42))
    const entriesBefore = await page.evaluate(() => performance.getEntriesByType("navigation").length)

    // Samples the bar until the page says COMPLETED.
    const values: Array<number> = []
    let executingShot = false
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const seen = await page.evaluate(() => ({
        phase: document.querySelector("#field-phase .phase")?.textContent ?? "",
        value: (document.getElementById("progress-bar") as HTMLProgressElement | null)?.getAttribute("value") ?? null,
        live: (document.getElementById("progress-bar") as HTMLProgressElement | null)?.value ?? null
      }))
      if (seen.live !== null && seen.value !== null && (values.length === 0 || values.at(-1) !== seen.live)) values.push(seen.live)
      if (!executingShot && seen.phase === "EXECUTING" && seen.value !== null) {
        await page.screenshot({ path: join(shots, "chromium-live-executing.png"), fullPage: true })
        executingShot = true
      }
      if (seen.phase === "COMPLETED") break
      await page.waitForTimeout(100)
    }
    await page.locator("#field-phase .phase-COMPLETED").waitFor({ timeout: 1_000 })
    await page.screenshot({ path: join(shots, "chromium-live-completed.png"), fullPage: true })

    expect(navigations).toBe(0)
    expect(page.url()).toBe(jobUrl)
    expect(await page.evaluate(() => (window as unknown as { uwsMarker?: number }).uwsMarker)).toBe(42)
    expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(entriesBefore)
    // The bar advanced, step by step, up to the end.
    expect(values.length).toBeGreaterThanOrEqual(2)
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!)
    expect(values.at(-1)).toBe(1)
    expect(await page.locator("#results a", { hasText: "result" }).count()).toBe(1)

    // Local time (Tokyo, UTC+9) shown, the UTC value on hover.
    const created = page.locator("#field-creationTime time")
    const iso = (await created.getAttribute("datetime"))!
    expect(await created.getAttribute("title")).toBe(`${iso} (UTC)`)
    const shown = await created.innerText()
    expect(shown).not.toBe(iso)
    expect(shown).toBe(await page.evaluate((d) => new Date(d).toLocaleString(), iso))
    expect(shown).toContain(String(new Date(new Date(iso).getTime() + 9 * 3600_000).getUTCHours()).padStart(2, "0"))
    expect(problems).toEqual([])
    await context.close()
  })

  it("the job list shows a bar for an EXECUTING job", async () => {
    requireChromium()
    const context = await browser!.newContext({ viewport: { width: 1100, height: 700 } })
    const page = await context.newPage()
    const base = demo.url.replace("localhost", "127.0.0.1")
    await page.goto(`${base}/uws/sleep/jobs`)
    await page.fill("#parameters", "SECONDS=30")
    await page.check("#run-now")
    await Promise.all([page.waitForURL(/\/uws\/sleep\/jobs\/[a-z0-9]+$/), page.click("#create button[type=submit]")])
    const jobUrl = page.url()
    await page.waitForFunction(() => Number((document.getElementById("progress-bar") as HTMLProgressElement | null)?.value ?? 0) > 0, undefined, { timeout: 20_000 })
    await page.goto(`${base}/uws/sleep/jobs?PHASE=EXECUTING`)
    const bar = page.locator(`tr:has(a[href="${jobUrl}"]) progress.bar`)
    expect(await bar.count()).toBe(1)
    await page.screenshot({ path: join(shots, "chromium-live-list.png"), fullPage: true })
    await page.goto(jobUrl)
    await page.click("#abort-form button")
    await page.locator("#field-phase .phase-ABORTED").waitFor({ timeout: 20_000 })
    await context.close()
  })
})
