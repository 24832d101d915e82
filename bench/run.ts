/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line) one after
 * the other and prints their figures. Nothing is asserted.
 */
import { readdirSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import { join } from "node:path"
import { print, type Benchmark } from "./report.js"

const dir = fileURLToPath(new URL(".", import.meta.url))
const wanted = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort()
console.log(`uws-kit benchmarks — node ${process.version}, ${new Date().toISOString()}`)
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: Benchmark }
  print(await mod.default())
}
