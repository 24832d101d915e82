/**
 * The edge runs the app on the host's runtime when given one (its logger here), on Effect's
 * default one otherwise, and its `layer` mounts the app in an `HttpLayerRouter` at the mount path.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Layer, Logger, ManagedRuntime, Runtime } from "effect"
import { describe, expect, it } from "vitest"
import { Edge } from "../src/index.js"

const app = Effect.as(Effect.logInfo("handled"), HttpServerResponse.text("ok"))

const recording = () => {
  const lines: Array<string> = []
  const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => lines.push(String(message))))
  return { lines, logger }
}

describe("Edge", () => {
  it("runs the app on the host's ManagedRuntime (its logger)", async () => {
    const { lines, logger } = recording()
    const runtime = ManagedRuntime.make(logger)
    const edge = Edge.make(app, { mount: "/x", dispose: async () => {}, runtime })
    expect(await (await edge.handler(new Request("http://h/x"))).text()).toBe("ok")
    expect(lines).toEqual(["handled"])
    await runtime.dispose()
  })

  it("runs the app on the host's Runtime (its logger), for the listener too", async () => {
    const { lines, logger } = recording()
    const runtime = await Effect.runPromise(Effect.scoped(Layer.toRuntime(logger)))
    const edge = Edge.make(app, { mount: "/x", dispose: async () => {}, runtime: runtime as Runtime.Runtime<never> })
    expect(await (await edge.handler(new Request("http://h/x"))).text()).toBe("ok")
    expect(lines).toEqual(["handled"])
  })

  it("mounts in an HttpLayerRouter at the mount path and below", async () => {
    const edge = Edge.make(app, { mount: "/uws", dispose: async () => {} })
    const { handler, dispose } = HttpLayerRouter.toWebHandler(edge.layer, { disableLogger: true })
    expect((await handler(new Request("http://h/uws"))).status).toBe(200)
    expect((await handler(new Request("http://h/uws/jobs/1"))).status).toBe(200)
    expect((await handler(new Request("http://h/elsewhere"))).status).toBe(404)
    await dispose()
  })
})
