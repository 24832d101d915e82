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
}

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
