/**
 * The curl lines a report prints must replay exactly the request that was sent: a shell must
 * read back the same URL and form fields, whatever characters they hold.
 */
import { execFileSync } from "node:child_process"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Exchange from "../src/Exchange.js"

/** The words a shell makes of a curl line (curl replaced by printf, one word per NUL). */
const shellWords = (line: string): Array<string> =>
  execFileSync("bash", ["-c", line.replace(/^curl /, "printf '%s\\0' ")], { encoding: "utf8" }).split("\0").slice(0, -1)

describe("Exchange.curl", () => {
  it("quotes what a shell would otherwise read differently (& ? * spaces quotes)", () => {
    const line = Exchange.curl({ method: "GET", url: "http://h/jobs?PHASE=PENDING&PHASE=ABORTED", form: undefined })
    expect(line).toBe("curl -sS -i 'http://h/jobs?PHASE=PENDING&PHASE=ABORTED'")
    expect(shellWords(line)).toEqual(["-sS", "-i", "http://h/jobs?PHASE=PENDING&PHASE=ABORTED"])
  })

  it("a shell reads back the method, every form field and the URL", () => {
    const text = fc.string({ unit: fc.constantFrom(..."aZ09 &?*'\"$`\\;|<>(){}[]!#~=%é\t".split("")), maxLength: 12 })
    fc.assert(
      fc.property(fc.constantFrom("GET", "POST", "DELETE"), fc.array(fc.tuple(text.filter((s) => s !== ""), text), { maxLength: 3 }), text, (method, form, path) => {
        const url = `http://127.0.0.1:8080/jobs/${encodeURIComponent(path)}?x=${path}`
        const withForm = method === "POST" ? form : undefined
        const words = shellWords(Exchange.curl({ method, url, form: withForm }))
        expect(words.at(-1)).toBe(url)
        const fields = words.flatMap((w, i) => (words[i - 1] === "--data-urlencode" ? [w] : []))
        expect(fields).toEqual((withForm ?? []).map(([k, v]) => `${k}=${v}`))
        expect(words.includes("-X")).toBe(method === "DELETE" || (method === "POST" && form.length === 0))
      }),
      { numRuns: 60 }
    )
  })
})
