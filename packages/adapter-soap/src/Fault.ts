/**
 * SOAP faults: the one table that maps every error (the core's tagged errors and the binding's
 * own) to a SOAP fault code and an HTTP status, and the fault's rendering for SOAP 1.1 and 1.2.
 * Every fault carries a detail naming the error's tag, so a client can tell `JobNotFound` from
 * `InvalidTransition` without parsing the reason.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { UwsError, UwsErrorTag } from "@uws-kit/core/Errors"
import * as Namespaces from "./Namespaces.js"
import { escapeAttribute, escapeText } from "./internal/xml.js"

/**
 * The binding's own errors, for requests that never reach the core.
 *
 * @since 0.1.0
 * @category models
 */
export type BindingErrorTag =
  /** Not XML, not well-formed, or not a SOAP envelope of the announced version. */
  | "MalformedEnvelope"
  /** A DTD or entity declaration (refused: XXE, entity expansion). */
  | "ForbiddenDeclaration"
  | "EnvelopeTooLarge"
  | "UnsupportedMediaType"
  | "MethodNotAllowed"
  /** A request to a path where this endpoint is not. */
  | "NoSuchEndpoint"
  /** The envelope namespace is not the one the content type announces, or not SOAP at all. */
  | "VersionMismatch"
  /** A header block marked mustUnderstand that this endpoint does not understand. */
  | "MustUnderstand"
  /** The body names no operation of this endpoint. */
  | "UnknownOperation"
  /** SOAPAction / `action` / `wsa:Action` disagree with each other or with the body. */
  | "ActionMismatch"
  /** A WS-Addressing header given twice. */
  | "InvalidAddressingHeader"
  /** A job-specific operation without the `ResourceIdentifier` header. */
  | "MissingResourceIdentifier"
  /** The operation's element does not match its schema (missing, unexpected or invalid values). */
  | "InvalidRequest"
  /** The host's `identify` refused the caller. */
  | "Unauthenticated"
  /** Sent by another site's page (CSRF), not by a SOAP client or an allowed origin. */
  | "CrossSiteRequest"
  /** The adapter was disposed. */
  | "Closed"
  /** A bug or an unexpected failure; the reason says no more than that. */
  | "InternalError"

/**
 * @since 0.1.0
 * @category models
 */
export type FaultTag = UwsErrorTag | BindingErrorTag

/**
 * Whose fault it is, in SOAP's terms: `Client` (1.1) / `Sender` (1.2) when the request is wrong
 * and must not be resent unchanged; `Server` / `Receiver` when the service failed.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultCode = "VersionMismatch" | "MustUnderstand" | "Client" | "Server"

/**
 * @since 0.1.0
 * @category models
 */
export interface FaultRule {
  readonly code: FaultCode
  /** An HTTP status other than the SOAP binding's (SOAP 1.1: 500; SOAP 1.2: 400 for Sender, else 500). */
  readonly status?: number
  /** The HTTP status when the error answers a plain HTTP request (a result download). */
  readonly plain: number
}

/**
 * THE mapping table: every core error and binding error, its fault code, the HTTP status of a
 * fault when HTTP has a more precise word than the SOAP binding's default, and the HTTP status
 * of a plain (non-SOAP) reply, such as a result download.
 *
 * @since 0.1.0
 * @category mapping
 */
export const rules: { readonly [T in FaultTag]: FaultRule } = {
  // core errors
  JobNotFound: { code: "Client", plain: 404 },
  ResourceNotFound: { code: "Client", plain: 404 },
  Forbidden: { code: "Client", plain: 403 },
  InvalidTransition: { code: "Client", plain: 409 },
  InvalidParameter: { code: "Client", plain: 400 },
  QuotaExceeded: { code: "Client", plain: 429 },
  LimitExceeded: { code: "Client", status: 413, plain: 413 },
  Conflict: { code: "Server", plain: 409 },
  StorageFailure: { code: "Server", plain: 500 },
  PluginFailure: { code: "Server", plain: 500 },
  // binding errors
  MalformedEnvelope: { code: "Client", plain: 400 },
  ForbiddenDeclaration: { code: "Client", plain: 400 },
  EnvelopeTooLarge: { code: "Client", status: 413, plain: 413 },
  UnsupportedMediaType: { code: "Client", status: 415, plain: 415 },
  MethodNotAllowed: { code: "Client", status: 405, plain: 405 },
  NoSuchEndpoint: { code: "Client", status: 404, plain: 404 },
  VersionMismatch: { code: "VersionMismatch", plain: 400 },
  MustUnderstand: { code: "MustUnderstand", plain: 400 },
  UnknownOperation: { code: "Client", plain: 400 },
  ActionMismatch: { code: "Client", plain: 400 },
  InvalidAddressingHeader: { code: "Client", plain: 400 },
  MissingResourceIdentifier: { code: "Client", plain: 400 },
  InvalidRequest: { code: "Client", plain: 400 },
  Unauthenticated: { code: "Client", status: 401, plain: 401 },
  CrossSiteRequest: { code: "Client", status: 403, plain: 403 },
  Closed: { code: "Server", status: 503, plain: 503 },
  InternalError: { code: "Server", plain: 500 }
}

/**
 * The SOAP version of a message.
 *
 * @since 0.1.0
 * @category models
 */
export type SoapVersion = "1.1" | "1.2"

/**
 * A qualified name, for `MustUnderstand` faults.
 *
 * @since 0.1.0
 * @category models
 */
export interface QName {
  readonly ns: string
  readonly local: string
}

/**
 * A fault to send back.
 *
 * @since 0.1.0
 * @category models
 */
export class SoapFault extends Data.TaggedError("SoapFault")<{
  readonly tag: FaultTag
  readonly reason: string
  /** The job the request was about, when there was one. */
  readonly jobId?: string
  /** The header blocks not understood (`MustUnderstand`). */
  readonly notUnderstood?: ReadonlyArray<QName>
  /** The request's `wsa:MessageID`, when it was read before the fault arose (for `wsa:RelatesTo`). */
  readonly messageId?: string
}> {
  override get message() {
    return this.reason
  }
}

/**
 * A binding error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  tag: FaultTag,
  reason: string,
  extra: { readonly jobId?: string; readonly notUnderstood?: ReadonlyArray<QName>; readonly messageId?: string } = {}
): SoapFault =>
  new SoapFault({ tag, reason, ...extra })

/**
 * The fault for a core error: its tag and its user-readable message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromUwsError = (error: UwsError): SoapFault =>
  new SoapFault({ tag: error._tag, reason: error.message, ...("jobId" in error ? { jobId: error.jobId } : {}) })

const code12: Readonly<Record<FaultCode, string>> = {
  VersionMismatch: "VersionMismatch",
  MustUnderstand: "MustUnderstand",
  Client: "Sender",
  Server: "Receiver"
}

/**
 * The HTTP status of a fault: the table's, else SOAP 1.1's 500, else SOAP 1.2's (400 for
 * Sender faults, 500 otherwise; SOAP 1.2 Part 2 §7.5.2.2).
 *
 * @since 0.1.0
 * @category mapping
 */
export const status = (fault: SoapFault, version: SoapVersion): number => {
  const rule = rules[fault.tag]
  if (rule.status !== undefined) return rule.status
  return version === "1.2" && rule.code === "Client" ? 400 : 500
}

/**
 * The fault code's QName as written in the envelope (`soap` is the envelope's prefix).
 *
 * @since 0.1.0
 * @category mapping
 */
export const code = (fault: SoapFault, version: SoapVersion): string =>
  `soap:${version === "1.1" ? rules[fault.tag].code : code12[rules[fault.tag].code]}`

const detail = (fault: SoapFault) =>
  `<u:uwsFault><u:error>${fault.tag}</u:error><u:message>${escapeText(fault.reason)}</u:message>${fault.jobId === undefined ? "" : `<u:jobId>${escapeText(fault.jobId)}</u:jobId>`}</u:uwsFault>`

/**
 * The `Fault` element (the body of a fault message). The envelope declares `soap` and `u`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (fault: SoapFault, version: SoapVersion): string =>
  version === "1.1"
    ? `<soap:Fault><faultcode>${code(fault, version)}</faultcode><faultstring>${escapeText(fault.reason)}</faultstring><detail>${detail(fault)}</detail></soap:Fault>`
    : `<soap:Fault><soap:Code><soap:Value>${code(fault, version)}</soap:Value><soap:Subcode><soap:Value>u:${fault.tag}</soap:Value></soap:Subcode></soap:Code><soap:Reason><soap:Text xml:lang="en">${escapeText(fault.reason)}</soap:Text></soap:Reason><soap:Detail>${detail(fault)}</soap:Detail></soap:Fault>`

/**
 * Header blocks a fault needs: SOAP 1.2 `NotUnderstood` for `MustUnderstand` faults and
 * `Upgrade` for `VersionMismatch` faults.
 *
 * @since 0.1.0
 * @category rendering
 */
export const headers = (fault: SoapFault, version: SoapVersion): string => {
  if (version !== "1.2") return ""
  if (fault.tag === "MustUnderstand") {
    return (fault.notUnderstood ?? [])
      .map((q, i) => `<soap:NotUnderstood qname="n${i}:${escapeAttribute(q.local)}" xmlns:n${i}="${escapeAttribute(q.ns)}"/>`)
      .join("")
  }
  if (fault.tag === "VersionMismatch") {
    return `<soap:Upgrade><soap:SupportedEnvelope qname="e12:Envelope" xmlns:e12="${Namespaces.soap12}"/><soap:SupportedEnvelope qname="e11:Envelope" xmlns:e11="${Namespaces.soap11}"/></soap:Upgrade>`
  }
  return ""
}
