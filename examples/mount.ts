/**
 * How the demo service composes protocol adapters: each contributes mounts, and the demo's
 * node:http server hands a request to the mount with the longest matching path prefix, without
 * stripping it (every adapter is built with its `basePath`, so its URLs are absolute and right).
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Identity from "@uws-kit/core/Identity"
import type { UwsService } from "@uws-kit/core/Uws"

export interface Mount {
  /** Path prefix, e.g. "/uws/echo"; "/" for the landing page. */
  readonly prefix: string
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void
  /** One line for the landing page and the start-up banner. */
  readonly title: string
  /** The link the landing page and banner show (default: the prefix). */
  readonly href?: string
  /** It serves IVOA VOSI `…/availability` and `…/capabilities` (every REST job list and SOAP endpoint). */
  readonly vosi?: boolean
}

/**
 * Where each application is mounted unless the configuration says otherwise
 * (`applications.<app>.path` in examples/config.ts; the space's SOAP endpoint and files are
 * `applications.space.soapPath` and `.filesPath`). SOAP's is a base: its endpoints are
 * `<soap>/echo` and `<soap>/sleep`. The archive is not here: its API's paths are the seed's.
 */
export const defaultPaths = {
  echo: "/uws/echo",
  sleep: "/uws/sleep",
  soap: "/soap",
  adql: "/uws/adql",
  cea: "/uws/cea",
  image: "/uws/image",
  space: "/uws/space",
  spaceSoap: "/soap/space",
  spaceFiles: "/spaces"
} as const
export type PathName = keyof typeof defaultPaths
export type ApplicationPaths = Partial<Record<PathName, string>>

/** The paths the archive mounts whatever the configuration says (the seed's API and its job lists). */
export const archivePaths: ReadonlyArray<string> = ["/api", "/uws/archive", "/dumps", "/uws/archive-dumps"]

/** The demo's UWS applications, each one job list. */
export interface DemoApps {
  readonly echo: UwsService
  readonly sleep: UwsService
}

/** What the demo tells every adapter it builds. */
export interface MountOptions {
  /**
   * Believe `X-Forwarded-*`/`Forwarded` for the URLs in answers (only behind a proxy that sets
   * them: a direct client could forge them). `UWS_TRUST_FORWARDED=1`; default off.
   */
  readonly trustForwarded: boolean
  /** Other sites whose pages may change jobs here (see `CrossSite`); default none. */
  readonly allowedOrigins?: ReadonlyArray<string>
}

/** The adapter options a contribution passes on from its `MountOptions`. */
export const adapterOptions = (options: MountOptions): MountOptions =>
  options.allowedOrigins === undefined ? { trustForwarded: options.trustForwarded } : { trustForwarded: options.trustForwarded, allowedOrigins: options.allowedOrigins }

/** What the demo tells every UWS service a contribution starts. */
export interface ServiceOptions {
  /** The longest blocking WAIT (ms; default the core's 55,000). */
  readonly maxWait?: number
}

export interface Contribution {
  readonly mounts: ReadonlyArray<Mount>
  readonly close: () => Promise<void>
  /** The UWS services it started, by job list name, so the server can log and count their jobs. */
  readonly services?: Readonly<Record<string, UwsService>>
}

/**
 * The demo's callers are all anonymous; each client address gets its own quota (100 active jobs
 * by default) so that one client cannot use up everyone's. The socket's address, not
 * X-Forwarded-For, which any client can write: behind a proxy, put the proxy's word here.
 */
export const byClientAddress = (req: IncomingMessage): Identity.Caller =>
  Identity.anonymousAs(`client:${req.socket.remoteAddress ?? "unknown"}`)
