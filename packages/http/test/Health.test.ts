/**
 * Health: /health always 200; /ready 200 when every check passes, else 503 naming the failed
 * checks (a hung check counts as failed after the timeout).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { Health } from "@uws-kit/http"

const serve = async (checks: Record<string, Health.Check>, fn: (url: string) => Promise<void>) => {
  const handle = Health.handler({ checks, timeoutMs: 200 })
  const server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    await new Promise((r) => server.close(r))
  }
}

describe("Health", () => {
  it("answers liveness always and readiness 200 when every check passes", () =>
    serve({ store: async () => undefined, plugins: () => undefined }, async (url) => {
      expect((await fetch(`${url}/health`)).status).toBe(200)
      const ready = await fetch(`${url}/ready`)
      expect(ready.status).toBe(200)
      expect(await ready.json()).toEqual({ status: "ready", checks: { store: "ok", plugins: "ok" } })
      expect((await fetch(`${url}/other`)).status).toBe(404)
      expect((await fetch(`${url}/ready`, { method: "POST" })).status).toBe(405)
    }))

  it("answers 503 naming what failed: a rejection, a throw, a hang", () =>
    serve(
      {
        store: () => Promise.reject(new Error("connection refused")),
        migrations: () => {
          throw new Error("schema at 3, needs 8")
        },
        plugins: () => new Promise<void>(() => undefined),
        fine: () => undefined
      },
      async (url) => {
        expect((await fetch(`${url}/health`)).status).toBe(200)
        const ready = await fetch(`${url}/ready`)
        expect(ready.status).toBe(503)
        expect(await ready.json()).toEqual({
          status: "unavailable",
          failed: ["store", "migrations", "plugins"],
          checks: { store: "connection refused", migrations: "schema at 3, needs 8", plugins: "no answer within 200 ms", fine: "ok" }
        })
      }
    ))
})
