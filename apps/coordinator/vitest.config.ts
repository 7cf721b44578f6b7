import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Medium tests start real processes against this machine's PostgreSQL and Redis; on a CI
    // machine running every package's tests at once, a check of seconds can take minutes.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Each file runs a cluster of processes: one file at a time keeps them from starving each other.
    fileParallelism: false,
  },
});
