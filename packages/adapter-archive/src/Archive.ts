/**
 * The document archive as a UWS application.
 *
 * A container is a job of the "archive" application:
 * - **upload** stores the document and its signatures in a document storage first (so an
 *   acknowledged container is stored), then creates the job with the metadata and locators as
 *   parameters, its destruction time being the archive date (Temporary) or never (Permanent), and
 *   runs it;
 * - the job's **background step** reads every stored part back, hashes it (SHA-256, while
 *   streaming) and checks it against what was received, records the hashes, runs the signature
 *   upgrader if one is configured (and says so when none is), sets the date of the next archive
 *   time-stamp, then calls the post-processors in declared order, also when the step failed;
 * - at the archive date the core's reaper ARCHIVEs a temporary container and the archive deletes
 *   its documents from every writable storage; permanent containers are kept.
 *
 * Everything runs on the core's `Uws` service with its stores and its Clock, so a test drives
 * expiry with `TestClock`.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import { Dispatcher, Errors, Identity, JobStore, Phase, Plugin, ResultStore, Uws, Worker } from "@uws-kit/core"
import type { Job, Policy } from "@uws-kit/core"
import { Clock, Duration, Effect, Either, Exit, Layer, Queue, Schedule, Scope, Stream } from "effect"
import type { ArchiveError } from "./ArchiveError.js"
import { StorageEnded } from "./ArchiveError.js"
import * as Containers from "./Container.js"
import * as Fixity from "./Fixity.js"
import * as Lifecycle from "./ContainerLifecycle.js"
import * as ContainerIndexes from "./ContainerIndex.js"
import type { ContainerIndex } from "./ContainerIndex.js"
import type { Container, PartRecord, SaveType } from "./Container.js"
import * as PluginLifecycle from "./PluginLifecycle.js"
import type { LoadedPlugins, PluginReport } from "./Plugins.js"
import type { ContainerPart, ProcessedContainer } from "./PostProcessor.js"
import * as FetchThrough from "./FetchThrough.js"
import * as Retention from "./Retention.js"
import * as Replicas from "./Replicas.js"
import * as Search from "./Search.js"
import type { EvidenceFile, SignatureUpgrader, Upgraded } from "./SignatureUpgrader.js"
import * as Upgraders from "./SignatureUpgrader.js"
import type { Opened, Readout, Storage } from "./Storage.js"
import type * as TimeStampCatalogue from "./TimeStampCatalogue.js"
import * as TimeStampRenewal from "./TimeStampRenewal.js"
import * as TimeStampUpgrader from "./TimeStampUpgrader.js"
import type { Locator, StorageStat } from "./StoragePlugin.js"
import * as Storages from "./Storage.js"

/**
 * A logical storage a container is filed in (the seed's `StorageId`, listed by
 * `GET /api/user/storages`). Where its bytes live is the document storage plugin's business.
 *
 * @since 0.1.0
 * @category models
 */
export interface LogicalStorage {
  readonly id: number
  readonly name: string
}

/**
 * A received file, ready to be stored: its size and SHA-256 are known (computed while it was
 * received) and it can be read from the start once per `open`.
 *
 * @since 0.1.0
 * @category models
 */
export interface IncomingFile {
  readonly fileName: string
  readonly mimeType: string
  readonly size: number
  /** SHA-256 of the bytes, lowercase hex. */
  readonly sha256: string
  readonly open: () => AsyncIterable<Uint8Array>
  /**
   * Where the file already is when it was written straight into a document storage while it was
   * received (the HTTP API does so): the upload takes that copy over instead of saving it again.
   */
  readonly stored?: StoredIncoming
}

/**
 * A received file's copy in a document storage, or why writing it there failed.
 *
 * @since 0.1.0
 * @category models
 */
export type StoredIncoming =
  | {
      readonly _tag: "Stored"
      readonly storage: string
      readonly locator: Locator
      /** Takes the copy over: from then on the upload keeps it or deletes it; the receiver does not. */
      readonly claim: () => void
    }
  | { readonly _tag: "Failed"; readonly failure: Errors.PluginFailure }

/**
 * A file held in memory (for tests and small programmatic uploads).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fileFromBytes = (fileName: string, mimeType: string, bytes: Uint8Array | string): IncomingFile => {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes
  return {
    fileName,
    mimeType,
    size: data.length,
    sha256: createHash("sha256").update(data).digest("hex"),
    open: async function* () {
      yield data
    }
  }
}

/**
 * A container upload, already translated from its wire form.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadInput {
  readonly containerName: string
  readonly structureName?: string
  readonly saveType: SaveType
  readonly storageId: number
  /** Required for Temporary, optional for Cache (default: its time to live from now), refused for Permanent (epoch ms). */
  readonly archiveDate?: number
  readonly useArchiveCa?: boolean
  /** The document storage to use (`ArchiveCaPluginName`); default: the archive's default. */
  readonly pluginName?: string
  readonly document: IncomingFile
  readonly signatures: ReadonlyArray<IncomingFile>
  /** The container's id when its files were stored under it while received ({@link ArchiveService.prepareUpload}). */
  readonly containerId?: string
  /** A container brought back from a dump (`Dumps` import): kept under its own id. */
  readonly restore?: Restore
}

/**
 * Where the files of an upload go while they are received: the id its container will have and
 * the document storage it names (or the default one); no storage when none is ready to write.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadTarget {
  readonly containerId: string
  readonly storage: Storage | undefined
}

/**
 * What a container restored from a dump keeps of its first life: its id, its creation date and
 * bag, and its upgraded signatures (by the index of the uploaded one each replaces).
 *
 * @since 0.1.0
 * @category models
 */
export interface Restore {
  readonly containerId: string
  readonly createdAt: number
  /** Where it came from (the bag's name), shown in the container's `restored.from`. */
  readonly from: string
  readonly upgraded: ReadonlyArray<{ readonly index: number; readonly file: IncomingFile }>
}

/**
 * A signature of a container, ready to be read from its storage.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignatureSource {
  readonly part: PartRecord
  readonly open: Effect.Effect<Opened, Errors.PluginFailure>
  /** Size (and digest) as the storage reports it; `null` when it is missing. */
  readonly stat: Effect.Effect<StorageStat | null, Errors.PluginFailure>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ArchiveOptions {
  readonly plugins: LoadedPlugins
  /** The logical storages (default: one, `{ id: 1, name: "Default" }`). */
  readonly storages?: ReadonlyArray<LogicalStorage>
  /** The document storage used when an upload names none (default: the first writable one). */
  readonly defaultDocumentStorage?: string
  /**
   * The signature upgrader; default: the one `plugins` declares (`SignatureUpgrader` in
   * `plugin-config.json`), else none, and containers then say `upgrade: "not-configured"`.
   */
  readonly upgrader?: SignatureUpgrader
  /** Time to the next archive time-stamp when the upgrader sets none (default 365 days). */
  readonly signatureUpdateInterval?: Duration.DurationInput
  /** Longest the background step of a container may run, in seconds (default 3600). */
  readonly stepTimeout?: number
  /** Background steps run at once (default 2). */
  readonly concurrency?: number
  /** Signatures one container may have (default 64). */
  readonly maxSignatures?: number
  /** Largest search page (default 1000). */
  readonly maxPageSize?: number
  /** Whether a caller may file into and see a logical storage (default: everyone, everything). */
  readonly storageAccess?: (caller: Identity.Caller, storageId: number) => boolean
  /** Container ids (default: random UUIDs, as the seed's GUIDs). */
  readonly makeContainerId?: () => string
  /**
   * Further core policy (quotas, …); retention fields are the archive's own. The core's defaults
   * apply (100 active containers per caller, …) except that no count of stored containers is
   * set and a parameter may hold 1 MiB (a container's manifest).
   */
  readonly policy?: Partial<Policy.Policy>
  /** The longest blocking wait on a container (ms; default the core's 55,000). */
  readonly maxWait?: number
  /** Time limit of plugin calls made by the step (upgrader); default 30 s. */
  readonly pluginTimeout?: Duration.DurationInput
  /**
   * Where searches look (default: an index in memory, filled from the job store at start). A
   * durable one (`@uws-kit/store-sql`'s `SqlContainerIndex`) beside a durable job store spares
   * that walk of every container at start.
   */
  readonly containerIndex?: ContainerIndex
  /** Time to live of a `Cache` container filed without a date (default 6 h, `Retention.defaultCacheTtl`), ms. */
  readonly cacheTtl?: number
  /** Serve if stored, else fetch from upstream sources (`FetchThrough`); off when absent. */
  readonly fetch?: FetchThrough.FetchOptions
  /**
   * Mirrors of the primary storage with verified reads, repair and dedup (`Replicas`), and
   * scheduled fixity runs (`Fixity`). Default: none (each container in one storage).
   */
  readonly replication?: Replicas.ReplicationOptions & { readonly fixity?: Omit<Fixity.FixityOptions, "replicas"> }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ArchiveService {
  /** The UWS service the containers are jobs of (mount a UWS adapter on it to see them as jobs). */
  readonly uws: Uws.UwsService
  readonly upload: (caller: Identity.Caller, input: UploadInput) => Effect.Effect<Container, ArchiveError>
  /**
   * Where an upload naming the document storage `pluginName` (or none) will be written, so that
   * a receiver can stream its files straight there (`IncomingFile.stored`) instead of spooling
   * them; `upload` still decides and checks everything.
   */
  readonly prepareUpload: (pluginName: string | undefined) => UploadTarget
  readonly get: (caller: Identity.Caller, id: string) => Effect.Effect<Container, ArchiveError>
  readonly search: (caller: Identity.Caller, query: Search.Query) => Effect.Effect<Search.Page<Container>, ArchiveError>
  /** The container's signatures as kept now (upgraded when they were); fails once storage ended. */
  readonly signatures: (
    caller: Identity.Caller,
    id: string
  ) => Effect.Effect<{ readonly container: Container; readonly signatures: ReadonlyArray<SignatureSource> }, ArchiveError>
  /** The container's document, ready to be sent from its storage; fails once storage ended. */
  readonly document: (
    caller: Identity.Caller,
    id: string
  ) => Effect.Effect<{ readonly container: Container; readonly part: PartRecord; readonly read: Effect.Effect<Readout, Errors.PluginFailure> }, ArchiveError>
  /**
   * Deletes a container: its documents from every storage, then its record. The uploader may
   * delete a temporary container; permanent ones only an operator (admin caller).
   */
  readonly delete: (caller: Identity.Caller, id: string) => Effect.Effect<void, ArchiveError>
  readonly statuses: ReadonlyArray<Containers.Status>
  readonly storages: (caller: Identity.Caller) => ReadonlyArray<LogicalStorage>
  readonly plugins: () => ReadonlyArray<PluginReport>
  /**
   * Runs the signature upgrader again on an archived container (e.g. a time-stamp renewal before
   * the TSA certificate expires), as a UWS job of its own; answers the run already under way for
   * that container, if any. Operators (admin callers) only.
   */
  readonly upgradeSignatures: (caller: Identity.Caller, id: string) => Effect.Effect<Job.Job, ArchiveError>
  /**
   * A container's time-stamps (`TimeStampCatalogue.Entry`), or `null` when no RFC 3161 upgrader
   * is configured or the container is not archived yet.
   */
  readonly timeStamps: (caller: Identity.Caller, id: string) => Effect.Effect<TimeStampCatalogue.Entry | null, ArchiveError>
  /** The newest time-stamp token of a signature (`signature-1`, …), read back and checked against its SHA-256. */
  readonly timeStampToken: (
    caller: Identity.Caller,
    id: string,
    signature: string
  ) => Effect.Effect<{ readonly stamp: TimeStampCatalogue.Stamp; readonly bytes: Uint8Array } | null, ArchiveError>
  /** The archive's clock (the Clock it was built with). */
  readonly now: Effect.Effect<number>
  /** Documents by identifier, fetched when not stored; present when `fetch` is configured. */
  readonly fetch?: FetchThrough.FetchService
  /** The copies of replicated content, when replication is configured. */
  readonly replicas?: Replicas.Replicas
  /**
   * The plugins as this archive reads and writes through them: with replication, the primary
   * storage is the replicated one (its `sha256:` locators read nowhere else). Tools that read
   * containers' parts (dumps) take these, not the ones they were given.
   */
  readonly loadedPlugins: LoadedPlugins
  /** Fixity runs over the copies, when replication is configured. */
  readonly fixity?: Fixity.FixityService
}

const DAY = 86_400_000

const safeFileName = (name: string, fallback: string) => {
  // Keep the last path segment only and no control characters: names end up in a zip.
  const base = name.split(/[\\/]/).pop() ?? ""
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim()
  return clean === "" || clean === "." || clean === ".." ? fallback : clean.slice(0, 255)
}

/** Passes bytes through while hashing them. */
const hashing = (source: AsyncIterable<Uint8Array>) => {
  const hash = createHash("sha256")
  let size = 0
  let digest: string | undefined
  return {
    iterable: (async function* () {
      for await (const chunk of source) {
        hash.update(chunk)
        size += chunk.length
        yield chunk
      }
      digest = hash.digest("hex")
    })(),
    result: () => (digest === undefined ? undefined : { sha256: digest, size })
  }
}

const toIterable = (content: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> =>
  content instanceof Uint8Array
    ? (async function* () {
        yield content
      })()
    : content

/**
 * Builds the archive over the stores in context. Background fibers (the UWS dispatcher and
 * reaper, the purge of expired containers) live as long as the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ArchiveOptions
): Effect.Effect<ArchiveService, never, Scope.Scope | JobStore.JobStore | ResultStore.ResultStore> =>
  Effect.gen(function* () {
    // Replication puts a layer in the primary storage's place: the rest of the archive is unchanged.
    const placed = options.replication === undefined ? undefined : yield* Effect.orDie(Replicas.make(options.plugins, options.replication))
    const plugins = placed?.plugins ?? options.plugins
    const fixity =
      placed === undefined ? undefined : yield* Fixity.make({ ...options.replication?.fixity, replicas: placed.replicas })
    const logical = options.storages ?? [{ id: 1, name: "Default" }]
    const interval = Duration.toMillis(Duration.decode(options.signatureUpdateInterval ?? Duration.millis(365 * DAY)))
    const stepTimeout = options.stepTimeout ?? 3600
    const maxSignatures = options.maxSignatures ?? 64
    const access = options.storageAccess ?? (() => true)
    const makeContainerId = options.makeContainerId ?? randomUUID
    const pluginTimeout = options.pluginTimeout ?? Duration.seconds(30)
    const system = Identity.system
    // The clock of the archive is the one it is built with, whichever fiber later calls it.
    const clock = yield* Effect.clock
    const now = clock.currentTimeMillis

    const storageNamed = (name: string) => plugins.storages.find((s) => s.name === name)
    const storageOf = (part: PartRecord): Effect.Effect<Storage, Errors.PluginFailure> => {
      const s = storageNamed(part.storage)
      return s === undefined
        ? Effect.fail(
            new Errors.PluginFailure({ plugin: part.storage, operation: "get", reason: "no such document storage is configured (any more)" })
          )
        : Effect.succeed(s)
    }
    const upgrader =
      options.upgrader === undefined
        ? plugins.upgrader
        : yield* PluginLifecycle.acquire(
            Effect.map(Plugin.host(options.upgrader.name, options.upgrader, {}, { timeout: pluginTimeout }), (hosted) => ({
              ...hosted,
              dispose: PluginLifecycle.dispose(hosted)
            }))
          )

    // ---- the background step ---------------------------------------------------------------
    const partView = (part: PartRecord): ContainerPart => ({
      name: part.name,
      fileName: part.fileName,
      mimeType: part.mimeType,
      size: part.size,
      open: () =>
        Stream.toAsyncIterable(
          Stream.unwrap(Effect.map(Effect.flatMap(storageOf(part), (s) => s.get(part.locator)), (o) => o.stream))
        )
    })

    const readBack = (part: PartRecord) =>
      Effect.flatMap(storageOf(part), (s) => s.get(part.locator)).pipe(
        Effect.flatMap((opened) =>
          Stream.runFold(opened.stream, { hash: createHash("sha256"), size: 0 }, (acc, chunk) => {
            acc.hash.update(chunk)
            acc.size += chunk.length
            return acc
          })
        ),
        Effect.map((acc) => ({ sha256: acc.hash.digest("hex"), size: acc.size })),
        Effect.mapError((e) => `${part.name} could not be read back from ${part.storage}: ${e.reason}`)
      )

    const saveUpgraded = (container: Container, original: PartRecord, content: Uint8Array | AsyncIterable<Uint8Array>) =>
      Effect.gen(function* () {
        const own = storageNamed(original.storage)
        const target = own?.writable() === true ? own : plugins.storages.find((s) => s.writable())
        if (target === undefined) return yield* Effect.fail("no writable document storage to keep the upgraded signature in")
        const through = hashing(toIterable(content))
        const locator = yield* target
          .save({ containerId: container.id, name: `${original.name}-upgraded`, fileName: original.fileName, mimeType: original.mimeType, content: through.iterable })
          .pipe(Effect.mapError((e) => `the upgraded ${original.name} could not be stored: ${e.reason}`))
        const result = through.result()
        if (result === undefined) return yield* Effect.fail(`the upgraded ${original.name} was not read to the end by ${target.name}`)
        const record: PartRecord = { ...original, size: result.size, sha256: result.sha256, storage: target.name, locator }
        return record
      })

    /** Keeps an upgrader's evidence beside the signatures (their storage if writable). */
    const keepEvidence = (container: Container, file: EvidenceFile) =>
      Effect.gen(function* () {
        const home = storageNamed(container.uploadedSignatures[0]?.storage ?? container.document.storage)
        const target = home?.writable() === true ? home : plugins.storages.find((s) => s.writable())
        if (target === undefined) return yield* Effect.fail(`no writable document storage to keep ${file.name} in`)
        const sha256 = createHash("sha256").update(file.content).digest("hex")
        const locator = yield* target
          .save({ containerId: container.id, name: file.name, fileName: safeFileName(file.fileName, `${file.name}.bin`), mimeType: file.mimeType, size: file.content.length, content: toIterable(file.content) })
          .pipe(Effect.mapError((e) => `${file.name} could not be stored: ${e.reason}`))
        const record: PartRecord = { name: file.name, fileName: safeFileName(file.fileName, `${file.name}.bin`), mimeType: file.mimeType, size: file.content.length, sha256, storage: target.name, locator }
        return record
      })

    /** Calls the upgrader on a container's signatures; the failure is the upgrader's reason. */
    const callUpgrader = (hosted: NonNullable<typeof upgrader>, container: Container, signatures: ReadonlyArray<PartRecord>, run: "initial" | "renewal") =>
      Effect.flatMap(now, (t) =>
        hosted.call("upgrade", (u) =>
          u.upgrade({
            containerId: container.id,
            document: partView(container.document),
            signatures: signatures.map(partView),
            now: t,
            run,
            keep: (file) =>
              Effect.runPromise(Effect.either(keepEvidence(container, file))).then((r) =>
                r._tag === "Right" ? { _tag: "Right" as const, right: r.right } : { _tag: "Left" as const, left: r.left }
              ),
            read: (part) =>
              Stream.toAsyncIterable(Stream.unwrap(Effect.map(Effect.flatMap(storageOf(part), (s) => s.get(part.locator)), (o) => o.stream)))
          })
        )
      )

    /** The jobInfo entries of an upgrader's answer (its records, prefixed). */
    const upgradeRecords = (upgraded: Upgraded): Record<string, string> =>
      Object.fromEntries(Object.entries(upgraded.records ?? {}).map(([k, v]) => [`${Upgraders.recordPrefix}${k}`, v]))

    const fetcher =
      options.fetch === undefined
        ? undefined
        : FetchThrough.make({
            options: options.fetch,
            now,
            storageId: options.fetch.storageId ?? logical[0]?.id ?? 1,
            target: () => {
              const name = options.fetch?.documentStorage ?? options.defaultDocumentStorage
              const s = name === undefined ? plugins.storages.find((x) => x.writable()) : storageNamed(name)
              return s !== undefined && s.writable() ? s : `no writable document storage is ready to keep the fetched document${name === undefined ? "" : ` ("${name}")`}`
            },
            open: (part) => Effect.flatMap(storageOf(part), (s) => s.get(part.locator))
          })

    const step = (asked: Job.Job, context: Worker.RunContext) =>
      Effect.gen(function* () {
        // A document asked for by identifier is fetched and stored first (its manifest then in the job).
        const job =
          fetcher !== undefined && FetchThrough.isFetchRequest(asked.parameters) && Containers.fromJob(asked, 0) === undefined
            ? yield* fetcher.fetchInto(asked, context).pipe(Effect.mapError((message) => new Worker.JobFailure({ message })))
            : asked
        const started = yield* now
        const container = Containers.fromJob(job, started)
        if (container === undefined) {
          return yield* Effect.fail(new Worker.JobFailure({ message: "not a container: its Manifest parameter is missing or invalid" }))
        }
        const progress = (info: Record<string, string>) => context.reportProgress(info)
        // The stage apart from time: a step that runs keeps going past the archive date.
        let stage = Containers.fromJob(job, Number.NEGATIVE_INFINITY)!.stage
        /** Moves the container on through its lifecycle and records where it is; never skips a stage. */
        const advance = (type: Lifecycle.StageEventType) =>
          Either.match(Lifecycle.decide(container.id, stage, { type }), {
            onLeft: (e) => Effect.zipRight(Effect.logError(e.message), Effect.fail(e.message)),
            onRight: (next) =>
              Effect.zipRight(
                Effect.sync(() => {
                  stage = next
                }),
                progress({ [Containers.Info.stage]: next })
              )
          })
        const hashes: Array<Containers.Hash> = []
        let signatures: ReadonlyArray<PartRecord> = container.uploadedSignatures
        let signatureUpdateDate: number | null = null
        let expires: ReadonlyArray<number | null> = []

        const work = Effect.gen(function* () {
          yield* advance("START")
          for (const part of [container.document, ...container.uploadedSignatures]) {
            const got = yield* readBack(part)
            if (got.size !== part.size || got.sha256 !== part.sha256) {
              return yield* Effect.fail(
                `the stored copy of ${part.name} differs from what was received (${got.size} bytes, SHA-256 ${got.sha256}; received ${part.size} bytes, SHA-256 ${part.sha256})`
              )
            }
            const value = Containers.base64OfHex(got.sha256)
            hashes.push({ of: part.name, algorithm: "SHA-256", encoding: "base64", value })
            yield* progress({ [Containers.Info.hash(part.name)]: value })
          }
          yield* advance("VERIFIED")
          let nextUpdate: number | undefined
          if (upgrader === undefined) {
            yield* progress({ [Containers.Info.upgrade]: "not-configured" })
          } else {
            const upgraded = yield* callUpgrader(upgrader, container, signatures, "initial")
              .pipe(
                Effect.tapError((e) =>
                  progress({
                    [Containers.Info.upgrade]: "failed",
                    [Containers.Info.upgradeBy]: upgrader.name,
                    [Containers.Info.upgradeMessage]: e.reason
                  })
                ),
                Effect.mapError((e) => `the signature upgrade failed: ${e.reason}`)
              )
            const replaced = [...signatures]
            for (const s of upgraded.signatures ?? []) {
              const original = replaced[s.index]
              if (!Number.isSafeInteger(s.index) || original === undefined) {
                return yield* Effect.fail(`the upgrader answered a signature #${s.index}; the container has ${replaced.length}`)
              }
              const record = yield* saveUpgraded(container, original, s.content)
              replaced[s.index] = record
              yield* progress({ [Containers.Info.upgraded(original.name)]: JSON.stringify(record) })
            }
            signatures = replaced
            expires = upgraded.expires ?? []
            if (upgraded.nextUpdate !== undefined && Number.isFinite(upgraded.nextUpdate)) nextUpdate = upgraded.nextUpdate
            yield* progress({
              ...upgradeRecords(upgraded),
              // Pending: nothing was upgraded this time; the container is archived all the same
              // and a renewal run tries again at the next update date.
              [Containers.Info.upgrade]: upgraded.state === "pending" ? "pending" : "upgraded",
              [Containers.Info.upgradeBy]: upgrader.name,
              ...(upgraded.profile === undefined ? {} : { [Containers.Info.upgradeProfile]: upgraded.profile }),
              ...(upgraded.message === undefined ? {} : { [Containers.Info.upgradeMessage]: upgraded.message })
            })
          }
          signatureUpdateDate = nextUpdate ?? (yield* now) + interval
          yield* progress({ [Containers.Info.signatureUpdateDate]: new Date(signatureUpdateDate).toISOString() })
        })
        const outcome = yield* Effect.either(work)
        const failure = outcome._tag === "Left" ? outcome.left : null

        // Post-processors: every one, in declared order, whatever the step's outcome.
        yield* progress({ [Containers.Info.postProcessors]: JSON.stringify(plugins.postProcessors.map((p) => p.name)) })
        // The status it will show once its job completes or fails.
        const status = Lifecycle.statusOf(failure === null ? "archived" : "failed")
        const processed: ProcessedContainer = {
          id: container.id,
          name: container.name,
          saveType: container.saveType,
          succeeded: failure === null,
          status,
          statusName: Containers.statusOf(status)!.name,
          failure,
          document: partView(container.document),
          signatures: signatures.map((s, i) => ({ ...partView(s), expires: expires[i] ?? null })),
          hashes,
          signatureUpdateDate
        }
        for (const p of plugins.postProcessors) {
          const result = yield* Effect.either(p.process(processed))
          yield* progress({
            [Containers.Info.postProcessor(p.name)]: result._tag === "Right" ? "ok" : `failed: ${result.left.reason}`
          })
        }
        const ended = yield* Effect.either(advance("POST_PROCESSED"))
        const reason = failure ?? (ended._tag === "Left" ? ended.left : null)
        if (reason !== null) return yield* Effect.fail(new Worker.JobFailure({ message: reason }))
        return []
      })

    // ---- renewal runs: the upgrader again on an archived container, as a job of its own ---------
    const renewalOf = (parameters: ReadonlyArray<{ readonly name: string; readonly value: string }>) => {
      const get = (name: string) => parameters.find((p) => p.name.toLowerCase() === name.toLowerCase())?.value
      const action = get(Upgraders.RenewalParam.Action)
      return action === undefined ? undefined : { action, containerId: get(Upgraders.RenewalParam.Container) ?? "" }
    }
    const renewal = (job: Job.Job, context: Worker.RunContext, containerId: string) =>
      Effect.gen(function* () {
        const fail = (message: string) => Effect.fail(new Worker.JobFailure({ message }))
        if (upgrader === undefined) return yield* fail("no signature upgrader is configured")
        const target = yield* store.get(containerId).pipe(Effect.mapError((e) => new Worker.JobFailure({ message: `the container could not be read: ${e.reason}` })))
        const container = target === undefined ? undefined : Containers.fromJob(target, yield* now)
        if (container === undefined) return yield* fail(`there is no container ${containerId}`)
        if (container.storageEnded) return yield* fail(`the storage of container ${containerId} has ended; its signatures are deleted`)
        if (container.stage !== "archived") return yield* fail(`container ${containerId} is not in archival storage (status ${container.status})`)
        const upgraded = yield* callUpgrader(upgrader, container, container.signatures, "renewal").pipe(
          Effect.mapError((e) => new Worker.JobFailure({ message: `the signature upgrade failed: ${e.reason}` }))
        )
        // Replacing signatures would change a settled container's record; a renewal only adds evidence.
        if ((upgraded.signatures ?? []).length > 0) return yield* fail("a renewal run may not replace signatures; the upgrader answered replacements")
        const base = {
          ...upgradeRecords(upgraded),
          [Containers.Info.upgradeBy]: upgrader.name,
          ...(upgraded.profile === undefined ? {} : { [Containers.Info.upgradeProfile]: upgraded.profile }),
          ...(upgraded.message === undefined ? {} : { [Containers.Info.upgradeMessage]: upgraded.message })
        }
        if (upgraded.state === "pending") {
          yield* context.reportProgress({ ...base, [Containers.Info.upgrade]: "pending" })
          return yield* fail(`the signatures were not upgraded: ${upgraded.message ?? "the upgrader answered pending"}`)
        }
        const next = upgraded.nextUpdate !== undefined && Number.isFinite(upgraded.nextUpdate) ? upgraded.nextUpdate : (yield* now) + interval
        yield* context.reportProgress({ ...base, [Containers.Info.upgrade]: "upgraded", [Containers.Info.signatureUpdateDate]: new Date(next).toISOString() })
        return []
      })

    const worker = Worker.make({
      name: "archive",
      validate: (parameters) => {
        const run = renewalOf(parameters)
        if (run !== undefined) {
          if (run.action !== Upgraders.renewalAction) return { _tag: "Left", left: `Action must be ${Upgraders.renewalAction}` }
          if (run.containerId === "") return { _tag: "Left", left: "Container (the id of the container) is required" }
          return { _tag: "Right", right: parameters }
        }
        const manifest = parameters.find((p) => p.name.toLowerCase() === Containers.Param.Manifest.toLowerCase())
        return Containers.parseManifest(manifest?.value) === undefined && !FetchThrough.isFetchRequest(parameters)
          ? { _tag: "Left", left: "containers are created through the archive API (POST /api/document/content), which stores their documents first" }
          : { _tag: "Right", right: parameters }
      },
      run: (job, context) => {
        const run = renewalOf(job.parameters)
        return run === undefined ? step(job, context) : renewal(job, context, run.containerId)
      }
    })

    // ---- the search index ------------------------------------------------------------------
    const index = options.containerIndex ?? ContainerIndexes.makeMemory()
    const store = yield* JobStore.JobStore
    // An index write that failed leaves the index behind the jobs: searches then scan the jobs
    // (right, only slower) until the index is rebuilt at the next start.
    let indexBehind = false
    // The storages a search may cover: the configured ones and any a container is filed in.
    const knownStorages = new Set(logical.map((s) => s.id))
    const indexed = (what: string, write: Effect.Effect<void, Errors.StorageFailure>) =>
      write.pipe(
        Effect.catchAll((e) =>
          Effect.zipRight(
            Effect.sync(() => {
              indexBehind = true
            }),
            Effect.logWarning(`the container index missed ${what} (searches scan every container until the next start): ${e.reason}`)
          )
        )
      )
    const reindex = (job: Job.Job) => {
      const entry = ContainerIndexes.entryOf(job)
      if (entry === undefined) return Effect.void
      knownStorages.add(entry.storageId)
      return indexed(`a change of ${job.jobId}`, index.upsert(entry))
    }
    // Every write of a container goes through here: the index follows the job store on the same
    // path, right after the job is written.
    const indexingStore: JobStore.JobStoreService = {
      ...store,
      insert: (job, deadlines) => Effect.zipRight(store.insert(job, deadlines), reindex(job)),
      update: (job, expected, deadlines) => Effect.zipRight(store.update(job, expected, deadlines), reindex(job)),
      remove: (jobId, expected) => Effect.zipRight(store.remove(jobId, expected), indexed(`the deletion of ${jobId}`, index.remove(jobId)))
    }
    // At start, mend what a crash between a job's write and its index write left (the newest
    // writes): the newest containers and the entries still accepted or processing are indexed
    // again from their jobs; then a count that still differs (a memory index starts empty, a
    // deletion was missed) rebuilds the whole index.
    const rebuild = Effect.gen(function* () {
      const upsertJob = (job: Job.Job) => {
        const entry = ContainerIndexes.entryOf(job)
        return entry === undefined ? Effect.void : index.upsert(entry)
      }
      if ((yield* index.count) > 0) {
        const newest = yield* store.list({ phases: Phase.all, limit: 1000 })
        yield* index.upsertAll(newest.jobs.flatMap((job) => ContainerIndexes.entryOf(job) ?? []))
        const unsettled = yield* index.withStatus([Containers.StatusCode.Accepted, Containers.StatusCode.Processing])
        for (const id of unsettled) {
          const job = yield* store.get(id)
          yield* job === undefined ? index.remove(id) : upsertJob(job)
        }
      }
      if ((yield* store.count({ phases: Phase.all })) !== (yield* index.count)) {
        const seen = new Set<string>()
        let cursor: string | undefined
        do {
          const page = yield* store.list({ phases: Phase.all, limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
          for (const job of page.jobs) seen.add(job.jobId)
          yield* index.upsertAll(page.jobs.flatMap((job) => ContainerIndexes.entryOf(job) ?? []))
          cursor = page.next ?? undefined
        } while (cursor !== undefined)
        for (const id of yield* index.ids) if (!seen.has(id)) yield* index.remove(id)
      }
    }).pipe(Effect.catchAll((e) => indexed("the rebuild at start", Effect.fail(e))))
    yield* rebuild
    for (const id of yield* index.storageIds.pipe(Effect.orElseSucceed(() => []))) knownStorages.add(id)

    // ---- the UWS service -------------------------------------------------------------------
    const uws = yield* Uws.make({
      worker,
      makeJobId: makeContainerId,
      policy: {
        // An archive keeps its containers: no count of stored jobs unless the host sets one. Its
        // parameters are written by the upload above (its own field limits bound them) and the
        // manifest of a container of 64 signatures is ~28 KB, more with long storage locators:
        // room for it beyond a public service's 64 KiB per value.
        maxStoredJobs: null,
        maxParameterValueBytes: 1024 * 1024,
        maxParameterBytesPerJob: 2 * 1024 * 1024,
        ...options.policy,
        defaultExecutionDuration: stepTimeout,
        maxExecutionDuration: stepTimeout,
        defaultDestructionLifetime: null,
        maxDestructionLifetime: null,
        onDestruction: "archive",
        archivedResults: "drop",
        anonymousJobs: "shared",
        concurrency: options.concurrency ?? options.policy?.concurrency ?? 2
      },
      ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait })
    }).pipe(Effect.provideService(JobStore.JobStore, indexingStore))

    const fetching = fetcher?.bind(uws)
    const fetchService = fetching?.service
    if (fetcher !== undefined && fetching !== undefined) {
      yield* Effect.forkScoped(fetcher.sweepSpool((id) => store.get(id).pipe(Effect.orElseSucceed(() => undefined))))
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(fetching.forgetFailed, clock.sleep(Duration.millis(fetching.every)))))
    }

    // ---- purge: documents of expired (and deleted) containers ------------------------------
    const purged = new Set<string>()
    const purge = (container: Container) =>
      Effect.gen(function* () {
        const problems: Array<string> = []
        for (const part of Containers.storedParts(container)) {
          const s = storageNamed(part.storage)
          if (s === undefined) {
            problems.push(`${part.name}: document storage "${part.storage}" is not configured`)
            continue
          }
          if (s.readOnly) continue // never written, so never deleted from
          const deleted = yield* Effect.either(s.delete(part.locator))
          if (deleted._tag === "Left") problems.push(`${part.name}: ${deleted.left.message}`)
        }
        if (problems.length > 0) return yield* Effect.fail(problems.join("; "))
      })
    const purgeExpired = (job: Job.Job) =>
      Effect.gen(function* () {
        if (purged.has(job.jobId)) return
        const container = Containers.fromJob(job, yield* now)
        if (container === undefined || !Retention.ends(container.saveType) || job.phase !== "ARCHIVED") return
        yield* purge(container).pipe(
          Effect.tapError((e) => Effect.logWarning(`documents of expired container ${job.jobId} not all deleted yet: ${e}`)),
          Effect.retry(Schedule.exponential(Duration.seconds(1), 2).pipe(Schedule.upTo(Duration.hours(1)))),
          Effect.tap(() => Effect.sync(() => purged.add(job.jobId))),
          Effect.catchAll((e) => Effect.logError(`documents of expired container ${job.jobId} could not be deleted: ${e}; the hourly sweep retries`))
        )
      })
    const sweep = Effect.gen(function* () {
      let cursor: string | undefined
      do {
        const page = yield* uws.list(system, { phases: ["ARCHIVED"], limit: 500, ...(cursor === undefined ? {} : { cursor }) })
        yield* Effect.forEach(page.jobs, purgeExpired, { discard: true })
        cursor = page.next ?? undefined
      } while (cursor !== undefined)
    }).pipe(Effect.catchAll((e) => Effect.logWarning(`the sweep of expired containers failed: ${e.message}`)))
    // Expired containers lose their documents; so does a container deleted through any binding
    // mounted on this archive's job list (deleting a missing document counts as deleted).
    const changes = yield* uws.subscribe
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(changes), (change) => {
          if (change.job?.phase === "ARCHIVED") return Effect.forkScoped(purgeExpired(change.job))
          if (change.job === undefined && change.previous !== undefined) {
            const gone = change.previous
            return Effect.forkScoped(
              Effect.flatMap(now, (t) => {
                const container = Containers.fromJob(gone, t)
                return container === undefined
                  ? Effect.void
                  : purge(container).pipe(
                      Effect.catchAll((e) => Effect.logError(`documents of deleted container ${gone.jobId} not all deleted: ${e}`))
                    )
              })
            )
          }
          return Effect.void
        })
      )
    )
    yield* Effect.forkScoped(Effect.zipRight(sweep, Effect.forever(Effect.zipRight(clock.sleep(Duration.hours(1)), sweep))))

    // ---- operations ------------------------------------------------------------------------
    const load = (caller: Identity.Caller, id: string): Effect.Effect<Container, ArchiveError> =>
      Effect.gen(function* () {
        const job = yield* uws.get(system, id)
        const container = Containers.fromJob(job, yield* now)
        // Not a container, or filed where the caller may not look: as if absent.
        if (container === undefined || !access(caller, container.storageId)) return yield* Effect.fail(new Errors.JobNotFound({ jobId: id }))
        return container
      })

    const invalid = (name: string, reason: string) => Effect.fail(new Errors.InvalidParameter({ name, reason }))
    /** The renewal run last started for each container. */
    const renewals = new Map<string, string>()

    const upload = (caller: Identity.Caller, input: UploadInput): Effect.Effect<Container, ArchiveError> =>
      Effect.gen(function* () {
        const t = yield* now
        const name = input.containerName.trim()
        if (name === "") return yield* invalid("ContainerName", "is required and must not be blank.")
        if (name.length > 1024) return yield* invalid("ContainerName", "is longer than 1024 characters.")
        if (input.structureName !== undefined && input.structureName.length > 1024) {
          return yield* invalid("StructureName", "is longer than 1024 characters.")
        }
        const filed = logical.find((s) => s.id === input.storageId)
        if (filed === undefined || !access(caller, input.storageId)) {
          return yield* invalid(
            "StorageId",
            `${input.storageId} is not a storage you may use (see GET /api/user/storages: ${logical.filter((s) => access(caller, s.id)).map((s) => s.id).join(", ") || "none"}).`
          )
        }
        if (input.saveType === "Temporary" || (input.saveType === "Cache" && input.archiveDate !== undefined)) {
          if (input.archiveDate === undefined) return yield* invalid("ArchiveDate", "is required when SaveType is Temporary.")
          if (!(input.archiveDate > t)) {
            return yield* invalid("ArchiveDate", `${new Date(input.archiveDate).toISOString()} is not in the future.`)
          }
        } else if (input.saveType === "Permanent" && input.archiveDate !== undefined) {
          return yield* invalid("ArchiveDate", "applies to Temporary and Cache containers only; a Permanent container is kept for good.")
        }
        if (input.document.size === 0) return yield* invalid("Content", "is empty.")
        if (input.signatures.length > maxSignatures) {
          return yield* invalid("Signs", `at most ${maxSignatures} signatures per container.`)
        }
        const emptySignature = input.signatures.findIndex((s) => s.size === 0)
        if (emptySignature >= 0) return yield* invalid("Signs", `signature #${emptySignature + 1} is empty.`)

        let target: Storage | undefined
        if (input.containerId !== undefined && (input.containerId.length === 0 || input.containerId.length > 256)) {
          return yield* invalid("containerId", "must be 1 to 256 characters.")
        }
        if (input.pluginName !== undefined && input.pluginName !== "") {
          target = storageNamed(input.pluginName)
          if (target === undefined) {
            return yield* invalid(
              "ArchiveCaPluginName",
              `"${input.pluginName}" is not a configured document storage (configured: ${plugins.storages.map((s) => s.name).join(", ") || "none"}).`
            )
          }
          if (target.readOnly) return yield* invalid("ArchiveCaPluginName", `"${target.name}" is read-only; nothing is written to it.`)
          if (target.state() !== "ready") {
            return yield* Effect.fail(
              new Errors.PluginFailure({ plugin: target.name, operation: "save", reason: `the storage is ${target.state()}: ${target.failure() ?? "not ready"}` })
            )
          }
        } else {
          target =
            options.defaultDocumentStorage !== undefined
              ? storageNamed(options.defaultDocumentStorage)
              : plugins.storages.find((s) => s.writable())
          if (target === undefined || !target.writable()) {
            return yield* Effect.fail(
              new Errors.StorageFailure({
                operation: "upload",
                reason: `no writable document storage is ready${target === undefined ? "" : ` ("${target.name}" is ${target.readOnly ? "read-only" : target.state()})`}.`
              })
            )
          }
        }
        const storage = target

        const id = input.restore?.containerId ?? input.containerId ?? makeContainerId()
        const saved: Array<PartRecord> = []
        const undo = Effect.forEach(saved, (p) => storage.delete(p.locator).pipe(Effect.ignore), { discard: true })
        const store = (file: IncomingFile, partName: string, fallbackName: string) =>
          Effect.gen(function* () {
            const fileName = safeFileName(file.fileName, fallbackName)
            if (file.stored?._tag === "Failed") return yield* Effect.fail(file.stored.failure)
            let locator: Locator
            if (file.stored?._tag === "Stored" && file.stored.storage === storage.name) {
              // Written there while it was received: this upload now owns that copy.
              file.stored.claim()
              locator = file.stored.locator
            } else {
              locator = yield* storage.save({
                containerId: id,
                name: partName,
                fileName,
                mimeType: file.mimeType,
                size: file.size,
                ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
                content: file.open()
              })
            }
            const record: PartRecord = { name: partName, fileName, mimeType: file.mimeType, size: file.size, sha256: file.sha256, storage: storage.name, locator }
            saved.push(record)
            // What the storage reports must be what was received; otherwise nothing is acknowledged.
            const stat = yield* storage.stat(locator)
            if (stat === null || stat.size !== file.size || (stat.sha256 !== undefined && stat.sha256.toLowerCase() !== file.sha256)) {
              return yield* Effect.fail(
                new Errors.PluginFailure({
                  plugin: storage.name,
                  operation: "save",
                  reason: `the stored ${partName} does not match what was received (${stat === null ? "missing" : `${stat.size} bytes${stat.sha256 === undefined ? "" : `, SHA-256 ${stat.sha256}`}`}; received ${file.size} bytes, SHA-256 ${file.sha256})`
                })
              )
            }
            return record
          })

        const created = yield* Effect.gen(function* () {
          const document = yield* store(input.document, "document", "document.bin")
          const signatures: Array<PartRecord> = []
          for (const [i, s] of input.signatures.entries()) signatures.push(yield* store(s, `signature-${i + 1}`, `signature-${i + 1}.sig`))
          const restored: Record<string, string> = {}
          if (input.restore !== undefined) {
            restored[Containers.Info.restoredCreateDate] = new Date(input.restore.createdAt).toISOString()
            restored[Containers.Info.restoredFrom] = input.restore.from
            for (const u of input.restore.upgraded) {
              const original = signatures[u.index]
              if (original === undefined) return yield* invalid("Signs", `an upgraded signature #${u.index + 1} replaces no uploaded one.`)
              const record = yield* store(u.file, `${original.name}-upgraded`, original.fileName)
              restored[Containers.Info.upgraded(original.name)] = JSON.stringify({ ...record, name: original.name })
            }
          }
          const manifest: Containers.Manifest = { version: 1, document, signatures }
          const P = Containers.Param
          const parameters = [
            { name: P.ContainerName, value: name },
            ...(input.structureName === undefined ? [] : [{ name: P.StructureName, value: input.structureName }]),
            { name: P.SaveType, value: input.saveType },
            { name: P.StorageId, value: String(input.storageId) },
            ...(input.archiveDate === undefined ? [] : [{ name: P.ArchiveDate, value: new Date(input.archiveDate).toISOString() }]),
            { name: P.UseArchiveCa, value: String(input.useArchiveCa === true) },
            ...(input.pluginName === undefined || input.pluginName === "" ? [] : [{ name: P.ArchiveCaPluginName, value: input.pluginName }]),
            { name: P.Manifest, value: JSON.stringify(manifest) }
          ]
          const destruction = Retention.destructionOf(input.saveType, t, input.archiveDate, options.cacheTtl)
          return yield* uws.create(caller, {
            jobId: id,
            parameters,
            destruction,
            run: true,
            ...(input.restore === undefined ? {} : { jobInfo: restored })
          })
        }).pipe(Effect.onError(() => undo))
        if (created.jobId !== id) return yield* Effect.dieMessage(`the job was created as ${created.jobId}, not ${id}`)
        return Containers.fromJob(created, yield* now)!
      })

    const allContainers = (caller: Identity.Caller) =>
      Effect.gen(function* () {
        const t = yield* now
        const out: Array<Container> = []
        let cursor: string | undefined
        do {
          const page = yield* uws.list(system, { phases: Phase.all, limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
          for (const job of page.jobs) {
            const c = Containers.fromJob(job, t)
            if (c !== undefined && access(caller, c.storageId)) out.push(c)
          }
          cursor = page.next ?? undefined
        } while (cursor !== undefined)
        return out
      })

    const prepareUpload: ArchiveService["prepareUpload"] = (pluginName) => {
      const named = pluginName === undefined || pluginName === "" ? undefined : storageNamed(pluginName)
      const storage =
        pluginName !== undefined && pluginName !== ""
          ? named
          : options.defaultDocumentStorage !== undefined
            ? storageNamed(options.defaultDocumentStorage)
            : plugins.storages.find((s) => s.writable())
      return { containerId: makeContainerId(), storage: storage?.writable() === true ? storage : undefined }
    }

    // Renewal runs are jobs of their own: a container's record shows what the newest one says.
    const withTimeStamps = (container: Container): Container => {
      const plugin = options.upgrader ?? plugins.upgrader?.plugin
      const settings = plugin !== undefined && TimeStampUpgrader.isTimeStampUpgrader(plugin) ? plugin.settings() : undefined
      if (settings === undefined) return container
      const entry = (plugin as TimeStampUpgrader.TimeStampUpgrader).catalogue.get(container.id, settings)
      if (entry === undefined || entry.state === "running") return container
      const { message: _stale, ...upgrade } = container.upgrade
      return {
        ...container,
        signatureUpdateDate: entry.renewAt ?? container.signatureUpdateDate,
        upgrade: {
          ...upgrade,
          state: entry.state === "stamped" ? "upgraded" : entry.state === "failed" ? "failed" : "pending",
          ...(entry.message === null ? {} : { message: entry.message })
        }
      }
    }

    const service: ArchiveService = {
      uws,
      upload,
      prepareUpload,
      get: (caller, id) => Effect.map(load(caller, id), withTimeStamps),
      search: (caller, query) =>
        Effect.gen(function* () {
          if (indexBehind) return Search.run(yield* allContainers(caller), query)
          const t = yield* now
          const storages = options.storageAccess === undefined ? undefined : [...knownStorages].filter((id) => access(caller, id))
          const found = yield* index.search(query, { now: t, ...(storages === undefined ? {} : { storages }) })
          // The page's containers as they are now (one deleted meanwhile is left out).
          const jobs = yield* Effect.forEach(found.ids, (id) => store.get(id), { concurrency: 8 })
          const documents = jobs.flatMap((job) => {
            const c = job === undefined ? undefined : Containers.fromJob(job, t)
            return c === undefined ? [] : [c]
          })
          return { documents, totalRecords: found.totalRecords }
        }),
      signatures: (caller, id) =>
        Effect.gen(function* () {
          const container = yield* load(caller, id)
          if (container.storageEnded) return yield* Effect.fail(new StorageEnded({ id, at: container.archiveUntil ?? container.modifiedAt }))
          return {
            container,
            signatures: container.signatures.map((part) => ({
              part,
              open: Effect.flatMap(storageOf(part), (s) => s.get(part.locator)),
              stat: Effect.flatMap(storageOf(part), (s) => s.stat(part.locator))
            }))
          }
        }),
      document: (caller, id) =>
        Effect.gen(function* () {
          const container = yield* load(caller, id)
          if (container.storageEnded) return yield* Effect.fail(new StorageEnded({ id, at: container.archiveUntil ?? container.modifiedAt }))
          const part = container.document
          return { container, part, read: Effect.flatMap(storageOf(part), (s) => s.read(part.locator)) }
        }),
      delete: (caller, id) =>
        Effect.gen(function* () {
          const container = yield* load(caller, id)
          const admin = caller.admin === true
          if (!admin && (caller.id === null || caller.id !== container.ownerId)) {
            return yield* Effect.fail(new Errors.Forbidden({ jobId: id, reason: "only the source system that uploaded a container (or an operator) may delete it." }))
          }
          if (!admin && container.saveType === "Permanent") {
            return yield* Effect.fail(new Errors.Forbidden({ jobId: id, reason: "permanent containers are kept; only an operator may delete one." }))
          }
          // Check every storage first, so that a refused delete changes nothing. (Once storage
          // ended the documents are deleted, or being deleted, anyway.)
          for (const part of container.storageEnded ? [] : Containers.storedParts(container)) {
            const s = storageNamed(part.storage)
            if (s === undefined || s.readOnly || s.state() !== "ready") {
              return yield* Effect.fail(
                new Errors.PluginFailure({
                  plugin: part.storage,
                  operation: "delete",
                  reason: s === undefined ? "no such document storage is configured" : s.readOnly ? `it is read-only and holds ${part.name}` : `the storage is ${s.state()}`
                })
              )
            }
          }
          // Documents first, the record last: a delete that fails half-way keeps the record, and
          // deleting again (deletes are idempotent) finishes the job. A record is never dropped
          // while its documents may remain.
          yield* purge(container).pipe(
            Effect.mapError(
              (reason) =>
                new Errors.StorageFailure({ operation: "delete", reason: `the container is not deleted, some of its documents could not be: ${reason}. Send the delete again.` })
            )
          )
          yield* uws.delete(Identity.system, id)
        }),
      upgradeSignatures: (caller, id) =>
        Effect.gen(function* () {
          if (caller.admin !== true) {
            return yield* Effect.fail(new Errors.Forbidden({ jobId: id, reason: "only an operator may start a signature upgrade." }))
          }
          const container = yield* load(caller, id)
          if (upgrader === undefined) return yield* invalid("Container", "no signature upgrader is configured.")
          if (container.storageEnded) return yield* Effect.fail(new StorageEnded({ id, at: container.archiveUntil ?? container.modifiedAt }))
          if (container.stage !== "archived") return yield* invalid("Container", `${id} is not in archival storage yet (status ${container.status}).`)
          // One run per container at a time.
          const under = renewals.get(id)
          if (under !== undefined) {
            const job = yield* Effect.either(uws.get(system, under))
            if (job._tag === "Right" && !Phase.isFinal(job.right.phase)) return job.right
          }
          const created = yield* uws.create(system, {
            parameters: [
              { name: Upgraders.RenewalParam.Action, value: Upgraders.renewalAction },
              { name: Upgraders.RenewalParam.Container, value: id }
            ],
            run: true
          })
          renewals.set(id, created.jobId)
          return created
        }),
      timeStamps: (caller, id) =>
        Effect.map(load(caller, id), (container) => {
          const plugin = options.upgrader ?? plugins.upgrader?.plugin
          const settings = plugin !== undefined && TimeStampUpgrader.isTimeStampUpgrader(plugin) ? plugin.settings() : undefined
          return settings === undefined ? null : ((plugin as TimeStampUpgrader.TimeStampUpgrader).catalogue.get(container.id, settings) ?? null)
        }),
      timeStampToken: (caller, id, signature) =>
        Effect.gen(function* () {
          const entry = yield* service.timeStamps(caller, id)
          const stamp = entry?.stamps.find((s) => s.signature === signature)
          if (stamp === undefined) return null
          // Gone with the documents once a temporary container's storage ended.
          yield* service.signatures(caller, id)
          const bytes = yield* Effect.flatMap(storageOf(stamp.token), (s) => Storages.readAll(s, stamp.token.locator))
          const sha256 = createHash("sha256").update(bytes).digest("hex")
          if (sha256 !== stamp.token.sha256) {
            return yield* Effect.fail(
              new Errors.PluginFailure({ plugin: stamp.token.storage, operation: "get", reason: `the kept time-stamp token ${stamp.token.name} does not match its SHA-256 (${sha256}, kept ${stamp.token.sha256})` })
            )
          }
          return { stamp, bytes }
        }),
      statuses: Containers.statuses,
      storages: (caller) => logical.filter((s) => access(caller, s.id)),
      plugins: plugins.report,
      now,
      ...(fetchService === undefined ? {} : { fetch: fetchService }),
      loadedPlugins: plugins,
      ...(placed === undefined ? {} : { replicas: placed.replicas }),
      ...(fixity === undefined ? {} : { fixity })
    }
    // An RFC 3161 upgrader's stamps are renewed before its TSA certificates expire.
    const upgraderPlugin = options.upgrader ?? plugins.upgrader?.plugin
    if (upgraderPlugin !== undefined && TimeStampUpgrader.isTimeStampUpgrader(upgraderPlugin)) yield* TimeStampRenewal.follow(upgraderPlugin, service)
    return service
  })

/**
 * A running archive, for hosts that do not use Effect themselves.
 *
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly archive: ArchiveService
  readonly close: () => Promise<void>
}

/**
 * Starts an archive outside Effect, with in-memory job and result stores unless others are given.
 * `clock` replaces the system clock (e.g. to replay a scenario at a given date).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (
  options: ArchiveOptions & {
    readonly jobStore?: JobStore.JobStoreService
    readonly resultStore?: ResultStore.ResultStoreService
    readonly clock?: Clock.Clock
    /** Shared with other instances on one database (e.g. `SqlDispatcher`); default: in-process. */
    readonly dispatcher?: Dispatcher.DispatcherService
  }
): Promise<Started> => {
  const scope = Effect.runSync(Scope.make())
  const stores = Layer.merge(
    Layer.succeed(JobStore.JobStore, options.jobStore ?? JobStore.makeMemory()),
    Layer.succeed(ResultStore.ResultStore, options.resultStore ?? ResultStore.makeMemory())
  )
  let program = make(options).pipe(
    Scope.extend(scope),
    Effect.provide(options.dispatcher === undefined ? stores : Layer.merge(stores, Layer.succeed(Dispatcher.Dispatcher, options.dispatcher)))
  )
  if (options.clock !== undefined) program = Effect.withClock(program, options.clock)
  const archive = await Effect.runPromise(program)
  return { archive, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/**
 * A clock `offset` milliseconds ahead of (or behind) the system clock: time runs, from another
 * start. The demo uses it to replay the seed's scenario on its own dates.
 *
 * @since 0.1.0
 * @category constructors
 */
export const offsetClock = (offset: number): Clock.Clock => {
  const base = Clock.make()
  const millis = () => base.unsafeCurrentTimeMillis() + offset
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
    sleep: (d) => base.sleep(d)
  }
}

/**
 * Access to plugins' storages by name, for tools (dumps, repairs) built on an archive.
 *
 * @since 0.1.0
 * @category accessors
 */
export const readPart = (plugins: LoadedPlugins, part: PartRecord): Effect.Effect<Uint8Array, Errors.PluginFailure> => {
  const s = plugins.storages.find((x) => x.name === part.storage)
  return s === undefined
    ? Effect.fail(new Errors.PluginFailure({ plugin: part.storage, operation: "get", reason: "no such document storage is configured" }))
    : Storages.readAll(s, part.locator)
}
