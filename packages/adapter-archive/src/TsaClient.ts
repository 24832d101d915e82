/**
 * The HTTP transport of RFC 3161 (§3.4): a time-stamp query POSTed as
 * `application/timestamp-query`, the answer read as `application/timestamp-reply`. Every failure
 * (refused connection, time-out, HTTP error, wrong type, oversized answer) is a `Left` with the
 * reason; nothing throws.
 *
 * @since 0.1.0
 */
import { Either } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface PostOptions {
  /** Milliseconds before the request is abandoned. */
  readonly timeout: number
  /** Largest answer read (bytes); default 1 MiB (a token is a few KB). */
  readonly maxBytes?: number
}

const describe = (e: unknown): string => {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : undefined
    if (e.name === "TimeoutError" || e.name === "AbortError") return "no answer in time"
    return code === undefined ? e.message : `${e.message} (${code})`
  }
  return String(e)
}

/**
 * Sends a time-stamp query to `url` and reads the answer.
 *
 * @since 0.1.0
 * @category requests
 */
export const post = async (url: string, query: Uint8Array, options: PostOptions): Promise<Either.Either<Uint8Array, string>> => {
  const maxBytes = options.maxBytes ?? 1024 * 1024
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query", accept: "application/timestamp-reply" },
      body: Buffer.from(query),
      signal: AbortSignal.timeout(options.timeout),
      redirect: "error"
    })
    if (res.status !== 200) {
      await res.body?.cancel()
      return Either.left(`the TSA at ${url} answered HTTP ${res.status}`)
    }
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase()
    if (type !== "application/timestamp-reply") {
      await res.body?.cancel()
      return Either.left(`the TSA at ${url} answered ${type || "no content type"}, not application/timestamp-reply`)
    }
    const chunks: Array<Uint8Array> = []
    let size = 0
    for await (const chunk of res.body ?? []) {
      size += chunk.length
      if (size > maxBytes) return Either.left(`the TSA at ${url} answered more than ${maxBytes} bytes`)
      chunks.push(chunk)
    }
    return Either.right(new Uint8Array(Buffer.concat(chunks)))
  } catch (e) {
    return Either.left(`the TSA at ${url} could not be reached: ${describe(e)}`)
  }
}
