/**
 * A Java UWS client against the demo, as TOPCAT, STILTS and the Java UWS libraries talk to a
 * service: plain HttpURLConnection with its DEFAULT request headers (its Accept ranks text/html
 * first), and every document parsed with the JDK's namespace-aware XML parser. The program
 * (test/system/java/UwsClient.java) is compiled with javac and run against an in-process demo.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startDemo, type Demo } from "../../examples/server.js"
import { recordingProxy, repoRoot, requireTool, type Recorder } from "./support.js"

const requireJdk = () =>
  requireTool(
    "a Java compiler (javac, Debian default-jdk-headless)",
    () => spawnSync("javac", ["-version"], { stdio: "ignore" }).status === 0 && spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0,
    "apt-get install -y default-jdk-headless"
  )

let demo: Demo
let proxy: Recorder
let classes: string

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
  proxy = await recordingProxy(demo.url.replace("localhost", "127.0.0.1"))
  classes = mkdtempSync(join(tmpdir(), "uws-java-"))
})

afterAll(async () => {
  await proxy?.close()
  await demo?.close()
  if (classes !== undefined) rmSync(classes, { recursive: true, force: true })
})

/** Runs a command without blocking this process (the demo answers from it). */
const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

describe("a Java client with HttpURLConnection's default headers", () => {
  it("creates, runs, waits for (WAIT) and reads a job and its results, every document XML it can parse", async () => {
    requireJdk()
    const compiled = await run("javac", ["-d", classes, join(repoRoot, "test/system/java/UwsClient.java")])
    expect(compiled.status, compiled.stderr).toBe(0)
    const client = await run("java", ["-cp", classes, "UwsClient", `${proxy.url}/uws/sleep/jobs`])
    expect(client.status, `${client.stderr}\n${client.stdout}`).toBe(0)
    const seen = JSON.parse(client.stdout) as { waits: Array<string>; result: string; resultRoot: string; resultType: string; documents: number }
    expect(seen.result).toBe("result")
    expect(seen.resultRoot).toBe("VOTABLE")
    expect(seen.waits.at(-1)).toBe("COMPLETED")
    // The job reports progress every second; each blocking GET still answers a new phase.
    for (let i = 1; i < seen.waits.length; i++) expect(seen.waits[i]).not.toBe(seen.waits[i - 1])
    // What Java sent and got, as the server saw it: its default Accept, and never HTML.
    const jobRequests = proxy.records.filter((r) => r.url.startsWith("/uws/sleep/jobs"))
    expect(jobRequests.length).toBeGreaterThanOrEqual(seen.documents)
    // JDK 17: "text/html, image/gif, image/jpeg, */*; q=0.2"; JDK 8: "… *; q=.2, */*; q=.2".
    const accepts = [...new Set(jobRequests.map((r) => r.accept))]
    expect(accepts).toHaveLength(1)
    expect(accepts[0]).toMatch(/^text\/html, image\/gif, image\/jpeg, (\*; q=\.2, )?\*\/\*; q=0?\.2$/)
    expect(jobRequests.filter((r) => r.contentType.startsWith("text/html"))).toEqual([])
  })
})
