import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { UNIT_ROUNDOFF } from "./precision.js";
import { THRESHOLDS, gradientNoiseFloor, verdictOf, worstVerdict, type Thresholds, type Verdict } from "./verdict.js";

function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

describe("verdictOf", () => {
  it("passes at or below pass, warns up to and at warn, fails above", () => {
    for (const thresholds of Object.values(THRESHOLDS)) {
      expect(verdictOf(0, thresholds)).toBe("pass");
      expect(verdictOf(thresholds.pass, thresholds)).toBe("pass");
      expect(verdictOf(nextUp(thresholds.pass), thresholds)).toBe("warn");
      expect(verdictOf(thresholds.warn, thresholds)).toBe("warn");
      expect(verdictOf(nextUp(thresholds.warn), thresholds)).toBe("fail");
      expect(verdictOf(1, thresholds)).toBe("fail");
      expect(verdictOf(Infinity, thresholds)).toBe("fail");
    }
  });

  it("fails NaN", () => {
    expect(verdictOf(Number.NaN, THRESHOLDS.F64)).toBe("fail");
    expect(verdictOf(Number.NaN, { pass: Infinity, warn: Infinity })).toBe("fail");
  });

  it("agrees with the threshold comparison for any value (property)", () => {
    const thresholds: Thresholds = { pass: 1e-7, warn: 1e-4 };
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (value) => {
        const expected: Verdict = value <= 1e-7 ? "pass" : value <= 1e-4 ? "warn" : "fail";
        expect(verdictOf(value, thresholds)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("thresholds loosen as the precision drops", () => {
    const order = [THRESHOLDS.F64, THRESHOLDS.F32, THRESHOLDS.F16, THRESHOLDS.BF16];
    for (let k = 0; k < order.length; k++) {
      expect(order[k].pass).toBeLessThan(order[k].warn);
      if (k > 0) {
        expect(order[k].pass).toBeGreaterThan(order[k - 1].pass);
        expect(order[k].warn).toBeGreaterThan(order[k - 1].warn);
      }
    }
  });
});

describe("worstVerdict", () => {
  it("orders fail > warn > pass and is pass for none", () => {
    expect(worstVerdict([])).toBe("pass");
    expect(worstVerdict(["pass", "pass"])).toBe("pass");
    expect(worstVerdict(["pass", "warn", "pass"])).toBe("warn");
    expect(worstVerdict(["warn", "fail", "pass"])).toBe("fail");
    expect(worstVerdict(["fail", "warn"])).toBe("fail");
    expect(worstVerdict(new Set<Verdict>(["warn"]))).toBe("warn");
  });

  it("equals the maximum severity of any list (property)", () => {
    const verdicts: Verdict[] = ["pass", "warn", "fail"];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...verdicts)), (list) => {
        const expected = verdicts[Math.max(0, ...list.map((v) => verdicts.indexOf(v)))];
        expect(worstVerdict(list)).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe("gradientNoiseFloor", () => {
  it("is 10·u·max(1, |J|)/pass for each precision", () => {
    expect(gradientNoiseFloor("F64", 0.5)).toBe((10 * UNIT_ROUNDOFF.F64) / THRESHOLDS.F64.pass);
    expect(gradientNoiseFloor("F64", -0.01)).toBe(gradientNoiseFloor("F64", 1));
    expect(gradientNoiseFloor("F32", -10)).toBeCloseTo(((10 * 2 ** -24) / 1e-4) * 10, 15);
    expect(gradientNoiseFloor("BF16", 200)).toBeCloseTo(((10 * 2 ** -8) / 3e-2) * 200, 12);
  });

  it("grows as the precision drops and with |J| (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (cost) => {
        const floors = (["F64", "F32", "F16", "BF16"] as const).map((p) => gradientNoiseFloor(p, cost));
        for (let k = 1; k < floors.length; k++) expect(floors[k]).toBeGreaterThan(floors[k - 1]);
        expect(gradientNoiseFloor("F64", cost * 2)).toBeGreaterThanOrEqual(gradientNoiseFloor("F64", cost));
        // A gradient at the floor, known to 10·u·max(1, |J|), sits exactly at the pass threshold.
        const g = gradientNoiseFloor("F32", cost);
        expect((10 * UNIT_ROUNDOFF.F32 * Math.max(1, Math.abs(cost))) / g).toBeCloseTo(THRESHOLDS.F32.pass, 15);
      }),
      { numRuns: 100 },
    );
  });
});
