const base32 = "abcdefghijklmnopqrstuvwxyz234567"
// Random bytes are drawn in blocks: one getRandomValues call per 256 ids, not one per id.
let pool = new Uint8Array(0)
let poolOffset = 0
const codes = new Uint16Array(16)
/** 16 base-32 characters: 80 random bits, unguessable, URL-safe and case-insensitive-safe. */
export const randomJobId = (): string => {
  if (poolOffset + 16 > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(4096))
    poolOffset = 0
  }
  // One flat string: appending 16 characters builds a rope that every Map of the stores would
  // flatten again on its first look-up.
  for (let i = 0; i < 16; i++) codes[i] = base32.charCodeAt(pool[poolOffset++]! & 31)
  return String.fromCharCode.apply(null, codes as unknown as Array<number>)
}
