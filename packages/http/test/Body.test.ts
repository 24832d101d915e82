/**
 * Bounded bodies: whatever the source (web Request, Node request) a body of at most `limit`
 * bytes is read whole, a larger one is `TooLarge` (a declared length unread), and a Node body a
 * host's parser already consumed is `AlreadyRead` rather than a request that hangs.
 */
import { createServer, request as nodeRequest, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Body } from "../src/index.js"

const web = (body: Uint8Array | null, headers: Record<string, string> = {}) =>
  HttpServerRequest.fromWeb(new Request("http://x/", { method: "POST", headers, ...(body === null ? {} : { body: new Uint8Array(body) }) }))

const read = (req: HttpServerRequest.HttpServerRequest, limit: number) => Effect.runPromise(Effect.either(Body.read(req, limit)))

/** Runs `f` on a real Node request whose body is `body`. */
const onNode = <A>(body: Uint8Array, f: (req: IncomingMessage) => Promise<A>): Promise<A> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      f(req).then(resolve, reject).finally(() => {
        res.end()
        server.close()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const r = nodeRequest({ host: "127.0.0.1", port, method: "POST", headers: { "content-length": body.length } }, (res) => res.resume())
      r.on("error", () => {})
      r.end(body)
    })
  })

describe("Body", () => {
  it("reads a body of at most `limit` bytes whole, refuses a larger one, for any body and limit", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(300), async (bytes, limit) => {
        const got = await read(web(bytes), limit)
        if (bytes.length <= limit || bytes.length === 0) expect(Either.getOrThrow(got)).toEqual(bytes)
        else expect(Either.isLeft(got) && got.left.reason).toBe("TooLarge")
      }),
      { numRuns: 60 }
    )
  })

  it("refuses a declared Content-Length over the limit before reading", async () => {
    const got = await read(HttpServerRequest.fromWeb(new Request("http://x/", { method: "POST", body: "abc", headers: { "content-length": "9999" } })), 10)
    expect(Either.isLeft(got) && got.left).toMatchObject({ reason: "TooLarge", limit: 10 })
  })

  it("reads a Node body natively, and names one a host's parser already consumed", async () => {
    const bytes = new TextEncoder().encode("hello, node")
    const whole = await onNode(bytes, (req) => read(nodeView(req), 100))
    expect(new TextDecoder().decode(Either.getOrThrow(whole))).toBe("hello, node")
    const consumed = await onNode(bytes, async (req) => {
      for await (const _ of req) void _
      return read(nodeView(req), 100)
    })
    expect(Either.isLeft(consumed) && consumed.left.reason).toBe("AlreadyRead")
  })

  it("decodes UTF-8 strictly and names a charset it does not know", () => {
    expect(Body.decodeText(new Uint8Array([0xc3, 0xa9]), undefined)).toEqual(Either.right("é"))
    expect(Either.isLeft(Body.decodeText(new Uint8Array([0xc3]), "utf-8"))).toBe(true)
    expect(Body.decodeText(new Uint8Array([1]), "x-nothing")).toEqual(Either.left("The text is not valid x-nothing, or x-nothing is not a character set this service knows."))
    expect(Body.mediaTypeOf('Text/Plain; Charset="UTF-8"')).toEqual({ type: "text/plain", params: { charset: "UTF-8" } })
  })
})

/** The platform's view of a Node request (what the Node listener hands an app). */
const nodeView = (req: IncomingMessage): HttpServerRequest.HttpServerRequest =>
  ({ source: req, headers: req.headers, stream: undefined }) as unknown as HttpServerRequest.HttpServerRequest
