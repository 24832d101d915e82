/**
 * @uws-kit/adapter-rest: the UWS 1.1 REST binding (plus the v0.3 aliases and the sync facade),
 * its XML, JSON and HTML representations. The typed client is `@uws-kit/client`.
 *
 * @since 0.1.0
 */
export * as Html from "./Html.js"
/** The ISO 8601 reader and writer, shared with the other HTTP bindings (`@uws-kit/http`). @since 0.1.0 */
export { Iso8601 } from "@uws-kit/http"
export * as Json from "./Json.js"
export * as RestAdapter from "./RestAdapter.js"
export * as Xml from "./Xml.js"
