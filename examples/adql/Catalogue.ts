/**
 * The catalogue the ADQL service queries: one SQLite table, `stars`, of synthetic stars made
 * from a fixed seed, so that every copy holds the same rows. It is written on first use (into
 * the demo's data folder, or a temporary file for tests) and then only read.
 */
import Database from "better-sqlite3"
import { existsSync } from "node:fs"
import { rename, rm } from "node:fs/promises"

/** The table's name in ADQL and SQL. */
export const tableName = "stars"

/** The table's columns, in order, with their VOTable types and meaning. */
export const columns = [
  { name: "id", datatype: "long", description: "star number, 1…" },
  { name: "ra", datatype: "double", unit: "deg", ucd: "pos.eq.ra;meta.main", description: "right ascension (ICRS), 0 ≤ ra < 360" },
  { name: "dec", datatype: "double", unit: "deg", ucd: "pos.eq.dec;meta.main", description: "declination (ICRS), -90 ≤ dec ≤ 90" },
  { name: "mag", datatype: "double", unit: "mag", ucd: "phot.mag;em.opt.V", description: "apparent V magnitude" },
  { name: "bv", datatype: "double", unit: "mag", ucd: "phot.color;em.opt.B;em.opt.V", description: "B-V colour" },
  { name: "plx", datatype: "double", unit: "mas", ucd: "pos.parallax", description: "parallax" }
] as const

export type ColumnName = (typeof columns)[number]["name"]

/** How many stars the catalogue holds. */
export const defaultSize = 300_000

/** The 32-bit generator mulberry32: small, fast and the same everywhere. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const round = (x: number, digits: number) => Number(x.toFixed(digits))

/** The stars, drawn uniformly over the sky, brighter ones rarer. */
export function* stars(size: number, seed = 17): Generator<readonly [number, number, number, number, number, number]> {
  const next = random(seed)
  for (let id = 1; id <= size; id++) {
    const ra = round(360 * next(), 6) % 360
    const dec = round((Math.asin(2 * next() - 1) * 180) / Math.PI, 6)
    const mag = round(20 - 14 * Math.pow(next(), 3), 3)
    const bv = round(-0.3 + 2.3 * next(), 3)
    const plx = round(0.1 + 50 * Math.pow(next(), 4), 4)
    yield [id, ra, dec, mag, bv, plx]
  }
}

/** Great-circle distance in degrees between two points given in degrees (haversine). */
export const distance = (ra1: number, dec1: number, ra2: number, dec2: number): number => {
  const rad = Math.PI / 180
  const dDec = (dec2 - dec1) * rad
  const dRa = (ra2 - ra1) * rad
  const h = Math.sin(dDec / 2) ** 2 + Math.cos(dec1 * rad) * Math.cos(dec2 * rad) * Math.sin(dRa / 2) ** 2
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / rad
}

/** The SQL function the translated queries call for CONTAINS: `adql_distance(ra1, dec1, ra2, dec2)`. */
export const distanceFunction = "adql_distance"

const writing = new Map<string, Promise<void>>()

/**
 * Makes sure the catalogue file exists, writing it if not (under a temporary name, renamed when
 * complete, so a crash never leaves half a catalogue). Concurrent callers share one writing.
 */
export const ensure = (file: string, size = defaultSize): Promise<void> => {
  if (existsSync(file)) return Promise.resolve()
  const pending = writing.get(file)
  if (pending !== undefined) return pending
  const done = (async () => {
    const partial = `${file}.${process.pid}.partial`
    await rm(partial, { force: true })
    const db = new Database(partial)
    try {
      db.pragma("journal_mode = OFF")
      db.exec(`CREATE TABLE ${tableName} (id INTEGER PRIMARY KEY, ra REAL NOT NULL, dec REAL NOT NULL, mag REAL NOT NULL, bv REAL NOT NULL, plx REAL NOT NULL)`)
      const insert = db.prepare(`INSERT INTO ${tableName} VALUES (?, ?, ?, ?, ?, ?)`)
      db.transaction(() => {
        for (const star of stars(size)) insert.run(...star)
      })()
      // CONTAINS is translated into a box on dec (and ra) before the exact distance test.
      db.exec(`CREATE INDEX ${tableName}_dec ON ${tableName} (dec)`)
      db.exec(`CREATE INDEX ${tableName}_mag ON ${tableName} (mag)`)
    } finally {
      db.close()
    }
    await rename(partial, file)
  })().finally(() => writing.delete(file))
  writing.set(file, done)
  return done
}

/** Opens the catalogue read-only, with the distance function the translated SQL calls. */
export const open = (file: string): Database.Database => {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  db.function(distanceFunction, { deterministic: true }, (ra1, dec1, ra2, dec2) =>
    [ra1, dec1, ra2, dec2].some((v) => typeof v !== "number") ? null : distance(ra1 as number, dec1 as number, ra2 as number, dec2 as number)
  )
  return db
}
