/**
 * What a conformance run found, and its three renderings: a readable report for people, JSON for
 * scripts, and JUnit XML for CI systems.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type Outcome = "pass" | "fail" | "skip"

/**
 * The verdict of one check.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckResult {
  readonly id: string
  /** The section of UWS 1.1 the check tests, e.g. "§2.2.3.1". */
  readonly section: string
  readonly title: string
  readonly outcome: Outcome
  /** Why it failed or was skipped. */
  readonly message?: string
  /** What a reader should know even when it passed: clamped values, measured WAIT latencies. */
  readonly notes: ReadonlyArray<string>
  /** On failure: the requests of the check, as curl lines with the answers. */
  readonly evidence: ReadonlyArray<string>
  readonly millis: number
}

/**
 * The property-based part: how many random sequences ran, and the shrunk failing one.
 *
 * @since 0.1.0
 * @category models
 */
export interface PropertyResult {
  readonly outcome: Outcome
  readonly runs: number
  readonly seed: number
  readonly message?: string
  /** The shrunk failing sequence, as curl lines. */
  readonly counterexample?: ReadonlyArray<string>
  readonly millis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly url: string
  readonly seed: number
  readonly startedAt: string
  readonly millis: number
  readonly checks: ReadonlyArray<CheckResult>
  readonly property: PropertyResult | undefined
  readonly passed: number
  readonly failed: number
  readonly skipped: number
}

/**
 * True when nothing failed.
 *
 * @since 0.1.0
 * @category utils
 */
export const ok = (report: Report): boolean => report.failed === 0

const mark: Record<Outcome, string> = { pass: "PASS", fail: "FAIL", skip: "SKIP" }

const indent = (text: string, by = "      ") => text.split("\n").map((l) => by + l).join("\n")

/**
 * The report for people.
 *
 * @since 0.1.0
 * @category rendering
 */
export const text = (report: Report): string => {
  const lines: Array<string> = [`UWS 1.1 conformance of ${report.url} (seed ${report.seed})`, ""]
  for (const c of report.checks) {
    lines.push(`${mark[c.outcome]}  ${c.section.padEnd(10)} ${c.id}: ${c.title}`)
    if (c.message !== undefined) lines.push(indent(c.message))
    for (const n of c.notes) lines.push(indent(`· ${n}`))
    if (c.outcome === "fail") for (const e of c.evidence) lines.push(indent(e))
  }
  const p = report.property
  if (p !== undefined) {
    lines.push(`${mark[p.outcome]}  ${"§2".padEnd(10)} property: ${p.runs} random client sequences against the UWS model`)
    if (p.message !== undefined) lines.push(indent(p.message))
    if (p.counterexample !== undefined) {
      lines.push(indent(`shrunk to ${p.counterexample.length} request(s); replay with --seed ${p.seed}:`))
      for (const c of p.counterexample) lines.push(indent(c, "        "))
    }
  }
  lines.push("", `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped in ${(report.millis / 1000).toFixed(1)} s`)
  return lines.join("\n")
}

/**
 * The report as JSON.
 *
 * @since 0.1.0
 * @category rendering
 */
export const json = (report: Report): string => JSON.stringify(report, null, 2)

const xmlEscape = (s: string) =>
  // Characters XML 1.0 cannot carry at all are dropped; the rest escaped.
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/**
 * The report as JUnit XML: one test case per check, the property run as one more.
 *
 * @since 0.1.0
 * @category rendering
 */
export const junit = (report: Report): string => {
  const cases = report.checks.map((c) => {
    const name = xmlEscape(`${c.section} ${c.id}: ${c.title}`)
    const body =
      c.outcome === "fail"
        ? `<failure message="${xmlEscape(c.message ?? "failed")}">${xmlEscape([...c.evidence].join("\n\n"))}</failure>`
        : c.outcome === "skip"
          ? `<skipped message="${xmlEscape(c.message ?? "")}"/>`
          : ""
    const out = c.notes.length === 0 ? "" : `<system-out>${xmlEscape(c.notes.join("\n"))}</system-out>`
    return `    <testcase classname="uws.conformance" name="${name}" time="${(c.millis / 1000).toFixed(3)}">${body}${out}</testcase>`
  })
  const p = report.property
  if (p !== undefined) {
    const body =
      p.outcome === "fail"
        ? `<failure message="${xmlEscape(p.message ?? "failed")}">${xmlEscape((p.counterexample ?? []).join("\n"))}</failure>`
        : p.outcome === "skip"
          ? `<skipped message="${xmlEscape(p.message ?? "")}"/>`
          : ""
    cases.push(`    <testcase classname="uws.conformance" name="property: random client sequences (seed ${p.seed})" time="${(p.millis / 1000).toFixed(3)}">${body}</testcase>`)
  }
  const tests = report.checks.length + (p === undefined ? 0 : 1)
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="uws conform" tests="${tests}" failures="${report.failed}" skipped="${report.skipped}" time="${(report.millis / 1000).toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(report.url)}" tests="${tests}" failures="${report.failed}" skipped="${report.skipped}" timestamp="${report.startedAt}" time="${(report.millis / 1000).toFixed(3)}">`,
    ...cases,
    `  </testsuite>`,
    `</testsuites>`,
    ``
  ].join("\n")
}
