/**
 * The one error every call of the client fails with: the transport and the document readers
 * both throw it, so a caller catches one class and switches on `kind`.
 *
 * @since 0.1.0
 */
import type { RemoteJob } from "./Documents.js"

/**
 * Why a call failed: the server answered with an error status (`http`), sent something that is
 * not the expected UWS document (`malformed`), `wait` ran out of time (`timeout`), the job
 * reached a phase from which the awaited phases cannot follow (`ended`), or redirects could not
 * be followed (`redirect`).
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "http" | "malformed" | "timeout" | "ended" | "redirect"

/**
 * @since 0.1.0
 * @category errors
 * @example
 * import { Client, UwsClientError } from "@uws-kit/client"
 * try {
 *   await Client.make("http://localhost:8080/uws/echo/jobs").get("42")
 * } catch (e) {
 *   if (e instanceof UwsClientError && e.kind === "http" && e.status === 404) console.log("gone")
 * }
 */
export class UwsClientError extends Error {
  override readonly name = "UwsClientError"
  readonly kind: Kind
  readonly status: number | undefined
  readonly url: string
  /** The last job document seen, for `timeout` and `ended`. */
  readonly job: RemoteJob | undefined
  constructor(options: {
    readonly kind: Kind
    readonly message: string
    readonly url: string
    readonly status?: number
    readonly job?: RemoteJob
  }) {
    super(options.message)
    this.kind = options.kind
    this.url = options.url
    this.status = options.status
    this.job = options.job
  }
}

/**
 * A `malformed` error: the server's answer is not the UWS document the call expected.
 *
 * @since 0.1.0
 * @category constructors
 */
export const malformed = (message: string, url = ""): UwsClientError => new UwsClientError({ kind: "malformed", message, url })
