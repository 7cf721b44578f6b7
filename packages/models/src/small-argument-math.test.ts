import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { expm1Small, log1pSmall } from "./small-argument-math.js";

/** 2 ulp of the result, as a relative bound. */
const TWO_ULP = 5e-16;

function expectNear(actual: number, expected: number): void {
  if (expected === 0) {
    expect(actual === 0).toBe(true);
    return;
  }
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(TWO_ULP * Math.abs(expected));
}

const small = fc.double({ min: -1e-5, max: 1e-5, noNaN: true });

describe("expm1Small", () => {
  it("equals Math.expm1 to 2 ulp for |x| ≤ 1e-5 (property)", () => {
    fc.assert(
      fc.property(small, (x) => expectNear(expm1Small(x), Math.expm1(x))),
      { numRuns: 2000 },
    );
  });

  it("equals Math.expm1 at the edges of the series and for tiny arguments", () => {
    for (const x of [1e-5, -1e-5, 9.99999e-6, -9.99999e-6, 1e-10, -3e-200, 5e-324, 0]) {
      expectNear(expm1Small(x), Math.expm1(x));
    }
    expect(Object.is(expm1Small(-0), -0)).toBe(true);
  });

  it("is Math.expm1 itself outside the series range (property)", () => {
    const outside = fc.oneof(fc.double({ min: 1.0000001e-5, max: 700, noNaN: true }), fc.double({ min: -700, max: -1.0000001e-5, noNaN: true }));
    fc.assert(
      fc.property(outside, (x) => {
        expect(expm1Small(x)).toBe(Math.expm1(x));
      }),
      { numRuns: 500 },
    );
  });
});

describe("log1pSmall", () => {
  it("equals Math.log1p to 2 ulp for |x| ≤ 1e-5 (property)", () => {
    fc.assert(
      fc.property(small, (x) => expectNear(log1pSmall(x), Math.log1p(x))),
      { numRuns: 2000 },
    );
  });

  it("equals Math.log1p at the edges of the series and for tiny arguments", () => {
    for (const x of [1e-5, -1e-5, 9.99999e-6, -9.99999e-6, 1e-10, -3e-200, 5e-324, 0]) {
      expectNear(log1pSmall(x), Math.log1p(x));
    }
  });

  it("is Math.log1p itself outside the series range (property)", () => {
    const outside = fc.oneof(fc.double({ min: 1.0000001e-5, max: 1e300, noNaN: true }), fc.double({ min: -0.999999, max: -1.0000001e-5, noNaN: true }));
    fc.assert(
      fc.property(outside, (x) => {
        expect(log1pSmall(x)).toBe(Math.log1p(x));
      }),
      { numRuns: 500 },
    );
  });

  it("inverts expm1Small over small arguments (property)", () => {
    fc.assert(
      fc.property(small, (x) => expectNear(log1pSmall(expm1Small(x)), x)),
      { numRuns: 500 },
    );
  });
});
