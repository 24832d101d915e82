/**
 * The largest job the default policy allows, rendered over REST: 1,000 parameters and 256 KiB of
 * names and values, every value character a `"` (6 bytes once escaped in XML). The figures show
 * what `Policy.maxJobDocumentBytes` bounds, against a job of one short parameter in the same run.
 */
import { Effect } from "effect"
import { Identity, Policy, Uws, Worker } from "@uws-kit/core"
import { RestAdapter } from "@uws-kit/adapter-rest"
import type { Benchmark } from "./report.js"

const ROUNDS = 7

const bench: Benchmark = async () => {
  const { service, close } = await Uws.start({ worker: Worker.noop })
  const rest = RestAdapter.makeRestAdapter({ service, basePath: "/uws" })
  const per = Math.floor((Policy.defaults.maxParameterBytesPerJob! - 4 * 1000) / 1000)
  const largest = Array.from({ length: Policy.defaults.maxParametersPerJob! }, (_, i) => ({ name: `p${String(i).padStart(3, "0")}`, value: '"'.repeat(per) }))
  const big = await Effect.runPromise(service.create(Identity.anonymous, { parameters: largest }))
  const small = await Effect.runPromise(service.create(Identity.anonymous, { parameters: [{ name: "QUERY", value: "SELECT 1" }] }))

  const render = async (jobId: string, accept: string) => {
    let best = Infinity
    let bytes = 0
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now()
      const res = await rest.handler(new Request(`http://bench/uws/jobs/${jobId}`, { headers: { accept } }))
      bytes = (await res.arrayBuffer()).byteLength
      best = Math.min(best, performance.now() - start)
    }
    return { best, bytes }
  }
  const figures = []
  for (const accept of ["application/xml", "application/json", "text/html"]) {
    const b = await render(big.jobId, accept)
    const s = await render(small.jobId, accept)
    figures.push(
      { name: `${accept}: largest job document`, value: b.bytes, unit: "bytes", target: `parameters ≤ ${Policy.maxJobDocumentBytes(Policy.defaults)} bytes (maxJobDocumentBytes)` },
      { name: `${accept}: render the largest job (best of ${ROUNDS})`, value: Math.round(b.best * 10) / 10, unit: "ms" },
      { name: `${accept}: ratio largest / one-parameter job`, value: b.best / s.best, unit: "×" }
    )
  }
  await rest.dispose()
  await close()
  return { title: "Rendering the largest job the default limits allow (REST, in-process handler)", figures }
}

export default bench
