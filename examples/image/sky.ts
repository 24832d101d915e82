/**
 * The synthetic sky the image service cuts from: a 512 × 512 star field (Gaussian PSFs on a
 * noisy background) with a TAN WCS centred on RA 150°, Dec +2.2° at 3.6″ (0.001°) per pixel,
 * about 0.5° square. `renderSky` draws it from a fixed seed; `make-sky.ts` wrote it once to
 * `sky.fits`, which the service reads at start-up.
 */
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { readFits, type Card, type FitsImage } from "./fits.js"
import { wcsCards, type Wcs } from "./wcs.js"

export interface Sky {
  readonly width: number
  readonly height: number
  /** Row-major from the bottom row, FITS order. */
  readonly data: Float32Array
  readonly wcs: Wcs
}

/** Where the committed sky image lives. */
export const skyFile = fileURLToPath(new URL("sky.fits", import.meta.url))

export const skyWcs: Wcs = { crval: [150, 2.2], crpix: [256.5, 256.5], cdelt: [-0.001, 0.001] }
const SIZE = 512
const STARS = 700
const BACKGROUND = 100
const NOISE = 3
const PSF_SIGMA = 1.3

/** A small seeded generator (mulberry32): the same seed draws the same sky everywhere. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Draws the star field: the image and its header, ready for `writeFits`. */
export const renderSky = (seed = 20261130): FitsImage => {
  const next = random(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
  const data = new Float32Array(SIZE * SIZE)
  for (let i = 0; i < data.length; i++) data[i] = BACKGROUND + NOISE * gauss()
  const reach = Math.ceil(5 * PSF_SIGMA)
  for (let s = 0; s < STARS; s++) {
    // 0-based pixel centre; peak fluxes follow a power law, most stars faint, a few bright.
    const cx = next() * SIZE
    const cy = next() * SIZE
    const peak = Math.min(20_000, 15 * (1 - next()) ** -1.4)
    for (let y = Math.max(0, Math.floor(cy) - reach); y <= Math.min(SIZE - 1, Math.floor(cy) + reach); y++) {
      for (let x = Math.max(0, Math.floor(cx) - reach); x <= Math.min(SIZE - 1, Math.floor(cx) + reach); x++) {
        const r2 = (x - cx) ** 2 + (y - cy) ** 2
        data[y * SIZE + x]! += peak * Math.exp(-r2 / (2 * PSF_SIGMA ** 2))
      }
    }
  }
  const cards: ReadonlyArray<Card> = [
    ...wcsCards(skyWcs).map(([key, value, comment]) => ({ key, value, comment })),
    { key: "EQUINOX", value: 2000.0 },
    { key: "BUNIT", value: "count", comment: "synthetic counts" },
    { key: "OBJECT", value: "uws-kit synthetic star field" },
    { key: "SEED", value: seed, comment: "make-sky.ts seed" }
  ]
  return { width: SIZE, height: SIZE, data, cards }
}

const num = (image: FitsImage, key: string): number => {
  const value = image.cards.find((c) => c.key === key)?.value
  if (typeof value !== "number") throw new Error(`the sky image has no numeric ${key}`)
  return value
}

/** The sky from a FITS file (default: the committed `sky.fits`). */
export const loadSky = async (file: string = skyFile): Promise<Sky> => {
  const image = readFits(await readFile(file))
  return {
    width: image.width,
    height: image.height,
    data: image.data,
    wcs: {
      crval: [num(image, "CRVAL1"), num(image, "CRVAL2")],
      crpix: [num(image, "CRPIX1"), num(image, "CRPIX2")],
      cdelt: [num(image, "CDELT1"), num(image, "CDELT2")]
    }
  }
}
