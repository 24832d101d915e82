/**
 * The one fault table and the fault's two renderings.
 */
import { describe, expect, it } from "vitest"
import { Envelope, Fault, Namespaces } from "@uws-kit/adapter-soap"
import { Errors } from "@uws-kit/core"
import { Xml } from "@uws-kit/http"

const parseDocument = Xml.read

const coreErrors = [
  new Errors.JobNotFound({ jobId: "j" }),
  new Errors.ResourceNotFound({ jobId: "j", resource: "error" }),
  new Errors.Forbidden({ jobId: "j", reason: "not yours." }),
  new Errors.InvalidTransition({ jobId: "j", event: "RUN", phase: "COMPLETED" }),
  new Errors.InvalidParameter({ name: "DESTRUCTION", reason: "in the past." }),
  new Errors.Conflict({ jobId: "j", reason: "raced." }),
  new Errors.QuotaExceeded({ reason: "too many." }),
  new Errors.LimitExceeded({ limit: "maxParametersPerJob", description: "at most 1000 parameters per job", actual: "1001" }),
  new Errors.StorageFailure({ operation: "save", reason: "disk" }),
  new Errors.PluginFailure({ plugin: "p", operation: "o", reason: "r" })
]

describe("the fault table", () => {
  it("has a row for every core error: bad requests, illegal transitions and foreign jobs are the client's; failures the server's", () => {
    const byTag = Object.fromEntries(coreErrors.map((e) => [e._tag, Fault.rules[e._tag].code]))
    expect(byTag).toEqual({
      JobNotFound: "Client",
      ResourceNotFound: "Client",
      Forbidden: "Client",
      InvalidTransition: "Client",
      InvalidParameter: "Client",
      QuotaExceeded: "Client",
      LimitExceeded: "Client",
      Conflict: "Server",
      StorageFailure: "Server",
      PluginFailure: "Server"
    })
  })

  it("gives SOAP 1.1 faults HTTP 500 and SOAP 1.2 Sender faults 400, unless HTTP has a more precise status", () => {
    const notFound = Fault.fromUwsError(coreErrors[0]!)
    expect(Fault.status(notFound, "1.1")).toBe(500)
    expect(Fault.status(notFound, "1.2")).toBe(400)
    const storage = Fault.fromUwsError(coreErrors[8]!)
    expect(Fault.status(storage, "1.2")).toBe(500)
    expect(Fault.status(Fault.make("EnvelopeTooLarge", "big"), "1.1")).toBe(413)
    expect(Fault.status(Fault.fromUwsError(coreErrors[7]!), "1.1")).toBe(413)
    expect(Fault.status(Fault.make("UnsupportedMediaType", "json"), "1.2")).toBe(415)
    expect(Fault.status(Fault.make("VersionMismatch", "v"), "1.2")).toBe(500)
  })
})

describe("a fault envelope", () => {
  for (const error of coreErrors) {
    it(`carries ${error._tag} with its readable message, in SOAP 1.1 and 1.2`, () => {
      const fault = Fault.fromUwsError(error)
      for (const version of ["1.1", "1.2"] as const) {
        const xml = Envelope.renderFault(fault, version, { messageId: "urn:uuid:1", resourceId: "j" })
        const doc = parseDocument(xml)
        expect("root" in doc, xml).toBe(true)
        if (!("root" in doc)) return
        expect(doc.root.ns).toBe(version === "1.1" ? Namespaces.soap11 : Namespaces.soap12)
        expect(xml).toContain(`<u:error>${error._tag}</u:error>`)
        expect(xml).toContain(error.message)
        expect(xml).toContain("<wsa:RelatesTo>urn:uuid:1</wsa:RelatesTo>")
        expect(xml).toContain(`<wsa:Action>${Namespaces.faultAction}</wsa:Action>`)
        const side = Fault.rules[error._tag].code
        if (version === "1.1") expect(xml).toContain(`<faultcode>soap:${side}</faultcode>`)
        else {
          expect(xml).toContain(`<soap:Value>soap:${side === "Client" ? "Sender" : "Receiver"}</soap:Value>`)
          expect(xml).toContain(`<soap:Subcode><soap:Value>u:${error._tag}</soap:Value></soap:Subcode>`)
        }
      }
    })
  }

  it("escapes reasons", () => {
    const xml = Envelope.renderFault(Fault.make("InvalidRequest", 'a <b> & "c"'), "1.2")
    expect(xml).toContain("a &lt;b&gt; &amp; \"c\"")
    expect("root" in parseDocument(xml)).toBe(true)
  })
})
