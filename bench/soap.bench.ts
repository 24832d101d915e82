/**
 * The SOAP binding's cost: `createJob` + `getPhase` pairs per second through the SOAP web
 * handler, against the same pair over REST (POST the job list, read the Location; GET
 * `{job}/phase`) measured in the same run, in process, over one service. Rounds alternate
 * between the two so that machine noise hits both alike; the median round counts. Nothing is
 * asserted; the target is a ratio of at least 0.5.
 */
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Namespaces, SoapAdapter } from "@uws-kit/adapter-soap"
import { Uws, Worker } from "@uws-kit/core"
import type { Benchmark } from "./report.js"

const PAIRS = Number(process.env["UWS_BENCH_SOAP_PAIRS"] ?? 1500)
const ROUNDS = 7
const ORIGIN = "http://bench.local"
const TNS = Namespaces.uwsSoap

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const bench: Benchmark = async () => {
  const { service, close } = await Uws.start({ worker: Worker.noop, policy: { defaultDestructionLifetime: 86_400, maxDestructionLifetime: 86_400, maxActiveJobsPerOwner: null, maxStoredJobs: null } })
  const soap = SoapAdapter.makeSoapAdapter({ service, basePath: "/soap" })
  const rest = RestAdapter.makeRestAdapter({ service, basePath: "/uws" })

  const envelope = (version: "1.1" | "1.2", op: string, content: string, jobId?: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${version === "1.1" ? Namespaces.soap11 : Namespaces.soap12}" xmlns:u="${TNS}" xmlns:wsa="${Namespaces.wsa}">` +
    `<s:Header><wsa:Action>${TNS}:${op}</wsa:Action><wsa:MessageID>urn:uuid:${crypto.randomUUID()}</wsa:MessageID>` +
    (jobId === undefined ? "" : `<u:ResourceIdentifier>${jobId}</u:ResourceIdentifier>`) +
    `</s:Header><s:Body><u:${op}>${content}</u:${op}></s:Body></s:Envelope>`
  const soapPost = (version: "1.1" | "1.2", op: string, content: string, jobId?: string) =>
    soap.handler(
      new Request(`${ORIGIN}/soap`, {
        method: "POST",
        headers:
          version === "1.1"
            ? { "content-type": "text/xml; charset=utf-8", soapaction: `"${TNS}:${op}"` }
            : { "content-type": `application/soap+xml; charset=utf-8; action="${TNS}:${op}"` },
        body: envelope(version, op, content, jobId)
      })
    )

  const soapPair = (version: "1.1" | "1.2") => async () => {
    const created = await (await soapPost(version, "createJob", `<u:parameter id="QUERY">SELECT * FROM t</u:parameter>`)).text()
    const jobId = /<u:jobId>([^<]+)<\/u:jobId>/.exec(created)?.[1]
    if (jobId === undefined) throw new Error(`createJob failed: ${created}`)
    const phase = await (await soapPost(version, "getPhase", "", jobId)).text()
    if (!phase.includes("<u:phase>PENDING</u:phase>")) throw new Error(`getPhase failed: ${phase}`)
  }

  const restPair = async () => {
    const created = await rest.handler(
      new Request(`${ORIGIN}/uws/jobs`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "QUERY=SELECT+*+FROM+t",
        redirect: "manual"
      })
    )
    await created.arrayBuffer()
    const location = created.headers.get("location")
    if (created.status !== 303 || location === null) throw new Error(`REST create failed: ${created.status}`)
    const phase = await rest.handler(new Request(`${location}/phase`))
    if ((await phase.text()).trim() !== "PENDING") throw new Error("REST phase failed")
  }

  const rate = async (pair: () => Promise<void>, count: number) => {
    const start = performance.now()
    for (let i = 0; i < count; i++) await pair()
    return (count / (performance.now() - start)) * 1000
  }

  const contenders = { soap11: soapPair("1.1"), soap12: soapPair("1.2"), rest: restPair }
  for (const pair of Object.values(contenders)) await rate(pair, Math.ceil(PAIRS / 3)) // warm-up
  const rates: Record<keyof typeof contenders, Array<number>> = { soap11: [], soap12: [], rest: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, pair] of Object.entries(contenders) as Array<[keyof typeof contenders, () => Promise<void>]>) {
      ;(globalThis as { gc?: () => void }).gc?.()
      rates[name].push(await rate(pair, PAIRS))
    }
  }
  await soap.dispose()
  await rest.dispose()
  await close()

  const soap11 = median(rates.soap11)
  const soap12 = median(rates.soap12)
  const restRate = median(rates.rest)
  return {
    title: `SOAP binding: createJob + getPhase pairs, in-process web handlers (median of ${ROUNDS} alternating rounds of ${PAIRS})`,
    figures: [
      { name: "SOAP 1.1 createJob + getPhase", value: Math.round(soap11), unit: "pairs/s", target: "ratio ≥ 0.6", baseline: "REST POST /jobs + GET {job}/phase" },
      { name: "SOAP 1.2 createJob + getPhase", value: Math.round(soap12), unit: "pairs/s", target: "ratio ≥ 0.6", baseline: "REST POST /jobs + GET {job}/phase" },
      { name: "REST POST /jobs + GET {job}/phase", value: Math.round(restRate), unit: "pairs/s" }
    ]
  }
}

export default bench
