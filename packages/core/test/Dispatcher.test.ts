import { Effect } from "effect"
import { Dispatcher, JobStore } from "@uws-kit/core"
import { testDispatcher } from "@uws-kit/core/DispatcherSuite"
import { expect, it } from "vitest"

testDispatcher({
  name: "in-process",
  make: async () => {
    const dispatcher = await Effect.runPromise(Dispatcher.makeInProcess())
    return { store: JobStore.makeMemory(), instance: async () => ({ dispatcher, stop: async () => {} }), shared: false, dispose: async () => {} }
  }
})

it("recovery by phase: a lost run is failed, or run again when the application is restartable", () => {
  expect(Dispatcher.recovery("EXECUTING", false)).toEqual(["FAIL"])
  expect(Dispatcher.recovery("SUSPENDED", false)).toEqual(["FAIL"])
  expect(Dispatcher.recovery("EXECUTING", true)).toEqual(["HOLD", "RUN"])
  expect(Dispatcher.recovery("SUSPENDED", true)).toEqual(["RESUME", "HOLD", "RUN"])
  for (const phase of ["PENDING", "QUEUED", "HELD", "COMPLETED", "ERROR", "ABORTED", "ARCHIVED"] as const) {
    expect(Dispatcher.recovery(phase, true)).toEqual([])
    expect(Dispatcher.recovery(phase, false)).toEqual([])
  }
})
