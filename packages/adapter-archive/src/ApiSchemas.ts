/**
 * The bodies of the archive API as `effect/Schema`s: what the handlers of `ArchiveAdapter` answer
 * (their answers are typed by these schemas) and what `OpenApi` turns into the JSON Schemas of
 * `/api/openapi.json`. One declaration for both, so the document cannot drift from the handlers.
 * Objects allow fields beyond those listed: mechanisms added later (copies, retention, time-stamps)
 * extend a container's detail without breaking a client that validates against an older document.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const nullable = <S extends Schema.Schema.Any>(s: S) => Schema.NullOr(s)
const Iso = Schema.String.annotations({ description: "ISO 8601 date-time", format: "date-time" } as never)

/**
 * The envelope every answer is wrapped in, with `data` of the given schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Envelope = <A, I>(data: Schema.Schema<A, I>, identifier: string) =>
  Schema.Struct({
    data: Schema.NullOr(data),
    errorCode: Schema.NullOr(Schema.String),
    errorDescription: Schema.NullOr(Schema.String)
  }).annotations({ identifier, description: "The archive's envelope: data on success, errorCode and errorDescription on failure." })

/**
 * A refused or failed request: `data` null, a stable `errorCode` and its description.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorEnvelope = Schema.Struct({
  data: Schema.Null,
  errorCode: Schema.String,
  errorDescription: Schema.String
}).annotations({ identifier: "ErrorEnvelope", description: "A refusal: errorCode is stable (see the adapter's error table), errorDescription says why." })

/**
 * `POST /document/search`'s body (keys are matched case-insensitively, as ASP.NET binds them).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SearchBody = Schema.Struct({
  filters: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        storageIds: Schema.optional(Schema.NullOr(Schema.Array(Schema.Int))),
        name: Schema.optional(Schema.NullOr(Schema.String.annotations({ description: "substring of the container name, case-insensitive" }))),
        sourceSystemId: Schema.optional(Schema.NullOr(Schema.Union(Schema.Int, Schema.NonEmptyString))),
        status: Schema.optional(Schema.NullOr(Schema.Int.annotations({ description: "a status number (GET /dictionary/statuses)" }))),
        isArchived: Schema.optional(
          Schema.NullOr(Schema.Boolean.annotations({ description: "true: archived (status 4); false: only Temporary containers whose storage ended" }))
        )
      }).annotations({ identifier: "SearchFilters" })
    )
  ),
  pageSize: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))).annotations({ description: "default 10" })),
  page: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))).annotations({ description: "1-based, default 1" }))
}).annotations({ identifier: "SearchBody", description: "An empty body returns the last 10 containers added." })

/**
 * One container in a search answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SearchDocument = Schema.Struct({ id: Schema.String, name: Schema.String, status: Schema.Int, isArchived: Schema.Boolean }).annotations({
  identifier: "SearchDocument"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const SearchAnswer = Schema.Struct({ documents: Schema.Array(SearchDocument), totalRecords: Schema.Int }).annotations({ identifier: "SearchAnswer" })

const Hash = Schema.Struct({ of: Schema.String, algorithm: Schema.String, encoding: Schema.String, value: Schema.String }).annotations({ identifier: "Hash" })
const Upgrade = Schema.Struct({
  state: Schema.String,
  by: Schema.optional(Schema.String),
  profile: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
}).annotations({ identifier: "Upgrade", description: "The signature upgrade (archive time-stamp) of the container." })
const PostProcessing = Schema.Struct({ plugin: Schema.String, outcome: Schema.Literal("ok", "failed"), message: Schema.optional(Schema.String) }).annotations({
  identifier: "PostProcessing"
})
const FileEntry = Schema.Struct({ fileName: Schema.String, size: Schema.Int }).annotations({ identifier: "FileEntry" })
const Copy = Schema.Struct({
  storage: Schema.String,
  state: Schema.String.annotations({ description: "good, corrupt, missing, …" }),
  checkedAt: nullable(Iso),
  detail: nullable(Schema.String)
}).annotations({ identifier: "Copy", description: "One stored copy of a part (with replication)." })
const PartCopies = Schema.Struct({
  part: Schema.String,
  sha256: Schema.String,
  replicated: Schema.Boolean,
  goodCopies: Schema.Int,
  problem: Schema.optional(Schema.String),
  copies: Schema.NullOr(Schema.Array(Copy))
}).annotations({ identifier: "PartCopies", description: "A part's copies in the primary storage and its mirrors." })

/**
 * A container's detail (`GET /document/{id}`): every field of the seed's example, then ours.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContainerDetail = Schema.Struct({
  storage: Schema.Struct({ id: Schema.Int, name: nullable(Schema.String) }),
  sourceSystem: Schema.Struct({ id: Schema.NullOr(Schema.Union(Schema.String, Schema.Number)), name: nullable(Schema.String) }),
  hashes: Schema.Array(Hash),
  signatures: Schema.NullOr(Schema.Array(Schema.String.annotations({ description: "DER, base64" }))),
  isToBeSigned: Schema.Boolean,
  useArchiveCa: Schema.Boolean,
  documentType: Schema.String,
  saveType: Schema.Int.annotations({ description: "1 = Temporary, 2 = Permanent, 3 = Cache" }),
  structureName: nullable(Schema.String),
  modifiedDate: nullable(Iso),
  isCreateDate: nullable(Iso),
  createDate: nullable(Iso),
  signatureUpdateDate: nullable(Iso),
  archiveUntilDate: nullable(Iso),
  isAvailable: Schema.Boolean,
  id: Schema.String,
  name: Schema.String,
  status: Schema.Int,
  isArchived: Schema.Boolean,
  saveTypeName: Schema.String,
  statusName: nullable(Schema.String),
  phase: Schema.String,
  document: FileEntry,
  signatureFiles: Schema.Array(FileEntry),
  archiveCaPluginName: nullable(Schema.String),
  originalCreateDate: nullable(Iso).annotations({ description: "a restored container's creation date in the archive its dump came from" }),
  restoredFrom: nullable(Schema.String).annotations({ description: "the bag a restored container came from" }),
  upgrade: Upgrade,
  postProcessing: Schema.Array(PostProcessing),
  error: nullable(Schema.String),
  unavailableReason: Schema.optional(Schema.String),
  signaturesOmitted: Schema.optional(Schema.String),
  copies: Schema.optional(Schema.Array(PartCopies))
}).annotations({ identifier: "ContainerDetail" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const ContainerId = Schema.String.annotations({ identifier: "ContainerId", description: "the container's id (a GUID)" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const Status = Schema.Struct({
  id: Schema.Int,
  code: Schema.String,
  name: Schema.String,
  description: Schema.String,
  phases: Schema.Array(Schema.String)
}).annotations({ identifier: "Status" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const Storage = Schema.Struct({ id: Schema.Int, name: Schema.String }).annotations({ identifier: "Storage" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const PluginState = Schema.Struct({
  section: Schema.String,
  name: Schema.String,
  assembly: Schema.String,
  enabled: Schema.Boolean,
  readOnly: Schema.Boolean,
  state: Schema.String,
  failure: nullable(Schema.String)
}).annotations({ identifier: "PluginState" })

/**
 * `POST /document/content`'s multipart fields, as in the seed (files are binary parts).
 *
 * @since 0.1.0
 * @category schemas
 */
export const UploadForm = Schema.Struct({
  Content: Schema.String.annotations({ description: "the signed document, or the attached signature", format: "binary" } as never),
  Signs: Schema.optional(Schema.Array(Schema.String.annotations({ description: "a detached signature, DER (base64 is refused)", format: "binary" } as never))),
  StorageId: Schema.Int.annotations({ description: "see GET /user/storages" }),
  SaveType: Schema.Literal("Temporary", "Permanent"),
  ContainerName: Schema.NonEmptyString,
  StructureName: Schema.optional(Schema.String),
  ArchiveDate: Schema.optional(Schema.String.annotations({ description: "required when Temporary: ISO 8601 or dd.MM.yyyy" })),
  UseArchiveCa: Schema.optional(Schema.Literal("true", "false")),
  ArchiveCaPluginName: Schema.optional(Schema.String.annotations({ description: "a DocumentStorage plugin's PluginName" }))
}).annotations({ identifier: "UploadForm" })
