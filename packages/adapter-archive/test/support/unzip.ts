/**
 * Reads the entries of a zip (STORE or DEFLATE) from its central directory: enough to check what
 * the archive sends without a zip dependency in the tests.
 */
import { inflateRawSync } from "node:zlib"

export interface ZipEntry {
  readonly name: string
  readonly method: number
  readonly crc32: number
  readonly data: Buffer
  /** DOS date/time fields as stored. */
  readonly dosTime: number
  readonly dosDate: number
}

export const unzip = (zip: Buffer): Array<ZipEntry> => {
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new Error("not a zip: no end of central directory")
  const count = zip.readUInt16LE(eocd + 10)
  let at = zip.readUInt32LE(eocd + 16)
  const entries: Array<ZipEntry> = []
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`)
    const method = zip.readUInt16LE(at + 10)
    const dosTime = zip.readUInt16LE(at + 12)
    const dosDate = zip.readUInt16LE(at + 14)
    const crc32 = zip.readUInt32LE(at + 16)
    const compressed = zip.readUInt32LE(at + 20)
    const nameLength = zip.readUInt16LE(at + 28)
    const extraLength = zip.readUInt16LE(at + 30)
    const commentLength = zip.readUInt16LE(at + 32)
    const local = zip.readUInt32LE(at + 42)
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8")
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`)
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
    const raw = zip.subarray(start, start + compressed)
    entries.push({ name, method, crc32, dosTime, dosDate, data: method === 0 ? Buffer.from(raw) : inflateRawSync(raw) })
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}
