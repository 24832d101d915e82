/**
 * The `space` contribution: the lease service over SOAP at `/soap/space` (WSDL at
 * `/soap/space?wsdl`), the same job list over REST at `/uws/space/jobs`, and the spaces' files
 * at `/spaces/<spaceId>/…` (each of the three movable: `soapPath`, `basePath`, `filesPath`). Each client address is an owner of its own (`Identity.user`), so
 * that only a space's creator can read and write it.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises"
import type { IncomingMessage } from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { SoapAdapter } from "@uws-kit/adapter-soap"
import { Identity, Lifecycle, Uws } from "@uws-kit/core"
import { Effect, Either } from "effect"
import { adapterOptions, defaultPaths, type Contribution, type MountOptions, type ServiceOptions } from "../mount.js"
import { spaceFiles } from "./files.js"
import { isSpaceId, leasePolicy } from "./index.js"
import { spaceFolder, spaceWorker } from "./worker.js"

/** The owner of a space: its creator's client address (the demo has no log-in). */
export const byClientOwner = (req: IncomingMessage): Identity.Caller => Identity.user(`client:${req.socket.remoteAddress ?? "unknown"}`)

export interface SpaceOptions extends MountOptions, ServiceOptions {
  /** Where the REST job list is mounted (default `/uws/space`). */
  readonly basePath?: string
  /** Where the SOAP endpoint is mounted (default `/soap/space`). */
  readonly soapPath?: string
  /** Where the spaces' files are served (default `/spaces`); `spaceUrl`'s base must name the same. */
  readonly filesPath?: string
  /** Keep the spaces' files under this folder; absent = a temporary folder removed on close. */
  readonly dataDir?: string
  /** Where the leases are kept (the demo's database); absent = in memory. */
  readonly stores?: Pick<Parameters<typeof Uws.start>[0], "jobStore" | "resultStore" | "dispatcher">
}

export const spaceContribution = async (options: SpaceOptions): Promise<Contribution> => {
  const root = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "uws-spaces-")))
  await mkdir(root, { recursive: true })
  const restPath = options.basePath ?? defaultPaths.space
  const soapPath = options.soapPath ?? defaultPaths.spaceSoap
  const filesPath = options.filesPath ?? defaultPaths.spaceFiles
  const started = await Uws.start({
    worker: spaceWorker(root),
    policy: leasePolicy,
    ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait }),
    ...options.stores
  })
  const close = started.close
  // Its blocking waits counted in uws_wait_waiters{service="space"}.
  const service = Lifecycle.instrument(started.service, "space")
  // A process stopped between forgetting a job and removing its folder leaves the folder: sweep.
  for (const id of await readdir(root)) {
    if (!isSpaceId(id)) continue
    const job = await Effect.runPromise(Effect.either(service.get(Identity.system, id)))
    if (Either.isLeft(job) && job.left._tag === "JobNotFound") await rm(spaceFolder(root, id), { recursive: true, force: true })
  }
  const shared = { service, identifyNode: byClientOwner, ...adapterOptions(options) }
  const soap = SoapAdapter.makeSoapAdapter({ ...shared, basePath: soapPath })
  const rest = RestAdapter.makeRestAdapter({ ...shared, basePath: restPath, title: "space" })
  const files = spaceFiles({ service, root, identify: byClientOwner, prefix: filesPath })
  return {
    services: { space: service },
    mounts: [
      { prefix: soapPath, href: `${soapPath}?wsdl`, vosi: true, listener: soap.listener, title: `space: leases on storage (UWS v0.3 §3.3, SOAP); WSDL at ${soapPath}?wsdl` },
      { prefix: restPath, href: `${restPath}/jobs`, vosi: true, listener: rest.listener, title: "space: the same leases as a UWS 1.1 job list (REST)" },
      {
        prefix: filesPath,
        listener: (req, res) => void files(req, res).catch(() => res.headersSent ? res.destroy() : res.writeHead(500).end()),
        title: `space: the spaces' files (PUT/GET/DELETE ${filesPath}/{id}/{name}, owner only)`
      }
    ],
    close: async () => {
      await Promise.all([soap.dispose(), rest.dispose()])
      await close()
      if (options.dataDir === undefined) await rm(root, { recursive: true, force: true })
    }
  }
}
