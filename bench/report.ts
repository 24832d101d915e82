/**
 * What every benchmark prints: figures with units, and ratios against a baseline measured in
 * the same run (absolute numbers on a shared 2-core machine swing; ratios do not).
 *
 * A benchmark is run `UWS_BENCH_REPEATS` times (default 3) by `bench/run.ts`; each figure is
 * printed as the median of its repeats with their min and max, and a figure that names its
 * `baseline` also gets its ratio to that baseline — computed within each repeat (both measured
 * side by side), then the median of those ratios, with their min and max. README figures are
 * these medians.
 */
export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
  /** The target, for the reader; benchmarks print it, they never assert it. */
  readonly target?: string
  /** The name of the figure of the same report this one is compared with: ratio = value / baseline's value. */
  readonly baseline?: string
}

export interface BenchReport {
  readonly title: string
  readonly figures: ReadonlyArray<Figure>
}

export type Benchmark = () => Promise<BenchReport>

/** How many times `bench/run.ts` runs each benchmark. */
export const repeats = (): number => {
  const text = process.env["UWS_BENCH_REPEATS"]
  if (text === undefined || text === "") return 3
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`UWS_BENCH_REPEATS must be a whole number ≥ 1, not "${text}".`)
  return n
}

/** A figure over its repeats. */
export interface Summary {
  readonly name: string
  readonly unit: string
  readonly target?: string
  readonly baseline?: string
  readonly values: ReadonlyArray<number>
  /** value / baseline within each repeat that measured both. */
  readonly ratios: ReadonlyArray<number>
}

export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
}

export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const spread = (xs: ReadonlyArray<number>): Spread => {
  const finite = xs.filter((x) => Number.isFinite(x))
  if (finite.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN }
  return { min: Math.min(...finite), median: median(finite), max: Math.max(...finite) }
}

/**
 * Gathers the repeats of one benchmark, figure by figure (matched by name, in the first
 * repeat's order; a unit or target that varies between repeats is taken from the last).
 */
export const summarize = (reports: ReadonlyArray<BenchReport>): { readonly title: string; readonly summaries: ReadonlyArray<Summary> } => {
  const order: Array<string> = []
  const byName = new Map<string, { figure: Figure; values: Array<number>; ratios: Array<number> }>()
  for (const report of reports) {
    const here = new Map(report.figures.map((f) => [f.name, f]))
    for (const f of report.figures) {
      let entry = byName.get(f.name)
      if (entry === undefined) {
        entry = { figure: f, values: [], ratios: [] }
        byName.set(f.name, entry)
        order.push(f.name)
      }
      entry.figure = f
      entry.values.push(f.value)
      const base = f.baseline === undefined ? undefined : here.get(f.baseline)
      if (base !== undefined) entry.ratios.push(f.value / base.value)
    }
  }
  return {
    title: reports[reports.length - 1]?.title ?? "",
    summaries: order.map((name) => {
      const { figure, values, ratios } = byName.get(name)!
      return {
        name,
        unit: figure.unit,
        values,
        ratios,
        ...(figure.target === undefined ? {} : { target: figure.target }),
        ...(figure.baseline === undefined ? {} : { baseline: figure.baseline })
      }
    })
  }
}

const format = (x: number): string =>
  !Number.isFinite(x)
    ? String(x)
    : Math.abs(x) >= 100
      ? Math.round(x).toLocaleString("en-US")
      : x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) >= 10 ? 1 : 3 })

const range = (s: Spread, n: number) => (n <= 1 ? "" : ` [${format(s.min)} … ${format(s.max)}]`)

/** One benchmark's figures over `reports.length` repeats: median [min … max], ratio to baseline, target. */
export const print = (reports: ReadonlyArray<BenchReport>): void => {
  const { title, summaries } = summarize(reports)
  const n = reports.length
  console.log(`\n## ${title}${n > 1 ? ` — median [min … max] of ${n} repeats` : ""}`)
  const width = Math.max(...summaries.map((s) => s.name.length))
  for (const s of summaries) {
    const v = spread(s.values)
    let line = `  ${s.name.padEnd(width)}  ${format(v.median)}${range(v, s.values.length)} ${s.unit}`
    if (s.baseline !== undefined && s.ratios.length > 0) {
      const r = spread(s.ratios)
      line += `   ratio ${format(r.median)}×${range(r, s.ratios.length)} of "${s.baseline}"`
    }
    if (s.target !== undefined) line += `   (target ${s.target})`
    console.log(line)
  }
}
