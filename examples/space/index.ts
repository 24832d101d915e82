/**
 * The `space` application's names and rules (UWS v0.3 draft §3.3, a VOSpace with a controlled
 * lifetime): a job is a lease on a storage container. Pure functions, shared with app-cea:
 * a space's identifier is `vos://uws-kit.demo!space/<spaceId>` and its files are served at
 * `<base>/spaces/<spaceId>/<file name>`.
 */
import type { Policy } from "@uws-kit/core"

/** The authority and path of every space's `vos://` identifier. */
export const VOS_PREFIX = "vos://uws-kit.demo!space/"

/** A space id is its job id: the core's ids are base-32 letters; anything else is refused unread. */
const SPACE_ID = /^[A-Za-z0-9_-]{1,64}$/

export const isSpaceId = (id: string): boolean => SPACE_ID.test(id)

/** The `vos://` identifier of a space. */
export const vosId = (spaceId: string): string => `${VOS_PREFIX}${spaceId}`

/**
 * The HTTP URL of a space's folder (ending in `/`) on the demo at `base` (e.g.
 * `http://localhost:8080`) whose files are at `files` (default `/spaces`), or of one file in it
 * (`vos://…!space/<id>/<file name>`), or `undefined` when `vos` is not one of this demo's spaces
 * or names no valid file.
 */
export const spaceUrl = (vos: string, base: string, files = "/spaces"): string | undefined => {
  if (!vos.startsWith(VOS_PREFIX)) return undefined
  const [id = "", name = "", ...more] = vos.slice(VOS_PREFIX.length).split("/")
  if (!isSpaceId(id) || more.length > 0 || (name !== "" && !fileName(name).ok)) return undefined
  return `${base.replace(/\/+$/, "")}${files}/${id}/${name}`
}

/**
 * A file name as it appears, still percent-encoded, in a request path: letters, digits, `.`,
 * `_` and `-`, not starting with `.`, at most 128 characters. Nothing is decoded, so `..`, `/`,
 * `\`, NUL and every `%`-escape (`%2e%2e`, `%2f`) are refused: no name can leave its folder.
 */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/

/** The file name, or why it is refused. */
export const fileName = (raw: string): { readonly ok: true; readonly name: string } | { readonly ok: false; readonly reason: string } =>
  FILE_NAME.test(raw)
    ? { ok: true, name: raw }
    : { ok: false, reason: "a file name is 1-128 of A-Z a-z 0-9 . _ - and does not start with '.'" }

/** Bytes a space may hold: the `size` parameter, default and most. */
export const DEFAULT_SIZE = 16 * 1024 * 1024
export const MAX_SIZE = 64 * 1024 * 1024
/** Files one space may hold. */
export const MAX_FILES = 1000

/**
 * The `size` parameter (bytes, a whole number 1…MAX_SIZE; absent = DEFAULT_SIZE), or why it is refused.
 */
export const sizeOf = (value: string | undefined): number | string => {
  if (value === undefined) return DEFAULT_SIZE
  const n = Number(value.trim())
  return /^\d+$/.test(value.trim()) && Number.isSafeInteger(n) && n >= 1 && n <= MAX_SIZE
    ? n
    : `size must be a whole number of bytes from 1 to ${MAX_SIZE}, not "${value}".`
}

/**
 * The lease terms: an hour unless the creator asks (createJob's terminationTime), at most
 * 7 days from creation. A longer request is clamped to the 7 days (the core's `overLimit:
 * "clamp"`, UWS's advice) and the answer says the time actually set. The job's own execution
 * is instantaneous (it only makes a folder).
 */
export const leasePolicy: Partial<Policy.Policy> = {
  defaultDestructionLifetime: 3600,
  maxDestructionLifetime: 7 * 86_400,
  overLimit: "clamp",
  defaultExecutionDuration: 60,
  maxExecutionDuration: 60
}
