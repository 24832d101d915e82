/**
 * The `vosi` option of the REST binding: on by default, `/availability` and `/capabilities`
 * below its base path declare the job list (UWS 1.1), with the TAP layout a TAP capability,
 * the host's extra capabilities, and the two VOSI ones; off, both paths are the binding's 404;
 * disposed, the binding is unavailable.
 */
import { Uws, Worker } from "@uws-kit/core"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Vosi } from "@uws-kit/http"
import { describe, expect, it } from "vitest"

const make = async (options: Partial<RestAdapter.RestOptions> = {}) => {
  const started = await Uws.start({ worker: Worker.noop })
  const rest = RestAdapter.makeRestAdapter({ service: started.service, basePath: "/svc", ...options })
  return {
    get: (path: string) => rest.handler(new Request(`http://h${path}`)),
    rest,
    close: async () => {
      await rest.dispose()
      await started.close()
    }
  }
}

describe("REST binding VOSI", () => {
  it("declares the job list, the VOSI capabilities and what the host adds", async () => {
    const f = await make({ vosi: { capabilities: (root) => [Vosi.uwsCapability(`${root}/other`, "another")] } })
    try {
      const r = await f.get("/svc/capabilities")
      expect(r.status).toBe(200)
      const xml = await r.text()
      expect(xml).toContain(`<capability standardID="ivo://ivoa.net/std/UWS#rest-1.1"><description>UWS 1.1 job list (REST binding)</description><interface xsi:type="vs:ParamHTTP" role="std"><accessURL use="full">http://h/svc/jobs</accessURL>`)
      expect(xml).toContain(`<accessURL use="full">http://h/svc/other</accessURL>`)
      expect(xml).toContain(`<accessURL use="full">http://h/svc/availability</accessURL>`)
      expect(xml).not.toContain("TableAccess")
      expect(await (await f.get("/svc/availability")).text()).toContain("<vosi:available>true</vosi:available>")
      // A job of that name is still a job.
      expect((await f.get("/svc/jobs/capabilities")).status).toBe(404)
      await f.rest.dispose()
      expect(await (await f.get("/svc/availability")).text()).toContain("<vosi:available>false</vosi:available>")
    } finally {
      await f.close()
    }
  })

  it("the TAP layout declares TAP (tr:TableAccess) at the service root", async () => {
    const f = await make({ layout: "tap" })
    try {
      const xml = await (await f.get("/svc/capabilities")).text()
      expect(xml).toContain(`<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">`)
      expect(xml).toContain(`<accessURL use="full">http://h/svc/async</accessURL>`)
      expect(xml).toContain(`<interface xsi:type="vs:ParamHTTP" role="std" version="1.1"><accessURL use="full">http://h/svc</accessURL>`)
    } finally {
      await f.close()
    }
  })

  it("vosi: false leaves both paths to the binding (404)", async () => {
    const f = await make({ vosi: false })
    try {
      expect((await f.get("/svc/capabilities")).status).toBe(404)
      expect((await f.get("/svc/availability")).status).toBe(404)
    } finally {
      await f.close()
    }
  })
})
