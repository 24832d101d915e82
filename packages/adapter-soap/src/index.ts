/**
 * @uws-kit/adapter-soap: the SOAP binding of UWS (v0.3 draft §2.2.2) — WSDL, SOAP 1.1/1.2
 * envelopes, WS-Addressing job identity and faults — over the UWS core.
 *
 * @since 0.1.0
 */
export * as Envelope from "./Envelope.js"
export * as Fault from "./Fault.js"
export * as Namespaces from "./Namespaces.js"
export * as Operations from "./Operations.js"
export * as SoapAdapter from "./SoapAdapter.js"
export * as Wsdl from "./Wsdl.js"
