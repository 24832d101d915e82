/**
 * @uws-kit/http: what every HTTP binding of uws-kit needs and no single protocol owns.
 *
 * @since 0.1.0
 */
export * as Body from "./Body.js"
export * as BrowserPages from "./BrowserPages.js"
export * as CrossSite from "./CrossSite.js"
export * as Edge from "./Edge.js"
export * as HalfClose from "./HalfClose.js"
export * as Linger from "./Linger.js"
export * as Header from "./Header.js"
export * as Identity from "./Identity.js"
export * as Iso8601 from "./Iso8601.js"
export * as MultipartNames from "./MultipartNames.js"
export * as Negotiation from "./Negotiation.js"
export * as PublicOrigin from "./PublicOrigin.js"
export * as Routes from "./Routes.js"
export * as Streamed from "./Streamed.js"
export * as Vosi from "./Vosi.js"
export * as Xml from "./Xml.js"
export * as XmlEscape from "./XmlEscape.js"
export * as Prometheus from "./Prometheus.js"
export * as AccessLog from "./AccessLog.js"
export * as Health from "./Health.js"
