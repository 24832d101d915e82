/**
 * Mounts the image service at `/uws/image` (or `basePath`; REST binding: UWS 1.1 job list at
 * `…/jobs`), with its own job list, in the demo's database when it gives one.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { RestAdapter } from "@uws-kit/adapter-rest"
import { Lifecycle, Uws, type Dispatcher, type JobStore, type Policy, type ResultStore } from "@uws-kit/core"
import { adapterOptions, byClientAddress, defaultPaths, type Contribution, type MountOptions, type ServiceOptions } from "../mount.js"
import { loadSky, skyFile } from "./sky.js"
import { makeImageWorker } from "./worker.js"

export interface ImageMountOptions extends MountOptions, ServiceOptions {
  /** Where it is mounted (default `/uws/image`). */
  readonly basePath?: string
  readonly jobStore?: JobStore.JobStoreService
  readonly resultStore?: ResultStore.ResultStoreService
  readonly dispatcher?: Dispatcher.DispatcherService
  readonly policy?: Partial<Policy.Policy>
  /** The sky to cut from (default: the committed examples/image/sky.fits). */
  readonly skyFile?: string
}

export const imageContribution = async (options: ImageMountOptions): Promise<Contribution> => {
  const basePath = options.basePath ?? defaultPaths.image
  const sky = await loadSky(options.skyFile ?? skyFile)
  const started = await Uws.start({
    worker: makeImageWorker(sky),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.jobStore === undefined ? {} : { jobStore: options.jobStore }),
    ...(options.resultStore === undefined ? {} : { resultStore: options.resultStore }),
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait })
  })
  // Its blocking waits counted in uws_wait_waiters{service="image"}.
  const service = Lifecycle.instrument(started.service, "image")
  const adapter = RestAdapter.makeRestAdapter({
    service,
    basePath,
    title: "image",
    identifyNode: byClientAddress,
    ...adapterOptions(options)
  })
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/"
    if (path === basePath || path === `${basePath}/`) {
      res.writeHead(302, { location: `${basePath}/jobs`, "content-type": "text/plain; charset=utf-8" })
      res.end(`The image job list is at ${basePath}/jobs\n`)
      return
    }
    adapter.listener(req, res)
  }
  return {
    services: { image: service },
    mounts: [{ prefix: basePath, href: `${basePath}/jobs`, vosi: true, title: "image: SIAP-style cutouts of a synthetic sky, published as they are made (POS, SIZE, FORMAT, DELAY)", listener }],
    close: async () => {
      await adapter.dispose()
      await started.close()
    }
  }
}
