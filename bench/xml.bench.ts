/**
 * The cost of refusing the worst SOAP envelopes at the size limit, through the SOAP web handler
 * (default 1 MiB limit, so through `Xml.read` and its default limits): the namespace bomb (P
 * declarations on the Envelope, P children declaring one more each, P as large as fits; before
 * the one reader, 495 KB of it exhausted the heap), the same bomb spread so that only the
 * per-document limit stops it, a deep-nesting bomb, and the envelope that costs most per byte
 * while staying within every limit (read in full, then refused by its schema). The baseline, in the same run, is a valid
 * `getJobs` envelope of the same size full of ignorable header blocks (9,000 elements), answered
 * normally. Figures are medians of alternating rounds; heap is `heapUsed` growth from a collected
 * heap to the end of the request with no collection forced in between (an upper estimate of the
 * peak: garbage not yet collected counts). Nothing is asserted; targets ≤ 50 ms and ≤ 32 MB.
 */
import { Namespaces, SoapAdapter } from "@uws-kit/adapter-soap"
import { Uws, Worker } from "@uws-kit/core"
import type { Benchmark } from "./report.js"

const ROUNDS = Number(process.env["UWS_BENCH_XML_ROUNDS"] ?? 9)
const LIMIT = SoapAdapter.defaultMaxEnvelopeBytes
const TNS = Namespaces.uwsSoap
const ENVELOPE = `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${Namespaces.soap11}" xmlns:u="${TNS}"`

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const size = (s: string) => Buffer.byteLength(s, "utf8")

/** The largest `make(n)` under the limit. */
const fill = (make: (n: number) => string): string => {
  let n = 1
  while (size(make(n * 2)) < LIMIT) n *= 2
  for (let step = n; step >= 1; step = Math.floor(step / 2)) if (size(make(n + step)) < LIMIT) n += step
  return make(n)
}

const namespaceBomb = (perElement: number) =>
  fill((p) => {
    const onRoot = Math.min(p, perElement)
    let root = ENVELOPE
    for (let i = 0; i < onRoot; i++) root += ` xmlns:a${i}="u:${i}"`
    let kids = ""
    for (let i = 0; i < p; i++) kids += `<a${i % onRoot}:x xmlns:b${i}="v:${i}"/>`
    return `${root}><s:Body><u:getJobs>${kids}</u:getJobs></s:Body></s:Envelope>`
  })

const deepBomb = fill((n) => `${ENVELOPE}><s:Body><u:getJobs>${"<a>".repeat(n)}${"</a>".repeat(n)}</u:getJobs></s:Body></s:Envelope>`)

/**
 * Within every limit, the most work per byte: elements of 63 prefixed attributes, 58 levels deep
 * inside the operation. Read in full, then refused by the operation's schema.
 */
const wide = (() => {
  const attrs = Array.from({ length: 63 }, (_, i) => ` x:a${i}=""`).join("")
  const open = `${ENVELOPE} xmlns:x="urn:x"><s:Body><u:getJobs>${"<a>".repeat(58)}`
  const close = `${"</a>".repeat(58)}</u:getJobs></s:Body></s:Envelope>`
  return fill((n) => open + `<x:l${attrs}/>`.repeat(n) + close)
})()

/** Valid: 9,000 header blocks nobody must understand, padded to the limit, then getJobs. */
const valid = (() => {
  const blocks = 9_000
  const pad = Math.floor((LIMIT - size(`${ENVELOPE} xmlns:x="urn:pad"><s:Header></s:Header><s:Body><u:getJobs/></s:Body></s:Envelope>`)) / blocks) - 20
  const block = (i: number) => `<x:h n="${i}">${"p".repeat(Math.max(0, pad - String(i).length))}</x:h>`
  let header = ""
  for (let i = 0; i < blocks; i++) header += block(i)
  return `${ENVELOPE} xmlns:x="urn:pad"><s:Header>${header}</s:Header><s:Body><u:getJobs/></s:Body></s:Envelope>`
})()

const bench: Benchmark = async () => {
  const gc = (globalThis as { gc?: () => void }).gc
  const { service, close } = await Uws.start({ worker: Worker.noop })
  const soap = SoapAdapter.makeSoapAdapter({ service })
  const post = (xml: string) =>
    soap.handler(
      new Request("http://bench.local/soap", {
        method: "POST",
        headers: { "content-type": "text/xml; charset=utf-8", soapaction: `"${TNS}:getJobs"` },
        body: xml
      })
    )

  const contenders = {
    valid: { xml: valid, expect: "getJobsResponse" },
    namespace: { xml: namespaceBomb(Number.POSITIVE_INFINITY), expect: "maxNamespaceDeclarations" },
    spread: { xml: namespaceBomb(16), expect: "maxDocumentNamespaceDeclarations" },
    deep: { xml: deepBomb, expect: "maxDepth" },
    wide: { xml: wide, expect: "InvalidRequest" }
  }
  type Name = keyof typeof contenders
  const one = async (name: Name) => {
    const { xml, expect } = contenders[name]
    gc?.()
    const heap0 = process.memoryUsage().heapUsed
    const start = performance.now()
    const reply = await (await post(xml)).text()
    const ms = performance.now() - start
    const heap = process.memoryUsage().heapUsed - heap0
    if (!reply.includes(expect)) throw new Error(`${name}: expected ${expect} in ${reply.slice(0, 400)}`)
    return { ms, heap }
  }
  const names = Object.keys(contenders) as Array<Name>
  for (const name of names) await one(name) // warm-up
  const ms: Record<Name, Array<number>> = { valid: [], namespace: [], spread: [], deep: [], wide: [] }
  const heap: Record<Name, Array<number>> = { valid: [], namespace: [], spread: [], deep: [], wide: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const r = await one(name)
      ms[name].push(r.ms)
      heap[name].push(r.heap)
    }
  }
  await soap.dispose()
  await close()

  const MB = 1024 * 1024
  const t = (name: Name) => median(ms[name])
  const h = (name: Name) => median(heap[name]) / MB
  const kb = (name: Name) => Math.round(size(contenders[name].xml) / 1024)
  return {
    title: `XML reading at the SOAP size limit (${LIMIT / MB} MiB): refusing bombs vs reading a valid envelope, median of ${ROUNDS} alternating rounds${gc === undefined ? " (no --expose-gc: heap figures are noisy)" : ""}`,
    figures: [
      { name: `valid envelope, 9,000 header blocks (${kb("valid")} KB): answer`, value: t("valid"), unit: "ms" },
      { name: "valid envelope: heap", value: h("valid"), unit: "MB" },
      { name: `namespace bomb (${kb("namespace")} KB): refuse`, value: t("namespace"), unit: "ms", target: "≤ 50" },
      { name: "namespace bomb: heap", value: h("namespace"), unit: "MB", target: "≤ 32" },
      { name: `spread namespace bomb (${kb("spread")} KB): refuse`, value: t("spread"), unit: "ms", target: "≤ 50" },
      { name: "spread namespace bomb: heap", value: h("spread"), unit: "MB", target: "≤ 32" },
      { name: `deep-nesting bomb (${kb("deep")} KB): refuse`, value: t("deep"), unit: "ms", target: "≤ 50" },
      { name: "deep-nesting bomb: heap", value: h("deep"), unit: "MB", target: "≤ 32" },
      { name: `widest envelope within the limits (${kb("wide")} KB): read, refuse`, value: t("wide"), unit: "ms" },
      { name: "widest envelope within the limits: heap", value: h("wide"), unit: "MB" },
      { name: "ratio namespace bomb / valid (time)", value: t("namespace") / t("valid"), unit: "×", target: "≤ 1" },
      { name: "ratio spread bomb / valid (time)", value: t("spread") / t("valid"), unit: "×", target: "≤ 1" },
      { name: "ratio deep bomb / valid (time)", value: t("deep") / t("valid"), unit: "×", target: "≤ 1" },
      { name: "ratio widest within limits / valid (time)", value: t("wide") / t("valid"), unit: "×" }
    ]
  }
}

export default bench
