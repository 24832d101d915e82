/**
 * Result views: a result whose answer depends on the query string of its URL, such as a page of
 * a table (`…/results/cursor?FIRST=101&LAST=200`). The job still lists the result and the
 * service still stores its content; an application adds a view for its id (`Worker.views`), and
 * the REST binding answers `GET …/results/{id}?…` with what the view makes of the stored
 * content(s) and the query string.
 *
 * A view only reads: it gets the job's stored results through the same rules as any reader
 * (the caller must be allowed to see the job), and changes nothing.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Content } from "./Content.js"
import { InvalidParameter, PluginFailure, type UwsError } from "./Errors.js"
import type { Caller } from "./Identity.js"
import type { Job } from "./Job.js"
import { describeFailure, guard, type Outcome } from "./Result.js"
import type { StoredContent } from "./ResultStore.js"
import type { UwsService } from "./Uws.js"

/**
 * What a view is asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface ViewRequest {
  readonly job: Job
  readonly resultId: string
  /** The query string of the result's URL, as name/value pairs in order (names as sent). */
  readonly query: ReadonlyArray<readonly [string, string]>
  /** The result's absolute URL without its query string: the base of links to other views. */
  readonly url: string
  /** The stored content of one of the job's results (this one or another). */
  readonly read: (resultId: string) => Effect.Effect<StoredContent, UwsError>
}

/**
 * What a view answers.
 *
 * @since 0.1.0
 * @category models
 */
export interface View {
  readonly mimeType?: string
  readonly content: Content
}

/**
 * A view of one result. A `Left` with a message is about the query string, and the caller can act
 * on it (answered as an invalid parameter); a `Left` with an error of `read` is passed on as it
 * is; a throw or a defect is the application's failure.
 *
 * @since 0.1.0
 * @category models
 */
export type ResultView = (request: ViewRequest) => Outcome<string | UwsError, View>

/**
 * Answers `GET` of a result through the application's view for it: `undefined` when the
 * application has no view for `resultId` (serve the stored result as it is). Fails as
 * `service.get` does for a job the caller may not see or a result the job does not list.
 *
 * @since 0.1.0
 * @category combinators
 */
export const render = (
  service: UwsService,
  caller: Caller,
  request: { readonly jobId: string; readonly resultId: string; readonly query: ReadonlyArray<readonly [string, string]>; readonly url: string }
): Effect.Effect<View | undefined, UwsError> => {
  const view = viewOf(service, request.resultId)
  if (view === undefined) return Effect.succeed(undefined)
  return Effect.gen(function* () {
    // Checks the job is the caller's and lists the result before the view runs.
    const { ref } = yield* service.result(caller, request.jobId, request.resultId)
    const job = yield* service.get(caller, request.jobId)
    const read = (resultId: string) =>
      Effect.flatMap(service.result(caller, request.jobId, resultId), ({ content }) =>
        content === undefined
          ? Effect.fail(new InvalidParameter({ name: "result", reason: `result "${resultId}" is not stored by the service` }))
          : Effect.succeed(content)
      )
    return yield* guard(() => view({ job, resultId: ref.id, query: request.query, url: request.url, read })).pipe(
      Effect.mapError((failure): UwsError =>
        failure._tag === "Returned"
          ? typeof failure.error === "string" ? new InvalidParameter({ name: "query", reason: failure.error }) : failure.error
          : new PluginFailure({ plugin: service.worker.name, operation: `view of result "${ref.id}"`, reason: describeFailure(failure) })
      )
    )
  })
}

/**
 * The application's view for a result id, if it has one.
 *
 * @since 0.1.0
 * @category getters
 */
export const viewOf = (service: UwsService, resultId: string): ResultView | undefined =>
  Object.hasOwn(service.worker.views ?? {}, resultId) ? service.worker.views![resultId] : undefined
