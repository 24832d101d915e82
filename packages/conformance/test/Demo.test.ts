/**
 * The proof on our own service: the demo (examples/server.ts) passes every conformance check,
 * on both of its job lists, registered as vitest tests with `describeConformance` — the way a
 * host puts `uws conform` into its own CI.
 */
import { afterAll, beforeAll, describe } from "vitest"
import { startDemo, type Demo } from "../../../examples/server.js"
import { describeConformance } from "../src/Vitest.js"

let demo: Demo

beforeAll(async () => {
  demo = await startDemo({ port: 0, host: "127.0.0.1" })
})

afterAll(async () => {
  await demo?.close()
})

describe("the demo's echo job list", () => {
  describeConformance(() => `${demo.url}/uws/echo/jobs`, { quick: [["A", "1"]], error: [["ERROR", "the dome is closed"]], runs: 25, seed: 20261130 })
})

describe("the demo's sleep job list", () => {
  // sleep cannot fail (bad SECONDS are refused at creation), so its error check is not registered;
  // it is the list with an EXECUTING phase.
  describeConformance(() => `${demo.url}/uws/sleep/jobs`, { quick: [["SECONDS", "0.1"]], slow: [["SECONDS", "600"]], runs: 25, seed: 20261130 })
})
