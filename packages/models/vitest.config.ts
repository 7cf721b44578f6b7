import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CI runs every package's tests at once on two cores: a property test that takes half a
    // second alone took 9 s there (20×). A hang still fails, just later.
    testTimeout: 120_000,
  },
});
