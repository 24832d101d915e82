/** A position in a newest-first job listing, opaque to clients. */
export interface Position {
  readonly t: number
  readonly id: string
  /** Jobs returned by earlier pages, so that LAST bounds the whole listing. */
  readonly returned: number
}

export const encode = (p: Position): string => Buffer.from(JSON.stringify([p.t, p.id, p.returned])).toString("base64url")

/** Decodes a cursor; a malformed one yields `undefined` (callers validate first with `isValid`). */
export const decode = (cursor: string): Position | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      Number.isFinite(value[0]) &&
      typeof value[1] === "string" &&
      Number.isSafeInteger(value[2]) &&
      value[2] >= 0
    ) {
      return { t: value[0], id: value[1], returned: value[2] }
    }
  } catch {
    // fall through
  }
  return undefined
}

export const isValid = (cursor: string): boolean => decode(cursor) !== undefined
