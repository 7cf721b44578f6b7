import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { UNIT_ROUNDOFF, lowestPrecision, type Precision } from "./precision.js";

describe("UNIT_ROUNDOFF", () => {
  it("is half the machine epsilon of each format", () => {
    expect(UNIT_ROUNDOFF.F64).toBe(Number.EPSILON / 2);
    expect(UNIT_ROUNDOFF.F32).toBe(2 ** -23 / 2);
    expect(UNIT_ROUNDOFF.F16).toBe(2 ** -10 / 2);
    expect(UNIT_ROUNDOFF.BF16).toBe(2 ** -7 / 2);
    // float32 round trip of 1 + u stays at 1 (ties to even), 1 + 2u does not.
    expect(Math.fround(1 + UNIT_ROUNDOFF.F32)).toBe(1);
    expect(Math.fround(1 + 2 * UNIT_ROUNDOFF.F32)).toBeGreaterThan(1);
  });
});

describe("lowestPrecision", () => {
  it("picks the least precise format", () => {
    expect(lowestPrecision([])).toBe("F64");
    expect(lowestPrecision(["F64"])).toBe("F64");
    expect(lowestPrecision(["F64", "F32"])).toBe("F32");
    expect(lowestPrecision(["F32", "F16", "F64"])).toBe("F16");
    expect(lowestPrecision(["F16", "BF16", "F32"])).toBe("BF16");
    expect(lowestPrecision(new Set<Precision>(["BF16", "F16"]))).toBe("BF16");
  });

  it("is the format with the largest unit roundoff in any list (property)", () => {
    const all: Precision[] = ["F64", "F32", "F16", "BF16"];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...all), { minLength: 1 }), (list) => {
        const lowest = lowestPrecision(list);
        expect(list).toContain(lowest);
        for (const p of list) expect(UNIT_ROUNDOFF[p]).toBeLessThanOrEqual(UNIT_ROUNDOFF[lowest]);
      }),
      { numRuns: 100 },
    );
  });
});
