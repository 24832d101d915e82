/**
 * One way to serve a binding: its @effect/platform app becomes `{ app, handler, listener, layer,
 * dispose }`, so that it mounts in any host.
 *
 * - `handler(request, { caller }?)`: web-standard, for fetch runtimes and Hono.
 * - `listener(req, res, { caller }?)`: Node, for node:http, Express and Fastify
 *   (`reply.hijack()` + `reply.raw`). A complete request is answered even after a client
 *   half-close (`HalfClose`), and an answer given before the end of the body reaches a client
 *   still sending it (`Linger`).
 * - `app`: the app itself, for an Effect host's router (`HttpRouter.mountApp`, `HttpLayerRouter.add`);
 *   the host passes its caller with `Identity.HostCaller`.
 * - `layer`: the app added to an `HttpLayerRouter` at the binding's mount path (and below it).
 *
 * A host that authenticated the request passes the caller per request, typed, or gives a
 * `context` hook (as tRPC's `createContext`) that reads it from the request (Express `req.user`).
 * It may run the app on its own `ManagedRuntime` or `Runtime` (its logger, tracer, config);
 * by default the app runs on Effect's default runtime with the per-request tracer span turned off
 * (that runtime's tracer records nothing, and the span costs about 10 µs a request).
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type { HttpServerRequest } from "@effect/platform/HttpServerRequest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { Caller } from "@uws-kit/core/Identity"
import { Deferred, Effect, type Layer, ManagedRuntime, Runtime, type Scope } from "effect"
import * as HalfClose from "./HalfClose.js"
import * as Linger from "./Linger.js"
import { contexts, type HostContext } from "./internal/hostContext.js"

/**
 * The app a binding is built from: it handles every error itself (a scope, when it needs one, is
 * the request's).
 *
 * @since 0.1.0
 * @category models
 */
export type App = HttpApp.Default<never, HttpServerRequest | Scope.Scope>

/**
 * The per-request hook of a host (like tRPC's `createContext`): what it knows about the request,
 * the caller above all. Called only when the binding needs the caller; a throw or a rejection
 * refuses the request with a 401.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContextHooks {
  readonly web?: ((request: Request) => HostContext | PromiseLike<HostContext>) | undefined
  readonly node?: ((request: IncomingMessage, response: ServerResponse) => HostContext | PromiseLike<HostContext>) | undefined
}

/**
 * How a host serves a binding: the options every adapter passes through.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostOptions {
  /** The host's runtime (its logger, tracer, config); default Effect's, untraced. */
  readonly runtime?: ManagedRuntime.ManagedRuntime<never, unknown> | Runtime.Runtime<never> | undefined
  /** The host's per-request context (see `ContextHooks`). */
  readonly context?: ContextHooks | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends HostOptions {
  /** The path the binding is mounted at (`""` or `/a/b`), for `layer`. */
  readonly mount: string
  /** What the binding does when disposed (end blocked waits, refuse new requests). */
  readonly dispose: () => Promise<void>
  /**
   * The binding's answers that need no effect (a cached read), tried first by the Node listener
   * on Effect's default runtime: whether it answered. `caller` is the one the host passed with
   * the request. It must answer as the app would, or leave the request to the app.
   */
  readonly fast?: ((request: IncomingMessage, response: ServerResponse, caller: Caller | undefined) => boolean) | undefined
}

/**
 * What Express passes a mounted listener third (ignored: the listener answers every request).
 *
 * @since 0.1.0
 * @category models
 */
export type Next = (error?: unknown) => void

/**
 * A served binding.
 *
 * @since 0.1.0
 * @category models
 */
export interface Edge {
  /** The @effect/platform app behind everything below, for an Effect host's router. */
  readonly app: App
  /** Web-standard handler; `context.caller` is the caller the host authenticated. */
  readonly handler: (request: Request, context?: HostContext) => Promise<Response>
  /**
   * Node listener; `context.caller` is the caller the host authenticated. Mounted as Express
   * middleware (`app.use(path, listener)`), the `next` Express passes third is ignored.
   */
  readonly listener: (request: IncomingMessage, response: ServerResponse, context?: HostContext | Next) => void
  /** The app added to an `HttpLayerRouter` at the mount path and below it. */
  readonly layer: Layer.Layer<never, never, HttpLayerRouter.HttpRouter>
  /** Stops the binding (see the binding's own `dispose`); the host's runtime stays the host's. */
  readonly dispose: () => Promise<void>
}

/**
 * A binding's closing: once `close` is called, `isClosed` answers true (new requests are refused)
 * and `closing` completes (blocked waits end at once), so that a server holding it can close.
 *
 * @since 0.1.0
 * @category models
 */
export interface Shutdown {
  readonly closing: Deferred.Deferred<void>
  readonly isClosed: () => boolean
  readonly close: () => Promise<void>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeShutdown = (): Shutdown => {
  const closing = Effect.runSync(Deferred.make<void>())
  let closed = false
  return {
    closing,
    isClosed: () => closed,
    close: async () => {
      closed = true
      await Effect.runPromise(Deferred.succeed(closing, undefined))
    }
  }
}

// Built once: the default runtime with the per-request span turned off.
let untracedRuntime: Runtime.Runtime<never> | undefined
const defaultRuntime = () =>
  (untracedRuntime ??= Effect.runSync(Effect.locally(Effect.runtime<never>(), HttpMiddleware.currentTracerDisabledWhen, () => true)))

type Handlers = {
  readonly web: (request: Request) => Promise<Response>
  readonly node: (request: IncomingMessage, response: ServerResponse) => void
}

const handlersOn = (app: App, runtime: Runtime.Runtime<never>): Handlers => ({
  web: HttpApp.toWebHandlerRuntime(runtime)(app),
  node: Runtime.runSync(runtime)(NodeHttpServer.makeHandler(app))
})

const isManaged = (
  runtime: ManagedRuntime.ManagedRuntime<never, unknown> | Runtime.Runtime<never>
): runtime is ManagedRuntime.ManagedRuntime<never, unknown> => ManagedRuntime.isManagedRuntime(runtime)

/**
 * Serves `app`.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * import { HttpServerResponse } from "@effect/platform"
 * import { Edge } from "@uws-kit/http"
 * import { Effect } from "effect"
 * const edge = Edge.make(Effect.succeed(HttpServerResponse.text("hi")), { mount: "/hi", dispose: async () => {} })
 * await edge.handler(new Request("http://localhost/hi"))
 */
export const make = (app: App, options: Options): Edge => {
  const runtime = options.runtime
  let handlers: Handlers | undefined
  let ready: Promise<Handlers> | undefined
  if (runtime === undefined) handlers = handlersOn(app, defaultRuntime())
  else if (isManaged(runtime)) ready = runtime.runtime().then((rt) => (handlers = handlersOn(app, rt)))
  else handlers = handlersOn(app, runtime)
  const hooks = options.context
  // A host's runtime (its tracer, logger) sees every request; so does its context hook.
  const fast = runtime === undefined ? options.fast : undefined
  const mount = options.mount.replace(/\/+$/, "")
  const at: HttpLayerRouter.PathInput = mount === "" ? "/" : `/${mount.replace(/^\/+/, "")}`
  return {
    app,
    handler: (request, context) => {
      if (context?.caller !== undefined) contexts.set(request, () => context)
      else if (hooks?.web !== undefined) {
        const hook = hooks.web
        contexts.set(request, () => hook(request))
      }
      return handlers !== undefined ? handlers.web(request) : ready!.then((h) => h.web(request))
    },
    listener: (req, res, context) => {
      HalfClose.answerAfterHalfClose(req)
      Linger.afterAnswer(req, res)
      // Express calls a mounted listener with `next` third: only an object is the host's context.
      const direct = typeof context === "object" && context !== null ? context.caller : undefined
      if (direct === undefined && hooks?.node !== undefined) {
        const hook = hooks.node
        contexts.set(req, () => hook(req, res))
      } else if (fast !== undefined && fast(req, res, direct)) return
      if (direct !== undefined) contexts.set(req, () => context as HostContext)
      if (handlers !== undefined) handlers.node(req, res)
      else
        ready!.then(
          (h) => h.node(req, res),
          () => {
            res.statusCode = 500
            res.end()
          }
        )
    },
    layer: HttpLayerRouter.use((router) =>
      Effect.zipRight(router.add("*", at, app), router.add("*", at === "/" ? "/*" : `${at}/*`, app))
    ),
    dispose: options.dispose
  }
}
