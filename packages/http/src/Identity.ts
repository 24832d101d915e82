/**
 * Who is calling: the one identity contract of every binding. A caller comes, in this order,
 * from the host that already authenticated the request (`handler(request, { caller })`,
 * `listener(req, res, { caller })`, the edge's `context` hook, or `HostCaller` in an Effect
 * host), then from the binding's `identifyNode` (Node requests), then from `identify` (a web
 * `Request`), else it is core's anonymous caller. A throw or a rejection of any of them — an
 * `Unauthorized` or anything else — refuses the request with a 401 in the binding's own error
 * form; an answer that is not a caller is the host's bug (500).
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as CoreIdentity from "@uws-kit/core/Identity"
import type { Caller } from "@uws-kit/core/Identity"
import { Context, Data, Effect } from "effect"
import { contexts, type HostContext as Ctx } from "./internal/hostContext.js"

/**
 * Identifies the caller from a request of type `Req` (a web `Request`, a Node `IncomingMessage`).
 *
 * @since 0.1.0
 * @category models
 */
export type Identify<Req> = (request: Req) => Caller | PromiseLike<Caller>

/**
 * What a host passes with one request: the caller it authenticated (Express `req.user`,
 * Fastify `request.user`, Hono `c.get("user")`), mapped to a core `Caller`.
 *
 * @since 0.1.0
 * @category models
 */
export type HostContext = Ctx

/**
 * The refusal an `identify` may throw (any throw refuses the request alike; this one says so).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Data.TaggedError("Unauthorized")<{ readonly message: string }> {}

/**
 * The caller an Effect host authenticated, for a binding mounted in its router:
 * `Effect.provideService(app, Identity.HostCaller, caller)` (or a middleware doing so).
 *
 * @since 0.1.0
 * @category host
 */
export class HostCaller extends Context.Reference<HostCaller>()("@uws-kit/http/Identity/HostCaller", {
  defaultValue: (): Caller | undefined => undefined
}) {}

/**
 * The identity options every binding takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Who is calling, from the web request (headers, cookies); default anonymous. Under the Node
   * listener it gets a Request built from the Node request's line and headers (no body).
   */
  readonly identify?: Identify<Request> | undefined
  /**
   * Who is calling, from the Node request, for hosts whose authentication leaves its result on it
   * (Express `req.user`); used by the listener in preference to `identify`. The edge's `context`
   * hook (`listener(req, res, { caller })`) does the same for any host and is preferred.
   */
  readonly identifyNode?: Identify<IncomingMessage> | undefined
}

/**
 * How a binding answers a refused identification, in its own error form.
 *
 * @since 0.1.0
 * @category models
 */
export interface Refusals<E> {
  /** `identify` threw or rejected with `cause` (401). */
  readonly unauthorized: (cause: unknown) => E
  /** `identify` answered something that is not a caller (500). */
  readonly notACaller: () => E
}

const isNode = (u: unknown): u is IncomingMessage =>
  typeof u === "object" && u !== null && "socket" in u && typeof (u as IncomingMessage).url === "string"

const isCaller = (u: unknown): u is Caller =>
  typeof u === "object" && u !== null && "id" in u && (u.id === null || typeof u.id === "string")

/**
 * The web `Request` handed to `identify`: the request itself, or one built at `url` from a
 * Node request's method and headers (no body).
 *
 * @since 0.1.0
 * @category reading
 */
export const webRequest = (request: HttpServerRequest, url: () => string): Request => {
  const source = request.source
  if (source instanceof Request) return source
  const headers = new Headers()
  for (const [k, v] of Object.entries(request.headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>)) {
    if (v === undefined || k.startsWith(":")) continue
    if (typeof v === "string") headers.append(k, v)
    else for (const x of v) headers.append(k, x)
  }
  return new Request(url(), { method: request.method, headers })
}

const nodeWebRequest = (request: IncomingMessage, url: string): Request => {
  const headers = new Headers()
  for (const [k, v] of Object.entries(request.headers)) {
    if (v === undefined || k.startsWith(":")) continue
    if (typeof v === "string") headers.append(k, v)
    else for (const x of v) headers.append(k, x)
  }
  return new Request(url, { method: request.method ?? "GET", headers })
}

const call = <E>(f: () => Caller | PromiseLike<Caller>, refuse: Refusals<E>): Effect.Effect<Caller, E> =>
  Effect.tryPromise({ try: async () => f(), catch: refuse.unauthorized }).pipe(
    Effect.flatMap((caller) => (isCaller(caller) ? Effect.succeed(caller) : Effect.fail(refuse.notACaller())))
  )

/**
 * The caller of `request` under `options` (see the module for the order). `url` is where the
 * request is, as the client sees it, for the Request that `identify` gets under Node.
 *
 * @since 0.1.0
 * @category reading
 */
export const resolve = <E>(
  request: HttpServerRequest,
  options: Options,
  refuse: Refusals<E>,
  url: () => string
): Effect.Effect<Caller, E> =>
  Effect.flatMap(HostCaller, (hostCaller) => {
    if (hostCaller !== undefined) return Effect.succeed(hostCaller)
    const source = request.source
    const pending = typeof source === "object" && source !== null ? contexts.get(source) : undefined
    const fallback = (): Effect.Effect<Caller, E> => {
      const node = options.identifyNode
      const web = options.identify
      if (node !== undefined && isNode(source)) return call(() => node(source), refuse)
      if (web !== undefined) return call(() => web(webRequest(request, url)), refuse)
      return Effect.succeed(CoreIdentity.anonymous)
    }
    if (pending === undefined) return fallback()
    // The host's context may leave the caller out (an unauthenticated route): the binding decides then.
    return Effect.tryPromise({ try: async () => (await pending()).caller, catch: refuse.unauthorized }).pipe(
      Effect.flatMap((caller) =>
        caller === undefined ? fallback() : isCaller(caller) ? Effect.succeed(caller) : Effect.fail(refuse.notACaller())
      )
    )
  })

/**
 * The caller of a Node request when it is known at once, for answers that skip the effect (a
 * cached read): `hostCaller` (what the host passed with the request), else `identifyNode` or
 * `identify` when they answer a caller synchronously, else anonymous. `undefined` when only
 * `resolve` can tell: the host's `context` hook, an identification that is pending, refused or
 * not a caller. Whatever `identifyNode`/`identify` answered is kept for `resolve`, so that the
 * request is identified once either way.
 *
 * @since 0.1.0
 * @category reading
 */
export const resolveNow = (request: IncomingMessage, options: Options, hostCaller: Caller | undefined, url: () => string): Caller | undefined => {
  if (hostCaller !== undefined) return hostCaller
  if (contexts.has(request)) return undefined
  const node = options.identifyNode
  const web = options.identify
  if (node === undefined && web === undefined) return CoreIdentity.anonymous
  let answer: Caller | PromiseLike<Caller>
  try {
    answer = node !== undefined ? node(request) : web!(nodeWebRequest(request, url()))
  } catch (e) {
    contexts.set(request, () => {
      throw e
    })
    return undefined
  }
  if (isCaller(answer)) {
    const caller = answer
    contexts.set(request, () => ({ caller }))
    return caller
  }
  const pending = answer
  contexts.set(request, () => Promise.resolve(pending).then((caller) => ({ caller })))
  return undefined
}
