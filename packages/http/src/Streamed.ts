/**
 * Answers whose body is read while it is sent (a stored result, an upload, an application's
 * view), for every binding. Under Node, a body that fails after the headers resets the
 * connection: the platform's Node handler would end the answer short of its Content-Length, and
 * the client would wait for the rest until its own timeout (for ever, without one).
 *
 * @since 0.1.0
 */
import { IncomingMessage } from "node:http"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Stream } from "effect"

/**
 * `HttpServerResponse.stream` of `stream`, cutting the connection of a Node `request` (the
 * platform's request over one, or the `IncomingMessage` a Node listener got) if the stream fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const response = (
  request: HttpServerRequest | IncomingMessage,
  stream: Stream.Stream<Uint8Array, unknown>,
  options: HttpServerResponse.Options
): HttpServerResponse.HttpServerResponse => {
  const source = request instanceof IncomingMessage ? request : request.source
  const cut = source instanceof IncomingMessage ? Stream.tapErrorCause(stream, () => Effect.sync(() => source.socket?.destroy())) : stream
  return HttpServerResponse.stream(cut, options)
}
