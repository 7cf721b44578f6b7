import { describe, expect, it } from "vitest";
import { directionalSmallestError, escapeProbability, sampleSensitivity } from "./sensitivity.js";

describe("sample sensitivity", () => {
  it("is the hypergeometric chance of missing every wrong coordinate", () => {
    expect(escapeProbability(10, 3, 1)).toBeCloseTo(7 / 10, 14);
    expect(escapeProbability(10, 3, 2)).toBeCloseTo((8 * 7 * 6) / (10 * 9 * 8), 14);
    expect(escapeProbability(10, 9, 2)).toBe(0);
    expect(escapeProbability(10, 10, 1)).toBe(0);
  });

  it("names the bug sizes that escape with probability ≥ 1/2 and are caught with ≥ 95%", () => {
    const { escapesBelow, caughtFrom } = sampleSensitivity(1_000_000, 64);
    expect(escapeProbability(1_000_000, 64, escapesBelow - 1)).toBeGreaterThan(0.5);
    expect(escapeProbability(1_000_000, 64, escapesBelow)).toBeLessThanOrEqual(0.5);
    expect(escapeProbability(1_000_000, 64, caughtFrom - 1)).toBeGreaterThan(0.05);
    expect(escapeProbability(1_000_000, 64, caughtFrom)).toBeLessThanOrEqual(0.05);
    expect(escapesBelow).toBeGreaterThan(10_000);
    expect(sampleSensitivity(20, 20)).toEqual({ escapesBelow: 1, caughtFrom: 1 });
  });

  it("directional: twice the pass threshold of the gradient's norm", () => {
    expect(directionalSmallestError(1e-6, 3)).toBeCloseTo(6e-6, 20);
  });
});
