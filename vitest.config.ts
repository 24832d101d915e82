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
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
