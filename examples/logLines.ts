/**
 * The demo's log lines on stdout, written together once a turn of the event loop: Effect's
 * console loggers make one `write` a line, and a job's lifecycle over HTTP logs eleven lines
 * (its requests and phase changes), a write each took about an eighth of its time. Lines still
 * held when the process exits are written then (stdout to a pipe or file is synchronous).
 */
import { Logger } from "effect"

// Lines held at most before they are written at once (a burst's memory is bounded).
const HELD = 1024

let held: Array<string> = []
let pending: NodeJS.Immediate | undefined
let hooked = false

/** Writes the held lines now. */
export const flushLogLines = (): void => {
  if (pending !== undefined) clearImmediate(pending)
  pending = undefined
  if (held.length === 0) return
  const out = held.join("\n") + "\n"
  held = []
  process.stdout.write(out)
}

const hold = (line: string) => {
  if (!hooked) {
    hooked = true
    process.on("exit", flushLogLines)
  }
  held.push(line)
  if (held.length >= HELD) flushLogLines()
  else pending ??= setImmediate(flushLogLines)
}

/** A logger writing a string logger's lines (Effect's `logfmtLogger`, `jsonLogger`) this way. */
export const batchedStdout = (format: Logger.Logger<unknown, string>): Logger.Logger<unknown, void> =>
  Logger.make((options) => hold(format.log(options)))
