/**
 * The space application (issue 17, UWS v0.3 §3.3) driven by real clients against the demo:
 * zeep holds the lease (create, extend, clamp, read the identifier, destroy), python requests
 * puts and gets the files, a second owner from 127.0.0.2 is refused, and a 3-second lease
 * lapses and takes its files with it. Fails, never skips, when python3-zeep is missing.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { runProcess } from "./support.js"

const PYTHON = "/usr/bin/python3"
const script = fileURLToPath(new URL("./space/lease.py", import.meta.url))

const run = (args: ReadonlyArray<string>) => runProcess(PYTHON, [script, ...args])

describe("space: a lease on storage through zeep and requests", () => {
  let demo: Demo
  let dataDir: string
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "space-system-"))
    demo = await startDemo({ port: 0, dataDir })
  })
  afterAll(async () => {
    await demo?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it("create, extend, identify, put/get, refuse another owner, destroy; a lapsed lease deletes its space", async () => {
    if (!(existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import zeep, lxml, requests"]).status === 0)) {
      throw new Error("python3-zeep for /usr/bin/python3 is missing; this suite does not skip. Install it with: apt-get install -y python3-zeep")
    }
    // 127.0.0.1, not localhost: the second owner binds 127.0.0.2, an IPv4 address.
    const base = demo.url.replace("localhost", "127.0.0.1")
    const result = await run([`${base}/soap/space?wsdl`, join(dataDir, "spaces")])
    expect(result.status, result.stderr).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.phase).toBe("COMPLETED")
    expect(out.results).toHaveLength(1)
    expect(out.results[0].id).toBe("space")
    expect(out.results[0].href).toMatch(/^vos:\/\/uws-kit\.demo!space\/[A-Za-z0-9_-]+$/)
    expect(out.folderBefore).toBe(true)
    expect(Math.abs(Date.parse(out.extendSet) - Date.parse(out.extendAsked))).toBeLessThan(1)
    expect(out.clampedSeconds).toBe(7 * 86_400)
    expect(out.put).toBe(201)
    expect(out.list).toBe("notes.txt\n")
    expect(out.get).toEqual({ status: 200, text: "kept while the lease runs" })
    expect(out.traversal).toBe(400)
    expect(out.other).toEqual({ get: 403, put: 403, delete: 403, list: 403 })
    expect(out.afterOther).toBe("kept while the lease runs")
    expect(out.destroyed).toBe(true)
    expect(out.afterDestroy).toBe(404)
    expect(out.folderAfterDestroy).toBe(false)
    expect(out.shortPut).toBe(201)
    expect(out.shortFolderBefore).toBe(true)
    expect(out.shortAfterLease).toBe(404)
    expect(out.shortFolderAfter).toBe(false)
  })
})
