/**
 * The `vosi` option of the SOAP binding: on by default, the endpoint declared as a
 * `vr:WebService` interface with its WSDL (the host's `publicUrl` when given), beside the two
 * VOSI capabilities; off, the paths are the endpoint's own (a NoSuchEndpoint fault).
 */
import { Uws, Worker } from "@uws-kit/core"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { describe, expect, it } from "vitest"

const make = async (options: Partial<SoapAdapter.SoapAdapterOptions> = {}) => {
  const started = await Uws.start({ worker: Worker.noop })
  const soap = SoapAdapter.makeSoapAdapter({ service: started.service, basePath: "/soap/x", ...options })
  return {
    get: (path: string, init?: RequestInit) => soap.handler(new Request(`http://h${path}`, init)),
    close: async () => {
      await soap.dispose()
      await started.close()
    }
  }
}

describe("SOAP binding VOSI", () => {
  it("declares the endpoint with its WSDL, and is available", async () => {
    const f = await make()
    try {
      const xml = await (await f.get("/soap/x/capabilities")).text()
      expect(xml).toContain(`<interface xsi:type="vr:WebService"><accessURL use="full">http://h/soap/x</accessURL><wsdlURL>http://h/soap/x?wsdl</wsdlURL></interface>`)
      expect(xml).toContain(`standardID="ivo://ivoa.net/std/VOSI#capabilities"`)
      expect(await (await f.get("/soap/x/availability")).text()).toContain("<vosi:available>true</vosi:available>")
      expect((await f.get("/soap/x/availability", { method: "POST", body: "<x/>" })).status).toBe(405)
    } finally {
      await f.close()
    }
  })

  it("names the host's public URL when given one", async () => {
    const f = await make({ publicUrl: "https://pub.example/services/x/" })
    try {
      expect(await (await f.get("/soap/x/capabilities")).text()).toContain(`<wsdlURL>https://pub.example/services/x?wsdl</wsdlURL>`)
    } finally {
      await f.close()
    }
  })

  it("vosi: false leaves the paths to the endpoint", async () => {
    const f = await make({ vosi: false })
    try {
      const r = await f.get("/soap/x/capabilities")
      expect(r.status).toBe(404)
      expect(await r.text()).toContain("NoSuchEndpoint")
    } finally {
      await f.close()
    }
  })
})
