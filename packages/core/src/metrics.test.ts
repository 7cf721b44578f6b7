import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createLayout, type Layout } from "./layout.js";
import {
  COORDINATE_FLOOR_FRACTION,
  CoordinateStatus,
  compareGradients,
  relativeDifference,
  ScreenOutcome,
  screenWeights,
  type CompareOptions,
} from "./metrics.js";
import { THRESHOLDS, gradientNoiseFloor } from "./verdict.js";

// Magnitudes stay within [1e-100, 1e3] (or 0): relativeDifference squares the entries, and
// below ~1e-162 the squares underflow (see the report: that case is a known limitation).
const finite = fc.double({ min: -1e3, max: 1e3, noNaN: true }).map((v) => (Math.abs(v) < 1e-100 ? 0 : v));
const vectorPair = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.tuple(
    fc.array(finite, { minLength: n, maxLength: n }),
    fc.array(finite, { minLength: n, maxLength: n }),
  ),
);

/** Straightforward ‖n − a‖/(‖n‖ + ‖a‖) over a list of indices. */
function reference(numeric: ArrayLike<number>, analytic: ArrayLike<number>, indices: number[]): number {
  const norm = (values: number[]) => Math.hypot(...values);
  const d = norm(indices.map((i) => numeric[i] - analytic[i]));
  const s = norm(indices.map((i) => numeric[i])) + norm(indices.map((i) => analytic[i]));
  return s === 0 ? 0 : d / s;
}

describe("relativeDifference", () => {
  it("is 0 for two zero vectors, for identical vectors and for empty ranges", () => {
    expect(relativeDifference([0, 0, 0], [0, 0, 0])).toBe(0);
    expect(relativeDifference([], [])).toBe(0);
    expect(relativeDifference([1, -2, 3e-7], [1, -2, 3e-7])).toBe(0);
    expect(relativeDifference([1, 2], [3, 4], () => true, 1, 1)).toBe(0);
  });

  it("is 1 when a = −n and when one side is zero", () => {
    expect(relativeDifference([1, -2, 3], [-1, 2, -3])).toBeCloseTo(1, 15);
    expect(relativeDifference([0, 0], [0.5, 7])).toBe(1);
    expect(relativeDifference([0.5, 7], [0, 0])).toBe(1);
  });

  it("matches a hand computation", () => {
    // ‖(0, 1)‖ / (‖(3, 4)‖ + ‖(3, 3)‖) = 1 / (5 + 3√2)
    expect(relativeDifference([3, 4], [3, 3])).toBeCloseTo(1 / (5 + 3 * Math.SQRT2), 15);
  });

  it("is symmetric and lies in [0, 1] (property)", () => {
    fc.assert(
      fc.property(vectorPair, ([n, a]) => {
        const forward = relativeDifference(n, a);
        expect(forward).toBe(relativeDifference(a, n));
        expect(forward).toBeGreaterThanOrEqual(0);
        expect(forward).toBeLessThanOrEqual(1 + 1e-15);
        expect(forward).toBeCloseTo(reference(n, a, n.map((_, i) => i)), 12);
      }),
      { numRuns: 200 },
    );
  });

  it("is invariant under a common scale (property)", () => {
    fc.assert(
      fc.property(vectorPair, fc.double({ min: 1e-40, max: 1e40, noNaN: true }), fc.boolean(), ([n, a], c, negate) => {
        const scale = negate ? -c : c;
        const base = relativeDifference(n, a);
        const scaled = relativeDifference(
          n.map((v) => v * scale),
          a.map((v) => v * scale),
        );
        // Scaling rounds each entry: n·c − a·c differs from (n − a)·c by ~ε·(|n| + |a|)·|c|.
        expect(Math.abs(scaled - base)).toBeLessThanOrEqual(1e-12 * base + 1e-15);
      }),
      { numRuns: 200 },
    );
  });

  it("is exactly invariant under powers of two (property)", () => {
    fc.assert(
      fc.property(vectorPair, fc.integer({ min: -100, max: 100 }), ([n, a], k) => {
        const scale = 2 ** k;
        expect(
          relativeDifference(
            n.map((v) => v * scale),
            a.map((v) => v * scale),
          ),
        ).toBe(relativeDifference(n, a));
      }),
      { numRuns: 100 },
    );
  });

  it("only counts coordinates that the filter accepts and that lie in [start, end) (property)", () => {
    fc.assert(
      fc.property(
        vectorPair.chain(([n, a]) =>
          fc.tuple(
            fc.constant(n),
            fc.constant(a),
            fc.array(fc.boolean(), { minLength: n.length, maxLength: n.length }),
            fc.integer({ min: 0, max: n.length }),
            fc.integer({ min: 0, max: n.length }),
          ),
        ),
        ([n, a, keep, s, e]) => {
          const start = Math.min(s, e);
          const end = Math.max(s, e);
          const indices = n.map((_, i) => i).filter((i) => keep[i] && i >= start && i < end);
          const result = relativeDifference(n, a, (i) => keep[i], start, end);
          expect(result).toBeCloseTo(reference(n, a, indices), 12);
          // Whatever lies outside the selection cannot change the result.
          const n2 = n.map((v, i) => (indices.includes(i) ? v : v + 1e6));
          const a2 = a.map((v, i) => (indices.includes(i) ? v : -1e6));
          expect(relativeDifference(n2, a2, (i) => keep[i], start, end)).toBe(result);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("puts √k·noiseFloor under the denominator, k = the coordinates counted", () => {
    // Two coordinates, both ~1e-20 and disagreeing completely: noise far below a floor of 1e-10.
    const n = [1e-20, 0];
    const a = [0, 1e-20];
    expect(relativeDifference(n, a)).toBeCloseTo(Math.SQRT1_2, 15);
    expect(relativeDifference(n, a, () => true, 0, 2, 1e-10)).toBeCloseTo(1e-10, 24);
    // Only the included coordinates count towards k.
    expect(relativeDifference([1e-20, 5, 0], [0, 5, 1e-20], (i) => i !== 1, 0, 3, 1e-10)).toBeCloseTo(1e-10, 24);
    // Above the floor nothing changes.
    expect(relativeDifference([3, 4], [3, 3], () => true, 0, 2, 1e-10)).toBe(relativeDifference([3, 4], [3, 3]));
    expect(relativeDifference([0, 0], [0, 0], () => true, 0, 2, 1e-10)).toBe(0);
  });

  it("defaults: start 0, end = numeric.length", () => {
    expect(relativeDifference([1, 1], [1, 1, 5])).toBe(0);
    expect(relativeDifference([1, 2, 3], [1, 2, 0], () => true, 2)).toBe(1);
    expect(relativeDifference([1, 2, 3], [1, 0, 0], (i) => i !== 1, 0, 2)).toBe(0);
  });
});

const options: CompareOptions = { thresholds: THRESHOLDS.F64, top: 3 };

function smallLayout(): Layout {
  return createLayout([
    { name: "W1", shape: [2, 3] },
    { name: "b1", shape: [2] },
    { name: "W2", shape: [1, 2] },
  ]);
}

/** A smooth-looking gradient and an exact copy of it. */
function exactPair(total: number): { numeric: Float64Array; analytic: Float64Array; status: Uint8Array } {
  const numeric = Float64Array.from({ length: total }, (_, i) => Math.sin(i + 1) * (1 + i / 3));
  return { numeric, analytic: numeric.slice(), status: new Uint8Array(total).fill(CoordinateStatus.checked) };
}

describe("compareGradients", () => {
  it("passes identical gradients, with per-tensor counts and shapes", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    const result = compareGradients(layout, numeric, analytic, status, options);
    expect(result.relativeDifference).toBe(0);
    expect(result.verdict).toBe("pass");
    expect(result.checked).toBe(10);
    expect(result.kinks).toBe(0);
    expect(result.tensors.map((t) => [t.name, t.shape, t.size, t.checked, t.verdict, t.maxAbsError])).toEqual([
      ["W1", [2, 3], 6, 6, "pass", 0],
      ["b1", [2], 2, 2, "pass", 0],
      ["W2", [1, 2], 2, 2, "pass", 0],
    ]);
  });

  it("gives each tensor its own verdict and the overall verdict is the worst", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    analytic[6] *= 1 + 1e-5; // b1: relative difference ~1e-5/2 → warn
    analytic[8] = -analytic[8]; // W2: a flipped sign → fail
    const result = compareGradients(layout, numeric, analytic, status, options);
    expect(result.tensors.map((t) => t.verdict)).toEqual(["pass", "warn", "fail"]);
    expect(result.verdict).toBe("fail");
    const b1 = result.tensors[1];
    expect(b1.relativeDifference).toBeCloseTo(relativeDifference(numeric, analytic, () => true, 6, 8), 15);
    expect(b1.maxAbsError).toBe(Math.abs(analytic[6] - numeric[6]));
    expect(b1.maxAbsError).toBeCloseTo(Math.abs(numeric[6]) * 1e-5, 13);
    expect(result.relativeDifference).toBeCloseTo(relativeDifference(numeric, analytic), 15);

    // Only b1 wrong: the overall difference is diluted but the tensor still warns.
    const onlyB1 = numeric.slice();
    onlyB1[6] *= 1 + 1e-5;
    const diluted = compareGradients(layout, numeric, onlyB1, status, options);
    expect(diluted.tensors.map((t) => t.verdict)).toEqual(["pass", "warn", "pass"]);
    expect(diluted.verdict).toBe("warn");
  });

  it("fails overall when one small tensor fails, even though the overall difference passes", () => {
    const layout = createLayout([
      { name: "big", shape: [4] },
      { name: "small", shape: [2] },
    ]);
    const numeric = Float64Array.of(1e3, -2e3, 1.5e3, 3e3, 1e-4, -2e-4);
    const analytic = numeric.slice();
    analytic[4] *= 1.5; // small: relative difference ~0.2
    const status = new Uint8Array(6).fill(CoordinateStatus.checked);
    const result = compareGradients(layout, numeric, analytic, status, options);
    expect(result.relativeDifference).toBeLessThan(THRESHOLDS.F64.pass);
    expect(result.tensors.map((t) => t.verdict)).toEqual(["pass", "fail"]);
    expect(result.verdict).toBe("fail");
  });

  it("with a noise floor, gradients that are zero up to rounding are not reported as wrong", () => {
    const layout = createLayout([
      { name: "W", shape: [3] },
      { name: "b", shape: [2] },
    ]);
    // b is ~0 on both sides, with disagreeing rounding noise; W is right.
    const numeric = Float64Array.of(0.5, -1, 2, 3e-17, -1e-17);
    const analytic = Float64Array.of(0.5, -1, 2, -2e-17, 0);
    const status = new Uint8Array(5).fill(CoordinateStatus.checked);
    const without = compareGradients(layout, numeric, analytic, status, options);
    expect(without.tensors[1].verdict).toBe("fail");
    const floor = gradientNoiseFloor("F64", 0.7); // ≈ 1.1e-9
    const withFloor = compareGradients(layout, numeric, analytic, status, { ...options, noiseFloor: floor });
    expect(withFloor.tensors.map((t) => t.verdict)).toEqual(["pass", "pass"]);
    expect(withFloor.verdict).toBe("pass");
    expect(withFloor.tensors[1].relativeDifference).toBeCloseTo(Math.hypot(5e-17, 1e-17) / (Math.SQRT2 * floor), 15);
    expect(withFloor.tensors[1].relativeDifference).toBe(relativeDifference(numeric, analytic, () => true, 3, 5, floor));
    // The per-coordinate floor is the larger of 1e-6·max(|n| + |a|) and the noise floor.
    const worst = withFloor.tensors[1].worst[0];
    expect(worst.flatIndex).toBe(3);
    expect(worst.relativeError).toBe(5e-17 / (COORDINATE_FLOOR_FRACTION * 4));
    const coarse = compareGradients(layout, numeric, analytic, status, { ...options, noiseFloor: 1e-3 });
    expect(coarse.tensors[1].worst[0].relativeError).toBe(5e-17 / 1e-3);
  });

  it("with a noise floor, a cost that is constant up to rounding passes overall", () => {
    const layout = createLayout([{ name: "W", shape: [2] }]);
    const numeric = Float64Array.of(3e-17, -1e-17);
    const analytic = Float64Array.of(-2e-17, 0);
    const status = new Uint8Array(2).fill(CoordinateStatus.checked);
    expect(compareGradients(layout, numeric, analytic, status, options).verdict).toBe("fail");
    const floor = gradientNoiseFloor("F64", 1);
    const result = compareGradients(layout, numeric, analytic, status, { ...options, noiseFloor: floor });
    expect(result.relativeDifference).toBe(relativeDifference(numeric, analytic, () => true, 0, 2, floor));
    expect(result.relativeDifference).toBeLessThan(THRESHOLDS.F64.pass);
    expect(result.verdict).toBe("pass");
  });

  it("leaves kinks and unchecked coordinates out of every figure", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    status[1] = CoordinateStatus.kink;
    status[4] = CoordinateStatus.unchecked;
    status[9] = CoordinateStatus.kink;
    for (const i of [1, 4, 9]) {
      numeric[i] = 1e6;
      analytic[i] = -3;
    }
    const result = compareGradients(layout, numeric, analytic, status, options);
    expect(result.relativeDifference).toBe(0);
    expect(result.verdict).toBe("pass");
    expect(result.checked).toBe(7);
    expect(result.kinks).toBe(2);
    expect(result.tensors.map((t) => [t.checked, t.kinks, t.maxAbsError, t.relativeDifference, t.verdict])).toEqual([
      [4, 1, 0, 0, "pass"],
      [2, 0, 0, 0, "pass"],
      [1, 1, 0, 0, "pass"],
    ]);
    for (const tensor of result.tensors) {
      for (const worst of tensor.worst) expect([1, 4, 9]).not.toContain(worst.flatIndex);
    }
  });

  it("a tensor with nothing checked passes and has no worst coordinates", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    analytic[8] = 5;
    status[8] = CoordinateStatus.kink;
    status[9] = CoordinateStatus.unchecked;
    const result = compareGradients(layout, numeric, analytic, status, options);
    const w2 = result.tensors[2];
    expect([w2.checked, w2.kinks, w2.verdict, w2.worst, w2.relativeDifference]).toEqual([0, 1, "pass", [], 0]);
    expect(result.verdict).toBe("pass");
  });

  it("ranks a single injected large error first, with its multi-index", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    for (let i = 0; i < layout.total; i++) analytic[i] *= 1 + 1e-9 * (i + 1); // background noise
    analytic[5] += 0.3; // W1[1,2]
    const result = compareGradients(layout, numeric, analytic, status, options);
    const w1 = result.tensors[0];
    expect(w1.worst).toHaveLength(3);
    expect(w1.worst[0]).toMatchObject({ flatIndex: 5, index: [1, 2], numeric: numeric[5], analytic: analytic[5] });
    const absError = Math.abs(numeric[5] - analytic[5]);
    expect(absError).toBeGreaterThan(0.29);
    expect(w1.worst[0].absError).toBe(absError);
    expect(w1.worst[0].relativeError).toBe(absError / (Math.abs(numeric[5]) + Math.abs(analytic[5])));
    expect(w1.maxAbsError).toBe(w1.worst[0].absError);
    for (let k = 1; k < w1.worst.length; k++) {
      expect(w1.worst[k].relativeError).toBeLessThanOrEqual(w1.worst[k - 1].relativeError);
    }
  });

  it("keeps the top worst coordinates in order, as a brute-force sort would (property)", () => {
    const layout = createLayout([
      { name: "A", shape: [3, 4] },
      { name: "B", shape: [5] },
    ]);
    const total = layout.total;
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: total, maxLength: total }),
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: total, maxLength: total }),
        fc.array(fc.constantFrom(0, 1, 1, 1, 2), { minLength: total, maxLength: total }),
        fc.integer({ min: 0, max: 20 }),
        (n, a, s, top) => {
          // Reuse a few values so that ties occur.
          const numeric = Float64Array.from(n, (v, i) => (i % 5 === 0 ? 1 : v));
          const analytic = Float64Array.from(a, (v, i) => (i % 5 === 0 ? 2 : v));
          const status = Uint8Array.from(s);
          const result = compareGradients(layout, numeric, analytic, status, { thresholds: THRESHOLDS.F64, top });
          let largest = 0;
          for (let i = 0; i < total; i++) {
            if (status[i] === 1) largest = Math.max(largest, Math.abs(numeric[i]) + Math.abs(analytic[i]));
          }
          const floor = Math.max(1e-300, COORDINATE_FLOOR_FRACTION * largest);
          layout.tensors.forEach((slot, t) => {
            const expected: { flatIndex: number; absError: number; relativeError: number }[] = [];
            for (let i = slot.offset; i < slot.offset + slot.size; i++) {
              if (status[i] !== 1) continue;
              const absError = Math.abs(numeric[i] - analytic[i]);
              expected.push({
                flatIndex: i,
                absError,
                relativeError: absError / Math.max(Math.abs(numeric[i]) + Math.abs(analytic[i]), floor),
              });
            }
            expected.sort((x, y) => y.relativeError - x.relativeError || y.absError - x.absError || x.flatIndex - y.flatIndex);
            const worst = result.tensors[t].worst;
            expect(worst.map((w) => w.flatIndex)).toEqual(expected.slice(0, top).map((e) => e.flatIndex));
            worst.forEach((w, k) => {
              expect(w.relativeError).toBe(expected[k].relativeError);
              expect(w.absError).toBe(expected[k].absError);
              expect(w.index).toEqual(
                slot.shape.length === 2
                  ? [Math.floor((w.flatIndex - slot.offset) / 4), (w.flatIndex - slot.offset) % 4]
                  : [w.flatIndex - slot.offset],
              );
            });
          });
          // Changing the values of coordinates that are not checked changes nothing.
          const n2 = numeric.map((v, i) => (status[i] === 1 ? v : 123));
          const again = compareGradients(layout, n2, analytic, status, { thresholds: THRESHOLDS.F64, top });
          expect(again).toEqual(result);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("does not let a tiny gradient with tiny noise outrank a real error (floor)", () => {
    const layout = createLayout([{ name: "W", shape: [4] }]);
    const numeric = Float64Array.of(1, 1e-12, -0.5, 2);
    const analytic = Float64Array.of(1, 1.1e-12, -0.5, 2 * (1 + 1e-3));
    const status = new Uint8Array(4).fill(CoordinateStatus.checked);
    const result = compareGradients(layout, numeric, analytic, status, options);
    const worst = result.tensors[0].worst;
    expect(worst[0].flatIndex).toBe(3);
    // Without the floor the noise would read as a 5% error; with it, it is ~1e-8.
    const noise = worst.find((w) => w.flatIndex === 1)!;
    const floor = COORDINATE_FLOOR_FRACTION * (2 + 2 * (1 + 1e-3));
    expect(noise.relativeError).toBeCloseTo(1e-13 / floor, 20);
    expect(noise.relativeError).toBeLessThan(1e-6);
  });

  it("the floor uses only checked coordinates", () => {
    const layout = createLayout([{ name: "W", shape: [3] }]);
    const numeric = Float64Array.of(1e-12, 1e9, 3e-12);
    const analytic = Float64Array.of(2e-12, -1e9, 3e-12);
    const status = Uint8Array.of(CoordinateStatus.checked, CoordinateStatus.kink, CoordinateStatus.checked);
    const worst = compareGradients(layout, numeric, analytic, status, options).tensors[0].worst;
    // The largest checked |n| + |a| is 3e-12·2, so the floor (6e-18) does not mask the 1e-12 error.
    expect(worst[0].flatIndex).toBe(0);
    expect(worst[0].relativeError).toBeCloseTo(1 / 3, 12);
  });

  it("keeps no worst coordinates when top = 0, and at most top otherwise", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    analytic.forEach((_, i) => (analytic[i] += 0.01 * i));
    const none = compareGradients(layout, numeric, analytic, status, { thresholds: THRESHOLDS.F64, top: 0 });
    expect(none.tensors.every((t) => t.worst.length === 0)).toBe(true);
    expect(none.verdict).toBe("fail");
    const one = compareGradients(layout, numeric, analytic, status, { thresholds: THRESHOLDS.F64, top: 1 });
    expect(one.tensors.map((t) => t.worst.length)).toEqual([1, 1, 1]);
    const many = compareGradients(layout, numeric, analytic, status, { thresholds: THRESHOLDS.F64, top: 100 });
    expect(many.tensors.map((t) => t.worst.length)).toEqual([6, 2, 2]);
  });

  it("fails on NaN in a checked coordinate", () => {
    const layout = smallLayout();
    const { numeric, analytic, status } = exactPair(layout.total);
    analytic[7] = Number.NaN;
    const result = compareGradients(layout, numeric, analytic, status, options);
    expect(result.tensors[1].verdict).toBe("fail");
    expect(result.verdict).toBe("fail");
  });

  it("gives overall and per-tensor differences equal to relativeDifference over their checked coordinates (property)", () => {
    // Tensors of very different scales: the overall sums are the tensors' sums, rescaled.
    const scales = fc.constantFrom(1e-80, 1e-6, 1, 1e6, 1e80);
    const tensor = fc.integer({ min: 1, max: 9 }).chain((size) =>
      fc.tuple(scales, fc.array(fc.tuple(finite, finite, fc.constantFrom(0, 1, 1, 1, 2)), { minLength: size, maxLength: size })),
    );
    fc.assert(
      fc.property(fc.array(tensor, { minLength: 1, maxLength: 4 }), (tensors) => {
        const layout = createLayout(tensors.map(([, values], index) => ({ name: `T${index}`, shape: [values.length] })));
        const entries = tensors.flatMap(([scale, values]) => values.map(([n, a, flag]) => [n * scale, a * scale, flag] as const));
        const numeric = Float64Array.from(entries, ([n]) => n);
        const analytic = Float64Array.from(entries, ([, a]) => a);
        const status = Uint8Array.from(entries, ([, , flag]) => flag);
        const result = compareGradients(layout, numeric, analytic, status, { ...options, noiseFloor: 0 });
        const checked = (i: number) => status[i] === CoordinateStatus.checked;
        const close = (a: number, b: number) => Math.abs(a - b) <= 1e-13 * Math.max(Math.abs(a), Math.abs(b), 1e-300);
        expect(close(result.relativeDifference, relativeDifference(numeric, analytic, checked))).toBe(true);
        layout.tensors.forEach((slot, index) => {
          const own = relativeDifference(numeric, analytic, checked, slot.offset, slot.offset + slot.size);
          expect(close(result.tensors[index].relativeDifference, own)).toBe(true);
        });
      }),
    );
  });
});

describe("relativeDifference far from 1", () => {
  it("does not underflow for tiny gradients", () => {
    expect(relativeDifference([1e-170], [-1e-170])).toBe(1);
    expect(relativeDifference([1e-200, 2e-200], [1e-200, 2e-200])).toBe(0);
  });

  it("does not overflow for huge gradients", () => {
    expect(relativeDifference([1e160], [1.00001e160])).toBeCloseTo(0.00001 / 2.00001, 12);
  });
});

describe("after a float32 screen", () => {
  const layout = createLayout([{ name: "W", shape: [8] }]);
  const status = new Uint8Array(8).fill(CoordinateStatus.checked);
  const { passed, flagged, sampled } = ScreenOutcome;
  // 0–3 passed unconfirmed, 4–5 sampled from the passes, 6 flagged, 7 a kink.
  const screen = Uint8Array.of(passed, passed, passed, passed, sampled, sampled, flagged, passed);
  status[7] = CoordinateStatus.kink;

  it("weighs each sampled coordinate for all the passes, the unconfirmed ones 0, the rest once", () => {
    expect([...screenWeights(layout, status, screen)]).toEqual([0, 0, 0, 0, 3, 3, 1, 0]);
  });

  it("estimates ‖n − a‖ from the sample and keeps float32 values out of the worst list", () => {
    const analytic = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const numeric = analytic.slice();
    numeric[4] += 1e-6; // a float64 sample error
    numeric[6] += 1e-3; // the flagged one
    numeric[0] += 5e-5; // a float32 value that passed the screen: not a float64 error
    const result = compareGradients(layout, numeric, analytic, status, { thresholds: THRESHOLDS.F64, top: 8, screen });
    const norms = Math.hypot(...numeric.slice(0, 7)) + Math.hypot(...analytic.slice(0, 7));
    expect(result.relativeDifference).toBeCloseTo(Math.sqrt(3 * 1e-12 + 1e-6) / norms, 15);
    expect(result.tensors[0].checked).toBe(7);
    expect(result.tensors[0].worst.map((c) => c.flatIndex)).toEqual([6, 4, 5]);
    expect(result.tensors[0].maxAbsError).toBeCloseTo(1e-3, 12);
  });
});
