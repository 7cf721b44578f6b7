import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { UNIT_ROUNDOFF, gradientArithmetic, lowestPrecision, roundingTo, type Precision } from "./precision.js";

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

describe("roundingTo", () => {
  it("is the identity for F64 and fround for F32", () => {
    expect(roundingTo("F64")(0.1)).toBe(0.1);
    expect(roundingTo("F32")(0.1)).toBe(Math.fround(0.1));
  });

  it("rounds to the nearest F16 and BF16 value, ties to even, and overflows to infinity", () => {
    const f16 = roundingTo("F16");
    expect(f16(1 + 2 ** -11)).toBe(1); // tie, to even
    expect(f16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie, to even (up)
    expect(f16(1 + 2 ** -10 + 2 ** -12)).toBe(1 + 2 ** -10);
    expect(f16(65504)).toBe(65504);
    expect(f16(65520)).toBe(Infinity);
    expect(f16(2 ** -25)).toBe(0); // half the least subnormal: tie, to even (0)
    expect(f16(3 * 2 ** -25)).toBe(2 ** -23);
    expect(f16(-0.1)).toBe(-f16(0.1));
    const bf16 = roundingTo("BF16");
    expect(bf16(1 + 2 ** -8)).toBe(1);
    expect(bf16(1 + 2 ** -7)).toBe(1 + 2 ** -7);
    expect(bf16(3.14159)).toBe(3.140625);
  });

  it("lands on a value of the format, within half a unit in the last place (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -6e4, max: 6e4, noNaN: true }), fc.constantFrom("F16", "BF16") as fc.Arbitrary<"F16" | "BF16">, (x, precision) => {
        const round = roundingTo(precision);
        const rounded = round(x);
        expect(round(rounded)).toBe(rounded);
        const halfUnit = precision === "F16" ? Math.max(Math.abs(x) * 2 ** -11, 2 ** -25) : Math.max(Math.abs(x) * 2 ** -8, 2 ** -134);
        expect(Math.abs(rounded - x)).toBeLessThanOrEqual(halfUnit);
      }),
    );
  });
});

describe("gradientArithmetic", () => {
  it("takes float32 values stored as F64 for float32 arithmetic", () => {
    expect(gradientArithmetic("F64", Float64Array.of(Math.fround(0.1), 0.5))).toBe("F32");
    expect(gradientArithmetic("F64", Float64Array.of(0.1, 0.5))).toBe("F64");
    expect(gradientArithmetic("F16", Float64Array.of(0.1))).toBe("F16");
  });
});
