/**
 * Loaded into the demo by the HTTP benchmark (`node --expose-gc --import tsx --import
 * bench/support/gc-hook.ts examples/server.ts`), never by `npm start`: on SIGUSR2 the demo
 * collects its garbage and prints one line, `uws-bench-memory {json}`, with its heap figures,
 * so the benchmark reads the demo's RSS (from /proc) on a collected heap.
 */
import { getHeapStatistics } from "node:v8"

const gc = (globalThis as { gc?: () => void }).gc
process.on("SIGUSR2", () => {
  if (gc !== undefined) {
    gc()
    gc()
  }
  const heap = getHeapStatistics()
  const usage = process.memoryUsage()
  console.log(
    `uws-bench-memory ${JSON.stringify({ gc: gc !== undefined, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, external: usage.external, arrayBuffers: usage.arrayBuffers, rss: usage.rss })}`
  )
})
