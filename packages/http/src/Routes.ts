/**
 * Routing from routes a binding declares once: each path with the handlers of its methods. From
 * the same declaration come the 405 for any other method (known or not: TRACE, PROPFIND…), its
 * `Allow` header, OPTIONS (204 with `Allow`) and HEAD (answered by GET, unless the route's GET has
 * effects). A path that no route declares is `undefined`: the binding answers its own 404.
 *
 * Paths are matched by `find-my-way-ts`, the matcher and path syntax of @effect/platform's
 * `HttpRouter`, but handlers are plain functions of the route's parameters and of what the binding
 * passes in: no router app or per-request services between a request and its handler (they cost
 * REST about a third of its time per GET).
 *
 * @since 0.1.0
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import * as FindMyWay from "find-my-way-ts"

/**
 * @since 0.1.0
 * @category models
 */
export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH"

/**
 * A route's parameters, decoded (`/jobs/:id` → `{ id }`).
 *
 * @since 0.1.0
 * @category models
 */
export type Params = Readonly<Record<string, string | undefined>>

/**
 * A route's handler: its parameters and what the binding knows of the request (`input`).
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<I, E, R> = (params: Params, input: I) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>

/**
 * A find-my-way path: `/jobs/:id/phase`.
 *
 * @since 0.1.0
 * @category models
 */
export type PathInput = FindMyWay.PathInput

/**
 * One path and the handlers of its methods.
 *
 * @since 0.1.0
 * @category models
 */
export interface Route<I, E, R> {
  readonly path: PathInput
  readonly methods: { readonly [M in Method]?: Handler<I, E, R> }
  /** The GET has effects (it creates something): HEAD is refused rather than answered by it. */
  readonly effectfulGet?: boolean
}

/**
 * The `Allow` header of a route: its methods as declared, then HEAD (with a GET without effects)
 * and OPTIONS.
 *
 * @since 0.1.0
 * @category routing
 */
export const allowOf = (route: Route<never, unknown, unknown>): string => {
  const methods: Array<string> = Object.keys(route.methods)
  if (route.methods.GET !== undefined && route.effectfulGet !== true) methods.push("HEAD")
  methods.push("OPTIONS")
  return methods.join(", ")
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<E> {
  /** The binding's 405, in its own error form, with `allow` in its `Allow` header. */
  readonly methodNotAllowed: (method: string, allow: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, E>
  /** Whether paths match case-sensitively (default `true`). */
  readonly caseSensitive?: boolean
}

/**
 * Routes `method` and `path` (a query string is ignored) to the handler of the declared route,
 * given `input`; `undefined` when no route declares the path.
 *
 * @since 0.1.0
 * @category models
 */
export type Router<I, E, R> = ((method: string, path: string, input: I) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> | undefined) & {
  /**
   * The declared route `path` falls under (its `path` as declared) and its parameters, or
   * `undefined`: for a binding's answers that skip the router (a cached read), so that they
   * match exactly the paths the router gives that route.
   */
  readonly match: (path: string) => { readonly route: PathInput; readonly params: Params } | undefined
}

interface Entry<I, E, R> {
  readonly path: PathInput
  readonly methods: Route<I, E, R>["methods"]
  readonly allow: string
  /** The handler HEAD gets: the GET's, or none when that has effects. */
  readonly head: Handler<I, E, R> | undefined
}

// Every route is registered once, under this key: the method is dispatched here, from the route.
const ANY = "ANY"

/**
 * The router over `routes`. The platform runs an app uninterruptibly: a binding runs its routes
 * inside `Effect.interruptible` (as @effect/platform's router does), so that a request's work can
 * be cancelled when its client goes away.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { HttpServerResponse } from "@effect/platform"
 * import { Routes } from "@uws-kit/http"
 * import { Effect } from "effect"
 * const route = Routes.make<void, never, never>(
 *   [{ path: "/jobs/:id", methods: { GET: (p) => Effect.succeed(HttpServerResponse.text(`job ${p["id"]}`)) } }],
 *   { methodNotAllowed: (_, allow) => Effect.succeed(HttpServerResponse.empty({ status: 405, headers: { allow } })) }
 * )
 * route("GET", "/jobs/7", undefined)
 */
export const make = <I, E, R>(routes: ReadonlyArray<Route<I, E, R>>, options: Options<E>): Router<I, E, R> => {
  // No bound on a parameter's length (find-my-way's default, 100, made a long job id a 404).
  const matcher = FindMyWay.make<Entry<I, E, R>>({ caseSensitive: options.caseSensitive ?? true, maxParamLength: Number.MAX_SAFE_INTEGER })
  for (const route of routes) {
    matcher.on(ANY, route.path, {
      path: route.path,
      methods: route.methods,
      allow: allowOf(route),
      head: route.effectfulGet === true ? undefined : route.methods.GET
    })
  }
  const route = (method: string, path: string, input: I) => {
    const found = matcher.find(ANY, path)
    if (found === undefined) return undefined
    const entry = found.handler
    // Own keys only: a method named like an Object member (`toString`) is not declared.
    const handler = method === "HEAD" ? entry.head : Object.hasOwn(entry.methods, method) ? entry.methods[method as Method] : undefined
    if (handler !== undefined) return handler(found.params, input)
    if (method === "OPTIONS") return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { allow: entry.allow } }))
    return options.methodNotAllowed(method, entry.allow)
  }
  return Object.assign(route, {
    match: (path: string) => {
      const found = matcher.find(ANY, path)
      return found === undefined ? undefined : { route: found.handler.path, params: found.params }
    }
  })
}
