/**
 * The configuration of `npm start` (examples/config.ts, issue 15): each kind of mistake is
 * reported with its key path and what was expected (wrong type, unknown key with a suggestion,
 * out of range, JSON syntax with line and column, a bad environment value with its name); the
 * environment wins over the file; `--print-config` prints a file that loads back to itself, and
 * a mistake exits 2 from the real process. Then a few keys end to end through `startDemo`: the
 * port, a policy limit, an application's path, allowed origins, the public base URL and trusted
 * proxies each change what the server answers.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Either } from "effect"
import fc from "fast-check"
import { propertyRuns } from "@uws-kit/core/testing"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import * as Config from "../examples/config.js"
import { archivePaths, defaultPaths } from "../examples/mount.js"
import { startDemo, type Demo } from "../examples/server.js"

const dir = mkdtempSync(path.join(tmpdir(), "uws-kit-config-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = (text: string) => {
  const f = path.join(dir, `c${n++}.json`)
  writeFileSync(f, text)
  return f
}
const problems = (text: string | undefined, env: Record<string, string> = {}) => {
  const r = Config.load(text === undefined ? { env } : { file: file(text), env }, dir)
  if (Either.isRight(r)) throw new Error(`expected mistakes, got ${JSON.stringify(r.right.config)}`)
  return r.left
}
const config = (text: string | undefined, env: Record<string, string> = {}) => {
  const r = Config.load(text === undefined ? { env } : { file: file(text), env }, dir)
  if (Either.isLeft(r)) throw new Error(r.left.join("\n"))
  return r.right.config
}

describe("mistakes", () => {
  it("a wrong type names the key and what was expected", () => {
    expect(problems(`{"listen":{"port":"8080"}}`)).toEqual(['listen.port: expected number, got "8080"'])
    expect(problems(`{"metrics":"yes"}`)).toEqual(['metrics: expected boolean, got "yes"'])
    expect(problems(`{"logFormat":"text"}`)).toEqual(['logFormat: expected one of "logfmt", "json", "off", got "text"'])
  })

  it("an unknown key is named, with the nearest known key", () => {
    expect(problems(`{"maxWiat":1000}`)).toEqual(['maxWiat: unknown key; did you mean "maxWait"?'])
    expect(problems(`{"policy":{"maxExecutionDuraton":60}}`)).toEqual(['policy.maxExecutionDuraton: unknown key; did you mean "policy.maxExecutionDuration"?'])
    expect(problems(`{"applications":{"echo":{"pth":"/e"}}}`)).toEqual(['applications.echo.pth: unknown key; did you mean "applications.echo.path"?'])
    expect(problems(`{"colour":"blue"}`)).toEqual(["colour: unknown key"])
  })

  it("an out-of-range value says the range", () => {
    expect(problems(`{"listen":{"port":70000}}`)).toEqual(["listen.port: expected a port number 0-65535, got 70000"])
    expect(problems(`{"policy":{"concurrency":0,"maxStoredJobs":-1}}`)).toEqual([
      "policy.concurrency: expected a whole number ≥ 1, got 0",
      "policy.maxStoredJobs: expected a whole number ≥ 0 or null (no limit), got -1"
    ])
    expect(problems(`{"allowedOrigins":["https://portal.example/page"]}`)[0]).toMatch(/^allowedOrigins\.0: expected an origin/)
    expect(problems(`{"trustedProxies":["10.0.0.0/33"]}`)[0]).toMatch(/^trustedProxies\.0: expected an IP address or CIDR block/)
  })

  it("bad JSON is reported with its line and column", () => {
    const [p, ...rest] = problems(`{\n  "listen": {\n    "port": 8080,\n  }\n}`)
    expect(rest).toEqual([])
    expect(p).toMatch(/c\d+\.json:4:3: JSON syntax error: /)
    expect(problems(`[1]`)[0]).toMatch(/expected a JSON object at the top level/)
  })

  it("a bad environment value names the variable", () => {
    expect(problems(undefined, { UWS_MAX_WAIT_MS: "soon" })).toEqual(['UWS_MAX_WAIT_MS (maxWait): expected a whole number, got "soon".'])
    expect(problems(undefined, { UWS_METRICS: "yes" })).toEqual(['UWS_METRICS (metrics): expected 1 (on) or 0 (off), got "yes".'])
    expect(problems(undefined, { UWS_ALLOWED_ORIGINS: "https://ok.example, ftp://x" })[0]).toMatch(/^allowedOrigins\.1 \(from UWS_ALLOWED_ORIGINS\): expected an origin/)
    expect(problems(undefined, { PORT: "99999" })).toEqual(["listen.port (from PORT): expected a port number 0-65535, got 99999"])
  })

  it("every application's path is checked, named by its key or its variable", () => {
    const pathMistake = (key: string, got: string) => `${key}: expected an absolute path of plain segments (e.g. "/uws/echo"), got ${JSON.stringify(got)}`
    for (const [app, field, , variable] of Config.pathKeys) {
      const key = `applications.${app}.${field}`
      for (const bad of ["relative/path", "/trailing/", "/a/../b", "/", "/with space"]) {
        expect(problems(JSON.stringify({ applications: { [app]: { [field]: bad } } }))).toEqual([pathMistake(key, bad)])
      }
      expect(problems(undefined, { [variable]: "tap" })).toEqual([pathMistake(`${key} (from ${variable})`, "tap")])
      expect(problems(JSON.stringify({ applications: { [app]: { [`${field}x`]: "/x" } } }))).toEqual([`${key}x: unknown key; did you mean "${key}"?`])
    }
    expect(problems(undefined, { UWS_IMAGE_ENABLED: "yes" })).toEqual(['UWS_IMAGE_ENABLED (applications.image.enabled): expected 1 (on) or 0 (off), got "yes".'])
    // The archive's paths are the seed's: there is nothing to move.
    expect(problems(`{"applications":{"archive":{"path":"/docs"}}}`)).toEqual(["applications.archive.path: unknown key"])
  })

  it("two services at one path are refused, naming the key that put one there", () => {
    expect(problems(`{"applications":{"adql":{"path":"/uws/echo"}}}`)).toEqual(['applications.adql.path: "/uws/echo" is taken by applications.echo.path'])
    expect(problems(undefined, { UWS_ECHO_PATH: "/uws/adql" })).toEqual(['applications.echo.path (from UWS_ECHO_PATH): "/uws/adql" is taken by applications.adql.path'])
    expect(problems(`{"applications":{"soap":{"path":"/uws"},"echo":{"enabled":false}}}`)).toEqual([
      'applications.soap.path: "/uws" puts its sleep endpoint at /uws/sleep, taken by applications.sleep.path'
    ])
    expect(problems(`{"applications":{"space":{"filesPath":"/api"}}}`)).toEqual(['applications.space.filesPath: "/api" is taken by the archive (its paths are fixed)'])
    expect(problems(`{"applications":{"image":{"path":"/metrics"}}}`)).toEqual(["applications.image.path: \"/metrics\" is taken by the server's own /metrics"])
    // A service left out leaves its path free.
    expect(config(`{"applications":{"space":{"filesPath":"/api"},"archive":{"enabled":false}}}`)).toMatchObject({ applications: { space: { filesPath: "/api" } } })
  })

  it("property: any paths given to the applications are either all distinct mounts or refused by key", () => {
    const pool = ["/uws/echo", "/uws/sleep", "/soap", "/uws", "/uws/adql", "/svc/tap", "/spaces", "/api", "/metrics", "/soap/space", "/x"]
    fc.assert(
      fc.property(
        fc.tuple(...Config.pathKeys.map(() => fc.option(fc.constantFrom(...pool), { nil: undefined }))),
        fc.array(fc.constantFrom(...Config.applicationNames), { maxLength: 3 }),
        (chosen, off) => {
          const applications: Record<string, Record<string, unknown>> = {}
          Config.pathKeys.forEach(([app, field], i) => {
            if (chosen[i] !== undefined) applications[app] = { ...applications[app], [field]: chosen[i] }
          })
          for (const app of off) applications[app] = { ...applications[app], enabled: false }
          const r = Config.load({ file: file(JSON.stringify({ applications })), env: {} }, dir)
          if (Either.isLeft(r)) {
            for (const p of r.left) expect(p).toMatch(/^applications\.[a-z]+\.[a-zA-Z]+: "[^"]+" (is|puts its \w+ endpoint at \S+,) taken by /)
            return
          }
          // Loaded: the mounts it makes are distinct, and none is the server's or the archive's.
          const o = Config.toDemoOptions(r.right.config, dir)
          const on = new Set(o.applications)
          const paths = { ...defaultPaths, ...o.applicationPaths }
          const prefixes = [
            ...Config.pathKeys.filter(([app, , name]) => on.has(app) && name !== "soap").map(([, , name]) => paths[name]),
            ...(on.has("soap") ? [`${paths.soap}/echo`, `${paths.soap}/sleep`] : []),
            ...(on.has("archive") ? archivePaths : []),
            "/health",
            "/ready",
            "/metrics"
          ]
          expect(new Set(prefixes).size).toBe(prefixes.length)
        }
      ),
      { numRuns: propertyRuns(200) }
    )
  })

  it("a named file that is missing is a mistake; the default one missing means the defaults", () => {
    expect(problems(undefined, { UWS_CONFIG: path.join(dir, "absent.json") })[0]).toMatch(/absent\.json: cannot read the configuration file \(ENOENT\)/)
    expect(config(undefined)).toEqual({})
    expect(Config.toDemoOptions({}, dir)).toMatchObject({ host: "127.0.0.1", port: 8080, dataDir: path.join(dir, "data"), maxWait: 55_000 })
  })
})

describe("the example file", () => {
  it("examples/uws-kit.config.example.json is a valid configuration naming every key", () => {
    const example = fileURLToPath(new URL("../examples/uws-kit.config.example.json", import.meta.url))
    const r = Config.load({ file: example, env: {} })
    if (Either.isLeft(r)) throw new Error(r.left.join("\n"))
    const keys = (o: object, at = ""): Array<string> =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === "object" && v !== null && !Array.isArray(v) ? keys(v, `${at}${k}.`) : [`${at}${k}`]))
    // Every key of the schema appears in the example (so the README's table and it stay complete).
    expect(new Set(keys(r.right.config))).toEqual(new Set(Config.allKeys()))
  })
})

describe("precedence", () => {
  it("the environment wins over the file, key by key", () => {
    const text = `{"listen":{"host":"0.0.0.0","port":1000},"policy":{"maxStoredJobs":5,"concurrency":2},"allowedOrigins":["https://a.example"]}`
    expect(config(text)).toMatchObject({ listen: { host: "0.0.0.0", port: 1000 }, policy: { maxStoredJobs: 5 } })
    expect(config(text, { PORT: "2000", UWS_MAX_STORED_JOBS: "none", UWS_ALLOWED_ORIGINS: "https://b.example,https://c.example" })).toEqual({
      listen: { host: "0.0.0.0", port: 2000 },
      policy: { maxStoredJobs: null, concurrency: 2 },
      allowedOrigins: ["https://b.example", "https://c.example"]
    })
  })

  it("property: for any file and environment port, the environment's is used", () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 0, max: 65535 })), fc.option(fc.integer({ min: 0, max: 65535 })), (inFile, inEnv) => {
        const c = config(inFile === null ? "{}" : JSON.stringify({ listen: { port: inFile } }), inEnv === null ? {} : { PORT: String(inEnv) })
        expect(Config.toDemoOptions(c, dir).port).toBe(inEnv ?? inFile ?? 8080)
      }),
      { numRuns: propertyRuns(50) }
    )
  })

  it("property: any text is either a configuration or a list of mistakes, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ policy: v }))), (text) => {
        const r = Config.load({ file: file(text), env: {} }, dir)
        if (Either.isLeft(r)) expect(r.left.length).toBeGreaterThan(0)
      }),
      { numRuns: propertyRuns(100) }
    )
  })

  it("property: a key one letter off is suggested back", () => {
    const keys = ["publicBaseUrl", "databaseUrl", "maxWait", "trustedProxies", "allowedOrigins", "logFormat", "sqliteSynchronous"]
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.nat(), fc.constantFrom("x", "q", ""), (key, at, letter) => {
        const i = at % key.length
        const typo = key.slice(0, i) + letter + key.slice(i + 1)
        fc.pre(typo !== key)
        expect(problems(JSON.stringify({ [typo]: 1 }))).toEqual([`${typo}: unknown key; did you mean "${key}"?`])
      }),
      { numRuns: propertyRuns(50) }
    )
  })
})

describe("--print-config", () => {
  it("prints the effective configuration, which loads back to itself", async () => {
    const out: Array<string> = []
    const f = file(`{"policy":{"maxExecutionDuration":60},"applications":{"cea":{"enabled":false}}}`)
    const c = await Config.fromCommandLine(["node", "server.ts", "--config", f, "--print-config"], { PORT: "9000" }, { out: (s) => out.push(s), err: (s) => out.push(s) }, dir)
    expect(c).toEqual({ _tag: "exit", code: 0 })
    const printed = JSON.parse(out.join("\n"))
    expect(printed).toMatchObject({ listen: { host: "127.0.0.1", port: 9000 }, policy: { maxExecutionDuration: 60 }, maxWait: 55_000, applications: { cea: { enabled: false }, echo: { enabled: true, path: "/uws/echo" } } })
    expect(Config.effective(config(JSON.stringify(printed)), dir)).toEqual(printed)
  })

  it("a mistake in the real process exits 2 with the messages; --print-config exits 0", async () => {
    const script = fileURLToPath(new URL("../examples/server.ts", import.meta.url))
    // The repository's folder: `--import tsx` is resolved from there.
    const root = path.dirname(path.dirname(script))
    const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, ["--conditions=@uws-kit/source", "--import", "tsx", script, ...args], { cwd: root, env: { ...process.env, ...env } })
        let out = ""
        let err = ""
        child.stdout.on("data", (d) => (out += d))
        child.stderr.on("data", (d) => (err += d))
        child.on("close", (code) => resolve({ code, out, err }))
      })
    const bad = await run(["--config", file(`{"listen":{"prot":1}}`)], {})
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('listen.prot: unknown key; did you mean "listen.port"?')
    const printed = await run(["--print-config"], { UWS_MAX_WAIT_MS: "1234" })
    expect(printed.code).toBe(0)
    expect(JSON.parse(printed.out)).toMatchObject({ maxWait: 1234, dataDir: path.join(root, "data") })
  }, 120_000)
})

describe("end to end", () => {
  let demo: Demo | undefined
  afterEach(async () => {
    await demo?.close()
    demo = undefined
  })
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port
        s.close(() => resolve(port))
      })
    })
  const start = async (c: object, env: Record<string, string> = {}) =>
    (demo = await startDemo(Config.toDemoOptions(config(JSON.stringify({ listen: { port: 0 }, dataDir: path.join(dir, `data${n++}`), ...c }), env), dir)))
  const only = (...names: Array<string>) => ({ applications: Object.fromEntries(Config.applicationNames.map((a) => [a, { enabled: names.includes(a) }])) })
  const create = (url: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: "A=1" })

  it("listen.port is the port it listens on (PORT over it)", async () => {
    const port = await freePort()
    await start({ ...only("echo"), listen: { port: 1 } }, { PORT: String(port) })
    expect(new URL(demo!.url).port).toBe(String(port))
    expect((await fetch(`${demo!.url}/`)).status).toBe(200)
  })

  it("a policy limit is applied (maxStoredJobs), and applications off are not mounted", async () => {
    await start({ ...only("echo"), policy: { maxStoredJobs: 1 } })
    expect((await create(`${demo!.url}/uws/echo/jobs`)).status).toBe(303)
    expect((await create(`${demo!.url}/uws/echo/jobs`)).status).not.toBe(303)
    expect((await fetch(`${demo!.url}/uws/sleep/jobs`)).status).toBe(404)
    expect((await fetch(`${demo!.url}/soap/echo`)).status).toBe(404)
  })

  it("an application's path moves it, links included", async () => {
    await start({ ...only("echo"), applications: { ...only("echo").applications, echo: { path: "/svc/echo" } } })
    const created = await create(`${demo!.url}/svc/echo/jobs`)
    expect(created.status).toBe(303)
    expect(new URL(created.headers.get("location")!).pathname).toMatch(/^\/svc\/echo\/jobs\/[^/]+$/)
    expect((await fetch(`${demo!.url}/uws/echo/jobs`)).status).toBe(404)
  })

  // Without a data folder: the ADQL catalogue is the one in the temporary folder, written once.
  const startInMemory = async (c: object, env: Record<string, string> = {}) => {
    const { dataDir: _, ...options } = Config.toDemoOptions(config(JSON.stringify({ listen: { port: 0 }, ...c }), env), dir)
    return (demo = await startDemo(options))
  }
  const form = (url: string, fields: Record<string, string>) => fetch(url, { method: "POST", redirect: "manual", body: new URLSearchParams(fields) })
  const finalPhase = async (job: string) => {
    for (;;) {
      const phase = ((await (await fetch(`${job}?WAIT=30`, { headers: { accept: "application/json" } })).json()) as { phase: string }).phase
      if (!["PENDING", "QUEUED", "EXECUTING"].includes(phase)) return phase
    }
  }
  const pathOf = (href: string) => new URL(href).pathname

  it("applications.adql.path moves the TAP service: its jobs, their links, sync, VOSI and the index; the old path is gone", async () => {
    await startInMemory({ applications: { ...only("adql").applications, adql: { path: "/svc/tap" } } })
    const base = `${demo!.url}/svc/tap`
    const created = await form(`${base}/async`, { LANG: "ADQL", QUERY: "SELECT TOP 2 id, mag FROM stars ORDER BY mag", PHASE: "RUN" })
    expect(created.status).toBe(303)
    const job = created.headers.get("location")!
    expect(pathOf(job)).toMatch(/^\/svc\/tap\/async\/[^/]+$/)
    expect(await finalPhase(job)).toBe("COMPLETED")
    // Every link in the job's document points under the new path, and answers there.
    const xml = await (await fetch(job)).text()
    const links = [...xml.matchAll(/xlink:href="([^"]+)"/g)].map((m) => m[1]!)
    expect(links.length).toBeGreaterThan(0)
    for (const link of links) {
      expect(pathOf(link)).toMatch(/^\/svc\/tap\//)
      expect((await fetch(link)).status, link).toBe(200)
    }
    const listed = await (await fetch(`${base}/jobs`)).text()
    expect([...listed.matchAll(/xlink:href="([^"]+)"/g)].map((m) => pathOf(m[1]!))).toContain(`/svc/tap/jobs/${job.split("/").pop()}`)
    const sync = await fetch(`${base}/sync?${new URLSearchParams({ LANG: "ADQL", QUERY: "SELECT TOP 1 id FROM stars" })}`)
    expect(sync.status).toBe(200)
    expect(await sync.text()).toContain("<VOTABLE")
    const capabilities = await (await fetch(`${base}/capabilities`)).text()
    expect(capabilities).toContain("/svc/tap")
    expect(capabilities).not.toContain("/uws/adql")
    const index = await (await fetch(`${demo!.url}/`)).text()
    expect(index).toContain('href="/svc/tap/jobs"')
    expect(index).toContain('href="/svc/tap/availability"')
    for (const old of ["/uws/adql/jobs", "/uws/adql/async", "/uws/adql/capabilities"]) expect((await fetch(`${demo!.url}${old}`)).status, old).toBe(404)
  })

  it("every other application moves with its paths, its pages, links and files included", async () => {
    await startInMemory({
      applications: {
        echo: { path: "/a/echo" },
        sleep: { path: "/a/sleep" },
        soap: { path: "/ws" },
        cea: { path: "/a/cea" },
        image: { path: "/a/image" },
        space: { path: "/a/space", soapPath: "/ws/space", filesPath: "/a/files" },
        adql: { enabled: false },
        archive: { enabled: false }
      }
    })
    const u = demo!.url
    const index = await (await fetch(`${u}/`)).text()
    const moves = [["/a/echo", "/uws/echo"], ["/a/sleep", "/uws/sleep"], ["/a/cea", "/uws/cea"], ["/a/image", "/uws/image"], ["/a/space", "/uws/space"], ["/ws/echo", "/soap/echo"], ["/ws/sleep", "/soap/sleep"], ["/ws/space", "/soap/space"]]
    for (const [now, was] of moves) {
      expect((await fetch(`${u}${now}/availability`)).status, now).toBe(200)
      expect(await (await fetch(`${u}${now}/capabilities`)).text(), now).toContain(now)
      expect(index, now).toContain(`href="${now}/capabilities"`)
      expect((await fetch(`${u}${was}/availability`)).status, was).toBe(404)
    }
    expect(await (await fetch(`${u}/ws/echo?wsdl`)).text()).toMatch(/location="http:\/\/[^"]+\/ws\/echo"/)
    expect(await (await fetch(`${u}/a/cea/applications`)).text()).toContain('href="/a/cea/jobs"')
    const image = await form(`${u}/a/image/jobs`, { POS: "150.0,2.2", SIZE: "0.1" })
    expect(pathOf(image.headers.get("location")!)).toMatch(/^\/a\/image\/jobs\/[^/]+$/)
    // A space's files are under the moved files path; a CEA job reads them through its vos:// name.
    const space = await form(`${u}/a/space/jobs`, { PHASE: "RUN" })
    expect(pathOf(space.headers.get("location")!)).toMatch(/^\/a\/space\/jobs\/[^/]+$/)
    expect(await finalPhase(space.headers.get("location")!)).toBe("COMPLETED")
    const id = space.headers.get("location")!.split("/").pop()!
    const put = await fetch(`${u}/a/files/${id}/notes.txt`, { method: "PUT", body: "moved files" })
    expect(put.status).toBe(201)
    expect(put.headers.get("location")).toBe(`/a/files/${id}/notes.txt`)
    expect(await (await fetch(`${u}/a/files/${id}/notes.txt`)).text()).toBe("moved files")
    expect((await fetch(`${u}/spaces/${id}/notes.txt`)).status).toBe(404)
    const cea = await form(`${u}/a/cea/jobs`, { application: "gzip", file: `vos://uws-kit.demo!space/${id}/notes.txt`, PHASE: "RUN" })
    expect(pathOf(cea.headers.get("location")!)).toMatch(/^\/a\/cea\/jobs\/[^/]+$/)
    expect(await finalPhase(cea.headers.get("location")!)).toBe("COMPLETED")
  })

  it("startDemo given two services at one path (no configuration to check it) refuses to start", async () => {
    await expect(startDemo({ port: 0, applications: ["echo", "image"], applicationPaths: { image: "/uws/echo" } })).rejects.toThrow("two services are mounted at /uws/echo")
  })

  it("maxWait (UWS_MAX_WAIT_MS) ends a blocking WAIT on every UWS job list the demo starts", async () => {
    await startInMemory({ applications: { archive: { enabled: false }, soap: { enabled: false } } }, { UWS_MAX_WAIT_MS: "200" })
    const lists: ReadonlyArray<readonly [string, Record<string, string>]> = [
      ["/uws/echo", {}],
      ["/uws/sleep", {}],
      ["/uws/adql", { LANG: "ADQL", QUERY: "SELECT TOP 1 id FROM stars" }],
      ["/uws/cea", { application: "gzip", file: "inline text" }],
      ["/uws/image", { POS: "150.0,2.2", SIZE: "0.1" }],
      ["/uws/space", {}]
    ]
    for (const [list, fields] of lists) {
      const created = await form(`${demo!.url}${list}/jobs`, fields)
      expect(created.status, list).toBe(303)
      // A PENDING job changes by no one's hand: only maxWait ends this WAIT (the test's time-out would fail it).
      const waited = await fetch(`${created.headers.get("location")}?WAIT=600`, { headers: { accept: "application/json" } })
      expect(waited.status, list).toBe(200)
      expect(((await waited.json()) as { phase: string }).phase, list).toBe("PENDING")
    }
  })

  it("allowedOrigins lets that site's pages create jobs and no other, on every job list the demo mounts", async () => {
    await start({ ...only("echo", "sleep", "adql", "cea", "image", "space"), allowedOrigins: ["https://portal.example"] })
    const lists: ReadonlyArray<readonly [string, string]> = [
      ["/uws/echo", "A=1"],
      ["/uws/sleep", "A=1"],
      ["/uws/adql", "LANG=ADQL&QUERY=SELECT+TOP+1+id+FROM+stars"],
      ["/uws/cea", "application=gzip&file=inline+text"],
      ["/uws/image", "POS=150.0,2.2&SIZE=0.1"],
      ["/uws/space", ""]
    ]
    for (const [list, body] of lists) {
      const from = (origin: string) =>
        fetch(`${demo!.url}${list}/jobs`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin, "sec-fetch-site": "cross-site" }, body })
      expect((await from("https://portal.example")).status, list).toBe(303)
      expect((await from("https://evil.example")).status, list).toBe(403)
    }
  })

  it("publicBaseUrl makes the links, whatever the request says", async () => {
    await start({ ...only("echo"), publicBaseUrl: "https://uws.example.org/base" })
    const created = await create(`${demo!.url}/uws/echo/jobs`, { "x-forwarded-host": "forged.example" })
    expect(created.headers.get("location")).toMatch(/^https:\/\/uws\.example\.org\/base\/uws\/echo\/jobs\/[^/]+$/)
  })

  it("trustedProxies: forwarding headers are believed from those addresses only", async () => {
    const location = async () => (await create(`${demo!.url}/uws/echo/jobs`, { "x-forwarded-host": "proxied.example", "x-forwarded-proto": "https" })).headers.get("location")!
    await start({ ...only("echo"), trustedProxies: ["127.0.0.0/8"] })
    expect(await location()).toMatch(/^https:\/\/proxied\.example\/uws\/echo\/jobs\//)
    await demo!.close()
    await start({ ...only("echo"), trustedProxies: ["10.0.0.1"] })
    expect(await location()).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+\/uws\/echo\/jobs\//)
  })
})
