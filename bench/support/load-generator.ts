/**
 * The HTTP benchmark's load generator when `wrk` is not installed (`apt-get install wrk`): a
 * separate Node process keeping `concurrency` keep-alive connections busy with one request for
 * `seconds`, so that the server under test does not share its process with its client.
 *
 *     node --import tsx bench/support/load-generator.ts '{"url":…,"method":"GET","concurrency":16,"seconds":5}'
 *
 * Prints one JSON line: `{ requests, seconds, non2xx3xx, errors }`.
 */
import { Agent, request } from "node:http"

interface Load {
  readonly url: string
  readonly method: string
  readonly concurrency: number
  readonly seconds: number
  readonly body?: string
  readonly headers?: Readonly<Record<string, string>>
}

const load = JSON.parse(process.argv[2] ?? "{}") as Load
const agent = new Agent({ keepAlive: true, maxSockets: load.concurrency })
const body = load.body === undefined ? undefined : Buffer.from(load.body)
const headers = { ...load.headers, ...(body === undefined ? {} : { "content-length": String(body.length) }) }

const once = () =>
  new Promise<number | null>((resolve) => {
    const req = request(load.url, { method: load.method, agent, headers }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? null))
      res.on("error", () => resolve(null))
    })
    req.on("error", () => resolve(null))
    req.end(body)
  })

let requests = 0
let non2xx3xx = 0
let errors = 0
const start = performance.now()
const end = start + load.seconds * 1000
await Promise.all(
  Array.from({ length: load.concurrency }, async () => {
    while (performance.now() < end) {
      const status = await once()
      requests++
      if (status === null) errors++
      else if (status >= 400) non2xx3xx++
    }
  })
)
agent.destroy()
console.log(JSON.stringify({ requests, seconds: (performance.now() - start) / 1000, non2xx3xx, errors }))
