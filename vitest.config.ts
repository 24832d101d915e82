import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

// `npm test`: unit, property and in-process suites; they need nothing but `npm install`. Suites
// that need Debian packages, a browser (test/system) or a PostgreSQL server (`*.pg.test.ts`) run
// with `npm run test:system` (vitest.system.config.ts).
export default defineConfig({
  resolve: { conditions: ["@uws-kit/source"] },
  ssr: { resolve: { conditions: ["@uws-kit/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/system/**", "**/*.pg.test.ts", "**/node_modules/**"],
    // Vitest's default, one worker fewer than the cores, is a single worker on a 2-core machine:
    // files then run one at a time while most of their time is imports and child processes
    // (2026-12-01 on 2 cores: 574 s with one worker, 401 s with two).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
