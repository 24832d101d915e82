/**
 * @uws-kit/conformance: conformance testing of any UWS 1.1 service by URL — the fixed checks
 * ({@link Checks}), the property-based run against a permissive model ({@link Property},
 * {@link Model}), schema validation in process ({@link Schema}) and the report ({@link Report}).
 * `describeConformance` (vitest) is in `@uws-kit/conformance/vitest`.
 *
 * @since 0.1.0
 */
export * as Check from "./Check.js"
export * as Checks from "./Checks.js"
export { checkServer } from "./Conformance.js"
export type { Options, Progress } from "./Conformance.js"
export * as Conformance from "./Conformance.js"
export * as Exchange from "./Exchange.js"
export * as Model from "./Model.js"
export * as Property from "./Property.js"
export * as Report from "./Report.js"
export * as Schema from "./Schema.js"
