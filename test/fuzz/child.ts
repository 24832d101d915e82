/**
 * Sends one request (JSON on stdin, a FuzzRequest without its toString) to a fresh system in
 * this process and prints `{"status":…,"body":…}` on stdout. The regression tests run it in a
 * child node with a small heap, so that a request that exhausts memory kills the child quickly
 * instead of the test worker (and the shared machine).
 */
import { text } from "node:stream/consumers"
import type { FuzzRequest } from "./arbitraries.js"
import { send } from "./send.js"
import { startSystem } from "./system.js"

const request = JSON.parse(await text(process.stdin)) as FuzzRequest
const system = await startSystem()
try {
  const answer = await send(system, request, 20_000)
  process.stdout.write(`${JSON.stringify({ status: answer.status, body: answer.body.slice(0, 1000) })}\n`)
} finally {
  await system.close()
}
process.exit(0)
