import { describe, expect, it } from "vitest";
import { assertDeterministicCost, assertFiniteCost, NondeterministicCostError, NonFiniteCostError } from "./determinism.js";

describe("assertDeterministicCost", () => {
  it("accepts a cost that reproduces the cached value bit for bit", () => {
    expect(() => assertDeterministicCost(() => 0.1 + 0.2, 0.1 + 0.2)).not.toThrow();
  });

  it("refuses a cost with fresh randomness in it (dropout left on), explaining why", () => {
    let calls = 0;
    const noisy = () => 1 + (++calls % 2) * 1e-12;
    expect(() => assertDeterministicCost(noisy, 1)).toThrow(NondeterministicCostError);
    expect(() => assertDeterministicCost(noisy, 1)).toThrow(/dropout/);
  });

  it("refuses a cost that differs from the one the check differences against", () => {
    expect(() => assertDeterministicCost(() => 2, 2.0000000001)).toThrow(NondeterministicCostError);
  });
});

describe("assertFiniteCost", () => {
  it("refuses an infinite or undefined cost, and accepts a finite one", () => {
    expect(() => assertFiniteCost(Infinity)).toThrow(NonFiniteCostError);
    expect(() => assertFiniteCost(NaN)).toThrow(/J\(θ\) is NaN/);
    expect(() => assertFiniteCost(2.3)).not.toThrow();
  });
});
