import { defineConfig } from "vitest/config"

// `npm test`: unit, property and in-process suites. Suites that need Debian packages or a
// browser live in test/system and run with `npm run test:system` (vitest.system.config.ts).
export default defineConfig({
  resolve: { conditions: ["@uws-kit/source"] },
  ssr: { resolve: { conditions: ["@uws-kit/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/system/**", "**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
