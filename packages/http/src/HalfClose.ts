/**
 * A complete request is answered even when its client half-closes the connection right after
 * sending it (a FIN after the body: HTTP/1.1 allows it, some clients and proxies do it).
 *
 * node:http's default (`server.httpAllowHalfOpen === false`) ends the connection on the client's
 * FIN, whatever request is still being handled: a handler slower than one turn of the event loop
 * (an upload spooled to disk, a blocking WAIT) then has nowhere to write its answer, and the
 * request is aborted as if the client had gone. With `httpAllowHalfOpen` set, node:http keeps the
 * write side open, sends the pending answer and closes after it. A body cut by the FIN is still
 * refused: the parser reports it, node:http answers 400 and destroys the connection.
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"

/**
 * Lets the server that received `request` answer it after a client half-close (see the module).
 * Called by every binding's Node listener on each request, because the listener is all a host
 * mounting it (node:http, Express, Fastify) hands over; the setting belongs to the server, so it
 * holds from then on for every connection of that server.
 *
 * @since 0.1.0
 * @category node
 */
export const answerAfterHalfClose = (request: IncomingMessage): void => {
  // `socket.server` is the server that accepted the connection (net.Server sets it); node:http's
  // and node:https' servers both carry the flag (an https.Server is no http.Server instance).
  const server = (request.socket as { server?: unknown } | null)?.server
  if (typeof server === "object" && server !== null && "httpAllowHalfOpen" in server) (server as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
}
