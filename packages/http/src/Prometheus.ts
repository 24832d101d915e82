/**
 * Effect `Metric` snapshots in the Prometheus text exposition format 0.0.4, for a `/metrics`
 * endpoint: one `# HELP`/`# TYPE` block a family (every series of one name together), escaped
 * help and label values, histograms as cumulative `_bucket{le=…}` with `le="+Inf"`, `_sum` and
 * `_count`, summaries as `{quantile=…}`, `_sum` and `_count`, Effect frequencies as counters
 * labelled by `key`.
 *
 * @since 0.1.0
 */
import { Effect, Metric, MetricState, Option } from "effect"
import type { MetricPair } from "effect"

/**
 * The content type of the format.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * A metric or label name made valid: characters outside `[a-zA-Z0-9_:]` (labels: no `:`)
 * become `_`, and a leading digit is prefixed with `_` (Prometheus would refuse the line).
 *
 * @since 0.1.0
 * @category names
 */
export const metricName = (name: string): string => {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return s === "" || /^[0-9]/.test(s) ? `_${s}` : s
}

/** @since 0.1.0 @category names */
export const labelName = (name: string): string => {
  const s = name.replace(/[^a-zA-Z0-9_]/g, "_")
  // `__` starts the names Prometheus keeps for itself.
  const t = s === "" || /^[0-9]/.test(s) ? `_${s}` : s
  return t.startsWith("__") ? `l${t}` : t
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/**
 * A sample value as the format writes it (`+Inf`, `-Inf`, `NaN`, else the shortest exact decimal).
 *
 * @since 0.1.0
 * @category formatting
 */
export const value = (n: number | bigint): string =>
  typeof n === "bigint"
    ? n.toString()
    : Number.isNaN(n)
      ? "NaN"
      : n === Infinity
        ? "+Inf"
        : n === -Infinity
          ? "-Inf"
          : Object.is(n, -0)
            ? "-0"
            : String(n)

type Labels = ReadonlyArray<readonly [string, string]>

const labels = (ls: Labels): string => {
  if (ls.length === 0) return ""
  // A name given twice (e.g. a tag that sanitises to an added label) keeps its last value only.
  const seen = new Map<string, string>()
  for (const [k, v] of ls) seen.set(k, v)
  return `{${[...seen].map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`
}

const sample = (name: string, ls: Labels, v: number | bigint) => `${name}${labels(ls)} ${value(v)}\n`

interface Family {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  help: string
  readonly lines: Array<string>
}

const typeOf = (state: unknown): Family["type"] | undefined =>
  MetricState.isCounterState(state) || MetricState.isFrequencyState(state)
    ? "counter"
    : MetricState.isGaugeState(state)
      ? "gauge"
      : MetricState.isHistogramState(state)
        ? "histogram"
        : MetricState.isSummaryState(state)
          ? "summary"
          : undefined

/**
 * Renders metric pairs (e.g. from `Metric.snapshot`) in the text format, families sorted by name.
 * A name taken by metrics of two kinds keeps the first kind met (Prometheus allows one type a
 * family).
 *
 * @since 0.1.0
 * @category formatting
 */
export const render = (pairs: Iterable<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const state: unknown = pair.metricState
    const type = typeOf(state)
    if (type === undefined) continue
    const name = metricName(pair.metricKey.name)
    let family = families.get(name)
    if (family === undefined) families.set(name, (family = { type, help: "", lines: [] }))
    else if (family.type !== type) continue
    // Outer blanks dropped: parsers trim lines, and a blank-only help would leave `# HELP name`,
    // which they refuse.
    const help = Option.getOrUndefined(pair.metricKey.description)?.replace(/^[^\S\n]+|[^\S\n]+$/g, "")
    if (help !== undefined && family.help === "") family.help = help
    const tags: Labels = pair.metricKey.tags.map((t) => [labelName(t.key), t.value] as const)
    const out = family.lines
    if (MetricState.isCounterState(state)) out.push(sample(name, tags, state.count))
    else if (MetricState.isGaugeState(state)) out.push(sample(name, tags, state.value))
    else if (MetricState.isFrequencyState(state)) {
      for (const [key, n] of state.occurrences) out.push(sample(name, [...tags, ["key", key]], n))
    } else if (MetricState.isHistogramState(state)) {
      // Effect's buckets are already cumulative and end with +Inf (MetricBoundaries adds it).
      for (const [le, n] of state.buckets) {
        if (le !== Infinity) out.push(sample(`${name}_bucket`, [...tags, ["le", value(le)]], n))
      }
      out.push(sample(`${name}_bucket`, [...tags, ["le", "+Inf"]], state.count))
      out.push(sample(`${name}_sum`, tags, state.sum))
      out.push(sample(`${name}_count`, tags, state.count))
    } else if (MetricState.isSummaryState(state)) {
      for (const [q, v] of state.quantiles) {
        out.push(sample(name, [...tags, ["quantile", value(q)]], Option.getOrElse(v, () => NaN)))
      }
      out.push(sample(`${name}_sum`, tags, state.sum))
      out.push(sample(`${name}_count`, tags, state.count))
    }
  }
  let text = ""
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!
    if (f.help !== "") text += `# HELP ${name} ${escapeHelp(f.help)}\n`
    text += `# TYPE ${name} ${f.type}\n${f.lines.join("")}`
  }
  return text
}

/**
 * Every metric of the default registry, rendered.
 *
 * @since 0.1.0
 * @category formatting
 */
export const scrape: Effect.Effect<string> = Effect.map(Metric.snapshot, render)
