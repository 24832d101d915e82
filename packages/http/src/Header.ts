/**
 * One reading of a request header for every binding. Node hands repeated headers over as an
 * array (or joined, depending on the header); a web `Headers` object joins them with ", ". Both
 * are read here the RFC 9110 §5.3 way: the field values joined with ", ", in order.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * The value of header `name` (lower-case), repeated fields joined with ", "; `undefined` when absent.
 *
 * @since 0.1.0
 * @category reading
 * @example
 * import { Header } from "@uws-kit/http"
 * Header.get({ accept: ["text/plain", "application/json"] }, "accept") // "text/plain, application/json"
 */
export const get = (headers: Headers, name: string): string | undefined => {
  const value = headers[name]
  return typeof value === "string" || value === undefined ? value : value.join(", ")
}
