/**
 * Cutting an image out of the sky: a new TAN grid centred on the requested position, each of
 * its pixels the mean of bilinear samples of the sky over the pixel's area (so a coarse grid
 * averages instead of aliasing); pixels off the sky are NaN (FITS blank). PNG renders one with
 * an asinh stretch, north up and east left.
 */
import { PNG } from "pngjs"
import type { Sky } from "./sky.js"
import { pixelToWorld, worldToPixel, type Wcs } from "./wcs.js"

export interface Cutout {
  readonly width: number
  readonly height: number
  readonly wcs: Wcs
  /** Row-major from the bottom row, FITS order. */
  readonly data: Float32Array
}

/** Most pixels along one axis of a cutout (bounds the work and the result size). */
export const maxAxisPixels = 2000

/**
 * The grid of a `width` × `height` degree cutout centred on (ra, dec) at `scale` degrees per
 * pixel: an odd-or-even pixel count as the size asks, its centre exactly on the position.
 */
export const cutoutGrid = (ra: number, dec: number, width: number, height: number, scale: number): Omit<Cutout, "data"> => {
  const nx = Math.min(maxAxisPixels, Math.max(1, Math.round(width / scale)))
  const ny = Math.min(maxAxisPixels, Math.max(1, Math.round(height / scale)))
  return { width: nx, height: ny, wcs: { crval: [ra, dec], crpix: [(nx + 1) / 2, (ny + 1) / 2], cdelt: [-scale, scale] } }
}

/** The sky's value at a FITS pixel position (bilinear), NaN off the image. */
const sample = (sky: Sky, x: number, y: number): number => {
  // FITS pixel (1, 1) is array index 0; the edge pixels reach half a pixel further out.
  const fx = x - 1
  const fy = y - 1
  if (!(fx >= -0.5 && fy >= -0.5 && fx <= sky.width - 0.5 && fy <= sky.height - 0.5)) return NaN
  const cx = Math.min(Math.max(fx, 0), sky.width - 1)
  const cy = Math.min(Math.max(fy, 0), sky.height - 1)
  const x0 = Math.min(Math.floor(cx), sky.width - 2)
  const y0 = Math.min(Math.floor(cy), sky.height - 2)
  const tx = cx - x0
  const ty = cy - y0
  const at = (i: number, j: number) => sky.data[j * sky.width + i]!
  return (
    (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x0 + 1, y0)) + ty * ((1 - tx) * at(x0, y0 + 1) + tx * at(x0 + 1, y0 + 1))
  )
}

/** Resamples the sky onto a grid; `oversample`² samples per output pixel. */
export const resample = (sky: Sky, grid: Omit<Cutout, "data">, oversample = 1): Cutout => {
  const data = new Float32Array(grid.width * grid.height)
  const n = Math.max(1, Math.round(oversample))
  for (let j = 0; j < grid.height; j++) {
    for (let i = 0; i < grid.width; i++) {
      let sum = 0
      let count = 0
      for (let sj = 0; sj < n; sj++) {
        for (let si = 0; si < n; si++) {
          const [ra, dec] = pixelToWorld(grid.wcs, i + 1 + (si + 0.5) / n - 0.5, j + 1 + (sj + 0.5) / n - 0.5)
          const p = worldToPixel(sky.wcs, ra, dec)
          const v = p === undefined ? NaN : sample(sky, p[0], p[1])
          if (!Number.isNaN(v)) {
            sum += v
            count++
          }
        }
      }
      // Half the area on the sky or more: the pixel has a value; less: blank.
      data[j * grid.width + i] = count * 2 >= n * n ? sum / count : NaN
    }
  }
  return { ...grid, data }
}

/** Whether any pixel of the cutout lies on the sky. */
export const touchesSky = (cutout: Cutout): boolean => cutout.data.some((v) => !Number.isNaN(v))

const quantile = (sorted: Float32Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

/** A greyscale PNG: asinh stretch from the median (black) to the 99.5th percentile (white). */
export const toPng = (cutout: Cutout): Uint8Array => {
  const finite = Float32Array.from(cutout.data.filter((v) => Number.isFinite(v))).sort()
  const low = quantile(finite, 0.5)
  const span = Math.max(quantile(finite, 0.995) - low, 1e-6)
  const soft = span / 20
  const scale = Math.asinh(span / soft)
  const png = new PNG({ width: cutout.width, height: cutout.height })
  for (let row = 0; row < cutout.height; row++) {
    // PNG rows run top-down, FITS rows bottom-up: the top row is the last FITS row (north).
    const fitsRow = cutout.height - 1 - row
    for (let i = 0; i < cutout.width; i++) {
      const v = cutout.data[fitsRow * cutout.width + i]!
      const level = Number.isNaN(v) ? 0 : Math.round(255 * Math.min(1, Math.max(0, Math.asinh((v - low) / soft) / scale)))
      const o = (row * cutout.width + i) * 4
      png.data[o] = png.data[o + 1] = png.data[o + 2] = level
      png.data[o + 3] = 255
    }
  }
  return PNG.sync.write(png, { colorType: 0 })
}
