/**
 * The image service's parameters: SIAP 1.0's POS, SIZE and FORMAT, and this service's DELAY.
 *
 * - `POS=ra,dec`: decimal degrees, ICRS; RA 0–360, Dec −90–90. Required.
 * - `SIZE=s` or `SIZE=w,h`: the cutout's width (along RA) and height (along Dec) in degrees,
 *   each above 0 and at most `maxSize`. Required.
 * - `FORMAT`: `image/fits` (the default), `image/png`, `GRAPHIC` (= image/png) or `ALL` (both),
 *   or a comma-separated list of them; case does not matter.
 * - `DELAY`: seconds to pause between images (default 1, 0–60), so that a client can fetch
 *   early images while the job runs.
 * Other parameters are allowed and ignored, as SIAP allows.
 */
import { Result, type Job } from "@uws-kit/core"

export type ImageFormat = "image/fits" | "image/png"

export interface ImageQuery {
  readonly ra: number
  readonly dec: number
  /** Degrees along RA and along Dec. */
  readonly width: number
  readonly height: number
  readonly formats: ReadonlyArray<ImageFormat>
  /** Seconds between images. */
  readonly delay: number
}

export const maxSize = 1
export const maxDelay = 60
export const defaultDelay = 1

type Parsed<A> = Result.Result<string, A>
const ok = <A>(right: A): Parsed<A> => Result.right(right)
const fail = <A>(left: string): Parsed<A> => Result.left(left)

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** Comma-separated decimal numbers, or a message naming the parameter. */
const numbers = (name: string, text: string, counts: ReadonlyArray<number>, what: string): Parsed<ReadonlyArray<number>> => {
  const parts = text.split(",").map((p) => p.trim())
  if (!counts.includes(parts.length) || parts.some((p) => !DECIMAL.test(p))) {
    return fail(`${name} must be ${what}, not "${text}".`)
  }
  return ok(parts.map(Number))
}

const FORMATS: Readonly<Record<string, ReadonlyArray<ImageFormat>>> = {
  "image/fits": ["image/fits"],
  "image/png": ["image/png"],
  graphic: ["image/png"],
  all: ["image/fits", "image/png"]
}

/** The one value of a parameter, or a message when it is given more than once. */
const single = (parameters: ReadonlyArray<Job.Parameter>, name: string): Parsed<string | undefined> => {
  const values = parameters.filter((p) => p.name.toLowerCase() === name.toLowerCase()).map((p) => p.value)
  return values.length > 1 ? fail(`${name} may be given once, not ${values.length} times.`) : ok(values[0])
}

/** Parses and checks the parameters; a `Left` is a message a user can act on. */
export const parseQuery = (parameters: ReadonlyArray<Job.Parameter>): Parsed<ImageQuery> => {
  const pos = single(parameters, "POS")
  if (pos._tag === "Left") return pos
  const size = single(parameters, "SIZE")
  if (size._tag === "Left") return size
  const format = single(parameters, "FORMAT")
  if (format._tag === "Left") return format
  const delay = single(parameters, "DELAY")
  if (delay._tag === "Left") return delay

  if (pos.right === undefined) return fail(`POS is required: the position "ra,dec" in decimal degrees, e.g. POS=150.0,2.2.`)
  const radec = numbers("POS", pos.right, [2], `"ra,dec" in decimal degrees (e.g. 150.0,2.2)`)
  if (radec._tag === "Left") return radec
  const [ra, dec] = radec.right as [number, number]
  if (!(ra >= 0 && ra <= 360)) return fail(`POS: RA must be from 0 to 360 degrees, not ${ra}.`)
  if (!(dec >= -90 && dec <= 90)) return fail(`POS: Dec must be from -90 to 90 degrees, not ${dec}.`)

  if (size.right === undefined) return fail(`SIZE is required: the cutout's size in degrees, one value or "width,height", e.g. SIZE=0.1.`)
  const sizes = numbers("SIZE", size.right, [1, 2], `one size or "width,height" in decimal degrees (e.g. 0.1 or 0.2,0.1)`)
  if (sizes._tag === "Left") return sizes
  const [width, height = width] = sizes.right as [number, number?]
  if (!(width > 0 && width <= maxSize && height > 0 && height <= maxSize)) {
    return fail(`SIZE must be above 0 and at most ${maxSize} degree${maxSize === 1 ? "" : "s"} on each axis, not "${size.right}".`)
  }

  const formats: Array<ImageFormat> = []
  for (const name of (format.right ?? "image/fits").split(",").map((f) => f.trim().toLowerCase())) {
    const known = FORMATS[name]
    if (known === undefined) return fail(`FORMAT must be image/fits, image/png, GRAPHIC or ALL (or a comma-separated list), not "${format.right}".`)
    for (const f of known) if (!formats.includes(f)) formats.push(f)
  }

  let seconds = defaultDelay
  if (delay.right !== undefined) {
    const d = numbers("DELAY", delay.right, [1], `a number of seconds from 0 to ${maxDelay}`)
    if (d._tag === "Left") return d
    seconds = d.right[0]!
    if (!(seconds >= 0 && seconds <= maxDelay)) return fail(`DELAY must be a number of seconds from 0 to ${maxDelay}, not "${delay.right}".`)
  }
  return ok({ ra: ra === 360 ? 0 : ra, dec, width, height, formats, delay: seconds })
}
