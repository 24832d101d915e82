/**
 * RFC 3161 tokens: the archive's check of a TSA answer (`Rfc3161.verifyResponse`, pkijs: imprint,
 * nonce, CMS signature, chain to the trust anchor, EKU, expiry) against `openssl ts -verify` of
 * the same token as a process (the baseline, in the same run), and a whole stamp (request, POST to
 * the loopback TSA of the system tests, which runs `openssl ts -reply` per request, then the
 * check). Medians of ROUNDS; needs `openssl`. Nothing is asserted.
 */
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Rfc3161, TsaClient } from "@uws-kit/adapter-archive"
import { Either } from "effect"
import { startLocalTsa } from "../test/system/localTsa.js"
import type { Benchmark } from "./report.js"

const ROUNDS = Number(process.env["UWS_BENCH_TS_ROUNDS"] ?? 21)
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const bench: Benchmark = async () => {
  const tsa = await startLocalTsa({ port: 21790, days: 30 })
  try {
    const anchors = Either.getOrThrow(Rfc3161.certificatesOfPem(readFileSync(tsa.caFile, "utf8")))
    const data = new Uint8Array(8192).fill(7)
    const stamp = async () => {
      const request = Rfc3161.request(data)
      const answer = Either.getOrThrow(await TsaClient.post(tsa.url, request.der, { timeout: 10_000 }))
      return { request, answer }
    }
    const { request, answer } = await stamp()
    const verify = () => Rfc3161.verifyResponse(answer, { request, data, trustAnchors: anchors, now: Date.now() })
    if (Either.isLeft(await verify())) throw new Error("the token does not verify")
    const token = Either.getOrThrow(await verify()).token
    writeFileSync(join(tsa.dir, "bench.tst"), token)
    writeFileSync(join(tsa.dir, "bench.data"), data)

    const inProcess: Array<number> = []
    const openssl: Array<number> = []
    const whole: Array<number> = []
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now()
      await verify()
      inProcess.push(performance.now() - t)
      t = performance.now()
      const out = spawnSync("openssl", ["ts", "-verify", "-token_in", "-in", join(tsa.dir, "bench.tst"), "-data", join(tsa.dir, "bench.data"), "-CAfile", tsa.caFile], { encoding: "utf8" })
      if (!out.stdout.includes("Verification: OK")) throw new Error(`openssl: ${out.stdout}${out.stderr}`)
      openssl.push(performance.now() - t)
      t = performance.now()
      const s = await stamp()
      await Rfc3161.verifyResponse(s.answer, { request: s.request, data, trustAnchors: anchors, now: Date.now() })
      whole.push(performance.now() - t)
    }
    return {
      title: `RFC 3161 tokens (ECDSA P-256 TSA, 8 KiB data, median of ${ROUNDS})`,
      figures: [
        { name: "verifyResponse (pkijs, in process)", value: median(inProcess), unit: "ms" },
        { name: "openssl ts -verify (process, baseline)", value: median(openssl), unit: "ms" },
        { name: "verifyResponse / openssl ts -verify", value: median(inProcess) / median(openssl), unit: "×" },
        { name: "whole stamp against the loopback TSA (openssl ts -reply per request)", value: median(whole), unit: "ms" }
      ]
    }
  } finally {
    await tsa.close()
  }
}
export default bench
