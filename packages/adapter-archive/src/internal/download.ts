/**
 * `GET {base}/document/{id}/content`: the container's document as it was uploaded, streamed from
 * its storage to the socket by Node (`pipeline`, its backpressure, no per-chunk Effect step),
 * verified as it goes where the storage verifies reads (the filesystem storage's SHA-256 check),
 * with its Content-Length, type, file name and a strong ETag (its SHA-256).
 *
 * Everything that can be checked is checked before the first byte (the container, the storage
 * answering, the size it reports); a failure after that (a corrupted copy found at its end, a
 * storage failing or stalling mid-read, the container deleted meanwhile) leaves the answer short
 * of its Content-Length, and Node resets the connection: a client never gets a whole-looking
 * wrong document.
 */
import { IncomingMessage } from "node:http"
import { Readable } from "node:stream"
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { Errors } from "@uws-kit/core"
import { Effect } from "effect"
import type { PartRecord } from "../Container.js"
import type { Readout } from "../Storage.js"

/** RFC 6266 / 8187: an ASCII fallback and the exact UTF-8 name. */
const disposition = (fileName: string) => {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_")
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`
}

export const respond = (
  request: HttpServerRequest.HttpServerRequest,
  part: PartRecord,
  read: Effect.Effect<Readout, Errors.PluginFailure>
): Effect.Effect<HttpServerResponse.HttpServerResponse, Errors.PluginFailure> =>
  Effect.gen(function* () {
    const etag = `"${part.sha256}"`
    const headers = {
      "content-disposition": disposition(part.fileName),
      etag,
      "cache-control": "private, no-cache",
      "x-content-type-options": "nosniff"
    }
    const ifNoneMatch = request.headers["if-none-match"]
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
      return HttpServerResponse.empty({ status: 304, headers: { etag } })
    }
    if (request.method === "HEAD") {
      // The headers of GET without reading the document (a HEAD has no body to send).
      return HttpServerResponse.raw(new Uint8Array(0), { contentType: part.mimeType, headers: { ...headers, "content-length": String(part.size) } })
    }
    const readout = yield* read
    if (readout.size !== undefined && readout.size !== part.size) {
      readout.readable.destroy()
      return yield* Effect.fail(
        new Errors.PluginFailure({
          plugin: part.storage,
          operation: "get",
          reason: `its copy of ${part.name} has ${readout.size} bytes; ${part.size} were stored`
        })
      )
    }
    // A Node request is answered by Node piping the stream; any other host gets a web stream.
    const body = request.source instanceof IncomingMessage ? readout.readable : Readable.toWeb(readout.readable)
    return HttpServerResponse.raw(body, { contentType: part.mimeType, contentLength: part.size, headers })
  })
