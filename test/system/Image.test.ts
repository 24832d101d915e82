/**
 * The image service (examples/image) end to end with real clients: the README's curl session and
 * Python client session run exactly as written (their printed output compared with the README's),
 * and test/system/image/check.py opens every image with astropy (FITS and WCS: the image centre
 * is POS within a pixel), parses `table` with astropy.io.votable and follows its access
 * references. The client session downloads the first image while the job is EXECUTING, then
 * destroys the job.
 *
 * Needs curl and Debian's python3-astropy; fails (does not skip) without them.
 */
import { execFile, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { PYTHON, repoRoot, requireTool, runPython } from "./support.js"

const readme = readFileSync(join(repoRoot, "examples/image/README.md"), "utf8")
const block = (name: string): string => {
  const found = new RegExp(`<!-- checked: ${name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (found === null) throw new Error(`examples/image/README.md has no block marked "checked: ${name}"`)
  return found[1]!
}
const README_BASE = "http://localhost:8080"

let demo: Demo
let work: string

const needs = () => {
  requireTool("curl (Debian curl)", () => spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0, "apt-get install -y curl")
  requireTool(
    "astropy for /usr/bin/python3 (Debian python3-astropy)",
    () => spawnSync(PYTHON, ["-c", "import astropy.io.fits, astropy.wcs, astropy.io.votable, requests"], { stdio: "ignore" }).status === 0,
    "apt-get install -y python3-astropy"
  )
}

// Asynchronous on purpose: the demo answers from this very process.
const bash = (script: string) =>
  new Promise<string>((resolve, reject) =>
    execFile("bash", ["-e", "-c", script], { cwd: work, encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${script}\nfailed: ${error.message}\n${stderr}`))
    )
  )

// The scripts live in test/system/image; runPython starts from test/system/pyvo.
const python = async (script: string) => {
  const run = await runPython(`../image/${script}`, [`${demo.url}/uws/image`])
  if (run.status !== 0) throw new Error(`${script} failed (exit ${run.status}):\n${run.stderr}\n${run.stdout}`)
  return run.stdout
}

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  work = mkdtempSync(join(tmpdir(), "uws-image-"))
})

afterAll(async () => {
  await demo?.close()
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

describe("the image service with real clients", () => {
  it("runs the README's curl session as written: the first image while EXECUTING, then DELETE", async () => {
    needs()
    const out = await bash(block("curl session").replaceAll(README_BASE, demo.url))
    expect(out.trimEnd()).toBe(block("curl output"))
    expect(readFileSync(join(work, "preview.fits")).length % 2880).toBe(0)
  })

  it("runs the README's Python client session as written (the file it shows)", async () => {
    needs()
    expect(block("test/system/image/client.py")).toBe(readFileSync(join(repoRoot, "test/system/image/client.py"), "utf8").trimEnd())
    expect((await python("client.py")).trimEnd()).toBe(block("client output"))
  })

  it("astropy opens every image, finds POS at its centre, and reads the SIAP table", async () => {
    needs()
    const summary = JSON.parse(await python("check.py")) as {
      results: Array<string>
      rows: number
      images: Array<{ id: string; shape: [number, number]; offPixels?: number }>
      offSky: { phase: string; results: Array<string>; rows: number }
      bad: { status: number; message: string }
    }
    expect(summary.results).toEqual(["bin1.fits", "bin1.png", "bin2.fits", "bin2.png", "bin4.fits", "bin4.png", "table"])
    expect(summary.rows).toBe(6)
    expect(summary.images.map((i) => [i.id, i.shape])).toEqual([
      ["bin4.fits", [50, 25]],
      ["bin4.png", [50, 25]],
      ["bin2.fits", [100, 50]],
      ["bin2.png", [100, 50]],
      ["bin1.fits", [200, 100]],
      ["bin1.png", [200, 100]]
    ])
    for (const image of summary.images.filter((i) => i.id.endsWith(".fits"))) expect(image.offPixels).toBeLessThan(1e-6)
    expect(summary.offSky).toEqual({ phase: "COMPLETED", results: ["table"], rows: 0 })
    expect(summary.bad.status).toBe(400)
    expect(summary.bad.message).toMatch(/POS must be "ra,dec"/)
  })
})
