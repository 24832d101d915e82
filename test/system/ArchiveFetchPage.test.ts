/**
 * The page a browser gets while a document is being fetched (`GET /api/fetch/{identifier}` →
 * 202), in Chromium: with script, it waits on the fetch (`?WAIT=` on the fetch's status) and
 * shows the document once it is stored, under the page's strict CSP (the script allowed by its
 * hash, nothing refused); without script, it refreshes itself until the document is there.
 */
import { existsSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Archive, ArchiveAdapter, HttpUpstream, MemoryStorage, Plugins } from "@uws-kit/adapter-archive"
import { Effect, Exit, Scope } from "effect"
import { type Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CHROMIUM, launchChromium, requireChromium } from "./support.js"

let browser: Browser | undefined
const closers: Array<() => Promise<void>> = []
const gates = new Map<string, () => void>()
let base = ""

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  // The upstream holds each document until the test releases it.
  const upstream = await listen(
    createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? "/").slice(1))
      void new Promise<void>((resolve) => gates.set(name, resolve)).then(() => {
        const body = `the document ${name}`
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) })
        res.end(body)
      })
    })
  )
  const scope = Effect.runSync(Scope.make())
  const plugins = await Effect.runPromise(
    Scope.extend(
      Plugins.fromObjects({
        storages: [{ name: "memory", plugin: MemoryStorage.make() }],
        upstreams: [{ name: "local", plugin: HttpUpstream.make(), parameters: { UrlTemplate: `${upstream}/{path}` } }]
      }),
      scope
    )
  )
  const started = await Archive.start({ plugins, fetch: { upstreams: plugins.upstreams! } })
  const api = ArchiveAdapter.makeArchiveAdapter({ archive: started.archive })
  base = await listen(createServer((req, res) => void api.listener(req, res)))
  closers.push(async () => {
    await api.dispose()
    await started.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  if (!existsSync(CHROMIUM)) return
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  for (const c of closers.reverse()) await c()
})

const release = async (name: string) => {
  for (let i = 0; i < 200 && !gates.has(name); i++) await new Promise((resolve) => setTimeout(resolve, 25))
  gates.get(name)!()
}

describe("the fetch page in Chromium", () => {
  it("waits on the fetch with its script and shows the document once it is stored", async () => {
    requireChromium()
    const context = await browser!.newContext()
    const page = await context.newPage()
    const problems: Array<string> = []
    page.on("console", (m) => {
      // A failed load is judged by its response below (the browser's own /favicon.ico is a 404).
      if (/^Failed to load resource/.test(m.text())) return
      if (m.type() === "error" || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text())
    })
    page.on("response", (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") problems.push(`${r.status()} ${r.url()}`)
    })
    page.on("pageerror", (e) => problems.push(e.message))
    const response = await page.goto(`${base}/api/fetch/10.1000/js`)
    expect(response!.status()).toBe(202)
    await expect(page.locator("h1").textContent()).resolves.toBe("Fetching the document")
    await release("10.1000/js")
    await page.waitForFunction(() => document.body.innerText.includes("the document 10.1000/js"), undefined, { timeout: 30_000 })
    expect(new URL(page.url()).pathname).toBe("/api/fetch/10.1000/js")
    expect(problems).toEqual([])
    await context.close()
  })

  it("without script, refreshes itself until the document is there", async () => {
    requireChromium()
    const context = await browser!.newContext({ javaScriptEnabled: false })
    const page = await context.newPage()
    const response = await page.goto(`${base}/api/fetch/10.1000/nojs`)
    expect(response!.status()).toBe(202)
    await expect(page.locator("#state").textContent()).resolves.toMatch(/Waiting for the fetch/)
    await release("10.1000/nojs")
    await page.waitForFunction(() => document.body.innerText.includes("the document 10.1000/nojs"), undefined, { timeout: 30_000, polling: 250 }).catch(async () => {
      // waitForFunction needs script in the page; without it, poll from outside.
      for (let i = 0; i < 120; i++) {
        if ((await page.content()).includes("the document 10.1000/nojs")) return
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      throw new Error(`the page never showed the document: ${await page.content()}`)
    })
    await context.close()
  })
})
