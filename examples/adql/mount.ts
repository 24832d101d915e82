/**
 * Mounts the ADQL service at `/uws/adql` (or `basePath`): the plain UWS job list at
 * `…/jobs` and the TAP layout at `…/async` and `…/sync`, so that pyvo's
 * `TAPService("http://…/uws/adql")` runs queries against it.
 */
import os from "node:os"
import path from "node:path"
import { Lifecycle, Uws } from "@uws-kit/core"
import { adapterOptions, defaultPaths, type Contribution, type MountOptions, type ServiceOptions } from "../mount.js"
import { mountApp } from "../rest.js"
import * as Adql from "./worker.js"

export interface AdqlOptions extends MountOptions, ServiceOptions {
  /** Where it is mounted (default `/uws/adql`). */
  readonly basePath?: string
  /** The catalogue's SQLite file (written at the first query if missing); default: in the temporary folder. */
  readonly catalogue?: string
  /** How many stars a catalogue written here holds (default 300 000; tests use fewer). */
  readonly catalogueSize?: number
  /** Where jobs and results are kept (default: in memory). */
  readonly stores?: Pick<Parameters<typeof Uws.start>[0], "jobStore" | "resultStore" | "dispatcher">
  /** The service's policy (quotas, durations). */
  readonly policy?: Parameters<typeof Uws.start>[0]["policy"]
}

export const adqlContribution = async (options: AdqlOptions): Promise<Contribution> => {
  const catalogue = options.catalogue ?? path.join(os.tmpdir(), "uws-kit-adql-stars.sqlite")
  const basePath = options.basePath ?? defaultPaths.adql
  const started = await Uws.start({
    worker: Adql.make({ catalogue, ...(options.catalogueSize === undefined ? {} : { catalogueSize: options.catalogueSize }) }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait }),
    ...options.stores
  })
  // Its blocking waits counted in uws_wait_waiters{service="adql"}.
  const service = Lifecycle.instrument(started.service, "adql")
  const { mount, adapters } = mountApp("adql", service, adapterOptions(options), { basePath, tap: true })
  return {
    services: { adql: service },
    mounts: [{ ...mount, title: `adql: ADQL queries on a 300 000-star catalogue (UWS job list; TAP layout at ${basePath}/async and /sync for pyvo)` }],
    close: async () => {
      await Promise.all(adapters.map((a) => a.dispose()))
      await started.close()
    }
  }
}
