/**
 * Shared helpers of the system suites: checks that the Debian tools they drive are installed
 * (failing with the command that installs them), a recording HTTP proxy that keeps every UWS
 * XML document the demo sends, and schema validation with xmllint against the vendored XSDs.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { chromium, type Browser } from "playwright-core"

export const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..")
export const artifacts = join(repoRoot, "test/artifacts")
const fixtures = join(repoRoot, "test/fixtures/ivoa")
export const UWS_XSD = join(fixtures, "UWS-v1.1.xsd")
export const XML_CATALOG = join(fixtures, "catalog.xml")
export const PYTHON = "/usr/bin/python3"
export const CHROMIUM = "/usr/bin/chromium"

/** Throws (failing the suite, never skipping it) when a system dependency is missing. */
export const requireTool = (what: string, check: () => boolean, install: string): void => {
  if (!check()) {
    throw new Error(`${what} is missing; this suite needs it and does not skip. Install it with: ${install}`)
  }
}

export const requirePyvo = () =>
  requireTool(
    "pyvo for /usr/bin/python3 (Debian python3-pyvo)",
    () => existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import pyvo"], { stdio: "ignore" }).status === 0,
    "apt-get install -y python3-pyvo"
  )

export const requireXmllint = () =>
  requireTool(
    "xmllint (Debian libxml2-utils)",
    () => spawnSync("xmllint", ["--version"], { stdio: "ignore" }).status === 0,
    "apt-get install -y libxml2-utils"
  )

export const requireChromium = () =>
  requireTool("Chromium at /usr/bin/chromium (Debian chromium)", () => existsSync(CHROMIUM), "apt-get install -y chromium")

/**
 * Debian's Chromium, headless, as root, with the flags that keep it off this machine's closed
 * network (without them it opens many refused connections at every start).
 */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
  })

export const ensureArtifacts = (): string => {
  mkdirSync(artifacts, { recursive: true })
  return artifacts
}

// ---- recording proxy ---------------------------------------------------------------------

export interface Recorded {
  readonly method: string
  readonly url: string
  /** The request's Accept header ("" when none). */
  readonly accept: string
  readonly status: number
  readonly contentType: string
  readonly body: string
}

export interface Recorder {
  /** The proxy's root URL (send clients here instead of to the demo). */
  readonly url: string
  readonly records: Array<Recorded>
  /** The UWS XML documents recorded (root element in the UWS namespace). */
  readonly uwsDocuments: () => ReadonlyArray<Recorded>
  readonly close: () => Promise<void>
}

const UWS_ROOT = /<(?:[\w.-]+:)?(job|jobs|results|parameters)\b[^>]*xmlns(?::[\w.-]+)?="http:\/\/www\.ivoa\.net\/xml\/UWS\/v1\.0"/

/**
 * A pass-through proxy in front of `target` that records every response. The `Host` header is
 * passed on unchanged, so the URLs the service writes point back at the proxy.
 */
export const recordingProxy = async (target: string): Promise<Recorder> => {
  const t = new URL(target)
  const records: Array<Recorded> = []
  const server: Server = createServer((req, res) => {
    const upstream = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const chunks: Array<Buffer> = []
        up.on("data", (c: Buffer) => chunks.push(c))
        up.on("end", () => {
          const body = Buffer.concat(chunks)
          records.push({
            method: req.method ?? "GET",
            url: req.url ?? "/",
            accept: String(req.headers.accept ?? ""),
            status: up.statusCode ?? 0,
            contentType: String(up.headers["content-type"] ?? ""),
            body: body.toString("utf8")
          })
        })
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      }
    )
    upstream.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" })
      res.end(`proxy: ${e.message}`)
    })
    req.pipe(upstream)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    uwsDocuments: () => records.filter((r) => r.contentType.includes("xml") && UWS_ROOT.test(r.body)),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      })
  }
}

// ---- schema validation ---------------------------------------------------------------------

export interface Validation {
  readonly name: string
  readonly valid: boolean
  readonly errors: string
}

/**
 * Validates documents against UWS-v1.1.xsd with xmllint (offline: the xlink import resolves
 * through the vendored catalog). One xmllint run for all of them.
 */
export const validateUws = (documents: ReadonlyArray<{ readonly name: string; readonly xml: string }>): ReadonlyArray<Validation> => {
  if (documents.length === 0) return []
  const dir = mkdtempSync(join(tmpdir(), "uws-xsd-"))
  try {
    const files = documents.map((d, i) => {
      const file = join(dir, `${String(i).padStart(4, "0")}.xml`)
      writeFileSync(file, d.xml)
      return file
    })
    const run = spawnSync("xmllint", ["--noout", "--nonet", "--schema", UWS_XSD, ...files], {
      encoding: "utf8",
      env: { ...process.env, XML_CATALOG_FILES: XML_CATALOG },
      maxBuffer: 64 * 1024 * 1024
    })
    if (run.error !== undefined) throw run.error
    const stderr = run.stderr
    if (/failed to compile|Failed to locate a schema/.test(stderr)) throw new Error(`The schema did not load:\n${stderr}`)
    return documents.map((d, i) => {
      const file = files[i]!
      const lines = stderr.split("\n").filter((l) => l.startsWith(file))
      const valid = lines.some((l) => l === `${file} validates`)
      return { name: d.name, valid, errors: lines.filter((l) => l !== `${file} validates`).join("\n") }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** What a finished program printed, and how it ended. */
export interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a program (Python without warnings or bytecode files) and collects its output, killing it
 * after `timeoutMs`. Asynchronous on purpose: the demo it talks to runs in this process, so
 * blocking the event loop would deadlock.
 */
export const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly input?: string; readonly env?: Readonly<Record<string, string>>; readonly cwd?: string; readonly timeoutMs?: number } = {}
): Promise<Ran> =>
  new Promise((resolvePromise, reject) => {
    const timeoutMs = options.timeoutMs ?? 110_000
    const child = spawn(command, args, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: { ...process.env, PYTHONWARNINGS: "ignore", PYTHONDONTWRITEBYTECODE: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on("close", (status) => {
      clearTimeout(timer)
      resolvePromise({ status, stdout, stderr })
    })
    child.stdin.end(options.input ?? "")
  })

/** Runs a Python script of test/system/pyvo with Debian's python3 (see `runProcess`). */
export const runPython = (script: string, args: ReadonlyArray<string>, timeoutMs = 110_000): Promise<Ran> =>
  runProcess(PYTHON, [join(repoRoot, "test/system/pyvo", script), ...args], { timeoutMs })
