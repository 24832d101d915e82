/**
 * What a job's parameters mean for its application: which application, each input's value
 * (checked against its declared type) or the URI to fetch it from, and where each output goes.
 * Checked when the job is created (a bad job is refused and nothing runs) and again when it runs.
 */
import type { Job } from "@uws-kit/core"
import { Either } from "effect"
import type { Application, Catalogue, Input } from "./Config.js"

export interface Plan {
  readonly application: Application
  /** Inputs given or defaulted, by name. */
  readonly inputs: ReadonlyMap<string, { readonly value: string; readonly indirect: boolean }>
  /** Output name → the URI the result is delivered to. */
  readonly destinations: ReadonlyMap<string, string>
}

const SCHEMES = ["http:", "https:", "vos:"]

/** A URI the server can fetch from or deliver to; `Left` says why not. */
export const checkUri = (what: string, value: string): Either.Either<URL, string> => {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    return Either.left(`${what} must be a URI (http, https or vos), not "${value.slice(0, 80)}".`)
  }
  return SCHEMES.includes(url.protocol) ? Either.right(url) : Either.left(`${what}: ${url.protocol} URIs are not fetched here; use http, https or vos.`)
}

/** Whether `value` fits `input`'s type; `undefined` when it does, else the message. */
export const checkValue = (input: Input, value: string): string | undefined => {
  const v = value.trim()
  switch (input.type) {
    case "file":
      return undefined
    case "boolean":
      return ["true", "false"].includes(v) ? undefined : `${input.name} must be true or false, not "${value.slice(0, 80)}".`
    case "integer":
    case "number": {
      const n = Number(v)
      const ok = input.type === "integer" ? /^[+-]?\d{1,15}$/.test(v) : v !== "" && Number.isFinite(n)
      if (!ok) return `${input.name} must be ${input.type === "integer" ? "a whole number" : "a number"}, not "${value.slice(0, 80)}".`
      if ((input.min !== undefined && n < input.min) || (input.max !== undefined && n > input.max)) {
        return `${input.name} must be from ${input.min ?? "-∞"} to ${input.max ?? "∞"}, not ${v}.`
      }
      return undefined
    }
    case "string":
      if (input.choices !== undefined && !input.choices.includes(value)) return `${input.name} must be one of ${input.choices.join(", ")}, not "${value.slice(0, 80)}".`
      return value.length > 4096 ? `${input.name} is longer than 4096 characters.` : undefined
  }
}

/** The plan of a job with these parameters, or why it cannot run. */
export const plan = (catalogue: Catalogue, parameters: ReadonlyArray<Job.Parameter>): Either.Either<Plan, string> =>
  Either.gen(function* () {
    const named = new Map<string, Job.Parameter>()
    for (const p of parameters) {
      const key = p.name.toLowerCase()
      if (named.has(key)) return yield* Either.left(`${p.name} is given more than once.`)
      named.set(key, p)
    }
    const appName = named.get("application")
    if (appName === undefined) return yield* Either.left(`Name the application to run (application=…); this service runs ${catalogue.applications.map((a) => a.name).join(", ")}.`)
    const application = catalogue.find(appName.value.trim())
    if (application === undefined) return yield* Either.left(`There is no application "${appName.value.slice(0, 80)}" here; this service runs ${catalogue.applications.map((a) => a.name).join(", ")}.`)
    named.delete("application")
    const inputs = new Map<string, { value: string; indirect: boolean }>()
    const destinations = new Map<string, string>()
    for (const input of application.inputs) {
      const given = named.get(input.name)
      named.delete(input.name)
      if (given === undefined) {
        if (input.default !== undefined) inputs.set(input.name, { value: input.default, indirect: false })
        else if (input.optional !== true) return yield* Either.left(`${application.name} needs ${input.name} (${input.type}): ${input.description}`)
        continue
      }
      if (given.byReference === true) yield* checkUri(input.name, given.value)
      else {
        const problem = checkValue(input, given.value)
        if (problem !== undefined) return yield* Either.left(problem)
      }
      inputs.set(input.name, { value: given.value, indirect: given.byReference === true })
    }
    for (const output of application.outputs) {
      const given = named.get(output.name)
      named.delete(output.name)
      if (given !== undefined) destinations.set(output.name, (yield* checkUri(`The destination of ${output.name}`, given.value)).href)
    }
    const unknown = [...named.values()][0]
    if (unknown !== undefined) {
      const declared = [...application.inputs, ...application.outputs].map((p) => p.name).join(", ")
      return yield* Either.left(`${application.name} has no parameter ${unknown.name}; it takes ${declared}.`)
    }
    return { application, inputs, destinations }
  })
