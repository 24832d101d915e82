import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["@uws-kit/source"] },
  ssr: { resolve: { conditions: ["@uws-kit/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
