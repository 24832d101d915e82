/**
 * Inline uploads (UWS §2.2.3.1.1): a file becomes the by-reference parameter `param:{name}` and
 * its content is kept by the ResultStore under `parameters/{name}`, metered against the policy's
 * upload limits as it streams in.
 */
import { Effect, Either, Exit, Stream } from "effect"
import type { LimitExceeded, UwsError } from "../Errors.js"
import { toStream } from "../Content.js"
import { canonicalName, type Parameter, uploadName, uploadParameter } from "../Job.js"
import * as Policies from "../Policy.js"
import type { Upload } from "../Uws.js"
import { randomJobId } from "./jobId.js"
import type { Services } from "./services.js"

export const uploadKey = (name: string) => `parameters/${name}`

/** The parameter an upload becomes. */
export const uploadParameters = (uploads: ReadonlyArray<Upload>): Array<Parameter> =>
  uploads.map((u) => uploadParameter(u.name))

/** Parameter names are case-insensitive: one rule, here, for every adapter (see `canonicalName`). */
export const canonicalUploads = (uploads: ReadonlyArray<Upload>): ReadonlyArray<Upload> =>
  uploads.every((u) => typeof u.name !== "string" || u.name === canonicalName(u.name))
    ? uploads
    : uploads.map((u) => (typeof u.name === "string" ? { ...u, name: canonicalName(u.name) } : u))

/** The stored upload a by-reference parameter names, if it is one (Job's one `param:` rule). */
export const uploadedName: (p: Parameter) => string | undefined = uploadName

export interface Uploads {
  /** Stores a new job's uploads; on failure none of its contents stay. */
  readonly store: (jobId: string, uploads: ReadonlyArray<Upload>) => Effect.Effect<void, UwsError>
  /**
   * Runs `update` with the uploads read once, into a staging area: they become the parameters'
   * content only when the update is stored, so a retried or refused update changes nothing.
   */
  readonly staged: <A>(jobId: string, uploads: ReadonlyArray<Upload>, update: Effect.Effect<A, UwsError>) => Effect.Effect<A, UwsError>
}

export const makeUploads = (deps: Pick<Services, "policy" | "store" | "results">): Uploads => {
  const { policy, store, results } = deps

  /**
   * Stores uploads under `keyOf(name)`, measuring their bytes as they stream in: past an upload
   * limit (`before` = bytes of the job's uploads kept already) the put fails with LimitExceeded.
   */
  const putUploads = (jobId: string, uploads: ReadonlyArray<Upload>, keyOf: (name: string) => string, before: number) =>
    Effect.suspend(() => {
      let total = before
      return Effect.forEach(
        uploads,
        (u) => {
          let size = 0
          let over: LimitExceeded | undefined
          const metered = Stream.mapEffect(toStream(u.content), (chunk) => {
            size += chunk.length
            const check = Policies.checkUploadBytes(policy, u.name, size, total)
            return Either.isLeft(check) ? Effect.fail((over = check.left)) : Effect.succeed(chunk)
          })
          return results.put(jobId, keyOf(u.name), metered, u.mimeType).pipe(
            Effect.mapError((e) => over ?? e),
            Effect.map((stored) => void (total += stored.size))
          )
        },
        { discard: true }
      )
    })

  /** Bytes of a job's stored uploads that an update sending `replacing` keeps. */
  const keptUploadBytes = (jobId: string, replacing: ReadonlyArray<Upload>) =>
    policy.maxUploadBytesPerJob === null
      ? Effect.succeed(0)
      : Effect.flatMap(store.get(jobId), (job) => {
          const names = new Set(replacing.map((u) => u.name.toLowerCase()))
          const kept = (job?.parameters ?? []).filter((p) => uploadedName(p) !== undefined && !names.has(p.name.toLowerCase()))
          return Effect.map(
            Effect.forEach(kept, (p) => results.get(jobId, uploadKey(uploadedName(p)!))),
            (contents) => contents.reduce((n, c) => n + (c?.size ?? 0), 0)
          )
        })

  return {
    store: (jobId, uploads) =>
      putUploads(jobId, uploads, uploadKey, 0).pipe(Effect.tapError(() => Effect.ignore(results.deleteAll(jobId)))),
    staged: (jobId, uploads, update) =>
      Effect.gen(function* () {
        const staging = `staging/${randomJobId()}/`
        const kept = yield* keptUploadBytes(jobId, uploads)
        yield* putUploads(jobId, uploads, (name) => staging + name, kept).pipe(Effect.tapError(() => Effect.ignore(results.deleteAll(jobId, staging))))
        return yield* Effect.onExit(update, (exit) =>
          Exit.isSuccess(exit)
            ? Effect.forEach(
                uploads,
                (u) =>
                  Effect.flatMap(results.get(jobId, staging + u.name), (staged) =>
                    staged === undefined ? Effect.void : Effect.asVoid(results.put(jobId, uploadKey(u.name), staged.stream, staged.mimeType))
                  ),
                { discard: true }
              ).pipe(
                Effect.zipRight(results.deleteAll(jobId, staging)),
                Effect.catchAll((e) => Effect.logWarning(`uploads of job ${jobId} not moved into place: ${e.message}`))
              )
            : Effect.ignore(results.deleteAll(jobId, staging))
        )
      })
  }
}
