/**
 * The demo (`examples/server.ts`, what `npm start` runs) as a real process on a free port of
 * loopback, for the tests that kill it: started with extra environment, answered once it says it
 * listens; every process started here is killed by `killAll` (an `afterAll` of the test).
 */
import { spawn, type ChildProcess } from "node:child_process"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

const script = fileURLToPath(new URL("../../examples/server.ts", import.meta.url))
const children = new Set<ChildProcess>()

export interface DemoProcess {
  readonly url: string
  readonly child: ChildProcess
}

/** Starts the demo with `env` over this process's environment; `label` names it in errors. */
export const startDemoProcess = (env: Readonly<Record<string, string>>, label = "the demo"): Promise<DemoProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@uws-kit/source", "--import", "tsx", script], {
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.add(child)
    let out = ""
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d
      const url = /listening on (http:\/\/\S+?)\/\n/.exec(out)?.[1]
      if (url !== undefined && out.includes("Stop with Ctrl-C.")) resolve({ url, child })
    })
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.on("error", reject)
    child.on("close", (code) => reject(new Error(`${label} exited (${code}) before listening:\n${out}`)))
  })

/** SIGKILL: no chance to flush or close anything; resolves once the process is gone. */
export const kill9 = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    children.delete(child)
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

/** The process's state letter from /proc (`T` once a SIGSTOP has taken hold). */
const stateOf = async (pid: number) => (await readFile(`/proc/${pid}/stat`, "utf8")).replace(/^.*\) /s, "")[0]

/**
 * SIGSTOP, resolving once every thread of the process is stopped: from then on it writes
 * nothing, so what it wrote can be read as final before deciding what to do with it.
 */
export const freeze = async (child: ChildProcess): Promise<void> => {
  child.kill("SIGSTOP")
  while ((await stateOf(child.pid!)) !== "T") await new Promise((r) => setTimeout(r, 1))
}

/** SIGCONT: a frozen process goes on. */
export const thaw = (child: ChildProcess): void => void child.kill("SIGCONT")

/** Kills every demo process still running. */
export const killAll = (): void => {
  for (const c of children) c.kill("SIGKILL")
  children.clear()
}
