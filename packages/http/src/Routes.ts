/**
 * Routing on @effect/platform's `HttpRouter` from routes a binding declares once: each path with
 * the handlers of its methods. From the same declaration come the 405 for any other method, its
 * `Allow` header, OPTIONS (204 with `Allow`) and HEAD (answered by GET, unless the route's GET has
 * effects); a path that no route declares fails with the router's `RouteNotFound`.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { RouteNotFound } from "@effect/platform/HttpServerError"
import { Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH"

/**
 * What a route's handler may need: the request, and the route's parameters (`HttpRouter.params`).
 *
 * @since 0.1.0
 * @category models
 */
export type Provided = HttpRouter.RouteContext | HttpServerRequest

/**
 * @since 0.1.0
 * @category models
 */
export type Handler<E, R> = Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | Provided>

/**
 * One path and the handlers of its methods.
 *
 * @since 0.1.0
 * @category models
 */
export interface Route<E, R> {
  /** A find-my-way path: `/jobs/:id/phase`. */
  readonly path: HttpRouter.PathInput
  readonly methods: { readonly [M in Method]?: Handler<E, R> }
  /** The GET has effects (it creates something): HEAD is refused rather than answered by it. */
  readonly effectfulGet?: boolean
}

const ALL: ReadonlyArray<Method | "HEAD" | "OPTIONS"> = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

/**
 * The `Allow` header of a route: its methods as declared, then HEAD (with a GET without effects)
 * and OPTIONS.
 *
 * @since 0.1.0
 * @category routing
 */
export const allowOf = (route: Route<unknown, unknown>): string => {
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

/** The request seen as an OPTIONS request (the platform's requests have no `modify` of the method). */
const asOptions = (request: HttpServerRequest): HttpServerRequest =>
  Object.create(request, { method: { value: "OPTIONS", enumerable: true } }) as HttpServerRequest

/**
 * The app routing requests over `routes`. Methods the platform's router does not know (TRACE,
 * PROPFIND…) get the 405 of the path they name, found through its OPTIONS route.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E, R>(
  routes: ReadonlyArray<Route<E, R>>,
  options: Options<E>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E | RouteNotFound, Exclude<R, Provided> | HttpServerRequest> => {
  let router: HttpRouter.HttpRouter<E, R> = HttpRouter.empty
  for (const route of routes) {
    const allow = allowOf(route)
    const refuse = Effect.flatMap(HttpServerRequest, (request) => options.methodNotAllowed(request.method, allow))
    for (const method of ALL) {
      const declared = method === "HEAD" || method === "OPTIONS" ? undefined : route.methods[method]
      if (declared !== undefined) router = HttpRouter.route(method)(route.path, declared)(router)
      else if (method === "OPTIONS") router = HttpRouter.route(method)(route.path, Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { allow } })))(router)
      // HEAD without a route of its own is answered by the GET route (the router's rule).
      else if (method !== "HEAD" || route.methods.GET === undefined || route.effectfulGet === true) router = HttpRouter.route(method)(route.path, refuse)(router)
    }
  }
  const app = Effect.runSync(HttpRouter.withRouterConfig(HttpRouter.toHttpApp(router), { caseSensitive: options.caseSensitive ?? true }))
  const known = new Set<string>(ALL)
  return Effect.flatMap(HttpServerRequest, (request) =>
    known.has(request.method)
      ? app
      : Effect.provideService(app, HttpServerRequest, asOptions(request)).pipe(
          Effect.flatMap((found) => options.methodNotAllowed(request.method, found.headers["allow"] ?? "OPTIONS"))
        )
  ) as Effect.Effect<HttpServerResponse.HttpServerResponse, E | RouteNotFound, Exclude<R, Provided> | HttpServerRequest>
}
