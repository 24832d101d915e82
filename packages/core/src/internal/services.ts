/** What every part of the service is built over: its stores, dispatcher, policy, application and clock. */
import type { Effect } from "effect"
import type { DispatcherService } from "../Dispatcher.js"
import type { JobStoreService } from "../JobStore.js"
import type { Policy } from "../Policy.js"
import type { ResultStoreService } from "../ResultStore.js"
import type { Worker } from "../Worker.js"

export interface Services {
  readonly store: JobStoreService
  readonly results: ResultStoreService
  readonly dispatcher: DispatcherService
  readonly policy: Policy
  readonly worker: Worker
  /** The current time (ms), from the Clock in context. */
  readonly now: Effect.Effect<number>
}
