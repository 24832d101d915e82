import type { JobData } from "../Job.js"
import type * as E from "../JobEvent.js"

/**
 * The context updates the job machine names. Each is a pure function of (data, event); the
 * machine wraps them in `assign`, the fast decision path calls them directly.
 */
export const updates = {
  markStart: (data: JobData, event: E.Start): JobData => ({ ...data, startTime: event.at, endTime: null }),
  markEnd: (data: JobData, event: { readonly at: number }): JobData => ({ ...data, endTime: event.at }),
  storeResults: (data: JobData, event: E.Complete): JobData => ({ ...data, results: event.results }),
  storeError: (data: JobData, event: E.Fail): JobData => ({ ...data, errorSummary: event.error }),
  storeTimeoutError: (data: JobData, _event: E.Timeout): JobData => ({
    ...data,
    errorSummary: {
      type: "fatal",
      message: `The job ran longer than its execution duration of ${data.executionDuration} s and was aborted.`,
      hasDetail: false
    }
  }),
  // New values take the place of the old ones of the same name, so the order stays as sent;
  // names not seen before go last (the service only lets them through when policy allows).
  updateParameters: (data: JobData, event: E.UpdateParameters): JobData => {
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
    return { ...data, parameters }
  },
  setDestruction: (data: JobData, event: E.SetDestruction): JobData => ({ ...data, destruction: event.destruction }),
  setExecutionDuration: (data: JobData, event: E.SetExecutionDuration): JobData => ({
    ...data,
    executionDuration: event.seconds
  }),
  mergeJobInfo: (data: JobData, event: E.Progress): JobData => ({
    ...data,
    jobInfo: { ...data.jobInfo, ...event.jobInfo }
  }),
  dropResults: (data: JobData, event: E.Archive): JobData => (event.keepResults === true ? data : { ...data, results: [] })
} as const
