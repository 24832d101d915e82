/**
 * An answer given before its request's body was read to the end (a refusal: too large, a bad
 * first part, a method that takes no body) still reaches its client.
 *
 * node:http closes such a connection right after the answer (`Connection: close`), or leaves it
 * stalled with the rest of the body unread (keep-alive, once a reader stopped). Closing a socket
 * with bytes still coming resets it (RST), and a client that sends its whole body before reading
 * (Python's http.client, most scripts) then gets a broken pipe or a reset, never the answer.
 * So the Node listener closes lingeringly, as Apache and nginx do: once the answer is out, the
 * rest of the body is read and dropped, and the connection is closed only when the body is over
 * (or kept, when the answer keeps it alive). It is bounded, so a client cannot hold the connection
 * by sending for ever: past `maxBytes` more bytes or `maxMs`, the connection is cut.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"

/**
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  /** Most bytes of the rest of a body read and dropped after the answer. */
  readonly maxBytes: number
  /** Longest wait for the rest of a body after the answer, milliseconds. */
  readonly maxMs: number
}

/**
 * 64 MiB, 10 s: the rest of any upload a refusal can cut short on a fast link, not a
 * connection held open.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultLimits: Limits = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000 }

/**
 * Lets `request`'s answer reach its client when the answer comes before the end of the body (see
 * the module). Called by every binding's Node listener on each request; costs nothing for a
 * request without a body.
 *
 * @since 0.1.0
 * @category node
 */
export const afterAnswer = (request: IncomingMessage, response: ServerResponse, limits: Limits = defaultLimits): void => {
  const headers = request.headers
  const length = headers["content-length"]
  if ((length === undefined || length === "0") && headers["transfer-encoding"] === undefined) return
  // Prepended: it must run before node:http's own end of the exchange, which may close at once.
  response.prependOnceListener("finish", () => linger(request, limits))
}

const linger = (request: IncomingMessage, limits: Limits) => {
  const socket = request.socket as IncomingMessage["socket"] | null
  // A body read to its end (or a connection gone) has nothing left to wait for; HTTP/2 has streams, not this.
  if (request.complete || socket === null || socket.destroyed || request.httpVersionMajor !== 1) return
  const own = socket as unknown as { destroySoon?: () => void }
  let closing = false
  let dropped = 0
  // node:http closes a connection whose answer says so with `destroySoon` (end, then destroy once
  // written): here it ends the answer's side only, and the destroy waits for the rest of the body.
  own.destroySoon = () => {
    closing = true
    if (socket.writable) socket.end()
  }
  const cut = () => {
    done()
    socket.destroy()
  }
  const timer = setTimeout(cut, limits.maxMs)
  timer.unref()
  const done = () => {
    clearTimeout(timer)
    delete own.destroySoon
    request.off("data", drop)
    socket.off("close", done)
  }
  const drop = (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > limits.maxBytes) cut()
  }
  request.once("end", () => {
    done()
    // The whole request is in: closing now sends no reset. A kept-alive connection goes on.
    if (closing) socket.destroySoon()
  })
  socket.once("close", done)
  // After node:http's own handling of this finish, which drops the 'data' listeners of a body
  // nobody read (and reads it): ours would go with them.
  process.nextTick(() => {
    if (socket.destroyed) return done()
    request.on("data", drop)
    request.resume()
  })
}
