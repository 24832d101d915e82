/**
 * What every REST route handler works with: the binding's configuration, one request's context
 * (the caller, negotiated preferences, public URLs), and the few services the handlers share.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { LimitExceeded } from "@uws-kit/core/Errors"
import type { Caller } from "@uws-kit/core/Identity"
import * as Policy from "@uws-kit/core/Policy"
import type { Upload, UwsService } from "@uws-kit/core/Uws"
import { type CrossSite, Header, type Identity } from "@uws-kit/http"
import { Deferred, Effect, Either, type Scope } from "effect"
import type * as Html from "../Html.js"
import type { JobDescription } from "../RestAdapter.js"
import { readForm, type PairLimit } from "./body.js"
import { type RestError, badRequest, type AnyError } from "./errors.js"
import type * as Form from "./form.js"
import type { Location } from "./urls.js"

export interface Config extends Identity.Options {
  readonly service: UwsService
  readonly base: ReadonlyArray<string>
  readonly jobs: ReadonlyArray<string>
  readonly sync: ReadonlyArray<string>
  readonly maxBodyBytes: number
  readonly title: string
  readonly trustForwarded: boolean
  /** `tap`: errors a TAP client parses (sync job in ERROR, unknown job) are DALI VOTable documents. */
  readonly layout: "uws" | "tap"
  readonly closing: Deferred.Deferred<void>
  readonly isClosed: () => boolean
  /** Refuses state-changing requests from other sites' pages (CSRF). */
  readonly crossSite: ReturnType<typeof CrossSite.make>
  /** Where uploads are spooled while a request is read. */
  readonly spoolDirectory: string
  /** Job descriptions POSTed in their own media type (RestOptions.jobDescription). */
  readonly jobDescription: JobDescription | undefined
}

export type Method = "GET" | "POST" | "PUT" | "DELETE"

export interface Urls {
  readonly list: string
  readonly job: (jobId: string) => string
  readonly sync: string
  readonly syncJob: (jobId: string) => string
  readonly assets: Html.Assets
}

export interface Ctx {
  readonly req: HttpServerRequest.HttpServerRequest
  readonly method: Method
  readonly accept: string | undefined
  /** Only browsers get HTML (see negotiate.ts). */
  readonly browser: boolean
  readonly loc: Location
  readonly urls: Urls
  readonly query: Form.Pairs
  readonly caller: Caller
}

export type Handler = (ctx: Ctx) => Effect.Effect<HttpServerResponse.HttpServerResponse, AnyError, Scope.Scope>

export const fromEither = <A>(e: Either.Either<A, string>): Effect.Effect<A, RestError> =>
  Either.isRight(e) ? Effect.succeed(e.right) : Effect.fail(badRequest(e.left))

export const header = (req: HttpServerRequest.HttpServerRequest, name: string): string | undefined => Header.get(req.headers, name)

/** What the route handlers share, made once per binding. */
export interface Deps {
  readonly config: Config
  readonly service: UwsService
  /** The largest body a request may send (`maxBodyBytes`). */
  readonly limit: number
  /** Completes when the binding closes: a blocked WAIT ends at once (`WaitOptions.until`). */
  readonly closing: Effect.Effect<void>
  /** The form pairs of a POST: query string first, then the body. */
  readonly formOf: (ctx: Ctx) => Effect.Effect<{ readonly params: Form.Pairs; readonly uploads: ReadonlyArray<Upload> }, RestError | LimitExceeded, Scope.Scope>
  /** How many form fields a body may have (from `maxParametersPerJob`); none = no limit. */
  readonly pairLimit: PairLimit | undefined
}

export const makeDeps = (config: Config): Deps => {
  const { service } = config
  const limit = config.maxBodyBytes

  const closing = Deferred.await(config.closing)

  const maxParameters = service.policy.maxParametersPerJob
  const pairLimit: PairLimit | undefined =
    maxParameters === null
      ? undefined
      : {
          maxPairs: maxParameters + 16,
          error: new LimitExceeded({
            limit: "maxParametersPerJob",
            description: Policy.describeLimit("maxParametersPerJob", maxParameters),
            actual: `more than ${maxParameters + 16} form fields`
          })
        }

  /** The form pairs of a POST: query string first, then the body. */
  const formOf = (ctx: Ctx) =>
    Effect.map(readForm(ctx.req, limit, config.spoolDirectory, pairLimit), (b) => ({ params: [...ctx.query, ...b.params] as Form.Pairs, uploads: b.uploads }))

  return { config, service, limit, closing, formOf, pairLimit }
}
