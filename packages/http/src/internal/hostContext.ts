/**
 * What a host passed with one request (`handler(request, { caller })`, `listener(req, res, { caller })`,
 * or its `context` hook), keyed by the request's source object: the web `Request` or the Node
 * `IncomingMessage` the app sees as `HttpServerRequest.source`. A WeakMap, so nothing outlives
 * its request, and a request without host context costs one failed lookup.
 */
import type { Caller } from "@uws-kit/core/Identity"

export interface HostContext {
  readonly caller?: Caller | undefined
}

export type Pending = () => HostContext | PromiseLike<HostContext>

export const contexts = new WeakMap<object, Pending>()
