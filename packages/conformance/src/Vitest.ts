/**
 * `describeConformance(url, options)`: the conformance checks as vitest tests, so that a host
 * puts `uws conform`'s checks into its own CI. One test per check (in order, sharing the
 * server), then the schema check and the property-based run.
 *
 * @since 0.1.0
 */
import { afterAll, describe, expect, it } from "vitest"
import type { Context } from "./Check.js"
import { allChecks, cleanUp, context, type Options, runCheck } from "./Conformance.js"
import * as Property from "./Property.js"

/**
 * @since 0.1.0
 * @category testing
 * @example
 * import { describeConformance } from "@uws-kit/conformance/vitest"
 * describeConformance(() => `${server.url}/uws/echo/jobs`, { quick: [["A", "1"]] })
 */
export const describeConformance = (url: string | (() => string), options: Options): void => {
  const urlOf = () => (typeof url === "function" ? url() : url)
  describe(`UWS 1.1 conformance`, () => {
    let ctx: Omit<Context, "note"> | undefined
    const ctxOf = () => (ctx ??= context(urlOf(), options))
    afterAll(async () => {
      if (ctx !== undefined) await cleanUp(ctx, options)
    })
    for (const check of allChecks) {
      if (options.only !== undefined && !options.only.includes(check.id) && check.id !== "xml.schema") continue
      // A check for a kind of job the host did not describe is not registered: a suite that
      // cannot make a failing job has nothing to skip, and CI output stays free of skips.
      if (check.needs !== undefined && options[check.needs] === undefined) continue
      it(`${check.section} ${check.id}: ${check.title}`, async (t) => {
        const result = await runCheck(check, ctxOf())
        if (result.outcome === "skip") return t.skip(result.message)
        expect(result.outcome, [result.message, ...result.evidence].join("\n")).toBe("pass")
      })
    }
    const runs = options.runs ?? 25
    if (runs > 0) {
      it(`§2 property: ${runs} random client sequences against the UWS model`, async () => {
        const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31)
        const result = await Property.run(urlOf().replace(/\/+$/, ""), { ...options, runs, seed })
        expect(result.outcome, [`seed ${seed}`, result.message, ...(result.counterexample ?? [])].join("\n")).toBe("pass")
      })
    }
  })
}
