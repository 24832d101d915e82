/**
 * A host's own `ManagedRuntime` (its logger, its log annotations) is the one each binding runs
 * on: a failure the binding logs reaches the host's logger, annotated as the host's runtime
 * says, through the Node listener behind a real node:http server; without it, on Effect's
 * default runtime, the host's logger hears nothing.
 */
import { Effect, HashMap, Layer, Logger, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ArchiveAdapter } from "@uws-kit/adapter-archive"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Namespaces, SoapAdapter } from "@uws-kit/adapter-soap"
import type { Edge } from "@uws-kit/http"
import { startServices, type Services } from "./bindings.js"
import { hosts } from "./hosts.js"

let services: Services
beforeAll(async () => {
  services = await startServices()
})
afterAll(async () => {
  await services.close()
})

interface Line {
  readonly message: string
  readonly host: string | undefined
}

/** The host's runtime: a logger of its own and an annotation on every line its fibers log. */
const hostRuntime = () => {
  const lines: Array<Line> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, message }) => {
      const host = HashMap.get(annotations, "host")
      lines.push({ message: String(Array.isArray(message) ? message[0] : message), host: host._tag === "Some" ? String(host.value) : undefined })
    })
  )
  const runtime = ManagedRuntime.make(Layer.merge(logger, Layer.scopedDiscard(Effect.annotateLogsScoped({ host: "portal" }))))
  return { lines, runtime }
}

const broken = new Error("the store is on fire")

/** Each binding over a service that fails unexpectedly, and a request that reaches the failure. */
const failing: ReadonlyArray<{
  readonly name: string
  readonly make: (runtime: ManagedRuntime.ManagedRuntime<never, unknown> | undefined) => Edge.Edge
  readonly request: (base: string) => Promise<Response>
  readonly line: string
}> = [
  {
    name: "REST",
    make: (runtime) =>
      RestAdapter.makeRestAdapter({ service: { ...services.uws.service, list: () => Effect.die(broken) }, basePath: "/uws", runtime }),
    request: (base) => fetch(`${base}/jobs`),
    line: "uws-kit REST: unexpected failure"
  },
  {
    name: "SOAP",
    make: (runtime) =>
      SoapAdapter.makeSoapAdapter({ service: { ...services.uws.service, list: () => Effect.die(broken) }, basePath: "/uws", runtime }),
    request: (base) =>
      fetch(base, {
        method: "POST",
        headers: { "content-type": "text/xml; charset=utf-8", soapaction: `"${Namespaces.uwsSoap}:getJobs"` },
        body: `<s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${Namespaces.uwsSoap}"><s:Body><u:getJobs/></s:Body></s:Envelope>`
      }),
    line: "uws-kit SOAP: unexpected failure"
  },
  {
    name: "archive",
    make: (runtime) => ArchiveAdapter.makeArchiveAdapter({ archive: { ...services.archive, get: () => Effect.die(broken) }, basePath: "/uws", runtime }),
    request: (base) => fetch(`${base}/document/x`),
    line: "archive API request failed"
  }
]

const [, mountNode] = hosts[0]!

describe.each(failing)("$name", ({ make, request, line }) => {
  it.each([
    ["runs on the host's runtime: its logger gets the binding's line, with the host's annotation", true],
    ["runs on Effect's default runtime otherwise: the host's logger hears nothing", false]
  ] as const)("%s", async (_title, onHost) => {
    const { lines, runtime } = hostRuntime()
    const edge = make(onHost ? runtime : undefined)
    const host = await mountNode(edge, "/uws")
    try {
      expect((await request(host.base)).status).toBe(500)
      if (onHost) expect(lines).toContainEqual({ message: line, host: "portal" })
      else expect(lines).toEqual([])
    } finally {
      await edge.dispose()
      await host.close()
      await runtime.dispose()
    }
  })
})
