/**
 * The container image cannot rot (issue 15): there is no Docker daemon here, so the Dockerfile
 * is parsed (dockerfile-ast) and its steps are carried out on a clean `git clone` of the
 * repository outside Docker: each stage gets a folder standing for its root; COPY copies what
 * Docker would (the build context filtered by .dockerignore, or another stage's files); RUN runs
 * its command in the stage's WORKDIR with its ENV; then the final stage's CMD is started and `/`
 * is fetched, and its HEALTHCHECK command run against it. What Docker alone does (users,
 * `--chown`, the base image's own files) is left out. compose.yaml is parsed and checked
 * against the Dockerfile and the environment variables the configuration reads.
 */
import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { createRequire } from "node:module"
import { DockerfileParser, type Copy, type Env, type Healthcheck, type Instruction, type JSONInstruction } from "dockerfile-ast"
import { parse as parseYaml } from "yaml"
import { afterAll, describe, expect, it } from "vitest"
import { environment } from "../../examples/config.js"

// A CommonJS module whose typings claim a default export: required as what it is.
const ignore = createRequire(import.meta.url)("@balena/dockerignore") as typeof import("@balena/dockerignore").default
const repo = fileURLToPath(new URL("../..", import.meta.url))
// Not under the repository (the clone's own tests would match `npm test`'s globs), and not
// named uws-kit-*: the build takes many minutes, and a clean-up of such folders removed a first
// run's stages midway.
const work = mkdtempSync(path.join(tmpdir(), "dockerfile-steps-"))
const children: Array<ReturnType<typeof spawn>> = []
afterAll(() => {
  for (const c of children) c.kill("SIGKILL")
  rmSync(work, { recursive: true, force: true })
})

interface Stage {
  readonly name: string | undefined
  /** The folder standing for the stage's `/`. */
  readonly root: string
  workdir: string
  readonly env: Record<string, string>
  cmd?: ReadonlyArray<string>
  healthcheck?: ReadonlyArray<string>
}

/** A path inside a stage as a path on this machine. */
const inside = (stage: Stage, p: string) => path.join(stage.root, path.posix.resolve(stage.workdir, p))
/** The words of an exec-form (JSON) CMD or HEALTHCHECK CMD. */
const jsonWords = (i: Instruction) => (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue())

describe("Dockerfile", () => {
  it("its steps build a working service from a clean checkout", () => {
    const text = readFileSync(path.join(repo, "Dockerfile"), "utf8")
    const dockerfile = DockerfileParser.parse(text)
    const context = path.join(work, "context")
    // A clean checkout: what is committed, nothing built or installed.
    const clone = spawnSync("git", ["clone", "--quiet", "--no-hardlinks", repo, context], { encoding: "utf8" })
    expect(clone.status, clone.stderr).toBe(0)
    const ignored = ignore().add(readFileSync(path.join(context, ".dockerignore"), "utf8"))
    const stages: Array<Stage> = []
    const log: Array<string> = []
    for (const instruction of dockerfile.getInstructions()) {
      const keyword = instruction.getKeyword()
      const stage = stages[stages.length - 1]
      if (keyword === "FROM") {
        const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!
        expect(from.getImage()).toBe("node:20-slim")
        const root = path.join(work, `stage${stages.length}`)
        mkdirSync(root)
        stages.push({ name: from.getBuildStage() ?? undefined, root, workdir: "/", env: {} })
        continue
      }
      expect(stage, `${keyword} before FROM`).toBeDefined()
      const s = stage!
      switch (keyword) {
        case "WORKDIR":
          s.workdir = path.posix.resolve(s.workdir, instruction.getArgumentsContent()!)
          mkdirSync(inside(s, "."), { recursive: true })
          break
        case "ENV":
          for (const p of (instruction as Env).getProperties()) s.env[p.getName()] = p.getValue() ?? ""
          break
        case "COPY": {
          const copy = instruction as Copy
          // Not getFromFlag(): dockerfile-ast answers undefined there when COPY has a second flag (--chown).
          const from = copy.getFlags().find((f) => f.getName() === "from")?.getValue() ?? undefined
          const words = copy.getArguments().map((a) => a.getValue())
          const dest = words.pop()!
          const source = from === undefined ? undefined : stages.find((x) => x.name === from)
          expect(from === undefined || source !== undefined, `COPY --from=${from}: no such stage`).toBe(true)
          for (const src of words) {
            const abs = source === undefined ? path.join(context, src) : inside(source, src)
            expect(existsSync(abs), `COPY ${src}: missing`).toBe(true)
            const target = dest.endsWith("/") && !statSync(abs).isDirectory() ? path.join(inside(s, dest), path.basename(src)) : inside(s, dest)
            cpSync(abs, target, {
              recursive: true,
              // npm's workspace links are relative: copied as links they still point right.
              verbatimSymlinks: true,
              filter: (f) => source !== undefined || path.relative(context, f) === "" || !ignored.ignores(path.relative(context, f))
            })
          }
          break
        }
        case "RUN": {
          const command = instruction.getArgumentsContent()!
          const started = process.cpuUsage()
          const run = spawnSync("sh", ["-c", command], {
            cwd: inside(s, "."),
            env: { ...process.env, ...s.env, npm_config_prefer_offline: "true", npm_config_update_notifier: "false" },
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024
          })
          log.push(`RUN ${command}: ${run.status} (${Math.round(process.cpuUsage(started).user / 1000)} ms)`)
          expect(run.status, `RUN ${command}\n${run.stdout}\n${run.stderr}`).toBe(0)
          break
        }
        case "CMD":
          s.cmd = jsonWords(instruction)
          break
        case "HEALTHCHECK": {
          const words = (instruction as Healthcheck).getArguments().map((a) => a.getValue())
          const cmdAt = words.indexOf("CMD")
          expect(cmdAt).toBeGreaterThanOrEqual(0)
          // The exec form after CMD: parse the JSON array that follows it in the text.
          const content = instruction.getArgumentsContent()!
          s.healthcheck = JSON.parse(content.slice(content.indexOf("[", content.indexOf("CMD")))) as Array<string>
          break
        }
        case "USER":
          expect(instruction.getArgumentsContent()).not.toBe("root")
          break
        case "EXPOSE":
        case "VOLUME":
          break
        default:
          throw new Error(`the test does not know how to carry out ${keyword}; teach it or keep the Dockerfile plain`)
      }
    }
    const final = stages[stages.length - 1]!
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(final.cmd).toBeDefined()
    // Small: the final stage has production dependencies only.
    // Not vitest or @types/node: npm keeps them in a production install, vitest as the optional
    // peer of the conformance kit's vitest entry (devOptional), @types/node as xmllint-wasm's peer.
    for (const dev of ["typescript", "@effect/vitest", "fastify", "express", "playwright-core"]) expect(existsSync(inside(final, `node_modules/${dev}`)), dev).toBe(false)
    for (const kept of ["test", "bench", "packages/core/test"]) expect(existsSync(inside(final, kept)), kept).toBe(false)
    state.final = final
    state.log = log
  }, 1_500_000)

  it("the final stage's CMD serves / and passes its HEALTHCHECK", async () => {
    const final = state.final
    expect(final, "the build step failed").toBeDefined()
    const s = final!
    // Absolute paths in ENV (the data volume) are inside the image's root.
    const env = Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, v.startsWith("/") ? path.join(s.root, v) : v]))
    const [command, ...args] = s.cmd!
    const child = spawn(command === "node" ? process.execPath : command!, args, {
      cwd: inside(s, "."),
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env, PORT: "0", HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    const url = await new Promise<string>((resolve, reject) => {
      let out = ""
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d
        const u = /listening on (http:\/\/\S+?)\/\n/.exec(out)?.[1]
        if (u !== undefined && out.includes("Stop with Ctrl-C.")) resolve(u)
      })
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d))
      child.on("close", (code) => reject(new Error(`the CMD exited (${code}):\n${out}`)))
    })
    const home = await fetch(`${url}/`)
    expect(home.status).toBe(200)
    expect(await home.text()).toContain("uws-kit demo")
    expect(existsSync(path.join(env["UWS_DATA_DIR"]!, "uws.sqlite"))).toBe(true)
    const [hc, ...hcArgs] = s.healthcheck!
    const check = spawnSync(hc === "node" ? process.execPath : hc!, hcArgs, { env: { ...process.env, PORT: new URL(url).port }, encoding: "utf8", timeout: 10_000 })
    expect(check.status, check.stderr).toBe(0)
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("close", resolve))
    console.log(state.log.join("\n"))
  }, 120_000)
})

const state: { final?: Stage; log: Array<string> } = { log: [] }

describe("compose.yaml", () => {
  it("parses, builds from the Dockerfile, runs 2 instances on PostgreSQL 16 with healthchecks, and sets only known variables", () => {
    const compose = parseYaml(readFileSync(path.join(repo, "compose.yaml"), "utf8"), { merge: true }) as {
      services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; ports?: Array<string>; environment?: Record<string, string>; healthcheck?: { test: Array<string> }; depends_on?: Record<string, { condition: string }> }>
    }
    const services = Object.entries(compose.services)
    const postgres = services.filter(([, s]) => s.image?.startsWith("postgres:") === true)
    expect(postgres.map(([, s]) => s.image)).toEqual(["postgres:16"])
    const demos = services.filter(([, s]) => s.build !== undefined)
    expect(demos).toHaveLength(2)
    expect(demos.flatMap(([, s]) => s.ports ?? []).sort()).toEqual(["8081:8080", "8082:8080"])
    const known = new Set([...environment.map(([name]) => name), "UWS_CONFIG"])
    for (const [name, s] of [...demos, ...postgres]) expect(s.healthcheck?.test.length ?? 0, `${name} healthcheck`).toBeGreaterThan(0)
    for (const [name, s] of demos) {
      expect(existsSync(path.join(repo, s.build!.context, s.build!.dockerfile)), `${name}: ${s.build!.dockerfile}`).toBe(true)
      expect(s.environment?.["DATABASE_URL"]).toMatch(new RegExp(`^postgres://[^@]+@${postgres[0]![0]}:5432/`))
      for (const key of Object.keys(s.environment ?? {})) expect(known.has(key), `${name}: ${key} is not read by examples/config.ts`).toBe(true)
      expect(s.depends_on?.[postgres[0]![0]]?.condition).toBe("service_healthy")
    }
  })
})
