/**
 * @uws-kit/client: a typed client for any UWS 1.0/1.1 server — the operations ({@link Client}),
 * the HTTP transport ({@link Transport}) and the document readers ({@link Documents}).
 *
 * @since 0.1.0
 */
export * as Client from "./Client.js"
export * as Documents from "./Documents.js"
export * as Transport from "./Transport.js"
export { UwsClientError } from "./UwsClientError.js"
export type { Kind as UwsClientErrorKind } from "./UwsClientError.js"
