/**
 * IVOA VOSI on every service the demo mounts (each REST job list and each SOAP endpoint):
 * `…/availability` and `…/capabilities` are fetched, validated with xmllint against the official
 * VOSIAvailability 1.0 / VOSICapabilities 1.0 / VOResource 1.3 / VODataService 1.3 / TAPRegExt 1.1
 * schemas (vendored in test/fixtures/ivoa, one wrapper schema importing them all, no network),
 * and read by pyvo's VOSI parsers (pedantic) through /usr/bin/python3.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { servesVosi, startDemo, type Demo } from "../../examples/server.js"
import { repoRoot, requirePyvo, requireXmllint, runProcess, runPython } from "./support.js"

const SCHEMA = join(repoRoot, "test/fixtures/ivoa/VOSI-all.xsd")

let demo: Demo
let services: ReadonlyArray<string>
beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  services = demo.mounts.filter(servesVosi).map((m) => m.prefix)
})
afterAll(() => demo?.close())

/** xmllint's verdict on each document: `validates`, or its errors. */
const validate = async (documents: ReadonlyArray<{ readonly name: string; readonly xml: string }>) => {
  const dir = mkdtempSync(join(tmpdir(), "uws-vosi-"))
  try {
    const files = documents.map((d, i) => {
      const file = join(dir, `${i}.xml`)
      writeFileSync(file, d.xml)
      return file
    })
    const ran = await runProcess("xmllint", ["--nonet", "--noout", "--schema", SCHEMA, ...files])
    if (/failed to compile|Failed to locate/.test(ran.stderr)) throw new Error(`The schema did not load:\n${ran.stderr}`)
    return documents.map((d, i) => {
      const lines = ran.stderr.split("\n").filter((l) => l.startsWith(files[i]!))
      return { name: d.name, valid: lines.includes(`${files[i]} validates`), errors: lines.join("\n") }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const get = async (url: string) => {
  const r = await fetch(url)
  return { status: r.status, type: r.headers.get("content-type") ?? "", xml: await r.text() }
}

describe("VOSI availability and capabilities", () => {
  it("every REST and SOAP mount of the demo serves both, and the landing page links them", async () => {
    expect(services).toEqual(expect.arrayContaining(["/uws/echo", "/uws/sleep", "/uws/adql", "/soap/echo", "/soap/sleep"]))
    const landing = await (await fetch(`${demo.url}/`)).text()
    for (const s of services) {
      expect(landing).toContain(`href="${s}/availability"`)
      expect(landing).toContain(`href="${s}/capabilities"`)
    }
  })

  it("the documents validate against the VOSI, VOResource, VODataService and TAPRegExt schemas", async () => {
    requireXmllint()
    const documents = []
    for (const s of services) {
      for (const d of ["availability", "capabilities"]) {
        const r = await get(`${demo.url}${s}/${d}`)
        expect(r.status, `${s}/${d}`).toBe(200)
        expect(r.type).toMatch(/^text\/xml/)
        documents.push({ name: `${s}/${d}`, xml: r.xml })
      }
    }
    const results = await validate(documents)
    expect(results.filter((r) => !r.valid)).toEqual([])
    expect(results.length).toBe(services.length * 2)
  })

  it("the validator rejects what the schemas forbid (so the check above means something)", async () => {
    requireXmllint()
    const good = (await get(`${demo.url}/uws/echo/capabilities`)).xml
    const results = await validate([
      { name: "no available", xml: (await get(`${demo.url}/uws/echo/availability`)).xml.replace(/<vosi:available>true<\/vosi:available>/, "") },
      { name: "interface without accessURL", xml: good.replace(/<accessURL[^>]*>[^<]*<\/accessURL>/, "") },
      { name: "TableAccess without language", xml: (await get(`${demo.url}/uws/adql/capabilities`)).xml.replace(/<language>.*?<\/language>/, "") }
    ])
    expect(results.map((r) => r.valid)).toEqual([false, false, false])
  })

  it("declare what each service is: UWS 1.1 over REST, the SOAP endpoint with its WSDL, TAP for adql", async () => {
    const echo = (await get(`${demo.url}/uws/echo/capabilities`)).xml
    expect(echo).toContain(`standardID="ivo://ivoa.net/std/UWS#rest-1.1"`)
    expect(echo).toContain(`>${demo.url}/uws/echo/jobs</accessURL>`)
    expect(echo).not.toContain("tr:TableAccess")
    const adql = (await get(`${demo.url}/uws/adql/capabilities`)).xml
    expect(adql).toMatch(/<capability standardID="ivo:\/\/ivoa.net\/std\/TAP" xsi:type="tr:TableAccess">/)
    const soap = (await get(`${demo.url}/soap/echo/capabilities`)).xml
    expect(soap).toContain(`<interface xsi:type="vr:WebService"><accessURL use="full">${demo.url}/soap/echo</accessURL><wsdlURL>${demo.url}/soap/echo?wsdl</wsdlURL>`)
    expect((await fetch(`${demo.url}/uws/echo/capabilities`, { method: "POST" })).status).toBe(405)
  })

  it("pyvo reads every service's documents", async () => {
    requirePyvo()
    const ran = await runPython("vosi.py", services.map((s) => `${demo.url}${s}`))
    expect(ran.stderr).toBe("")
    expect(ran.status).toBe(0)
    const read = JSON.parse(ran.stdout) as Record<string, { available: boolean; upSince: string | null; capabilities: Array<{ standardID: string | null; type: string; interfaces: Array<{ type: string; accessURLs: Array<string> }>; languages: Array<string> }> }>
    for (const s of services) {
      const r = read[`${demo.url}${s}`]!
      expect(r.available).toBe(true)
      expect(r.upSince).not.toBeNull()
      const ids = r.capabilities.map((c) => c.standardID)
      expect(ids).toEqual(expect.arrayContaining(["ivo://ivoa.net/std/VOSI#capabilities", "ivo://ivoa.net/std/VOSI#availability"]))
      if (s.startsWith("/soap/")) expect(r.capabilities[0]!.interfaces[0]!.type).toBe("WebService")
      else expect(ids).toContain("ivo://ivoa.net/std/UWS#rest-1.1")
    }
    const tap = read[`${demo.url}/uws/adql`]!.capabilities.find((c) => c.standardID === "ivo://ivoa.net/std/TAP")!
    expect(tap.type).toBe("TableAccess")
    expect(tap.languages).toEqual(["ADQL"])
  })
})
