/**
 * Serve if stored, else fetch (seed 000's Sci-Hub pattern): a document addressed by an
 * identifier is a container whose job id is derived from the identifier. Asking for it:
 *
 * - stored (its container archived and not expired): it is served at once;
 * - not stored: a container job is created with that id and run; its background step first
 *   fetches the document from the configured upstream sources, in declared order, then goes on
 *   as any container's (read back and hashed, post-processors). Concurrent requests for the same
 *   identifier meet at the one job id: the job store refuses a second job of that id, here and in
 *   every instance sharing the job store (a PostgreSQL catalogue), so N requests start one fetch;
 * - being fetched: the request joins that job;
 * - the fetch failed: the reason is answered, and once `retryAfter` has passed since, the failed
 *   container is deleted and the next request fetches again; so is an expired `Cache` one.
 *
 * Nothing half-fetched is served or kept: the bytes go to a spool file first, and only once
 * their length and digests are verified are they saved to a document storage and recorded in the
 * job. A fetch cut short (an upstream that fails, stalls, sends too much or the wrong bytes; the
 * process killed) leaves no container: its job ends in ERROR (the archive's jobs are not run
 * again after a crash) and its spool file is removed, at the latest at the next start.
 *
 * @since 0.2.0
 */
import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Errors, Identity } from "@uws-kit/core"
import type { Job, Uws, Worker } from "@uws-kit/core"
import { Effect, Either } from "effect"
import type { ArchiveError } from "./ArchiveError.js"
import * as Containers from "./Container.js"
import type { Container, Manifest, PartRecord } from "./Container.js"
import type { Opened, Storage } from "./Storage.js"
import type { Upstream } from "./Upstream.js"
import type { UpstreamDocument } from "./UpstreamSource.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface FetchOptions {
  /** The upstream sources, asked in this order. */
  readonly upstreams: ReadonlyArray<Upstream>
  /** Where documents are spooled while they are fetched (default: `<tmp>/uws-kit-fetch`). */
  readonly spoolDirectory?: string
  /** The logical storage fetched documents are filed in (default: the archive's first). */
  readonly storageId?: number
  /** The document storage they are kept in (default: the archive's default). */
  readonly documentStorage?: string
  /** How long a failed fetch is answered as failed before it is tried again (ms, default 60 s). */
  readonly retryAfter?: number
}

/**
 * The job parameter a fetch is recognised by.
 *
 * @since 0.2.0
 * @category constants
 */
export const IdentifierParam = "FetchIdentifier"

/** The jobInfo key naming the upstream the document came from. */
const SourceInfo = "fetch.source"

/**
 * The container id of an identifier: the same in every instance, so concurrent requests meet.
 *
 * @since 0.2.0
 * @category constructors
 */
export const containerIdOf = (identifier: string): string => `fetch-${createHash("sha256").update(identifier, "utf8").digest("hex").slice(0, 40)}`

/**
 * The SHA-256 an identifier names, when it is a content hash (`sha256:<64 hex>`).
 *
 * @since 0.2.0
 * @category parsing
 */
export const digestOf = (identifier: string): string | undefined => /^sha256:([0-9a-f]{64})$/i.exec(identifier)?.[1]?.toLowerCase()

/**
 * Why an identifier is refused, or `undefined` when it is fine.
 *
 * @since 0.2.0
 * @category parsing
 */
export const checkIdentifier = (identifier: string): string | undefined =>
  identifier.trim() === ""
    ? "is empty"
    : identifier.length > 1024
      ? "is longer than 1024 characters"
      : /[\u0000-\u001f\u007f]/.test(identifier)
        ? "has control characters"
        : identifier !== identifier.trim()
          ? "has surrounding spaces"
          : undefined

const parameter = (parameters: ReadonlyArray<Job.Parameter>, name: string) =>
  parameters.find((p) => p.name.toLowerCase() === name.toLowerCase())?.value

/**
 * Whether job parameters ask for a fetch (the archive's worker accepts them without a manifest).
 *
 * @since 0.2.0
 * @category predicates
 */
export const isFetchRequest = (parameters: ReadonlyArray<Job.Parameter>): boolean => parameter(parameters, IdentifierParam) !== undefined

/**
 * Where a request for a document stands.
 *
 * @since 0.2.0
 * @category models
 */
export type Answer =
  | { readonly _tag: "Stored"; readonly container: Container }
  | { readonly _tag: "Fetching"; readonly id: string; readonly job: Job.Job }
  | { readonly _tag: "Failed"; readonly id: string; readonly reason: string; readonly retryAt: number }

/**
 * @since 0.2.0
 * @category models
 */
export interface FetchService {
  readonly upstreams: ReadonlyArray<Upstream>
  /** Serves, joins or starts; `caller` is counted for quotas (the job is nobody's: shared). */
  readonly request: (caller: Identity.Caller, identifier: string) => Effect.Effect<Answer, ArchiveError>
  /** Where the fetch of a container id stands now, or after waiting up to `waitMs` for it to end. */
  readonly status: (id: string, waitMs: number) => Effect.Effect<Answer, ArchiveError>
  /** Opens a stored container's document. */
  readonly open: (container: Container) => Effect.Effect<Opened, Errors.PluginFailure>
}

/** What the archive lends the fetch. */
export interface Deps {
  readonly options: FetchOptions
  readonly now: Effect.Effect<number>
  readonly storageId: number
  /** The document storage to keep fetched documents in (or why there is none). */
  readonly target: () => Storage | string
  readonly open: (part: PartRecord) => Effect.Effect<Opened, Errors.PluginFailure>
}

const ACTIVE: ReadonlyArray<Job.Job["phase"]> = ["PENDING", "QUEUED", "EXECUTING", "SUSPENDED", "HELD"]

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** A verified spool file. */
interface Spooled {
  readonly file: string
  readonly size: number
  readonly sha256: string
  readonly mimeType: string
  readonly fileName: string | undefined
}

/**
 * Reads an upstream's document into `file`, bounded and checked; a `Left` says what was wrong
 * (and the file is removed).
 */
const spool = async (
  doc: UpstreamDocument,
  file: string,
  limits: { readonly maxBytes: number; readonly stallMs: number; readonly expected: string | undefined },
  signal: AbortSignal
): Promise<Either.Either<Omit<Spooled, "file" | "mimeType" | "fileName">, string>> => {
  if (doc.size !== undefined && doc.size > limits.maxBytes) {
    await cancel(doc)
    return Either.left(`it announces ${doc.size} bytes, more than the ${limits.maxBytes} taken (MaxBytes)`)
  }
  const iterator = (doc.content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  const handle = await fs.open(file, "wx")
  const hash = createHash("sha256")
  let size = 0
  let failure: string | undefined
  // One listener for the whole transfer (one per chunk would pile up on the signal).
  const aborted = new Promise<"aborted">((resolve) => signal.addEventListener("abort", () => resolve("aborted"), { once: true }))
  try {
    for (;;) {
      if (signal.aborted) {
        failure = "the fetch was given up"
        break
      }
      let timer: NodeJS.Timeout | undefined
      const stalled = new Promise<"stalled">((resolve) => (timer = setTimeout(() => resolve("stalled"), limits.stallMs)))
      let step: IteratorResult<Uint8Array> | "stalled" | "aborted"
      try {
        step = await Promise.race([iterator.next(), stalled, aborted])
      } catch (e) {
        failure = `the transfer broke off after ${size} bytes: ${describe(e)}`
        break
      } finally {
        clearTimeout(timer)
      }
      if (step === "stalled") {
        failure = `nothing came for ${limits.stallMs / 1000} s after ${size} bytes (TimeoutSeconds)`
        break
      }
      if (step === "aborted") {
        failure = "the fetch was given up"
        break
      }
      if (step.done === true) break
      const chunk = step.value
      size += chunk.length
      if (size > limits.maxBytes) {
        failure = `it sent more than the ${limits.maxBytes} bytes taken (MaxBytes)`
        break
      }
      if (doc.size !== undefined && size > doc.size) {
        failure = `it announced ${doc.size} bytes and sent more`
        break
      }
      hash.update(chunk)
      await handle.write(chunk)
    }
  } finally {
    if (failure !== undefined) void Promise.resolve(iterator.return?.()).catch(() => {})
    await handle.close()
  }
  const sha256 = hash.digest("hex")
  if (failure === undefined && doc.size !== undefined && size !== doc.size) failure = `it announced ${doc.size} bytes and sent ${size}`
  if (failure === undefined && size === 0) failure = "it sent an empty document"
  if (failure === undefined && doc.sha256 !== undefined && doc.sha256.toLowerCase() !== sha256) {
    failure = `its bytes do not match the SHA-256 it announced (${doc.sha256}; received ${sha256})`
  }
  if (failure === undefined && limits.expected !== undefined && limits.expected !== sha256) {
    failure = `its bytes are not the document asked for (SHA-256 ${sha256}, expected ${limits.expected})`
  }
  if (failure !== undefined) {
    await fs.rm(file, { force: true })
    return Either.left(failure)
  }
  return Either.right({ size, sha256 })
}

const cancel = async (doc: UpstreamDocument) => {
  try {
    const c = doc.content as { cancel?: () => Promise<void>; [Symbol.asyncIterator]?: () => AsyncIterator<Uint8Array> }
    if (typeof c.cancel === "function") await c.cancel()
    else await c[Symbol.asyncIterator]?.().return?.()
  } catch {
    // the upstream is left anyway
  }
}

/**
 * The fetch's part of the archive: the step that fetches (run by the archive's worker) and,
 * once the archive's UWS service exists, the requests.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (deps: Deps) => {
  const { options, now } = deps
  const spoolDirectory = path.resolve(options.spoolDirectory ?? path.join(os.tmpdir(), "uws-kit-fetch"))
  const retryAfter = options.retryAfter ?? 60_000
  const ready = () => options.upstreams.filter((u) => u.state() === "ready")

  /** One upstream's try: a verified spool file, `null` (not there) or why it failed. */
  const attempt = (upstream: Upstream, identifier: string, jobId: string, signal: AbortSignal) =>
    Effect.gen(function* () {
      const controller = new AbortController()
      const onAbort = () => controller.abort()
      signal.addEventListener("abort", onAbort, { once: true })
      try {
        const doc = yield* upstream.open(identifier, controller.signal).pipe(Effect.mapError((e) => e.reason))
        if (doc === null) return null
        const file = path.join(spoolDirectory, `${jobId}.${randomBytes(6).toString("hex")}.part`)
        const limits = { maxBytes: upstream.settings.maxBytes, stallMs: upstream.settings.timeout, expected: digestOf(identifier) }
        const spooled = yield* Effect.tryPromise({
          try: (interrupted) => {
            interrupted.addEventListener("abort", () => controller.abort(), { once: true })
            return spool(doc, file, limits, controller.signal)
          },
          catch: (e) => `it could not be spooled: ${describe(e)}`
        })
        if (Either.isLeft(spooled)) return yield* Effect.fail(spooled.left)
        const result: Spooled = { file, ...spooled.right, mimeType: doc.mimeType ?? "application/octet-stream", fileName: doc.fileName }
        return result
      } finally {
        signal.removeEventListener("abort", onAbort)
        controller.abort()
      }
    })

  /**
   * The fetch a container's step begins with: the job with its manifest (the document stored),
   * or a failure to end the job with.
   */
  const fetchInto = (job: Job.Job, context: Worker.RunContext): Effect.Effect<Job.Job, string> =>
    Effect.gen(function* () {
      const identifier = parameter(job.parameters, IdentifierParam) ?? ""
      if (containerIdOf(identifier) !== job.jobId) {
        return yield* Effect.fail("a document is fetched by asking the archive for it (GET /api/fetch/{identifier}), not by creating its container")
      }
      const upstreams = ready()
      if (upstreams.length === 0) {
        return yield* Effect.fail(`no upstream source is ready${options.upstreams.length === 0 ? "" : ` (${options.upstreams.map((u) => `${u.name}: ${u.failure() ?? u.state()}`).join("; ")})`}`)
      }
      yield* Effect.tryPromise(() => fs.mkdir(spoolDirectory, { recursive: true })).pipe(Effect.mapError((e) => `the spool folder cannot be made: ${describe(e)}`))
      const reasons: Array<string> = []
      let got: { readonly spooled: Spooled; readonly from: string } | undefined
      for (const upstream of upstreams) {
        const tried = yield* Effect.either(attempt(upstream, identifier, job.jobId, context.signal))
        if (Either.isRight(tried) && tried.right !== null) {
          got = { spooled: tried.right, from: upstream.name }
          break
        }
        reasons.push(`${upstream.name}: ${Either.isLeft(tried) ? tried.left : "does not have it"}`)
      }
      if (got === undefined) {
        return yield* Effect.fail(`the document "${identifier}" could not be fetched (${reasons.join("; ")})`)
      }
      const { spooled, from } = got
      const stored = Effect.gen(function* () {
        const storage = deps.target()
        if (typeof storage === "string") return yield* Effect.fail(storage)
        const fileName = (spooled.fileName ?? identifier.split("/").pop() ?? "document").replace(/[\u0000-\u001f\u007f/\\]/g, "_").slice(0, 255) || "document"
        const locator = yield* storage
          .save({ containerId: job.jobId, name: "document", fileName, mimeType: spooled.mimeType, size: spooled.size, content: createReadStream(spooled.file) })
          .pipe(Effect.mapError((e) => `the fetched document could not be stored: ${e.reason}`))
        const stat = yield* Effect.either(storage.stat(locator))
        const s = Either.getOrNull(stat)
        if (s === null || s.size !== spooled.size || (s.sha256 !== undefined && s.sha256.toLowerCase() !== spooled.sha256)) {
          yield* Effect.ignore(storage.delete(locator))
          return yield* Effect.fail(`the stored copy of the fetched document does not match what was fetched`)
        }
        const document: PartRecord = { name: "document", fileName, mimeType: spooled.mimeType, size: spooled.size, sha256: spooled.sha256, storage: storage.name, locator }
        const manifest: Manifest = { version: 1, document, signatures: [] }
        const info = { [Containers.Info.fetchedManifest]: JSON.stringify(manifest), [SourceInfo]: from }
        yield* context.reportProgress(info)
        return { ...job, jobInfo: { ...job.jobInfo, ...info } }
      })
      return yield* stored.pipe(Effect.ensuring(Effect.promise(() => fs.rm(spooled.file, { force: true }))))
    })

  /** Removes spool files left by fetches that no longer run (a crash, a kill -9). */
  const sweepSpool = (get: (id: string) => Effect.Effect<Job.Job | undefined>) =>
    Effect.gen(function* () {
      const names = yield* Effect.promise(() => fs.readdir(spoolDirectory).catch(() => [] as Array<string>))
      for (const name of names) {
        if (!name.endsWith(".part")) continue
        const job = yield* get(name.split(".")[0] ?? "")
        if (job === undefined || !ACTIVE.includes(job.phase) || job.phase === "EXECUTING") {
          // An EXECUTING job at start is one whose run was lost here (recovery ends it in ERROR),
          // unless another instance sharing the store runs it: then its file is not in this folder.
          yield* Effect.promise(() => fs.rm(path.join(spoolDirectory, name), { force: true }))
        }
      }
    })

  /** The requests, over the archive's UWS service. */
  const bind = (uws: Uws.UwsService) => {
    const system = Identity.system
    const find = (id: string) =>
      uws.get(system, id).pipe(
        Effect.map((job): Job.Job | undefined => job),
        Effect.catchTag("JobNotFound", () => Effect.succeed(undefined))
      )
    const answerOf = (job: Job.Job, t: number): Answer | "expired" => {
      const container = Containers.fromJob(job, t)
      if (container !== undefined && container.storageEnded) return "expired"
      if (ACTIVE.includes(job.phase)) return { _tag: "Fetching", id: job.jobId, job }
      if (job.phase === "COMPLETED" && container !== undefined) return { _tag: "Stored", container }
      const reason = job.errorSummary?.message ?? (job.phase === "ABORTED" ? "the fetch was aborted" : `the fetch ended ${job.phase}`)
      return { _tag: "Failed", id: job.jobId, reason, retryAt: (job.endTime ?? job.creationTime) + retryAfter }
    }
    const create = (caller: Identity.Caller, identifier: string) =>
      Effect.gen(function* () {
        const t = yield* now
        const first = ready()[0]
        if (first === undefined) {
          return yield* Effect.fail(
            new Errors.PluginFailure({ plugin: options.upstreams.map((u) => u.name).join(", ") || "(none)", operation: "fetch", reason: "no upstream source is ready to fetch the document from" })
          )
        }
        const saveType = first.settings.retention
        const P = Containers.Param
        return yield* uws.create(
          // Nobody's (shared, as fetched documents are), counted for quotas against who asked.
          { id: null, quotaKey: `fetch:${Identity.quotaKeyOf(caller) ?? "anonymous"}` },
          {
            jobId: containerIdOf(identifier),
            parameters: [
              { name: P.ContainerName, value: identifier },
              { name: P.SaveType, value: saveType },
              { name: P.StorageId, value: String(deps.storageId) },
              { name: P.UseArchiveCa, value: "false" },
              { name: IdentifierParam, value: identifier }
            ],
            destruction: saveType === "Cache" ? t + first.settings.cacheTtl : null,
            run: true
          }
        )
      })
    const request: FetchService["request"] = (caller, identifier) =>
      Effect.gen(function* () {
        const problem = checkIdentifier(identifier)
        if (problem !== undefined) return yield* Effect.fail(new Errors.InvalidParameter({ name: "identifier", reason: problem }))
        const id = containerIdOf(identifier)
        // A few rounds at most: each ends by answering, or by a change another request made.
        for (let round = 0; round < 5; round++) {
          const t = yield* now
          const job = yield* find(id)
          if (job === undefined) {
            const created = yield* Effect.either(create(caller, identifier))
            if (Either.isRight(created)) return { _tag: "Fetching", id, job: created.right } as const
            if (created.left._tag === "Conflict") continue // another request started it: join
            return yield* Effect.fail(created.left)
          }
          const answer = answerOf(job, t)
          if (answer !== "expired" && (answer._tag !== "Failed" || t < answer.retryAt)) return answer
          // Expired, or failed long enough ago: forget it (its documents are deleted) and fetch again.
          yield* uws.delete(system, id).pipe(Effect.catchTag("JobNotFound", () => Effect.void))
        }
        return yield* Effect.fail(new Errors.StorageFailure({ operation: "fetch", reason: `the document "${identifier}" keeps changing; ask again` }))
      })
    const status: FetchService["status"] = (id, waitMs) =>
      Effect.gen(function* () {
        let job = yield* uws.get(system, id)
        if (waitMs > 0 && ACTIVE.includes(job.phase)) job = yield* uws.waitForChange(system, id, { timeout: waitMs, untilFinal: true })
        const answer = answerOf(job, yield* now)
        return answer === "expired" ? ({ _tag: "Failed", id, reason: "the document's time in the cache ended", retryAt: 0 } as const) : answer
      })
    // Failed fetches hold no document and are no container: once they may be tried again, they
    // are forgotten, so that the job list and the container index count the same containers.
    const forgetFailed = Effect.gen(function* () {
      const t = yield* now
      let cursor: string | undefined
      do {
        const page = yield* uws.list(system, { phases: ["ERROR", "ABORTED"], limit: 500, ...(cursor === undefined ? {} : { cursor }) })
        for (const job of page.jobs) {
          if (isFetchRequest(job.parameters) && Containers.fromJob(job, t) === undefined && (job.endTime ?? job.creationTime) + retryAfter <= t) {
            yield* Effect.ignore(uws.delete(system, job.jobId))
          }
        }
        cursor = page.next ?? undefined
      } while (cursor !== undefined)
    }).pipe(Effect.catchAll((e) => Effect.logWarning(`failed document fetches could not be cleared: ${e.message}`)))
    const service: FetchService = { upstreams: options.upstreams, request, status, open: (container) => deps.open(container.document) }
    return { service, forgetFailed, every: Math.max(retryAfter, 60_000) }
  }

  return { fetchInto, bind, sweepSpool, spoolDirectory }
}
