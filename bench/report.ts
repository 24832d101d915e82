/**
 * What every benchmark prints: figures with units, and ratios against a baseline measured in
 * the same run (absolute numbers on a shared 2-core machine swing; ratios do not).
 */
export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
  /** The target, for the reader; benchmarks print it, they never assert it. */
  readonly target?: string
}

export interface BenchReport {
  readonly title: string
  readonly figures: ReadonlyArray<Figure>
}

export type Benchmark = () => Promise<BenchReport>

export const print = (report: BenchReport): void => {
  console.log(`\n## ${report.title}`)
  const width = Math.max(...report.figures.map((f) => f.name.length))
  for (const f of report.figures) {
    const value = Number.isInteger(f.value) ? f.value.toLocaleString("en-US") : f.value.toLocaleString("en-US", { maximumFractionDigits: 3 })
    console.log(`  ${f.name.padEnd(width)}  ${value} ${f.unit}${f.target === undefined ? "" : `   (target ${f.target})`}`)
  }
}
