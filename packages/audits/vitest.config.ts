import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CI runs every package's tests at once on two cores: a property test that takes a second
    // here can take several there. A hang still fails, just later.
    testTimeout: 30_000,
  },
});
