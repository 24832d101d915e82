/**
 * The CEA example (examples/cea) driven by real clients against the demo: the README's curl
 * session run verbatim with bash and curl, the README's Python session (requests) run verbatim,
 * and the documents checked against the repo's schemas with xmllint (the published application
 * list against applications.xsd, the session's job descriptions against cea-jdl.xsd).
 */
import { spawnSync } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { PYTHON, repoRoot, requireTool, requireXmllint, runProcess } from "./support.js"

let demo: Demo
let dataDir: string
let work: string

const readme = await readFile(join(repoRoot, "examples/cea/README.md"), "utf8")
const block = (marker: string, lang: string): string => {
  const m = new RegExp(`<!-- ${marker} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (m === null) throw new Error(`examples/cea/README.md has no ${lang} block after <!-- ${marker} -->`)
  return m[1]!
}

const run = (cmd: string, args: ReadonlyArray<string>, env: Record<string, string>, cwd: string) => runProcess(cmd, args, { env, cwd, timeoutMs: 100_000 })

const xmllint = (schema: string, file: string) => spawnSync("xmllint", ["--noout", "--schema", join(repoRoot, "examples/cea", schema), file], { encoding: "utf8" })

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "uws-cea-system-"))
  work = await mkdtemp(join(tmpdir(), "uws-cea-session-"))
  demo = await startDemo({ port: 0, host: "127.0.0.1", dataDir })
})

afterAll(async () => {
  await demo?.close()
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  if (work !== undefined) await rm(work, { recursive: true, force: true })
})

describe("the CEA example with real clients", () => {
  it("runs the README's curl session verbatim", async () => {
    requireTool("curl", () => spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0, "apt-get install -y curl")
    requireTool("gzip", () => spawnSync("gzip", ["--version"], { stdio: "ignore" }).status === 0, "apt-get install -y gzip")
    const session = block("checked session: test/system/Cea.test.ts", "sh")
    const out = await run("bash", ["-c", session], { UWS: demo.url }, work)
    expect(out.stderr).toBe("")
    expect(out.status).toBe(0)
    expect(out.stdout).toContain(`<applications xmlns="urn:uws-kit:cea:1">`)
    expect(out.stdout).toContain("COMPLETED")
    // The gunzipped schema the server fetched from itself.
    expect(out.stdout).toContain(`<!-- The job description language of the uws-kit CEA example`)
    expect(JSON.parse(out.stdout.slice(out.stdout.indexOf(`{\n  "columns"`), out.stdout.indexOf("\n}\n") + 2))).toEqual({
      columns: [
        { column: "ra", count: 2, min: 10.5, max: 20.5, mean: 15.5 },
        { column: "mag", count: 2, min: 12, max: 14, mean: 13 }
      ]
    })
    expect(out.stdout).toMatch(/^303 http:\/\/localhost:\d+\/uws\/cea\/jobs\/\S+$/m)
    expect(out.stdout).toContain(`There is no application "rm" here; this service runs gzip, votable-stats.\n (400)`)
  })

  it("validates the session's job descriptions and the application list against the repo's schemas", async () => {
    requireXmllint()
    for (const file of ["gzip-job.xml", "stats-job.xml"]) {
      const r = xmllint("cea-jdl.xsd", join(work, file))
      expect(r.stderr.trim()).toBe(`${join(work, file)} validates`)
    }
    const list = join(work, "applications.xml")
    await writeFile(list, await (await fetch(`${demo.url}/uws/cea/applications?format=xml`)).text())
    const r = xmllint("applications.xsd", list)
    expect(r.status).toBe(0)
    expect(r.stderr.trim()).toBe(`${list} validates`)
  })

  it("runs the README's Python session verbatim", async () => {
    requireTool(
      "requests for /usr/bin/python3 (Debian python3-requests)",
      () => spawnSync(PYTHON, ["-c", "import requests"], { stdio: "ignore" }).status === 0,
      "apt-get install -y python3-requests"
    )
    const script = await readFile(join(repoRoot, "test/system/cea/client.py"), "utf8")
    expect(block("checked: test/system/cea/client.py", "python")).toBe(script.trimEnd())
    const out = await run(PYTHON, [join(repoRoot, "test/system/cea/client.py"), demo.url], {}, work)
    expect(out.status, out.stderr).toBe(0)
    expect(out.stdout).toMatch(/\/uws\/cea\/jobs\/\S+ COMPLETED/)
    expect(out.stdout).toMatch(/\d+ bytes of gzip, magic 1f8b/)
  })
})
