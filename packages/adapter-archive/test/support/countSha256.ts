/**
 * Counts the bytes every SHA-256 in the test's process hashes. At the top of a test file:
 *
 *     vi.mock("node:crypto", async (importOriginal) => (await import("./support/countSha256.js")).countingCrypto(importOriginal))
 *
 * then read or reset `sha256Bytes.count`. Only types come from node:crypto here: this module
 * is loaded while node:crypto is being mocked.
 */
import type * as Crypto from "node:crypto"

export const sha256Bytes = { count: 0 }

export const countingCrypto = async (importOriginal: () => Promise<typeof Crypto>): Promise<typeof Crypto> => {
  const crypto = await importOriginal()
  return {
    ...crypto,
    createHash: (...args: Parameters<typeof crypto.createHash>) => {
      const hash = crypto.createHash(...args)
      const update = hash.update.bind(hash)
      hash.update = ((data: string | NodeJS.ArrayBufferView, encoding?: BufferEncoding) => {
        if (args[0] === "sha256") sha256Bytes.count += typeof data === "string" ? Buffer.byteLength(data, encoding) : data.byteLength
        return encoding === undefined ? update(data as NodeJS.ArrayBufferView) : update(data as string, encoding)
      }) as typeof hash.update
      return hash
    }
  }
}
