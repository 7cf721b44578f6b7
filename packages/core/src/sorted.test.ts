import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lowerBound } from "./sorted.js";

describe("lowerBound", () => {
  it("finds the first position holding the target or more, as a linear scan would (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.integer({ min: -60, max: 60 }), (values, target) => {
        const sorted = [...values].sort((a, b) => a - b);
        const expected = sorted.findIndex((value) => value >= target);
        expect(lowerBound(sorted.length, (position) => sorted[position] < target)).toBe(expected === -1 ? sorted.length : expected);
      }),
    );
  });
});
