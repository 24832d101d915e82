/**
 * Reading UWS parameters from name/value pairs: case-insensitive names (UWS/DALI), values as
 * sent, and the job-control parameters taken out of the job's own parameters.
 */
import type { CreateRequest } from "@uws-kit/core/Uws"
import type { Parameter } from "@uws-kit/core/Job"
import * as Phase from "@uws-kit/core/Phase"
import { Either } from "effect"
import { Iso8601 } from "@uws-kit/http"
import { isXmlSafe } from "../Xml.js"
import type { Pairs } from "./form.js"

/** All values of a parameter, name matched case-insensitively (`name` given in lower case). */
export const values = (pairs: Pairs, name: string): Array<string> => {
  const out: Array<string> = []
  for (const [n, v] of pairs) if (n.length === name.length && n.toLowerCase() === name) out.push(v)
  return out
}

/** The job-control parameter names of UWS 1.1 (upper case, as the standard writes them). */
export const CONTROL = ["PHASE", "RUNID", "EXECUTIONDURATION", "DESTRUCTION"] as const
const controlSet: ReadonlySet<string> = new Set(CONTROL.map((c) => c.toLowerCase()))
export const isControl = (name: string): boolean => controlSet.has(name.toLowerCase())

/** The one value of a parameter that may be given once (repeats must agree). */
export const single = (pairs: Pairs, name: string, label: string): Either.Either<string | undefined, string> => {
  const vs = values(pairs, name)
  if (vs.length === 0) return Either.right(undefined)
  return vs.every((v) => v === vs[0]) ? Either.right(vs[0]) : Either.left(`${label} is given more than once with different values.`)
}

const MAX_INT = 2_147_483_647 // executionDuration is an xs:int

/** EXECUTIONDURATION: whole seconds ≥ 0 (`600.0`, as Python floats print, is 600). */
export const parseDuration = (text: string): Either.Either<number, string> => {
  const t = text.trim()
  if (!/^\d+(?:\.0*)?$/.test(t)) {
    return Either.left(
      /^-\d/.test(t)
        ? `EXECUTIONDURATION=${text} is negative; give whole seconds ≥ 0 (0 = unlimited).`
        : `EXECUTIONDURATION=${text} is not a whole number of seconds (0 = unlimited).`
    )
  }
  const n = Number(t)
  return n > MAX_INT ? Either.left(`EXECUTIONDURATION=${text} is too large (at most ${MAX_INT} seconds).`) : Either.right(n)
}

/** DESTRUCTION / TIME: an ISO 8601 instant (an empty value is refused, not read as "the longest"). */
export const parseDestruction = (name: string, text: string): Either.Either<number | null, string> =>
  text.trim() === ""
    ? Either.left(`${name} is empty; send an ISO 8601 instant (e.g. 2030-01-31T12:00:00Z).`)
    : Either.mapLeft(Iso8601.parse(text), (reason) => `${name}: ${reason}`)

/** WAIT: integer seconds ≥ 0, or -1 for "as long as the service allows". */
export const parseWait = (texts: ReadonlyArray<string>): Either.Either<number | "indefinitely" | undefined, string> => {
  let best: number | "indefinitely" | undefined
  for (const text of texts) {
    const t = text.trim()
    if (!/^-?\d+$/.test(t)) return Either.left(`WAIT=${text} is not a whole number of seconds (or -1 to wait as long as allowed).`)
    const n = Number(t)
    if (n < -1) return Either.left(`WAIT=${text} is negative; use -1 to wait as long as allowed.`)
    // Several WAITs: the shortest wins (as in VOLLT).
    const v = n === -1 ? "indefinitely" : n
    best = best === undefined || best === "indefinitely" ? v : v === "indefinitely" ? best : Math.min(best, v)
  }
  return Either.right(best)
}

const phaseList = Phase.all.join(", ")

export const parsePhase = (text: string): Either.Either<Phase.Phase, string> => {
  const p = Phase.parse(text)
  return p === undefined ? Either.left(`PHASE=${text} is not a UWS phase (${phaseList}).`) : Either.right(p)
}

/** LAST: integer > 0; several LASTs: the smallest wins. */
export const parseLast = (texts: ReadonlyArray<string>): Either.Either<number | undefined, string> => {
  let best: number | undefined
  for (const text of texts) {
    const t = text.trim()
    if (!/^\d+$/.test(t) || Number(t) < 1 || !Number.isSafeInteger(Number(t))) {
      return Either.left(`LAST=${text} is not a whole number greater than 0.`)
    }
    best = best === undefined ? Number(t) : Math.min(best, Number(t))
  }
  return Either.right(best)
}

export const checkNames = (pairs: Pairs): Either.Either<void, string> => {
  for (const [name] of pairs) {
    if (name === "") return Either.left("A parameter has an empty name.")
    if (!isXmlSafe(name)) return Either.left(`The parameter name ${JSON.stringify(name)} holds control characters.`)
  }
  return Either.right(undefined)
}

/**
 * A creation request from the pairs sent (query first, then body): job-control parameters
 * (PHASE=RUN, RUNID, EXECUTIONDURATION, DESTRUCTION) are taken out, everything else becomes
 * the job's parameters with names and values exactly as sent.
 */
export const creation = (pairs: Pairs): Either.Either<CreateRequest & { readonly parameters: ReadonlyArray<Parameter> }, string> => {
  // Plain early returns, not Either.gen: a generator per creation was ~3% of its CPU.
  const names = checkNames(pairs)
  if (Either.isLeft(names)) return Either.left(names.left)
  let run = false
  for (const p of values(pairs, "phase")) {
    if (p.trim().toUpperCase() !== "RUN") return Either.left(`PHASE=${p} cannot be given at creation; only PHASE=RUN (create and run) can.`)
    run = true
  }
  const runId = single(pairs, "runid", "RUNID")
  if (Either.isLeft(runId)) return Either.left(runId.left)
  const durationText = single(pairs, "executionduration", "EXECUTIONDURATION")
  if (Either.isLeft(durationText)) return Either.left(durationText.left)
  const destructionText = single(pairs, "destruction", "DESTRUCTION")
  if (Either.isLeft(destructionText)) return Either.left(destructionText.left)
  const executionDuration = durationText.right === undefined ? undefined : parseDuration(durationText.right)
  if (executionDuration !== undefined && Either.isLeft(executionDuration)) return Either.left(executionDuration.left)
  const destruction = destructionText.right === undefined ? undefined : parseDestruction("DESTRUCTION", destructionText.right)
  if (destruction !== undefined && Either.isLeft(destruction)) return Either.left(destruction.left)
  const parameters: Array<Parameter> = []
  for (const [name, value] of pairs) if (!isControl(name)) parameters.push({ name, value })
  return Either.right({
    parameters,
    ...(runId.right === undefined ? {} : { runId: runId.right }),
    ...(executionDuration === undefined ? {} : { executionDuration: executionDuration.right }),
    ...(destruction === undefined ? {} : { destruction: destruction.right }),
    ...(run ? { run } : {})
  })
}

