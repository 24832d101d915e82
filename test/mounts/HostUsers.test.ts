/**
 * Every binding (REST, SOAP, the archive) in every host (node:http, Express 5, Fastify 5,
 * Hono 4), under a path prefix, over real sockets: the host authenticates the request its own way
 * and passes its user to the binding as the caller, typed; the binding records that user as the
 * owner of what they create and refuses another user. The host's own route still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bindings, startServices, type Services } from "./bindings.js"
import { hosts } from "./hosts.js"

let services: Services
beforeAll(async () => {
  services = await startServices()
})
afterAll(async () => {
  await services.close()
})

describe.each(hosts)("%s", (hostName, mount) => {
  it.each(bindings.map((b) => [b.name, b] as const))("%s sees the host's user", async (_name, binding) => {
    const edge = binding.make(services)
    const host = await mount(edge, binding.prefix)
    try {
      await binding.exchange(host.base)
      const other = await fetch(host.other)
      expect(await other.text()).toBe(hostName)
    } finally {
      await edge.dispose()
      await host.close()
    }
  })
})
