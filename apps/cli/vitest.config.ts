import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The CLI's tests run whole commands against this machine's PostgreSQL and a headless
    // Chromium; on a loaded CI machine a few seconds each is normal, not a hang.
    testTimeout: 30_000,
  },
});
