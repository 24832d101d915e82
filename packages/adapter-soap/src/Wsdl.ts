/**
 * The WSDL 1.1 description of the binding, written from the operation table: document/literal
 * wrapped, one SOAP 1.1 and one SOAP 1.2 binding at the same address, WS-Addressing actions,
 * the `ResourceIdentifier` header on every job-specific message, and a typed fault detail. Its
 * schema imports the UWS 1.1 and WS-Addressing schemas, which the endpoint serves itself
 * (`?xsd=uws`, `?xsd=wsa`; the UWS schema's xlink import is pointed at `?xsd=xlink`), so a
 * client can build itself from the endpoint alone, offline.
 *
 * @since 0.1.0
 */
import * as Namespaces from "./Namespaces.js"
import * as F from "./internal/fields.js"
import { operations } from "./internal/operations.js"
import * as Schemas from "./internal/schemas.js"
import { escapeAttribute, escapeText } from "./internal/xml.js"

/**
 * The schemas the endpoint serves, by the name used in `?xsd=`.
 *
 * @since 0.1.0
 * @category schemas
 */
export type SchemaName = "uws" | "xlink" | "wsa"

/**
 * @since 0.1.0
 * @category schemas
 */
export const schemaNames: ReadonlyArray<SchemaName> = ["uws", "xlink", "wsa"]

/**
 * The WS-Addressing action of an operation's request (also its SOAPAction).
 *
 * @since 0.1.0
 * @category actions
 */
export const requestAction = (operation: string): string => `${Namespaces.uwsSoap}:${operation}`

/**
 * The WS-Addressing action of an operation's reply.
 *
 * @since 0.1.0
 * @category actions
 */
export const responseAction = (operation: string): string => `${Namespaces.uwsSoap}:${operation}Response`

/**
 * Where the endpoint serves a schema: `{endpoint}?xsd={name}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemaUrl = (endpoint: string, name: SchemaName): string => `${endpoint}?xsd=${name}`

const XLINK_LOCATION = 'schemaLocation="http://www.ivoa.net/xml/Xlink/xlink.xsd"'

/**
 * A served schema. The UWS schema is the REC file byte for byte except that its xlink import
 * points at this endpoint, so that resolving it needs no network.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema = (endpoint: string, name: SchemaName): string =>
  name === "uws"
    ? Schemas.uws.replace(XLINK_LOCATION, `schemaLocation="${escapeAttribute(schemaUrl(endpoint, "xlink"))}"`)
    : name === "xlink"
      ? Schemas.xlink
      : Schemas.wsa

const doc = (text: string) => `<wsdl:documentation>${escapeText(text)}</wsdl:documentation>`

/**
 * The `xsd:schema` of the binding's own elements (what the WSDL's `types` holds), with its
 * imports located at `endpoint`.
 *
 * @since 0.1.0
 * @category wsdl
 */
export const typesSchema = (endpoint: string): string => {
  const definitions = new Set<string>()
  let elements = ""
  for (const op of operations) {
    for (const part of [...op.request, ...op.response]) {
      if (part._tag === "Field" && part.type.definition !== undefined) definitions.add(part.type.definition)
    }
    elements += `<xsd:element name="${op.name}"><xsd:complexType>${F.schema(op.request)}</xsd:complexType></xsd:element>`
    elements += `<xsd:element name="${op.name}Response"><xsd:complexType>${F.schema(op.response)}</xsd:complexType></xsd:element>`
  }
  return (
    `<xsd:schema targetNamespace="${Namespaces.uwsSoap}" elementFormDefault="qualified" attributeFormDefault="unqualified" ` +
    `xmlns:xsd="${Namespaces.xsd}" xmlns:u="${Namespaces.uwsSoap}" xmlns:uws="${Namespaces.uws}" xmlns:wsa="${Namespaces.wsa}">` +
    `<xsd:import namespace="${Namespaces.uws}" schemaLocation="${escapeAttribute(schemaUrl(endpoint, "uws"))}"/>` +
    `<xsd:import namespace="${Namespaces.wsa}" schemaLocation="${escapeAttribute(schemaUrl(endpoint, "wsa"))}"/>` +
    [...definitions].join("") +
    `<xsd:element name="ResourceIdentifier" type="xsd:string"><xsd:annotation><xsd:documentation>Names the job a request is about (SOAP header; WS-Addressing reference parameter of the job's endpoint reference). Opaque to clients.</xsd:documentation></xsd:annotation></xsd:element>` +
    `<xsd:element name="uwsFault"><xsd:annotation><xsd:documentation>The detail of every fault: the error's tag (e.g. JobNotFound, InvalidTransition, Forbidden) and a readable message.</xsd:documentation></xsd:annotation><xsd:complexType><xsd:sequence>` +
    `<xsd:element name="error" type="xsd:string"/><xsd:element name="message" type="xsd:string"/><xsd:element name="jobId" type="uws:JobIdentifier" minOccurs="0"/>` +
    `</xsd:sequence></xsd:complexType></xsd:element>` +
    `<xsd:element name="info"><xsd:annotation><xsd:documentation>One entry of a job's jobInfo (progress reported by the application).</xsd:documentation></xsd:annotation><xsd:complexType><xsd:simpleContent><xsd:extension base="xsd:string"><xsd:attribute name="key" type="xsd:string" use="required"/></xsd:extension></xsd:simpleContent></xsd:complexType></xsd:element>` +
    elements +
    `</xsd:schema>`
  )
}

const binding = (version: "1.1" | "1.2") => {
  const soap = version === "1.1" ? "soap" : "soap12"
  let out = `<wsdl:binding name="${version === "1.1" ? "UWSSoap11" : "UWSSoap12"}" type="u:UWS">`
  out += `<${soap}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>`
  out += `<wsaw:UsingAddressing wsdl:required="false"/>`
  for (const op of operations) {
    const header = `<${soap}:header message="u:ResourceIdentifierHeader" part="ResourceIdentifier" use="literal"/>`
    out += `<wsdl:operation name="${op.name}"><${soap}:operation soapAction="${requestAction(op.name)}" style="document"/>`
    out += `<wsdl:input><${soap}:body use="literal"/>${op.jobSpecific ? header : ""}</wsdl:input>`
    out += `<wsdl:output><${soap}:body use="literal"/>${op.jobSpecific || op.name === "createJob" ? header : ""}</wsdl:output>`
    out += `<wsdl:fault name="UwsFault"><${soap}:fault name="UwsFault" use="literal"/></wsdl:fault>`
    out += `</wsdl:operation>`
  }
  return out + `</wsdl:binding>`
}

/**
 * The WSDL of an endpoint at `endpoint` (absolute URL).
 *
 * @since 0.1.0
 * @category wsdl
 */
export const make = (endpoint: string): string => {
  let messages = ""
  let portType = `<wsdl:portType name="UWS">`
  for (const op of operations) {
    messages += `<wsdl:message name="${op.name}Request"><wsdl:part name="parameters" element="u:${op.name}"/></wsdl:message>`
    messages += `<wsdl:message name="${op.name}Response"><wsdl:part name="parameters" element="u:${op.name}Response"/></wsdl:message>`
    portType +=
      `<wsdl:operation name="${op.name}">${doc(`${op.documentation}${op.jobSpecific ? " Job-specific: send the job's ResourceIdentifier header." : ""}${op.origin === "extension" ? " (Extension to the v0.3 draft, named in the 2008 template.)" : ""}`)}` +
      `<wsdl:input message="u:${op.name}Request" wsam:Action="${requestAction(op.name)}"/>` +
      `<wsdl:output message="u:${op.name}Response" wsam:Action="${responseAction(op.name)}"/>` +
      `<wsdl:fault name="UwsFault" message="u:UwsFault" wsam:Action="${Namespaces.faultAction}"/>` +
      `</wsdl:operation>`
  }
  portType += `</wsdl:portType>`
  messages += `<wsdl:message name="ResourceIdentifierHeader"><wsdl:part name="ResourceIdentifier" element="u:ResourceIdentifier"/></wsdl:message>`
  messages += `<wsdl:message name="UwsFault"><wsdl:part name="fault" element="u:uwsFault"/></wsdl:message>`
  const location = escapeAttribute(endpoint)
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<wsdl:definitions name="UWS" targetNamespace="${Namespaces.uwsSoap}" xmlns:wsdl="${Namespaces.wsdl}" xmlns:soap="${Namespaces.wsdlSoap11}" ` +
    `xmlns:soap12="${Namespaces.wsdlSoap12}" xmlns:xsd="${Namespaces.xsd}" xmlns:u="${Namespaces.uwsSoap}" xmlns:uws="${Namespaces.uws}" ` +
    `xmlns:wsa="${Namespaces.wsa}" xmlns:wsaw="${Namespaces.wsaw}" xmlns:wsam="${Namespaces.wsam}">` +
    doc(
      "Universal Worker Service, SOAP binding (UWS v0.3 draft §2.2.2) over UWS 1.1 semantics. One endpoint for the whole job list; " +
        "createJob answers a WS-Addressing endpoint reference whose reference parameter ResourceIdentifier names the job; every job-specific " +
        "request carries it as a SOAP header and every reply echoes it. Faults carry u:uwsFault naming the error."
    ) +
    `<wsdl:types>${typesSchema(endpoint)}</wsdl:types>` +
    messages +
    portType +
    binding("1.1") +
    binding("1.2") +
    `<wsdl:service name="UWS">` +
    `<wsdl:port name="UWSSoap11" binding="u:UWSSoap11"><soap:address location="${location}"/></wsdl:port>` +
    `<wsdl:port name="UWSSoap12" binding="u:UWSSoap12"><soap12:address location="${location}"/></wsdl:port>` +
    `</wsdl:service>` +
    `</wsdl:definitions>`
  )
}
