/**
 * A streamed answer whose body fails after the headers: under Node, the client sees its request
 * fail at once, not an answer that waits for the rest of its Content-Length. Served as every
 * binding serves (an `Edge` listener on node:http), beside the platform's own stream answer,
 * which leaves the client waiting: the reason for `Streamed`.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Edge, Streamed } from "../src/index.js"

const piece = new Uint8Array(1000).fill(65)
const failing = Stream.concat(Stream.make(piece), Stream.fail(new Error("the disk is gone")))
const whole = Stream.make(piece, piece)
const options = { contentType: "application/octet-stream", contentLength: 2000 }

const app = Effect.map(HttpServerRequest.HttpServerRequest, (req) => {
  const path = new URL(req.url, "http://h").pathname
  if (path === "/x/platform") return HttpServerResponse.stream(failing, options)
  return Streamed.response(req, path === "/x/whole" ? whole : failing, options)
})
const edge = Edge.make(app, { mount: "/x", dispose: async () => {} })
const server = createServer(edge.listener)
const url = new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

/** The error reading the answer ended in, if any, within `ms`. */
const failureOf = async (path: string, ms: number) =>
  fetch(`${await url}${path}`, { signal: AbortSignal.timeout(ms) })
    .then((res) => res.arrayBuffer())
    .then(
      (body) => ({ bytes: body.byteLength, error: undefined }),
      (e: Error) => ({ bytes: undefined, error: e.name })
    )

describe("Streamed.response under Node", () => {
  it("sends a stream that does not fail whole", async () => {
    expect(await failureOf("/x/whole", 5_000)).toEqual({ bytes: 2000, error: undefined })
  })

  it("resets the connection when the stream fails after the headers", async () => {
    const { error } = await failureOf("/x/cut", 5_000)
    expect(error).toBeDefined()
    expect(error).not.toBe("TimeoutError")
  })

  it("where the platform's stream answer leaves the client waiting for the rest", async () => {
    expect(await failureOf("/x/platform", 1_000)).toEqual({ bytes: undefined, error: "TimeoutError" })
  })
})
