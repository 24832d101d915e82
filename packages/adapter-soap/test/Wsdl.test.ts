/**
 * The contract the endpoint serves: the WSDL written from the operation table, and the schemas
 * it imports, which are the vendored files (checked byte for byte and by checksum).
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Namespaces, Operations, Wsdl } from "@uws-kit/adapter-soap"
import * as Schemas from "../src/internal/schemas.js"
import { operations } from "../src/internal/operations.js"
import { Xml } from "@uws-kit/http"

type XmlElement = Xml.Element
const parseDocument = Xml.read

const dir = fileURLToPath(new URL("../schemas/", import.meta.url))
const md5 = (s: string) => createHash("md5").update(s, "utf8").digest("hex")

describe("the vendored schemas", () => {
  const files = { uws: "UWS-v1.1.xsd", xlink: "xlink.xsd", wsa: "ws-addr.xsd" } as const
  const readme = readFileSync(`${dir}README.md`, "utf8")

  for (const [name, file] of Object.entries(files) as Array<[keyof typeof files, string]>) {
    it(`embeds ${file} verbatim, with the checksum its README records`, () => {
      const text = readFileSync(`${dir}${file}`, "utf8")
      expect(Schemas[name]).toBe(text)
      expect(readme).toContain(`| \`${file}\` | ${md5(text)} |`)
    })
  }

  it("keeps the IVOA files identical to the published ones", () => {
    expect(md5(Schemas.uws)).toBe("4bcf783c880f93bd1f007c94b94ed9ad")
    expect(md5(Schemas.xlink)).toBe("e9cc148c34f2b1f0b9bbc1a9d536037f")
  })

  it("serves the UWS schema unchanged but for its xlink import, which it points at itself", () => {
    const served = Wsdl.schema("http://h/soap", "uws")
    expect(served).toBe(Schemas.uws.replace("http://www.ivoa.net/xml/Xlink/xlink.xsd", "http://h/soap?xsd=xlink"))
    expect(Wsdl.schema("http://h/soap", "xlink")).toBe(Schemas.xlink)
    expect(Wsdl.schema("http://h/soap", "wsa")).toBe(Schemas.wsa)
  })
})

const children = (e: XmlElement | undefined, ns: string, local: string) => e?.children.filter((c) => c.ns === ns && c.local === local) ?? []
const attr = (e: XmlElement | undefined, local: string) => e?.attributes.find((a) => a.ns === "" && a.local === local)?.value

describe("the WSDL", () => {
  const endpoint = "https://uws.example.org/soap/echo"
  const doc = parseDocument(Wsdl.make(endpoint))
  if (!("root" in doc)) throw new Error(doc.problem.message)
  const root = doc.root
  const W = Namespaces.wsdl

  it("is a WSDL 1.1 document in the binding's namespace", () => {
    expect(root.ns).toBe(W)
    expect(root.local).toBe("definitions")
    expect(attr(root, "targetNamespace")).toBe(Namespaces.uwsSoap)
  })

  it("declares, for every operation of the table, its wrapper elements with the table's fields, in order", () => {
    const schema = children(children(root, W, "types")[0], Namespaces.xsd, "schema")[0]!
    const elements = new Map(children(schema, Namespaces.xsd, "element").map((e) => [attr(e, "name"), e]))
    const fields = (e: XmlElement | undefined) =>
      children(children(children(e, Namespaces.xsd, "complexType")[0], Namespaces.xsd, "sequence")[0], Namespaces.xsd, "element").map(
        (f) => attr(f, "name") ?? attr(f, "ref")
      )
    for (const op of operations) {
      expect(fields(elements.get(op.name)), op.name).toEqual(op.request.map((p) => p.name))
      expect(fields(elements.get(`${op.name}Response`)), op.name).toEqual(op.response.map((p) => (p._tag === "Ref" ? p.element : p.name)))
    }
    const imports = children(schema, Namespaces.xsd, "import").map((i) => [attr(i, "namespace"), attr(i, "schemaLocation")])
    expect(imports).toEqual([
      [Namespaces.uws, `${endpoint}?xsd=uws`],
      [Namespaces.wsa, `${endpoint}?xsd=wsa`]
    ])
  })

  it("binds every operation in SOAP 1.1 and 1.2, document/literal, with its action, the header where it needs one, and the fault", () => {
    const bindings = children(root, W, "binding")
    expect(bindings.map((b) => attr(b, "name"))).toEqual(["UWSSoap11", "UWSSoap12"])
    for (const binding of bindings) {
      const soapNs = attr(binding, "name") === "UWSSoap11" ? Namespaces.wsdlSoap11 : Namespaces.wsdlSoap12
      expect(attr(children(binding, soapNs, "binding")[0], "style")).toBe("document")
      expect(children(binding, Namespaces.wsaw, "UsingAddressing")).toHaveLength(1)
      const ops = children(binding, W, "operation")
      expect(ops.map((o) => attr(o, "name"))).toEqual(Operations.names)
      for (const o of ops) {
        const info = Operations.all.find((x) => x.name === attr(o, "name"))!
        expect(attr(children(o, soapNs, "operation")[0], "soapAction")).toBe(info.action)
        const input = children(o, W, "input")[0]
        const output = children(o, W, "output")[0]
        expect(attr(children(input, soapNs, "body")[0], "use")).toBe("literal")
        expect(children(input, soapNs, "header")).toHaveLength(info.jobSpecific ? 1 : 0)
        expect(children(output, soapNs, "header")).toHaveLength(info.jobSpecific || info.name === "createJob" ? 1 : 0)
        expect(attr(children(children(o, W, "fault")[0], soapNs, "fault")[0], "name")).toBe("UwsFault")
      }
    }
    const ports = children(children(root, W, "service")[0], W, "port")
    expect(ports.map((p) => [attr(p, "name"), attr(p.children[0], "location")])).toEqual([
      ["UWSSoap11", endpoint],
      ["UWSSoap12", endpoint]
    ])
  })

  it("names each message's WS-Addressing action in the port type", () => {
    const portType = children(root, W, "portType")[0]
    for (const op of children(portType, W, "operation")) {
      const info = Operations.all.find((x) => x.name === attr(op, "name"))!
      const action = (e: XmlElement | undefined) => e?.attributes.find((a) => a.ns === Namespaces.wsam && a.local === "Action")?.value
      expect(action(children(op, W, "input")[0])).toBe(info.action)
      expect(action(children(op, W, "output")[0])).toBe(info.responseAction)
      expect(action(children(op, W, "fault")[0])).toBe(Namespaces.faultAction)
    }
  })

  it("escapes an endpoint URL that needs it", () => {
    const odd = Wsdl.make('http://h/a&b"c')
    expect(odd).toContain('location="http://h/a&amp;b&quot;c"')
    expect("root" in parseDocument(odd)).toBe(true)
  })
})
