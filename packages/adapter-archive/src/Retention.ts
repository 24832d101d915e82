/**
 * Retention tiers of a container (its `SaveType`), after the seed's lesson: a cache that
 * forgot after 6 hours could not keep up, keeping everything for good could.
 *
 * - `Permanent`: kept for good (the default for fetched documents);
 * - `Temporary`: kept until its archive date (seed 001);
 * - `Cache`: kept for a time to live (default 6 h) from when it is filed.
 *
 * Each tier that ends does so through the container job's destruction time: the core's reaper
 * archives the job then, and the archive deletes its documents.
 *
 * @since 0.2.0
 */
import type { SaveType } from "./Container.js"

/**
 * The time to live of a `Cache` container when none is given: the seed's 6 hours.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCacheTtl = 6 * 3_600_000

/**
 * Whether containers of a tier end (at their job's destruction time).
 *
 * @since 0.2.0
 * @category predicates
 */
export const ends = (saveType: SaveType): boolean => saveType !== "Permanent"

/**
 * The destruction time of a container filed at `now`: its archive date (Temporary), `now` plus
 * the time to live (Cache, unless a date is given), or never.
 *
 * @since 0.2.0
 * @category constructors
 */
export const destructionOf = (saveType: SaveType, now: number, until: number | undefined, cacheTtl = defaultCacheTtl): number | null =>
  saveType === "Permanent" ? null : saveType === "Cache" ? (until ?? now + cacheTtl) : (until ?? null)
