/**
 * A minimal FITS (4.0) writer and reader for one 2-D image of 32-bit floats (BITPIX = -32) in
 * the primary HDU: 80-character header cards in 2880-byte blocks, big-endian data, NaN for
 * blank pixels. Hand-written because no maintained npm package writes FITS (`fitsjs` and
 * `fits-reader-js` only read, and have not been updated for years); the format is this small.
 */

/** A header value: a logical, a number (written as an integer when it is one) or a string. */
export type CardValue = boolean | number | string

export interface Card {
  readonly key: string
  readonly value: CardValue
  readonly comment?: string
}

export interface FitsImage {
  readonly width: number
  readonly height: number
  /** Row-major from the bottom row (FITS pixel (1, 1) first). */
  readonly data: Float32Array
  /** Header cards other than the structural ones (SIMPLE, BITPIX, NAXIS*, END). */
  readonly cards: ReadonlyArray<Card>
}

const BLOCK = 2880
const CARD = 80
const STRUCTURAL = new Set(["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "END"])
const KEY = /^[A-Z0-9_-]{1,8}$/

const formatValue = (value: CardValue): string => {
  if (typeof value === "boolean") return (value ? "T" : "F").padStart(20)
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`FITS header numbers must be finite, not ${value}`)
    let text = Number.isInteger(value) && Math.abs(value) < 1e15 ? String(value) : String(value).toUpperCase()
    if (text.length > 20) text = value.toExponential(12).toUpperCase()
    return text.padStart(20)
  }
  if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError(`FITS header strings are printable ASCII: ${JSON.stringify(value)}`)
  const quoted = `'${value.replace(/'/g, "''").padEnd(8)}'`
  if (quoted.length > 70) throw new RangeError(`FITS header string too long: ${JSON.stringify(value)}`)
  return quoted.padEnd(20)
}

/** One 80-character header card. */
export const formatCard = (card: Card): string => {
  if (!KEY.test(card.key)) throw new RangeError(`not a FITS keyword: ${JSON.stringify(card.key)}`)
  const head = `${card.key.padEnd(8)}= ${formatValue(card.value)}`
  const comment = card.comment === undefined || card.comment === "" ? "" : ` / ${card.comment.replace(/[^\x20-\x7e]/g, "?")}`
  return (head + comment).slice(0, CARD).padEnd(CARD)
}

const parseValue = (text: string): CardValue => {
  const t = text.trimStart()
  if (t.startsWith("'")) {
    let out = ""
    for (let i = 1; i < t.length; i++) {
      if (t[i] === "'") {
        if (t[i + 1] === "'") {
          out += "'"
          i++
        } else return out.replace(/ +$/, "")
      } else out += t[i]
    }
    throw new SyntaxError(`unterminated FITS string: ${text}`)
  }
  const bare = (t.split("/")[0] ?? "").trim()
  if (bare === "T") return true
  if (bare === "F") return false
  const n = Number(bare.replace(/D/g, "E"))
  if (bare === "" || !Number.isFinite(n)) throw new SyntaxError(`not a FITS value: ${text}`)
  return n
}

/** Parses one 80-character card (keyword and value; commentary cards give `undefined`). */
export const parseCard = (card: string): Card | undefined => {
  const key = card.slice(0, 8).trim()
  if (card.slice(8, 10) !== "= " || key === "") return undefined
  return { key, value: parseValue(card.slice(10)) }
}

/** The FITS file of an image. */
export const writeFits = (image: FitsImage): Uint8Array => {
  const { width, height, data } = image
  if (data.length !== width * height) throw new RangeError(`${width}×${height} image needs ${width * height} pixels, got ${data.length}`)
  const cards: Array<Card> = [
    { key: "SIMPLE", value: true, comment: "conforms to FITS" },
    { key: "BITPIX", value: -32, comment: "IEEE 754 32-bit floats" },
    { key: "NAXIS", value: 2 },
    { key: "NAXIS1", value: width },
    { key: "NAXIS2", value: height },
    ...image.cards.filter((c) => !STRUCTURAL.has(c.key))
  ]
  const header = cards.map(formatCard).join("") + "END".padEnd(CARD)
  const headerBytes = Math.ceil(header.length / BLOCK) * BLOCK
  const dataBytes = Math.ceil((data.length * 4) / BLOCK) * BLOCK
  const out = new Uint8Array(headerBytes + dataBytes)
  out.set(new TextEncoder().encode(header.padEnd(headerBytes)))
  const view = new DataView(out.buffer, headerBytes)
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, false)
  return out
}

/** Reads a FITS file written by {@link writeFits} (a 2-D BITPIX = -32 primary image). */
export const readFits = (bytes: Uint8Array): FitsImage => {
  const text = new TextDecoder("latin1")
  const cards: Array<Card> = []
  let offset = 0
  for (;;) {
    if (offset + CARD > bytes.length) throw new SyntaxError("FITS header has no END card")
    const card = text.decode(bytes.subarray(offset, offset + CARD))
    offset += CARD
    if (card.startsWith("END ") || card === "END".padEnd(CARD)) break
    const parsed = parseCard(card)
    if (parsed !== undefined) cards.push(parsed)
  }
  offset = Math.ceil(offset / BLOCK) * BLOCK
  const value = (key: string) => cards.find((c) => c.key === key)?.value
  if (value("BITPIX") !== -32 || value("NAXIS") !== 2) throw new SyntaxError("only 2-D BITPIX = -32 images are read here")
  const width = value("NAXIS1")
  const height = value("NAXIS2")
  if (typeof width !== "number" || typeof height !== "number") throw new SyntaxError("FITS image without NAXIS1/NAXIS2")
  if (offset + width * height * 4 > bytes.length) throw new SyntaxError("FITS data shorter than NAXIS1 × NAXIS2")
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset)
  const data = new Float32Array(width * height)
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, false)
  return { width, height, data, cards: cards.filter((c) => !STRUCTURAL.has(c.key)) }
}
