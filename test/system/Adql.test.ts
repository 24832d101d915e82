/**
 * The demo's ADQL service (examples/adql) with real clients: pyvo (Debian python3-pyvo, run with
 * /usr/bin/python3) runs queries asynchronously and synchronously, reads the results by name and
 * pages through the cursor, and gets DALQueryError for a query outside the subset; the README's
 * curl session and pyvo session run verbatim (only the host changed).
 */
import { spawnSync } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Config from "../../examples/config.js"
import { startDemo, type Demo } from "../../examples/server.js"
import { PYTHON, repoRoot, requirePyvo, requireTool, runProcess } from "./support.js"

let demo: Demo
let dataDir: string

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "adql-system-"))
  demo = await startDemo({ port: 0, host: "127.0.0.1", dataDir })
})

afterAll(async () => {
  await demo?.close()
  await rm(dataDir, { recursive: true, force: true })
})

const run = (command: string, args: ReadonlyArray<string>, input?: string) => runProcess(command, args, input === undefined ? {} : { input })

/** The README's code block after the `checked` marker in the given language, with the demo's host. */
const readmeBlock = async (language: string): Promise<string> => {
  const readme = await readFile(path.join(repoRoot, "examples/adql/README.md"), "utf8")
  const block = new RegExp("<!-- checked: test/system/Adql.test.ts runs this block -->\\n```" + language + "\\n([\\s\\S]*?)\\n```").exec(readme)
  if (block === null) throw new Error(`no checked ${language} block in examples/adql/README.md`)
  expect(block[1]).toContain("http://localhost:8080")
  return block[1]!.replaceAll("http://localhost:8080", demo.url.replace("localhost", "127.0.0.1"))
}

describe("the ADQL service with real clients", () => {
  it("pyvo: run_async and run_sync give the rows, results read by name, the cursor's pages make the table, errors are DALQueryError", async () => {
    requirePyvo()
    const session = await run(PYTHON, [path.join(repoRoot, "test/system/adql/session.py"), demo.url.replace("localhost", "127.0.0.1")])
    if (session.status !== 0) throw new Error(`session.py failed (exit ${session.status}):\n${session.stderr}\n${session.stdout}`)
    const seen = JSON.parse(session.stdout) as Record<string, any>
    expect(seen["async"].columns).toEqual(["id", "ra", "dec", "mag"])
    expect(seen["async"].ids).toHaveLength(10)
    expect(seen["async"].units).toEqual({ ra: "deg", dec: "deg", mag: "mag" })
    const mags = seen["async"].mags as Array<number>
    expect(mags.every((m) => m < 9)).toBe(true)
    expect([...mags].sort((a, b) => a - b)).toEqual(mags)
    expect(seen["sync_ids"]).toEqual(seen["async"].ids)
    expect(seen["results"]).toEqual(["table", "header", "cursor"])
    expect(seen["result_uri"]).toMatch(/\/uws\/adql\/async\/[^/]+\/results\/table$/)
    expect(seen["whole"]).toHaveLength(25)
    expect((seen["pages"] as Array<Array<number>>).map((p) => p.length)).toEqual([10, 10, 5])
    expect((seen["pages"] as Array<Array<number>>).flat()).toEqual(seen["whole"])
    expect(seen["async_error"]).toBe("DALQueryError")
    expect(seen["bad_phase"]).toBe("ERROR")
    // The TAP layout's /error is a DALI VOTable.
    expect(seen["bad_message"]).toContain('<INFO name="QUERY_STATUS" value="ERROR">ADQL error at line 1, column 8: no column "nope" in stars; its columns are id, ra, dec, mag, bv, plx</INFO>')
    expect(seen["sync_error"]).toContain('ADQL error at line 1, column 37: no column "nope"')
  })

  it("pyvo finds the service where the configuration put it (applications.adql.path)", async () => {
    requirePyvo()
    const configured = Config.load({ env: { UWS_ADQL_PATH: "/svc/tap", PORT: "0", UWS_LOG_FORMAT: "off", ...Object.fromEntries(Config.applicationNames.filter((a) => a !== "adql").map((a) => [`UWS_${a.toUpperCase()}_ENABLED`, "0"])) } }, dataDir)
    if (configured._tag === "Left") throw new Error(configured.left.join("\n"))
    // In memory (no data folder): its catalogue is the temporary folder's, written once.
    const { dataDir: _, ...options } = Config.toDemoOptions(configured.right.config, dataDir)
    const moved = await startDemo(options)
    try {
      const session = await run(PYTHON, [path.join(repoRoot, "test/system/adql/session.py"), moved.url.replace("localhost", "127.0.0.1"), "/svc/tap"])
      if (session.status !== 0) throw new Error(`session.py failed (exit ${session.status}):\n${session.stderr}\n${session.stdout}`)
      const seen = JSON.parse(session.stdout) as Record<string, any>
      expect(seen["async"].ids).toHaveLength(10)
      expect(seen["sync_ids"]).toEqual(seen["async"].ids)
      expect(seen["result_uri"]).toMatch(/\/svc\/tap\/async\/[^/]+\/results\/table$/)
      expect((seen["pages"] as Array<Array<number>>).flat()).toEqual(seen["whole"])
      expect(seen["async_error"]).toBe("DALQueryError")
      expect((await fetch(`${moved.url}/uws/adql/async`)).status).toBe(404)
    } finally {
      await moved.close()
    }
  })

  it("runs the README's curl session verbatim", async () => {
    requireTool("curl", () => spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0, "apt-get install -y curl")
    const session = await run("bash", ["-e"], await readmeBlock("sh"))
    expect(session.stderr).toBe("")
    expect(session.status).toBe(0)
    const out = session.stdout
    expect(out).toMatch(/^COMPLETED\n/)
    expect(out).toContain(`<FIELD name="mag" datatype="double" unit="mag"`)
    expect(out).toMatch(/<INFO name="LAST" value="3">rows 1 to 3<\/INFO>\n  <INFO name="next" value="[^"]*\/results\/cursor\?FIRST=4&amp;LAST=6">/)
    expect(out).toContain("\n250\n")
    expect(out).toContain("ADQL error at line 1, column 32: expected one of -, a number, a name, CONTAINS, (, found the end of the query\n")
    expect(out.split("<VOTABLE").pop()!.match(/<TR>/g)).toHaveLength(3)
  })

  it("runs the README's pyvo session verbatim", async () => {
    requirePyvo()
    const session = await run(PYTHON, ["-"], await readmeBlock("python"))
    if (session.status !== 0) throw new Error(`the README's pyvo session failed (exit ${session.status}):\n${session.stderr}\n${session.stdout}`)
    expect(session.stdout).toMatch(/^\s*id\s+ra\s+dec\s+mag/)
    expect(session.stdout).toContain("refused: Query Error")
  })
})
