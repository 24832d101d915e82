/**
 * The Prometheus renderer: whatever the metric names, help texts, label values and numbers,
 * a real parser of the text format (parse-prometheus-text-format, a port of the Python client's
 * parser) reads back the same families, labels and values.
 */
import { propertyRuns } from "@uws-kit/core/testing"
import { Prometheus } from "@uws-kit/http"
import { Effect, Metric, MetricBoundaries, MetricKey, MetricLabel, MetricPair, MetricState, Option } from "effect"
import fc from "fast-check"
import parse, { type ParsedFamily } from "parse-prometheus-text-format"
import { describe, expect, it } from "vitest"

const read = (text: string): ReadonlyArray<ParsedFamily> => parse(text)

const num = (s: string | undefined) => (s === "+Inf" ? Infinity : s === "-Inf" ? -Infinity : Number(s))

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom("\\", '"', "\n", "{", "}", ",", "=", " ", "a", "é", "😀", "#", "\\n") })
)
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constantFrom(Infinity, -Infinity, 0.1, 1e21, 5e-324))
// Label names that the renderer itself adds (le, quantile, key) are left out of user tags.
const tags = fc.uniqueArray(fc.tuple(text, text), {
  maxLength: 4,
  selector: ([k]) => Prometheus.labelName(k)
}).map((ts) => ts.filter(([k]) => !["le", "quantile", "key"].includes(Prometheus.labelName(k))))

type Spec =
  | { readonly kind: "counter" | "gauge"; readonly name: string; readonly help: string; readonly tags: ReadonlyArray<[string, string]>; readonly value: number }
  | { readonly kind: "histogram"; readonly name: string; readonly help: string; readonly bounds: ReadonlyArray<number>; readonly counts: ReadonlyArray<number>; readonly sum: number }

const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constantFrom("counter" as const, "gauge" as const), name: text, help: text, tags, value: number }),
  fc.record({
    kind: fc.constant("histogram" as const),
    name: text,
    help: text,
    bounds: fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 5, comparator: "SameValueZero" }).map((b) => [...b].sort((x, y) => x - y)),
    counts: fc.array(fc.nat(1000), { minLength: 6, maxLength: 6 }),
    sum: fc.double({ noNaN: true })
  })
)

const pairOf = (s: Spec): MetricPair.MetricPair.Untyped => {
  if (s.kind === "histogram") {
    let acc = 0
    const buckets = [...s.bounds, Infinity].map((b, i) => [b, (acc += s.counts[i]!)] as const)
    const key = MetricKey.histogram(s.name, MetricBoundaries.fromIterable(s.bounds), s.help)
    return MetricPair.unsafeMake(key as never, MetricState.histogram({ buckets, count: acc, min: 0, max: 0, sum: s.sum }) as never)
  }
  const labels = s.tags.map(([k, v]) => MetricLabel.make(k, v))
  const key =
    s.kind === "counter"
      ? MetricKey.taggedWithLabels(MetricKey.counter(s.name, { description: s.help }), labels)
      : MetricKey.taggedWithLabels(MetricKey.gauge(s.name, { description: s.help }), labels)
  return MetricPair.unsafeMake(key as never, (s.kind === "counter" ? MetricState.counter(s.value) : MetricState.gauge(s.value)) as never)
}

describe("Prometheus", () => {
  it("property: any names, help, labels and values read back through a real parser", () => {
    fc.assert(
      fc.property(fc.uniqueArray(spec, { maxLength: 6, selector: (s) => Prometheus.metricName(s.name) }), (specs) => {
        const families = new Map(read(Prometheus.render(specs.map(pairOf))).map((f) => [f.name, f]))
        expect(families.size).toBe(specs.length)
        for (const s of specs) {
          const f = families.get(Prometheus.metricName(s.name))!
          expect(f.type).toBe(s.kind.toUpperCase())
          // The parser trims each line, so help text keeps all but its outer whitespace (a
          // newline is escaped, so it stays).
          expect(f.help).toBe(s.help.replace(/^[^\S\n]+|[^\S\n]+$/g, ""))
          if (s.kind === "histogram") {
            const m = f.metrics[0]!
            let acc = 0
            for (const [i, b] of s.bounds.entries()) {
              acc += s.counts[i]!
              expect(num(m.buckets![Prometheus.value(b)])).toBe(acc)
            }
            const total = acc + s.counts[s.bounds.length]!
            expect(num(m.buckets!["+Inf"])).toBe(total)
            expect(num(m.count)).toBe(total)
            expect(num(m.sum)).toBe(s.sum)
          } else {
            const m = f.metrics[0]!
            expect(m.labels ?? {}).toEqual(Object.fromEntries(s.tags.map(([k, v]) => [Prometheus.labelName(k), v])))
            expect(num(m.value)).toBe(s.value)
          }
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })

  it("writes tagged histograms with _bucket/_sum/_count per series and escapes label values", async () => {
    const h = Metric.histogram("req_seconds", MetricBoundaries.fromIterable([0.1, 1]), "Request time.\nSecond line")
    const text = await Effect.runPromise(
      Effect.gen(function*() {
        yield* Metric.update(Metric.tagged(h, "route", 'a"b\\c\nd'), 0.5)
        yield* Metric.update(Metric.tagged(h, "route", 'a"b\\c\nd'), 3)
        return Prometheus.render((yield* Metric.snapshot).filter((p) => p.metricKey.name === "req_seconds"))
      })
    )
    expect(text).toBe(
      [
        "# HELP req_seconds Request time.\\nSecond line",
        "# TYPE req_seconds histogram",
        'req_seconds_bucket{route="a\\"b\\\\c\\nd",le="0.1"} 0',
        'req_seconds_bucket{route="a\\"b\\\\c\\nd",le="1"} 1',
        'req_seconds_bucket{route="a\\"b\\\\c\\nd",le="+Inf"} 2',
        'req_seconds_sum{route="a\\"b\\\\c\\nd"} 3.5',
        'req_seconds_count{route="a\\"b\\\\c\\nd"} 2',
        ""
      ].join("\n")
    )
  })

  it("makes invalid names valid and keeps one type a family", () => {
    expect(Prometheus.metricName("9 jobs-total")).toBe("_9_jobs_total")
    expect(Prometheus.labelName("__name__")).toBe("l__name__")
    const pairs = [
      MetricPair.unsafeMake(MetricKey.counter("x") as never, MetricState.counter(1) as never),
      MetricPair.unsafeMake(MetricKey.gauge("x") as never, MetricState.gauge(2) as never)
    ]
    expect(Prometheus.render(pairs)).toBe("# TYPE x counter\nx 1\n")
    expect(Option.isNone(MetricKey.counter("y").description)).toBe(true)
  })
})
