/**
 * What must hold for every request, whatever it is: an answer in bounded time, no 5xx (but the
 * SOAP 1.1 binding's 500 for a Client fault), nothing changed by a refused request or by a HEAD
 * or OPTIONS, no document with a DTD accepted, no upload spool left behind; and, around the
 * whole campaign, no unhandled error in the process and a bounded heap.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { describeRequest, type FuzzRequest } from "./arbitraries.js"
import { NoAnswer, send, type Answer } from "./send.js"
import type { SystemUnderTest } from "./system.js"

/** Well above any normal answer (the slowest normal request is a 100 ms capped WAIT). */
export const watchdogMs = 10_000

/** A SOAP fault the client caused (SOAP 1.1 answers those with 500, as the binding requires). */
const isClientFault11 = (a: Answer) => /<(\w+:)?faultcode>\s*(\w+:)?Client\s*<\/(\w+:)?faultcode>/.test(a.body)

export const isRefused = (a: Answer, r: FuzzRequest) =>
  a.status === "hung up" || a.status === "closed" || (typeof a.status === "number" && a.status >= 400 && a.status < 500) || (r.target === "soap" && a.status === 500 && isClientFault11(a))

/** Every broken rule for one request and its answer; empty when all hold. */
export const violations = (r: FuzzRequest, a: Answer, before: string, after: string, spool: ReadonlyArray<string>): Array<string> => {
  const problems: Array<string> = []
  // node:http hands CONNECT to a 'connect' listener, and without one closes the socket: the
  // host's choice, not a binding's. A client that half-closes after its complete request is
  // answered all the same (the bindings' listeners set httpAllowHalfOpen); only a request whose
  // framing lies may end without an answer.
  if (a.status === "closed" && r.method !== "CONNECT" && a.clientEnded !== true) problems.push("the server closed the connection without an answer")
  if (typeof a.status === "number" && a.status >= 500 && !(r.target === "soap" && a.status === 500 && isClientFault11(a))) {
    problems.push(`answered ${a.status}${r.target === "soap" && a.status === 500 ? " (a SOAP fault that is not the client's)" : ""}`)
  }
  if (a.elapsedMs > watchdogMs) problems.push(`took ${Math.round(a.elapsedMs)} ms (blocked the event loop past the ${watchdogMs / 1000} s watchdog)`)
  if (isRefused(a, r) && a.framingLies !== true && before !== after) problems.push(`a refused request (${a.status}) changed the stores:\n${diff(before, after)}`)
  const method = r.method.toUpperCase()
  if ((method === "HEAD" || method === "OPTIONS" || method === "TRACE") && before !== after) problems.push(`a ${method} changed the stores:\n${diff(before, after)}`)
  // Taken in: a POST or PUT that was not refused (a HEAD or GET with a body never reads it).
  const accepted = typeof a.status === "number" && a.status < 400 && (method === "POST" || method === "PUT")
  if (accepted && r.body !== null && r.body.pieces.some((p) => typeof p === "string" && p.includes("<!DOCTYPE"))) {
    problems.push(`a document with a DTD was accepted (${a.status}); DTDs must be refused, never expanded`)
  }
  if (spool.length > 0) problems.push(`upload spool left behind: ${spool.join(", ")}`)
  return problems
}

const diff = (before: string, after: string) => {
  const b = new Set(before.split("\n"))
  const a = new Set(after.split("\n"))
  const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s)
  return [...[...b].filter((l) => !a.has(l)).map((l) => `  - ${cut(l)}`), ...[...a].filter((l) => !b.has(l)).map((l) => `  + ${cut(l)}`)].slice(0, 12).join("\n")
}

/** Sends one request and checks every rule; throws (with the request and its answer) when one breaks. */
export const check = async (system: SystemUnderTest, r: FuzzRequest): Promise<Answer> => {
  const before = await system.settle()
  let answer: Answer
  try {
    answer = await send(system, r, watchdogMs)
  } catch (e) {
    throw new Error(`${describeRequest(r)}\n→ ${e instanceof NoAnswer ? e.message : `the handler rejected: ${e instanceof Error ? e.stack : String(e)}`}`)
  }
  const after = await system.settle()
  const problems = violations(r, answer, before, after, await system.leftoverSpool())
  if (problems.length > 0) {
    throw new Error(`${describeRequest(r)}\n→ ${answer.status} ${answer.contentType} (${answer.via}, ${Math.round(answer.elapsedMs)} ms) ${answer.body.slice(0, 400)}\n${problems.map((p) => `✗ ${p}`).join("\n")}`)
  }
  return answer
}

// ---- process-wide -------------------------------------------------------------------------------

/**
 * Collects unhandled rejections, uncaught exceptions and logged unhandled fiber failures while
 * the campaign runs (Effect logs a fiber's unhandled failure instead of throwing it).
 */
export const captureProcessErrors = () => {
  const seen: Array<string> = []
  const onRejection = (reason: unknown) => seen.push(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`)
  const onException = (error: Error) => seen.push(`uncaught exception: ${error.stack}`)
  process.on("unhandledRejection", onRejection)
  process.on("uncaughtException", onException)
  const original = { log: console.log, error: console.error, warn: console.warn }
  const watch =
    (name: keyof typeof original) =>
    (...args: Array<unknown>) => {
      const text = args.map((a) => (a instanceof Error ? a.stack : typeof a === "string" ? a : JSON.stringify(a))).join(" ")
      if (/unhandled|FiberFailure|uncaught/i.test(text)) seen.push(`logged (${name}): ${text.slice(0, 2000)}`)
      original[name](...args)
    }
  console.log = watch("log")
  console.error = watch("error")
  console.warn = watch("warn")
  return {
    seen,
    stop: () => {
      process.off("unhandledRejection", onRejection)
      process.off("uncaughtException", onException)
      Object.assign(console, original)
    }
  }
}

/** A full garbage collection: `global.gc` when node runs with --expose-gc, else turned on here. */
export const collectGarbage = (): boolean => {
  let gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc")
      gc = runInNewContext("gc") as () => void
    } catch {
      return false
    }
  }
  gc()
  gc()
  return true
}

export const heapUsed = () => process.memoryUsage().heapUsed
