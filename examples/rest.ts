/**
 * The REST contribution of the demo: each application's UWS 1.1 job list at `/uws/{app}/jobs`
 * (with its synchronous facade at `/uws/{app}/sync`), built with `makeRestAdapter` and mounted
 * without stripping the prefix (the adapter knows its `basePath`).
 *
 * The same job list is also reachable as `/uws/{app}/async`, the layout of a TAP service, so
 * that pyvo's `TAPService("…/uws/echo")` (`submit_job`, `run_async`, `run_sync`,
 * `get_job_list`, `get_job`) works against it unchanged. Both paths show the same jobs. The
 * synchronous facade `/uws/{app}/sync` belongs to the TAP layout (`layout: "tap"`), as in a TAP
 * service: a sync job ending in ERROR answers a DALI VOTable error, which pyvo reads as a
 * `DALQueryError`.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Vosi } from "@uws-kit/http"
import type { UwsService } from "@uws-kit/core/Uws"
import { byClientAddress, type Contribution, type DemoApps, defaultPaths, type Mount, type MountOptions } from "./mount.js"

const inside = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`)

/**
 * One application mounted at `/uws/{name}` (or `where.basePath`): its job list at `jobs`, the TAP
 * layout at `async` and `sync`. Its VOSI capabilities (`…/capabilities`) list both job lists, and
 * with `where.tap` (a service that really takes ADQL) a TAP capability.
 */
export const mountApp = (name: string, service: UwsService, options: MountOptions, where: { readonly basePath?: string | undefined; readonly tap?: boolean } = {}): { readonly mount: Mount & { readonly href: string }; readonly adapters: ReadonlyArray<RestAdapter.RestAdapter> } => {
  const basePath = where.basePath ?? `/uws/${name}`
  const vosi = where
  // The plain job list's own facade path is never routed to it (the TAP layout owns /sync).
  const capabilities = (root: string) => [
    Vosi.uwsCapability(`${root}/async`, "The same jobs in the TAP layout (UWS 1.1 job list)"),
    ...(vosi.tap === true ? [Vosi.tapCapability(root)] : [])
  ]
  const jobs = RestAdapter.makeRestAdapter({ service, basePath, syncPath: "jobs-sync", title: name, identifyNode: byClientAddress, vosi: { capabilities }, ...options })
  const tap = RestAdapter.makeRestAdapter({ service, basePath, layout: "tap", title: name, identifyNode: byClientAddress, ...options })
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/"
    if (path === basePath || path === `${basePath}/`) {
      res.writeHead(302, { location: `${basePath}/jobs`, "content-type": "text/plain; charset=utf-8" })
      res.end(`The ${name} job list is at ${basePath}/jobs\n`)
      return
    }
    ;(inside(path, `${basePath}/async`) || inside(path, `${basePath}/sync`) ? tap : jobs).listener(req, res)
  }
  return {
    mount: { prefix: basePath, title: `${name}: UWS 1.1 job list (REST; TAP layout at ${basePath}/async for pyvo)`, href: `${basePath}/jobs`, vosi: true, listener },
    adapters: [jobs, tap]
  }
}

/** Mounts `/uws/echo` and `/uws/sleep` (or the paths given), leaving out those not in `only`. */
export const restContribution = async (
  apps: DemoApps,
  options: MountOptions = { trustForwarded: false },
  paths: Partial<Record<keyof DemoApps, string>> = {},
  only: ReadonlyArray<keyof DemoApps> = ["echo", "sleep"]
): Promise<Contribution> => {
  const mounted = only.map((name) => mountApp(name, apps[name], options, { basePath: paths[name] ?? defaultPaths[name] }))
  return {
    mounts: mounted.map((m) => m.mount),
    close: async () => {
      await Promise.all(mounted.flatMap((m) => m.adapters.map((a) => a.dispose())))
    }
  }
}
