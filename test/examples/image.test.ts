/**
 * The image service's pure parts: the TAN projection (pixel → world → pixel, the cutout centre
 * on POS), the FITS writer/reader, the parameter parser, and the worker run against the
 * committed sky (results published while it runs, the SIAP table growing with them).
 */
import { Job } from "@uws-kit/core"
import { propertyRuns } from "@uws-kit/core/testing"
import fc from "fast-check"
import { PNG } from "pngjs"
import { describe, expect, it } from "vitest"
import { cutoutGrid, resample, toPng } from "../../examples/image/cutout.js"
import { formatCard, parseCard, readFits, writeFits } from "../../examples/image/fits.js"
import { maxDelay, maxSize, parseQuery } from "../../examples/image/query.js"
import { loadSky, renderSky, skyFile } from "../../examples/image/sky.js"
import { normalizeRa, pixelToWorld, separation, worldToPixel, type Wcs } from "../../examples/image/wcs.js"
import { readFileSync } from "node:fs"

const runs = propertyRuns(100)
const params = (o: Record<string, string>): ReadonlyArray<Job.Parameter> => Object.entries(o).map(([name, value]) => ({ name, value }))

const wcsArb: fc.Arbitrary<Wcs> = fc.record({
  crval: fc.tuple(fc.double({ min: 0, max: 359.999, noNaN: true }), fc.double({ min: -89, max: 89, noNaN: true })),
  crpix: fc.tuple(fc.double({ min: -500, max: 1500, noNaN: true }), fc.double({ min: -500, max: 1500, noNaN: true })),
  cdelt: fc.double({ min: 1e-5, max: 0.01, noNaN: true }).map((s) => [-s, s] as const)
})

describe("TAN projection", () => {
  it("pixel → world → pixel comes back to the same pixel", () => {
    fc.assert(
      fc.property(wcsArb, fc.integer({ min: -1000, max: 2000 }), fc.integer({ min: -1000, max: 2000 }), (wcs, x, y) => {
        const [ra, dec] = pixelToWorld(wcs, x, y)
        expect(ra).toBeGreaterThanOrEqual(0)
        expect(ra).toBeLessThan(360)
        const back = worldToPixel(wcs, ra, dec)
        expect(back).toBeDefined()
        expect(Math.abs(back![0] - x)).toBeLessThan(1e-6)
        expect(Math.abs(back![1] - y)).toBeLessThan(1e-6)
      }),
      { numRuns: runs }
    )
  })

  it("a pixel a hair east of RA 0 is RA 0, not 360 (shrunk counterexample from CI, seed 1492590440)", () => {
    const wcs: Wcs = { crval: [0, 0], crpix: [-9.37549e-318, 0], cdelt: [-0.000015018813039491574, 0.000015018813039491574] }
    const [ra] = pixelToWorld(wcs, 0, 0)
    expect(ra).toBeGreaterThanOrEqual(0)
    expect(ra).toBeLessThan(360)
    expect(normalizeRa(-1e-300)).toBe(0)
    expect(normalizeRa(-0)).toBe(0)
    expect(normalizeRa(-90)).toBe(270)
    expect(normalizeRa(720)).toBe(0)
  })

  it("the reference pixel is CRVAL, and one pixel away is CDELT away on the sky", () => {
    fc.assert(
      fc.property(wcsArb, (wcs) => {
        const [ra, dec] = pixelToWorld(wcs, wcs.crpix[0], wcs.crpix[1])
        expect(separation(ra, dec, wcs.crval[0], wcs.crval[1]) * 3600).toBeLessThan(1e-6)
        const [ra1, dec1] = pixelToWorld(wcs, wcs.crpix[0], wcs.crpix[1] + 1)
        expect(separation(ra1, dec1, ra, dec) / wcs.cdelt[1]).toBeCloseTo(1, 6)
        expect(dec1).toBeGreaterThan(dec) // north up
        const [ra2] = pixelToWorld(wcs, wcs.crpix[0] + 1, wcs.crpix[1])
        expect(((ra - ra2 + 540) % 360) - 180).toBeGreaterThan(0) // east left: RA falls to the right
      }),
      { numRuns: runs }
    )
  })

  it("a cutout's centre is POS, whatever the size and scale", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 359.999, noNaN: true }),
        fc.double({ min: -89, max: 89, noNaN: true }),
        fc.double({ min: 1e-3, max: maxSize, noNaN: true }),
        fc.double({ min: 1e-3, max: maxSize, noNaN: true }),
        fc.constantFrom(0.001, 0.002, 0.004),
        (ra, dec, w, h, scale) => {
          const grid = cutoutGrid(ra, dec, w, h, scale)
          const [cra, cdec] = pixelToWorld(grid.wcs, (grid.width + 1) / 2, (grid.height + 1) / 2)
          expect(separation(cra, cdec, ra, dec)).toBeLessThan(scale / 1000)
          // Within half a pixel of the size asked (at least one pixel).
          expect(Math.abs(grid.width * scale - Math.max(w, scale))).toBeLessThanOrEqual(scale / 2 + 1e-12)
          expect(Math.abs(grid.height * scale - Math.max(h, scale))).toBeLessThanOrEqual(scale / 2 + 1e-12)
        }
      ),
      { numRuns: runs }
    )
  })
})

describe("FITS", () => {
  const key = fc.stringMatching(/^[A-Z][A-Z0-9_-]{0,7}$/).filter((k) => !["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "END"].includes(k))
  const value = fc.oneof(
    fc.boolean(),
    fc.integer({ min: -1e9, max: 1e9 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.stringMatching(/^[\x20-\x7e]{0,60}$/).map((s) => s.replace(/ +$/, ""))
  )

  it("a card reads back as written (80 characters, numbers to 13 digits)", () => {
    fc.assert(
      fc.property(key, value, (k, v) => {
        const card = formatCard({ key: k, value: v, comment: "why" })
        expect(card).toHaveLength(80)
        const back = parseCard(card)!
        expect(back.key).toBe(k)
        if (typeof v === "number" && v !== 0) expect(Math.abs(((back.value as number) - v) / v)).toBeLessThan(1e-12)
        else expect(back.value).toEqual(v === 0 ? 0 : v)
      }),
      { numRuns: runs }
    )
  })

  it("an image reads back bit for bit, in 2880-byte blocks", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (w, h, seed) => {
        const data = Float32Array.from({ length: w * h }, (_, i) => ((i * 2654435761 + seed) % 1000) / 7 - 50)
        if (w * h > 3) data[seed & 3] = NaN
        const bytes = writeFits({ width: w, height: h, data, cards: [{ key: "OBJECT", value: "it's" }] })
        expect(bytes.length % 2880).toBe(0)
        const back = readFits(bytes)
        expect([back.width, back.height]).toEqual([w, h])
        expect(Buffer.from(back.data.buffer).equals(Buffer.from(data.buffer))).toBe(true)
        expect(back.cards).toContainEqual({ key: "OBJECT", value: "it's" })
      }),
      { numRuns: runs }
    )
  })

  it("the committed sky.fits is what make-sky.ts draws", async () => {
    expect(Buffer.from(writeFits(renderSky())).equals(readFileSync(skyFile))).toBe(true)
  })
})

describe("parameters", () => {
  const decimal = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map((n) => ({ n: Number(String(n)), text: String(n) }))

  it("accepts every valid POS, SIZE, FORMAT and DELAY, in any case, with extra parameters", () => {
    fc.assert(
      fc.property(
        decimal(0, 359.9),
        decimal(-90, 90),
        fc.array(decimal(1e-6, maxSize), { minLength: 1, maxLength: 2 }),
        fc.option(fc.constantFrom("image/fits", "IMAGE/PNG", "ALL", "graphic", "image/png, image/fits")),
        fc.option(decimal(0, maxDelay)),
        fc.boolean(),
        (ra, dec, size, format, delay, lower) => {
          const name = (n: string) => (lower ? n.toLowerCase() : n)
          const parsed = parseQuery(
            params({
              [name("POS")]: `${ra.text}, ${dec.text}`,
              [name("SIZE")]: size.map((s) => s.text).join(","),
              ...(format === null ? {} : { FORMAT: format }),
              ...(delay === null ? {} : { DELAY: delay.text }),
              BAND: "V"
            })
          )
          expect(parsed).toMatchObject({ _tag: "Right", right: { ra: ra.n, dec: dec.n, width: size[0]!.n, height: (size[1] ?? size[0]!).n, delay: delay?.n ?? 1 } })
          const formats = parsed._tag === "Right" ? parsed.right.formats : []
          expect(formats).toEqual(
            format === null || format === "image/fits" ? ["image/fits"] : format === "ALL" ? ["image/fits", "image/png"] : format.includes(",") ? ["image/png", "image/fits"] : ["image/png"]
          )
        }
      ),
      { numRuns: runs }
    )
  })

  it("refuses anything else with a message naming the parameter", () => {
    const good = { POS: "150,2.2", SIZE: "0.1" }
    const bad = fc.oneof(
      fc.constantFrom(
        ["POS", "150"], ["POS", "150,2.2,3"], ["POS", "abc,2"], ["POS", "361,0"], ["POS", "150,91"], ["POS", ""], ["POS", "1e999,0"],
        ["SIZE", "0"], ["SIZE", "-0.1"], ["SIZE", "2"], ["SIZE", "0.1,0.1,0.1"], ["SIZE", "NaN"], ["SIZE", "0x10"],
        ["FORMAT", "image/jpeg"], ["FORMAT", ""], ["FORMAT", "METADATA"], ["DELAY", "-1"], ["DELAY", "61"], ["DELAY", "soon"]
      ),
      fc.tuple(fc.constantFrom("POS", "SIZE", "DELAY"), fc.string().filter((s) => !/^[\s\d.,eE+-]*$/.test(s)))
    )
    fc.assert(
      fc.property(bad, ([name, value]) => {
        const parsed = parseQuery(params({ ...good, [name]: value }))
        expect(parsed._tag).toBe("Left")
        expect(parsed._tag === "Left" && parsed.left.startsWith(name)).toBe(true)
      }),
      { numRuns: runs }
    )
    expect(parseQuery(params({ SIZE: "0.1" }))).toEqual({ _tag: "Left", left: expect.stringMatching(/^POS is required/) })
    expect(parseQuery(params({ POS: "150,2" }))).toEqual({ _tag: "Left", left: expect.stringMatching(/^SIZE is required/) })
    expect(parseQuery([...params(good), { name: "pos", value: "1,1" }])).toEqual({ _tag: "Left", left: "POS may be given once, not 2 times." })
  })
})

describe("cutouts of the sky", () => {
  it("a cutout centred on a sky pixel has that pixel's value at its centre; off the sky is blank", async () => {
    const sky = await loadSky()
    const [ra, dec] = pixelToWorld(sky.wcs, 201, 301)
    const cut = resample(sky, cutoutGrid(ra, dec, 0.011, 0.011, 0.001))
    expect([cut.width, cut.height]).toEqual([11, 11])
    expect(cut.data[5 * 11 + 5]).toBeCloseTo(sky.data[300 * sky.width + 200]!, 2)
    const off = resample(sky, cutoutGrid(10, -40, 0.05, 0.05, 0.004), 4)
    expect(off.data.every(Number.isNaN)).toBe(true)
    const png = PNG.sync.read(Buffer.from(toPng(cut)))
    expect([png.width, png.height]).toEqual([11, 11])
  })
})
