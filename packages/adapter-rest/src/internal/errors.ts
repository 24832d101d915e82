/**
 * Errors of the REST binding: the core's tagged errors plus the binding's own (malformed HTTP
 * input), mapped to HTTP in ONE table and rendered in the negotiated format.
 */
import { Data } from "effect"
import type { UwsError } from "@uws-kit/core/Errors"

/** What the binding itself rejects before the core is asked. */
export type RestErrorTag =
  | "BadRequest"
  | "Unauthorized"
  | "NotFound"
  | "MethodNotAllowed"
  | "CrossSiteRequest"
  | "PayloadTooLarge"
  | "UnsupportedMediaType"
  | "ServiceUnavailable"
  | "InternalError"

export class RestError extends Data.TaggedError("RestError")<{
  readonly kind: RestErrorTag
  readonly message: string
  readonly headers?: Readonly<Record<string, string>>
}> {}

export const badRequest = (message: string) => new RestError({ kind: "BadRequest", message })

export type AnyError = UwsError | RestError

/**
 * THE table. UWS 1.1 §2.2: 404 for what does not exist, 403 for what the job's state or owner
 * forbids (and for a refused creation, §2.2.3.1), 400 for malformed input, 5xx only when the
 * service itself fails.
 */
export const STATUS: Readonly<Record<UwsError["_tag"] | RestErrorTag, number>> = {
  // core
  JobNotFound: 404,
  ResourceNotFound: 404,
  Forbidden: 403,
  InvalidTransition: 403,
  InvalidParameter: 400,
  QuotaExceeded: 403,
  LimitExceeded: 413,
  Conflict: 409,
  StorageFailure: 503,
  PluginFailure: 500,
  // binding
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  MethodNotAllowed: 405,
  CrossSiteRequest: 403,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  ServiceUnavailable: 503,
  InternalError: 500
}

export const tagOf = (e: AnyError): UwsError["_tag"] | RestErrorTag => (e._tag === "RestError" ? e.kind : e._tag)

export const statusOf = (e: AnyError): number => STATUS[tagOf(e)]

/** Extra headers an error response carries (`Allow`, `Retry-After`, …). */
export const headersOf = (e: AnyError): Readonly<Record<string, string>> =>
  e._tag === "RestError" ? (e.headers ?? {}) : e._tag === "StorageFailure" || e._tag === "Conflict" ? { "retry-after": "1" } : {}

export const REASON: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable"
}
