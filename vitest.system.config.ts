import { defineConfig } from "vitest/config"

// Suites that drive real third-party clients (pyvo, zeep, Java), xmllint and Chromium, and the
// suites that need the PostgreSQL server (`*.pg.test.ts`). They fail,
// never skip, when what they need is missing: `.ci/run` installs it.
export default defineConfig({
  resolve: { conditions: ["@uws-kit/source"] },
  ssr: { resolve: { conditions: ["@uws-kit/source"] } },
  test: {
    include: ["test/system/**/*.test.ts", "packages/*/test/**/*.pg.test.ts", "test/**/*.pg.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false
  }
})
