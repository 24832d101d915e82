/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line)
 * `UWS_BENCH_REPEATS` times (default 3), one benchmark's repeats after the other, and prints
 * each figure's median, min and max over the repeats and its ratio to its same-run baseline
 * (bench/report.ts). Nothing is asserted.
 */
import { readdirSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import { join } from "node:path"
import { print, repeats, type Benchmark, type BenchReport } from "./report.js"

const dir = fileURLToPath(new URL(".", import.meta.url))
const wanted = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort()
const n = repeats()
console.log(`uws-kit benchmarks — node ${process.version}, ${new Date().toISOString()}, ${n} repeat${n === 1 ? "" : "s"} each (UWS_BENCH_REPEATS)`)
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: Benchmark }
  const reports: Array<BenchReport> = []
  for (let i = 0; i < n; i++) {
    reports.push(await mod.default())
    if (n > 1) console.log(`  (${file}: repeat ${i + 1} of ${n} done)`)
  }
  print(reports)
}
