/**
 * Mounts the CEA-style application server at `/uws/cea` (or `basePath`): the UWS 1.1 job list at
 * `…/jobs` taking job descriptions (`application/xml`, Description.ts) as well as forms,
 * the application list at `…/applications` (HTML; `?format=xml` or `.xml` for the XML
 * document) and the two schemas at `…/cea-jdl.xsd` and `…/applications.xsd`.
 */
import { readFileSync } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as path from "node:path"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Lifecycle, Uws } from "@uws-kit/core"
import type { Dispatcher, JobStore, Policy, ResultStore } from "@uws-kit/core"
import { BrowserPages } from "@uws-kit/http"
import { Either } from "effect"
import { adapterOptions, byClientAddress, defaultPaths, type Contribution, type MountOptions, type ServiceOptions } from "../mount.js"
import * as Catalogue from "./Catalogue.js"
import * as Config from "./Config.js"
import * as Description from "./Description.js"
import * as Cea from "./worker.js"

export interface CeaMountOptions extends MountOptions, ServiceOptions {
  /** Where it is mounted (default `/uws/cea`). */
  readonly basePath?: string
  /** The application configuration (default examples/cea/applications.json). */
  readonly configFile?: string
  /** Maps `vos://` identifiers to HTTP URLs (the space example's `spaceUrl`); without it they are refused. */
  readonly resolveVos?: Cea.VosResolver
  readonly jobStore?: JobStore.JobStoreService
  readonly resultStore?: ResultStore.ResultStoreService
  readonly dispatcher?: Dispatcher.DispatcherService
  readonly policy?: Partial<Policy.Policy>
  /** Passed to the worker (tests shorten it). */
  readonly killGraceMillis?: number
  /** Where job folders are made (default the OS temporary folder). */
  readonly workDirectory?: string
}

const pageHeaders = BrowserPages.headers({ style: BrowserPages.hashSource(Catalogue.style) })
const schemas: Readonly<Record<string, string>> = {
  "cea-jdl.xsd": Description.schemaFile,
  "applications.xsd": path.join(import.meta.dirname, "applications.xsd")
}

const send = (res: ServerResponse, status: number, type: string, body: string, headers: Readonly<Record<string, string>> = {}) => {
  res.writeHead(status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

export const ceaContribution = async (options: CeaMountOptions): Promise<Contribution> => {
  const base = options.basePath ?? defaultPaths.cea
  const catalogue = Config.load(options.configFile)
  const worker = Cea.make({
    catalogue,
    ...(options.resolveVos === undefined ? {} : { resolveVos: options.resolveVos }),
    ...(options.killGraceMillis === undefined ? {} : { killGraceMillis: options.killGraceMillis }),
    ...(options.workDirectory === undefined ? {} : { workDirectory: options.workDirectory })
  })
  const started = await Uws.start({
    worker,
    policy: { defaultExecutionDuration: 600, maxExecutionDuration: 3600, ...options.policy },
    ...(options.jobStore === undefined ? {} : { jobStore: options.jobStore }),
    ...(options.resultStore === undefined ? {} : { resultStore: options.resultStore }),
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait })
  })
  // Its blocking waits counted in uws_wait_waiters{service="cea"}.
  const service = Lifecycle.instrument(started.service, "cea")
  const rest = RestAdapter.makeRestAdapter({
    service,
    basePath: base,
    title: "cea",
    identifyNode: byClientAddress,
    ...adapterOptions(options),
    maxBodyBytes: 1024 * 1024,
    jobDescription: {
      mediaTypes: ["application/xml", "text/xml"],
      parse: (text) => {
        const d = Description.parse(text)
        return Either.isLeft(d) ? { _tag: "Left", left: d.left } : { _tag: "Right", right: Description.toParameters(d.right) }
      }
    }
  })
  const xml = Catalogue.xml(catalogue)
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x")
    const sub = url.pathname.slice(base.length)
    if (sub === "" || sub === "/") return send(res, 302, "text/plain; charset=utf-8", `The cea job list is at ${base}/jobs\n`, { location: `${base}/jobs` })
    const own = sub === "/applications" || sub === "/applications.xml" || schemas[sub.slice(1)] !== undefined
    if (!own) return rest.listener(req, res)
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain; charset=utf-8", "Only GET here.\n", { allow: "GET, HEAD" })
    const schema = schemas[sub.slice(1)]
    if (schema !== undefined) return send(res, 200, "application/xml; charset=utf-8", readFileSync(schema, "utf8"))
    const format = url.searchParams.get("format")
    if (sub === "/applications.xml" || format === "xml") return send(res, 200, "application/xml; charset=utf-8", xml)
    if (format !== null && format !== "html") return send(res, 400, "text/plain; charset=utf-8", `format=${format} is not known; use xml or html.\n`)
    send(res, 200, "text/html; charset=utf-8", Catalogue.html(catalogue, `${base}/jobs`), pageHeaders)
  }
  return {
    services: { cea: service },
    mounts: [{ prefix: base, href: `${base}/applications`, vosi: true, title: "cea: parameterized applications (gzip, votable-stats) run from XML job descriptions (UWS 0.3 §3.4)", listener }],
    close: async () => {
      await rest.dispose()
      await started.close()
    }
  }
}
