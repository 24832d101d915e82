/**
 * The demo's traces (issue #15): with `OTEL_EXPORTER_OTLP_ENDPOINT` set, a span per HTTP request
 * (`GET /uws/{service}/jobs/{id}`) and per job run (`uws.run echo`) goes through Effect's tracer
 * (@effect/opentelemetry) to that collector over OTLP/HTTP; unset, nothing is loaded or sent.
 * Only the tracer provider is built (not @effect/opentelemetry's NodeSdk), so the OTel logs and
 * metrics SDKs are not needed.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as OtelResource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import type { Worker } from "@uws-kit/core"
import type { AccessLog } from "@uws-kit/http"
import { Effect, Layer } from "effect"
import type { ManagedRuntime } from "effect"

export interface Tracing {
  /** Effect's tracer, exporting to the collector (flushed when the runtime is disposed). */
  readonly layer: Layer.Layer<never>
  readonly requests: (
    listener: (req: IncomingMessage, res: ServerResponse) => void,
    runtime: ManagedRuntime.ManagedRuntime<never, never>,
    route: (path: string) => AccessLog.Route
  ) => (req: IncomingMessage, res: ServerResponse) => void
  readonly worker: (worker: Worker.Worker, runtime: ManagedRuntime.ManagedRuntime<never, never>) => Worker.Worker
}

/** The tracing the environment asks for, or `undefined` when `OTEL_EXPORTER_OTLP_ENDPOINT` is unset. */
export const tracing = (env: NodeJS.ProcessEnv): Tracing | undefined => {
  const endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]?.trim()
  if (endpoint === undefined || endpoint === "") return undefined
  const provider = Layer.scoped(
    OtelTracer.OtelTracerProvider,
    Effect.flatMap(OtelResource.Resource, (resource) =>
      Effect.acquireRelease(
        Effect.sync(() => new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] })),
        // Spans still batched go out before the demo stops.
        (p) => Effect.promise(() => p.forceFlush().then(() => p.shutdown())).pipe(Effect.timeoutOption("3 seconds"))
      )
    )
  )
  const layer = Layer.discard(
    OtelTracer.layer.pipe(
      Layer.provide(provider),
      Layer.provide(OtelResource.layer({ serviceName: env["OTEL_SERVICE_NAME"]?.trim() || "uws-kit-demo" }))
    )
  )
  return {
    layer,
    requests: (listener, runtime, route) => (req, res) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/"
      const r = route(path)
      // The span lasts until the response is done, whatever the listener does meanwhile.
      runtime.runFork(
        Effect.async<void>((resume) => {
          res.once("close", () => resume(Effect.void))
          listener(req, res)
        }).pipe(
          Effect.tap(() => Effect.annotateCurrentSpan({ "http.response.status_code": res.statusCode })),
          Effect.withSpan(`${req.method ?? "GET"} ${r.template}`, {
            kind: "server",
            attributes: { "http.request.method": req.method ?? "GET", "url.path": path, "http.route": r.template, ...(r.jobId === undefined ? {} : { "uws.job_id": r.jobId }) }
          })
        )
      )
    },
    worker: (worker, runtime) => ({
      ...worker,
      run: (job, context) => {
        const span = Effect.withSpan(`uws.run ${worker.name}`, { kind: "internal", attributes: { "uws.application": worker.name, "uws.job_id": job.jobId } })
        const out = worker.run(job, context)
        if (Effect.isEffect(out)) {
          // The run is an Effect the core runs: it takes the demo's tracer along.
          const tracer = runtime.runSync(Effect.tracer)
          return out.pipe(span, Effect.withTracer(tracer))
        }
        return runtime.runPromise(Effect.tryPromise({ try: () => Promise.resolve(out), catch: (e) => e }).pipe(span))
      }
    })
  }
}
