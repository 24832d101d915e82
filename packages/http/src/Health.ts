/**
 * Liveness and readiness for orchestrators: `/health` answers 200 whenever the process serves
 * requests; `/ready` runs the host's checks (store reachable, migrations applied, plugins loaded…)
 * and answers 200, or 503 with a JSON body naming each check that failed and why.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"

/**
 * One readiness check: resolves when the dependency is fine, rejects (or throws) with why not.
 *
 * @since 0.1.0
 * @category models
 */
export type Check = () => Promise<void> | void

/**
 * @since 0.1.0
 * @category models
 */
export interface Readiness {
  readonly ready: boolean
  /** Every check's outcome: `"ok"` or the failure's message. */
  readonly checks: Readonly<Record<string, string>>
  /** The checks that failed. */
  readonly failed: ReadonlyArray<string>
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Runs the checks at once, each bounded by `timeoutMs` (a hung database is a failure, not a hung
 * probe).
 *
 * @since 0.1.0
 * @category checks
 */
export const check = async (checks: Readonly<Record<string, Check>>, timeoutMs = 2_000): Promise<Readiness> => {
  const outcomes = await Promise.all(
    Object.entries(checks).map(async ([name, run]): Promise<readonly [string, string]> => {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          Promise.resolve().then(run),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
          })
        ])
        return [name, "ok"]
      } catch (e) {
        return [name, message(e) || "failed"]
      } finally {
        clearTimeout(timer)
      }
    })
  )
  const failed = outcomes.filter(([, o]) => o !== "ok").map(([n]) => n)
  return { ready: failed.length === 0, checks: Object.fromEntries(outcomes), failed }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly checks: Readonly<Record<string, Check>>
  readonly timeoutMs?: number
  readonly healthPath?: string
  readonly readyPath?: string
}

const json = (res: ServerResponse, status: number, body: unknown, head: boolean) => {
  const text = `${JSON.stringify(body)}\n`
  // Probes must see the state now, never a cached answer.
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" })
  res.end(head ? undefined : text)
}

/**
 * A handler for the two paths: answers and returns `true` for them, returns `false` for any other.
 *
 * @since 0.1.0
 * @category constructors
 */
export const handler = (options: Options): ((req: IncomingMessage, res: ServerResponse) => boolean) => {
  const healthPath = options.healthPath ?? "/health"
  const readyPath = options.readyPath ?? "/ready"
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    if (path !== healthPath && path !== readyPath) return false
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD")
      json(res, 405, { error: "Only GET and HEAD here." }, false)
      return true
    }
    const head = req.method === "HEAD"
    if (path === healthPath) {
      json(res, 200, { status: "ok" }, head)
      return true
    }
    check(options.checks, options.timeoutMs).then(
      (r) => json(res, r.ready ? 200 : 503, r.ready ? { status: "ready", checks: r.checks } : { status: "unavailable", failed: r.failed, checks: r.checks }, head),
      (e: unknown) => json(res, 503, { status: "unavailable", failed: ["checks"], checks: { checks: message(e) } }, head)
    )
    return true
  }
}
