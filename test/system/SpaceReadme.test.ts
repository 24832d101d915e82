/**
 * examples/space/README.md's sessions run verbatim against the demo: the curl session (bash,
 * curl) and the zeep session (python3-zeep), with only the demo's address put in place of
 * 127.0.0.1:8080; their output must be what the README shows (the space id and the times
 * written as <id> and <time>). Fails, never skips, without curl or python3-zeep.
 */
import { spawnSync } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { runProcess } from "./support.js"

const readmePath = fileURLToPath(new URL("../../examples/space/README.md", import.meta.url))

const block = (readme: string, marker: string) => {
  const found = new RegExp(`<!-- ${marker} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (found === null) throw new Error(`examples/space/README.md has no block marked ${marker}`)
  return found[1]!
}

const run = (command: string, args: ReadonlyArray<string>, input: string) => runProcess(command, args, { input })

describe("examples/space/README.md sessions", () => {
  let demo: Demo
  let dataDir: string
  let readme: string
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "space-readme-"))
    demo = await startDemo({ port: 0, dataDir })
    readme = await readFile(readmePath, "utf8")
  })
  afterAll(async () => {
    await demo?.close()
    await rm(dataDir, { recursive: true, force: true })
  })
  const here = () => demo.url.replace("localhost", "127.0.0.1")

  it("the curl session prints what the README shows", async () => {
    if (spawnSync("curl", ["--version"]).status !== 0) throw new Error("curl is missing; install it with: apt-get install -y curl")
    const session = block(readme, "session: curl").replaceAll("http://127.0.0.1:8080", here())
    const out = await run("bash", ["-euo", "pipefail"], session)
    expect(out.status, out.stderr).toBe(0)
    const id = /space\/([A-Za-z0-9_-]+)/.exec(out.stdout)?.[1] ?? "(none)"
    const shown = out.stdout.replaceAll(id, "<id>").replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")
    expect(shown.trimEnd()).toBe(block(readme, "output: curl"))
  })

  it("the zeep session prints what the README shows", async () => {
    if (spawnSync("/usr/bin/python3", ["-c", "import zeep, requests"]).status !== 0) {
      throw new Error("python3-zeep is missing; install it with: apt-get install -y python3-zeep")
    }
    const session = block(readme, "session: python").replaceAll("http://127.0.0.1:8080", here())
    const out = await run("/usr/bin/python3", ["-"], session)
    expect(out.status, out.stderr).toBe(0)
    expect(out.stdout.trimEnd()).toBe(block(readme, "output: python"))
  })
})
