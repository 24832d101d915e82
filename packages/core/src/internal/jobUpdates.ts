import type { JobData } from "../Job.js"
import type * as E from "../JobEvent.js"

type Patch = Partial<JobData>

const withResults = (kept: JobData["results"], added: JobData["results"]): JobData["results"] =>
  kept.length === 0 ? added : [...kept.filter((r) => !added.some((a) => a.id === r.id)), ...added]

/**
 * The context updates the job machine names. Each is a pure function of (data, event) answering
 * the fields it changes; the machine wraps them in `assign` (which merges a partial context),
 * the fast decision path merges them itself, into one copy of the job per event.
 */
export const updates = {
  // A run starts with no results: what an earlier, interrupted run published is not its output.
  markStart: (_data: JobData, event: E.Start): Patch => ({ startTime: event.at, endTime: null, results: [] }),
  markEnd: (_data: JobData, event: { readonly at: number }): Patch => ({ endTime: event.at }),
  // Results published while running are kept; a final result of the same id replaces one.
  storeResults: (data: JobData, event: E.Complete): Patch => ({ results: withResults(data.results, event.results) }),
  publishResult: (data: JobData, event: E.PublishResult): Patch => ({ results: withResults(data.results, [event.result]) }),
  // `/error` always serves at least the message, so an error summary always has a detail.
  storeError: (_data: JobData, event: E.Fail): Patch => ({ errorSummary: { ...event.error, hasDetail: true } }),
  storeTimeoutError: (data: JobData, _event: E.Timeout): Patch => ({
    errorSummary: {
      type: "fatal",
      message: `The job ran longer than its execution duration of ${data.executionDuration} s and was aborted.`,
      hasDetail: true
    }
  }),
  // New values take the place of the old ones of the same name, so the order stays as sent;
  // names not seen before go last (the service only lets them through when policy allows).
  updateParameters: (data: JobData, event: E.UpdateParameters): Patch => {
    const incoming = new Map<string, Array<E.UpdateParameters["parameters"][number]>>()
    for (const p of event.parameters) {
      const key = p.name.toLowerCase()
      const values = incoming.get(key)
      if (values === undefined) incoming.set(key, [p])
      else values.push(p)
    }
    const placed = new Set<string>()
    const parameters = data.parameters.flatMap((p) => {
      const key = p.name.toLowerCase()
      const values = incoming.get(key)
      if (values === undefined) return [p]
      if (placed.has(key)) return []
      placed.add(key)
      return values
    })
    for (const [key, values] of incoming) if (!placed.has(key)) parameters.push(...values)
    return event.runId === undefined ? { parameters } : { parameters, runId: event.runId }
  },
  setDestruction: (_data: JobData, event: E.SetDestruction): Patch => ({ destruction: event.destruction }),
  setExecutionDuration: (_data: JobData, event: E.SetExecutionDuration): Patch => ({
    executionDuration: event.seconds
  }),
  mergeJobInfo: (data: JobData, event: E.Progress): Patch => ({
    jobInfo: { ...data.jobInfo, ...event.jobInfo }
  }),
  dropResults: (_data: JobData, event: E.Archive): Patch => (event.keepResults === true ? {} : { results: [] })
} as const
