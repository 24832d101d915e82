// The package ships no types; this is the shape its README documents (prom2json's).
declare module "parse-prometheus-text-format" {
  export interface ParsedFamily {
    readonly name: string
    readonly help: string
    readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED"
    readonly metrics: ReadonlyArray<{
      readonly value?: string
      readonly labels?: Record<string, string>
      readonly buckets?: Record<string, string>
      readonly quantiles?: Record<string, string>
      readonly sum?: string
      readonly count?: string
    }>
  }
  const parse: (text: string) => Array<ParsedFamily>
  export default parse
}
