/**
 * The XML namespaces of the SOAP binding.
 *
 * @since 0.1.0
 */

/**
 * The binding's own namespace: operation wrappers, their fields, the `ResourceIdentifier`
 * header and the fault detail. The 2008 template used `http://www.ivoa.net/xml/UWS-WS/v0.9`
 * for a different message set (no `acceptQuote`, no endpoint references); ours is a distinct
 * contract, so it has its own name rather than borrowing the IVOA's.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const uwsSoap = "urn:uws-kit:soap:uws-0.3"

/**
 * UWS 1.1 (its namespace did not change from 1.0).
 *
 * @since 0.1.0
 * @category namespaces
 */
export const uws = "http://www.ivoa.net/xml/UWS/v1.0"

/**
 * SOAP 1.1 envelope.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const soap11 = "http://schemas.xmlsoap.org/soap/envelope/"

/**
 * SOAP 1.2 envelope.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const soap12 = "http://www.w3.org/2003/05/soap-envelope"

/**
 * WS-Addressing 1.0.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const wsa = "http://www.w3.org/2005/08/addressing"

/**
 * WS-Addressing 1.0 WSDL binding (`UsingAddressing`).
 *
 * @since 0.1.0
 * @category namespaces
 */
export const wsaw = "http://www.w3.org/2006/05/addressing/wsdl"

/**
 * WS-Addressing 1.0 Metadata (`Action` on WSDL messages).
 *
 * @since 0.1.0
 * @category namespaces
 */
export const wsam = "http://www.w3.org/2007/05/addressing/metadata"

/**
 * @since 0.1.0
 * @category namespaces
 */
export const xlink = "http://www.w3.org/1999/xlink"

/**
 * @since 0.1.0
 * @category namespaces
 */
export const xsi = "http://www.w3.org/2001/XMLSchema-instance"

/**
 * @since 0.1.0
 * @category namespaces
 */
export const xsd = "http://www.w3.org/2001/XMLSchema"

/**
 * @since 0.1.0
 * @category namespaces
 */
export const wsdl = "http://schemas.xmlsoap.org/wsdl/"

/**
 * WSDL 1.1 SOAP 1.1 binding extension.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const wsdlSoap11 = "http://schemas.xmlsoap.org/wsdl/soap/"

/**
 * WSDL 1.1 SOAP 1.2 binding extension.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const wsdlSoap12 = "http://schemas.xmlsoap.org/wsdl/soap12/"

/**
 * The WS-Addressing action of a reply message carrying a fault.
 *
 * @since 0.1.0
 * @category actions
 */
export const faultAction = "http://www.w3.org/2005/08/addressing/soap/fault"

/**
 * The WS-Addressing anonymous address (reply on the same connection).
 *
 * @since 0.1.0
 * @category actions
 */
export const anonymous = "http://www.w3.org/2005/08/addressing/anonymous"

/**
 * The prefixes every message this adapter writes declares once, on its root element.
 *
 * @since 0.1.0
 * @category namespaces
 */
export const prefixes = {
  u: uwsSoap,
  uws,
  wsa,
  xlink,
  xsi
} as const
