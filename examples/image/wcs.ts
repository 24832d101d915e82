/**
 * The gnomonic (TAN) projection of FITS WCS (Calabretta & Greisen 2002), for images whose axes
 * point east (RA) and north (Dec) with no rotation: `CTYPE = RA---TAN / DEC--TAN`, `CRVAL`,
 * `CRPIX`, `CDELT` (CDELT1 < 0 so that RA grows to the left, as on the sky). Pixels are FITS
 * pixels: 1-based, the centre of the first pixel at (1, 1).
 */
export interface Wcs {
  /** Sky position of the reference pixel, degrees (CRVAL1, CRVAL2). */
  readonly crval: readonly [number, number]
  /** The reference pixel (CRPIX1, CRPIX2), 1-based. */
  readonly crpix: readonly [number, number]
  /** Degrees per pixel along each axis at the reference pixel (CDELT1 < 0, CDELT2 > 0). */
  readonly cdelt: readonly [number, number]
}

const RAD = Math.PI / 180

/** RA into [0, 360). */
export const normalizeRa = (ra: number): number => {
  const r = ra % 360
  if (r >= 0) return r === 0 ? 0 : r // folds -0 to 0
  // A tiny negative r rounds to exactly 360 when shifted; that is RA 0.
  const shifted = r + 360
  return shifted >= 360 ? 0 : shifted
}

/** The sky position (degrees) of FITS pixel (x, y). */
export const pixelToWorld = (wcs: Wcs, x: number, y: number): readonly [number, number] => {
  const xi = wcs.cdelt[0] * (x - wcs.crpix[0]) * RAD
  const eta = wcs.cdelt[1] * (y - wcs.crpix[1]) * RAD
  const ra0 = wcs.crval[0] * RAD
  const dec0 = wcs.crval[1] * RAD
  const denominator = Math.cos(dec0) - eta * Math.sin(dec0)
  const ra = ra0 + Math.atan2(xi, denominator)
  const dec = Math.atan2(Math.sin(dec0) + eta * Math.cos(dec0), Math.hypot(xi, denominator))
  return [normalizeRa(ra / RAD), dec / RAD]
}

/**
 * The FITS pixel of a sky position (degrees), or `undefined` for a position 90° or more from
 * the reference point (the projection does not reach it).
 */
export const worldToPixel = (wcs: Wcs, ra: number, dec: number): readonly [number, number] | undefined => {
  const a = ra * RAD - wcs.crval[0] * RAD
  const d = dec * RAD
  const dec0 = wcs.crval[1] * RAD
  const cosc = Math.sin(dec0) * Math.sin(d) + Math.cos(dec0) * Math.cos(d) * Math.cos(a)
  if (!(cosc > 1e-12)) return undefined
  const xi = (Math.cos(d) * Math.sin(a)) / cosc
  const eta = (Math.cos(dec0) * Math.sin(d) - Math.sin(dec0) * Math.cos(d) * Math.cos(a)) / cosc
  return [xi / RAD / wcs.cdelt[0] + wcs.crpix[0], eta / RAD / wcs.cdelt[1] + wcs.crpix[1]]
}

/** Angular distance between two sky positions, degrees (haversine: exact for small angles). */
export const separation = (ra1: number, dec1: number, ra2: number, dec2: number): number => {
  const s = Math.sin(((dec2 - dec1) * RAD) / 2) ** 2 + Math.cos(dec1 * RAD) * Math.cos(dec2 * RAD) * Math.sin(((ra2 - ra1) * RAD) / 2) ** 2
  return (2 * Math.asin(Math.min(1, Math.sqrt(s)))) / RAD
}

/** The WCS header cards of an image (the keywords astropy.wcs and ds9 read). */
export const wcsCards = (wcs: Wcs): ReadonlyArray<readonly [string, string | number, string]> => [
  ["CTYPE1", "RA---TAN", "gnomonic projection"],
  ["CTYPE2", "DEC--TAN", "gnomonic projection"],
  ["CUNIT1", "deg", ""],
  ["CUNIT2", "deg", ""],
  ["CRVAL1", wcs.crval[0], "RA of the reference pixel"],
  ["CRVAL2", wcs.crval[1], "Dec of the reference pixel"],
  ["CRPIX1", wcs.crpix[0], "reference pixel, axis 1"],
  ["CRPIX2", wcs.crpix[1], "reference pixel, axis 2"],
  ["CDELT1", wcs.cdelt[0], "degrees per pixel, axis 1"],
  ["CDELT2", wcs.cdelt[1], "degrees per pixel, axis 2"],
  ["RADESYS", "ICRS", ""]
]
