/**
 * Container search (`POST /api/document/search`): the body, its filters with the seed's meaning,
 * and the order and paging of the answer. Pure, so a property test can hold the archive to it.
 *
 * - `storageIds`: containers in any of these storages (an empty list filters nothing);
 * - `name`: a substring of the container name, case-insensitive;
 * - `sourceSystemId`: the identity that uploaded it (number or string);
 * - `status`: the status number;
 * - `isArchived`: `true` = in archival storage (status 4); `false` = **only temporary containers
 *   whose storage has ended** (the seed's meaning, not "not archived");
 * - `saveType` (ours): the retention tier, `Temporary`, `Permanent` or `Cache` (or its number).
 *
 * Newest first (creation time, then id, both descending); `page` is 1-based, `pageSize` 10 by
 * default; `totalRecords` counts every match.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { Container, SaveType } from "./Container.js"
import { parseSaveType } from "./Container.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Filters {
  readonly storageIds?: ReadonlyArray<number>
  readonly name?: string
  readonly sourceSystemId?: string
  readonly status?: number
  readonly isArchived?: boolean
  readonly saveType?: SaveType
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Query {
  readonly filters: Filters
  readonly pageSize: number
  readonly page: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Page<A> {
  readonly documents: ReadonlyArray<A>
  readonly totalRecords: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultPageSize = 10

const FILTER_KEYS = ["storageIds", "name", "sourceSystemId", "status", "isArchived", "saveType"] as const
const BODY_KEYS = ["filters", "pageSize", "page"] as const

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Finds a key case-insensitively (ASP.NET binds JSON that way); problems for unknown ones. */
const pick = (
  object: Record<string, unknown>,
  known: ReadonlyArray<string>,
  where: string,
  problems: Array<string>
): Map<string, unknown> => {
  const out = new Map<string, unknown>()
  for (const [key, value] of Object.entries(object)) {
    const match = known.find((k) => k.toLowerCase() === key.toLowerCase())
    if (match === undefined) problems.push(`${where}${key} is not a known field (known: ${known.join(", ")})`)
    else if (out.has(match)) problems.push(`${where}${match} is given twice`)
    else out.set(match, value)
  }
  return out
}

const wholeNumber = (u: unknown) => typeof u === "number" && Number.isSafeInteger(u)

/**
 * Reads a search body (`undefined` or `null` for an empty body). Every problem is listed.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (body: unknown, options: { readonly maxPageSize?: number } = {}): Either.Either<Query, ReadonlyArray<string>> => {
  const maxPageSize = options.maxPageSize ?? 1000
  if (body === undefined || body === null) return Either.right({ filters: {}, pageSize: defaultPageSize, page: 1 })
  if (!isObject(body)) return Either.left(["the body must be a JSON object { filters?, pageSize?, page? }"])
  const problems: Array<string> = []
  const fields = pick(body, BODY_KEYS, "", problems)
  let pageSize = defaultPageSize
  let page = 1
  const ps = fields.get("pageSize")
  if (ps !== undefined && ps !== null) {
    if (!wholeNumber(ps) || (ps as number) < 1 || (ps as number) > maxPageSize) {
      problems.push(`pageSize must be a whole number from 1 to ${maxPageSize}, not ${JSON.stringify(ps)}`)
    } else pageSize = ps as number
  }
  const p = fields.get("page")
  if (p !== undefined && p !== null) {
    if (!wholeNumber(p) || (p as number) < 1) problems.push(`page must be a whole number from 1 (pages count from 1), not ${JSON.stringify(p)}`)
    else page = p as number
  }
  const filters: { -readonly [K in keyof Filters]: Filters[K] } = {}
  const f = fields.get("filters")
  if (f !== undefined && f !== null) {
    if (!isObject(f)) problems.push("filters must be an object")
    else {
      const given = pick(f, FILTER_KEYS, "filters.", problems)
      for (const [key, value] of given) {
        if (value === null) continue
        switch (key) {
          case "storageIds":
            if (!Array.isArray(value) || !value.every(wholeNumber)) problems.push("filters.storageIds must be a list of storage ids (whole numbers)")
            else filters.storageIds = value as Array<number>
            break
          case "name":
            if (typeof value !== "string") problems.push("filters.name must be a string")
            else filters.name = value
            break
          case "sourceSystemId":
            if (typeof value === "string" ? value.length === 0 : !wholeNumber(value)) {
              problems.push("filters.sourceSystemId must be a source system id (a whole number or a non-empty string)")
            } else filters.sourceSystemId = String(value)
            break
          case "status":
            if (!wholeNumber(value)) problems.push("filters.status must be a status number (see GET /api/dictionary/statuses)")
            else filters.status = value as number
            break
          case "isArchived":
            if (typeof value !== "boolean") problems.push("filters.isArchived must be true or false")
            else filters.isArchived = value
            break
          case "saveType": {
            const tier = typeof value === "string" || wholeNumber(value) ? parseSaveType(String(value)) : undefined
            if (tier === undefined) problems.push(`filters.saveType must be Temporary, Permanent or Cache (or 1, 2, 3), not ${JSON.stringify(value)}`)
            else filters.saveType = tier
            break
          }
        }
      }
    }
  }
  return problems.length > 0 ? Either.left(problems) : Either.right({ filters, pageSize, page })
}

/**
 * Whether a container passes the filters.
 *
 * @since 0.1.0
 * @category filtering
 */
export const matches = (c: Container, f: Filters): boolean =>
  (f.storageIds === undefined || f.storageIds.length === 0 || f.storageIds.includes(c.storageId)) &&
  (f.name === undefined || c.name.toLowerCase().includes(f.name.toLowerCase())) &&
  (f.sourceSystemId === undefined || c.ownerId === f.sourceSystemId) &&
  (f.status === undefined || c.status === f.status) &&
  (f.isArchived === undefined || (f.isArchived ? c.isArchived : c.saveType === "Temporary" && c.storageEnded)) &&
  (f.saveType === undefined || c.saveType === f.saveType)

/**
 * Newest first: creation time, then id, both descending.
 *
 * @since 0.1.0
 * @category ordering
 */
export const newestFirst = (a: Pick<Container, "createdAt" | "id">, b: Pick<Container, "createdAt" | "id">): number =>
  b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/**
 * Filters, orders and pages a set of containers.
 *
 * @since 0.1.0
 * @category filtering
 */
export const run = (containers: Iterable<Container>, query: Query): Page<Container> => {
  const matching = [...containers].filter((c) => matches(c, query.filters)).sort(newestFirst)
  const start = (query.page - 1) * query.pageSize
  return { documents: matching.slice(start, start + query.pageSize), totalRecords: matching.length }
}
