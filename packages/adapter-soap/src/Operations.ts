/**
 * The operations of the binding, as the WSDL lists them: the v0.3 draft's (`getJobs`,
 * `getTerminationTime`, `getQuote`, `getPhase`, `getResults`, `createJob`, `setTerminationTime`,
 * `acceptQuote`, `destroy`) and the extensions the 2008 template names (`getSummary`, `abort`,
 * `getExecutionDuration`, `setExecutionDuration`, `getError`).
 *
 * @since 0.1.0
 */
import { operations } from "./internal/operations.js"
import * as Wsdl from "./Wsdl.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface OperationInfo {
  readonly name: string
  readonly documentation: string
  /** Needs the job's `ResourceIdentifier` header (and echoes it). */
  readonly jobSpecific: boolean
  readonly origin: "draft-0.3" | "extension"
  /** SOAPAction and WS-Addressing action of the request. */
  readonly action: string
  /** WS-Addressing action of the reply. */
  readonly responseAction: string
  /** Local names of the request wrapper's elements. */
  readonly requestFields: ReadonlyArray<string>
  /** Local names (or referenced elements) of the response wrapper's content. */
  readonly responseFields: ReadonlyArray<string>
}

/**
 * Every operation, in WSDL order.
 *
 * @since 0.1.0
 * @category constants
 */
export const all: ReadonlyArray<OperationInfo> = operations.map((op) => ({
  name: op.name,
  documentation: op.documentation,
  jobSpecific: op.jobSpecific,
  origin: op.origin,
  action: Wsdl.requestAction(op.name),
  responseAction: Wsdl.responseAction(op.name),
  requestFields: op.request.map((p) => p.name),
  responseFields: op.response.map((p) => (p._tag === "Ref" ? p.element : p.name))
}))

/**
 * The names of the operations.
 *
 * @since 0.1.0
 * @category constants
 */
export const names: ReadonlyArray<string> = all.map((op) => op.name)
