import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { sigmoid } from "./activations.js";
import { evaluateSeries, headFor, type Head, SERIES_REACH, SERIES_STRIDE } from "./heads.js";
import { parseModelSpec } from "./spec.js";

const headOf = (activation: string, loss: string): Head =>
  headFor(parseModelSpec({ name: "h", inputSize: 1, layers: [{ units: 3, activation }], loss }));

const softmaxHead = headOf("softmax", "cross-entropy");
const sigmoidHead = headOf("sigmoid", "cross-entropy");
const mseHead = headOf("linear", "mse");

/** Textbook per-example losses, written the naive way. */
function softmaxCrossEntropy(z: number[], y: number[]): number {
  const e = z.map(Math.exp);
  const total = e.reduce((s, v) => s + v, 0);
  return -y.reduce((s, yk, k) => s + yk * Math.log(e[k] / total), 0);
}
function sigmoidCrossEntropy(z: number[], y: number[]): number {
  return -z.reduce((s, zk, k) => {
    const p = 1 / (1 + Math.exp(-zk));
    return s + y[k] * Math.log(p) + (1 - y[k]) * Math.log(1 - p);
  }, 0);
}
function meanSquaredError(z: number[], y: number[]): number {
  return z.reduce((s, zk, k) => s + (zk - y[k]) ** 2, 0) / z.length;
}

const TEXTBOOK: [string, Head, (z: number[], y: number[]) => number][] = [
  ["softmax + cross-entropy", softmaxHead, softmaxCrossEntropy],
  ["sigmoid + cross-entropy", sigmoidHead, sigmoidCrossEntropy],
  ["linear + mse", mseHead, meanSquaredError],
];

/** Targets that suit each head: one-hot or soft labels, 0/1 or probabilities, any reals. */
function targetsFor(head: Head, n: number): fc.Arbitrary<number[]> {
  if (head === softmaxHead) {
    return fc.oneof(
      fc.integer({ min: 0, max: n - 1 }).map((k) => Array.from({ length: n }, (_, j) => (j === k ? 1 : 0))),
      fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((w) => {
        const total = w.reduce((s, v) => s + v, 0);
        return w.map((v) => v / total);
      }),
      // Weights that do not sum to 1: the loss is still −Σ y log p, with gradient (Σy)·p − y.
      fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: n, maxLength: n }),
    );
  }
  if (head === sigmoidHead) return fc.array(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: n, maxLength: n });
  return fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n });
}

const rowCase = (head: Head) =>
  fc.integer({ min: 1, max: 4 }).chain((n) =>
    fc.record({
      z: fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: n, maxLength: n }),
      y: targetsFor(head, n),
      dz: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }),
      unit: fc.integer({ min: 0, max: n - 1 }),
    }),
  );

describe.each(TEXTBOOK)("%s head", (_label, head, textbook) => {
  it("loss matches the textbook formula on hand-made rows, at any row offset", () => {
    const rows = [
      { z: [1, 2, 0.5], y: head === mseHead ? [0.5, 3, -1] : [0, 1, 0] },
      { z: [-0.3, 0.7, 0.2], y: head === mseHead ? [0, 0, 0] : head === softmaxHead ? [0.2, 0.5, 0.3] : [1, 0, 1] },
    ];
    const z = Float64Array.from(rows.flatMap((r) => r.z));
    const y = Float64Array.from(rows.flatMap((r) => r.y));
    rows.forEach((row, i) => {
      expect(head.loss(z, y, 3 * i, 3)).toBeCloseTo(textbook(row.z, row.y), 13);
    });
  });

  it("loss matches the textbook formula on random rows (property)", () => {
    fc.assert(
      fc.property(rowCase(head), ({ z, y }) => {
        const expected = textbook(z, y);
        expect(Math.abs(head.loss(Float64Array.from(z), Float64Array.from(y), 0, z.length) - expected)).toBeLessThanOrEqual(
          1e-12 * Math.max(1, Math.abs(expected)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("lossGradient is the derivative of loss (property)", () => {
    fc.assert(
      fc.property(rowCase(head), ({ z, y }) => {
        const n = z.length;
        const zs = Float64Array.from(z);
        const ys = Float64Array.from(y);
        const out = new Float64Array(n);
        head.lossGradient(zs, ys, 0, n, out);
        const h = 1e-5;
        for (let k = 0; k < n; k++) {
          const plus = zs.slice();
          const minus = zs.slice();
          plus[k] += h;
          minus[k] -= h;
          const numeric = (head.loss(plus, ys, 0, n) - head.loss(minus, ys, 0, n)) / (plus[k] - minus[k]);
          expect(Math.abs(out[k] - numeric)).toBeLessThan(1e-8);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("lossDelta and unitLossDelta equal loss(z + dz) − loss(z) (property)", () => {
    fc.assert(
      fc.property(rowCase(head), fc.double({ min: -2, max: 2, noNaN: true }), ({ z, y, dz, unit }, d) => {
        const n = z.length;
        // Two rows, so that offsets matter: the row under test is the second one.
        const zs = Float64Array.from([...z.map((v) => v + 1), ...z]);
        const ys = Float64Array.from([...y, ...y]);
        const cache = head.cache(zs, ys, 2, n);
        const moved = zs.slice(n).map((v, k) => v + dz[k]);
        const expected = head.loss(moved, ys.subarray(n), 0, n) - head.loss(zs, ys, n, n);
        const delta = head.lossDelta(cache, ys, n, n, Float64Array.from(dz));
        expect(Math.abs(delta - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));

        const unitDz = new Float64Array(n);
        unitDz[unit] = d;
        const unitMoved = zs.slice(n);
        unitMoved[unit] += d;
        const unitExpected = head.loss(unitMoved, ys.subarray(n), 0, n) - head.loss(zs, ys, n, n);
        const unitDelta = head.unitLossDelta(cache, ys, n, n, unit, d);
        expect(Math.abs(unitDelta - unitExpected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(unitExpected)));
        expect(Math.abs(unitDelta - head.lossDelta(cache, ys, n, n, unitDz))).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(unitDelta)));
      }),
      { numRuns: 200 },
    );
  });

  it("keeps full relative precision for tiny changes (property)", () => {
    fc.assert(
      fc.property(rowCase(head), fc.double({ min: 1e-12, max: 1e-9, noNaN: true }), ({ z, y, unit }, d) => {
        const n = z.length;
        const zs = Float64Array.from(z);
        const ys = Float64Array.from(y);
        const gradient = new Float64Array(n);
        head.lossGradient(zs, ys, 0, n, gradient);
        fc.pre(Math.abs(gradient[unit]) > 1e-3);
        const cache = head.cache(zs, ys, 1, n);
        // loss(z + d·e) − loss(z) = d·g + O(d²): the change itself must be accurate far beyond what a subtraction gives.
        const delta = head.unitLossDelta(cache, ys, 0, n, unit, d);
        expect(Math.abs(delta / d - gradient[unit])).toBeLessThanOrEqual(1e-8 * Math.abs(gradient[unit]) + 10 * d);
      }),
      { numRuns: 200 },
    );
  });
});

describe("head caches and stability", () => {
  it("softmax caches probabilities per row", () => {
    const z = Float64Array.of(0, Math.log(3), 1000, 1000);
    const p = softmaxHead.cache(z, new Float64Array(4), 2, 2);
    expect(p[0]).toBeCloseTo(0.25, 15);
    expect(p[1]).toBeCloseTo(0.75, 15);
    expect([p[2], p[3]]).toEqual([0.5, 0.5]);
  });

  it("sigmoid caches σ(z) and mse the residual", () => {
    const z = Float64Array.of(0, 2, -1);
    expect(Array.from(sigmoidHead.cache(z, new Float64Array(3), 1, 3))).toEqual([0.5, sigmoid(2), sigmoid(-1)]);
    expect(Array.from(mseHead.cache(z, Float64Array.of(1, 1, 1), 1, 3))).toEqual([-1, 1, -2]);
  });

  it("cross-entropy losses stay finite and accurate for huge logits", () => {
    // −log softmax: logits (1000, 0), target class 1 → 1000.
    expect(softmaxHead.loss(Float64Array.of(1000, 0), Float64Array.of(0, 1), 0, 2)).toBe(1000);
    expect(softmaxHead.loss(Float64Array.of(1000, 0), Float64Array.of(1, 0), 0, 2)).toBe(0);
    // −log σ(−800) = 800, −log(1 − σ(800)) = 800
    expect(sigmoidHead.loss(Float64Array.of(-800), Float64Array.of(1), 0, 1)).toBe(800);
    expect(sigmoidHead.loss(Float64Array.of(800), Float64Array.of(0), 0, 1)).toBe(800);
    // A confident right answer keeps its tiny loss to full relative precision: log1p(e^−z).
    for (const z of [14.886046025888065, 40]) {
      const confident = sigmoidHead.loss(Float64Array.of(z), Float64Array.of(1), 0, 1);
      expect(Math.abs(confident - Math.log1p(Math.exp(-z))) / Math.log1p(Math.exp(-z))).toBeLessThan(1e-15);
    }
  });

  it("the gradient of softmax cross-entropy is p − y (Σy = 1)", () => {
    const z = Float64Array.of(0.5, -1, 2);
    const y = Float64Array.of(0, 0, 1);
    const out = new Float64Array(3);
    softmaxHead.lossGradient(z, y, 0, 3, out);
    const p = softmaxHead.cache(z, y, 1, 3);
    expect(Array.from(out)).toEqual([p[0], p[1], p[2] - 1]);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 15);
  });
});

describe("softmax cross-entropy of a confident, correct prediction", () => {
  it("keeps the tiny loss to full relative precision", () => {
    const head = headFor(parseModelSpec({ name: "c", inputSize: 1, layers: [{ units: 3, activation: "softmax" }], loss: "cross-entropy" }));
    const z = Float64Array.of(30, 18, 12);
    const y = Float64Array.of(1, 0, 0);
    // −log softmax_0 = log(1 + e^−12 + e^−18), evaluated without cancellation.
    const exact = Math.log1p(Math.exp(-12) + Math.exp(-18));
    expect(Math.abs(head.loss(z, y, 0, 3) - exact) / exact).toBeLessThan(1e-15);
  });
});

describe("lossDeltaPair", () => {
  it.each([
    ["softmax", { name: "s", inputSize: 1, layers: [{ units: 4, activation: "softmax" }], loss: "cross-entropy" }],
    ["sigmoid", { name: "g", inputSize: 1, layers: [{ units: 4, activation: "sigmoid" }], loss: "cross-entropy" }],
    ["mse", { name: "m", inputSize: 1, layers: [{ units: 4, activation: "linear" }], loss: "mse" }],
  ])("%s: equals two lossDelta calls, bit for bit", (_, spec) => {
    const head = headFor(parseModelSpec(spec));
    const z = Float64Array.of(0.3, -1.2, 2.5, 0.1, -0.4, 0.9, 1.1, -2.0);
    const y = Float64Array.of(0, 1, 0, 0, 1, 0, 1, 0);
    const cache = head.cache(z, y, 2, 4);
    const first = Float64Array.of(1e-6, -2e-6, 3e-7, 0);
    const second = Float64Array.of(-1e-6, 2e-6, -3e-7, 0.25);
    const out = new Float64Array(2);
    head.lossDeltaPair(cache, y, 4, 4, first, second, out);
    expect([...out]).toEqual([head.lossDelta(cache, y, 4, 4, first), head.lossDelta(cache, y, 4, 4, second)]);
  });
});

describe("lossSeries", () => {
  const heads = [
    ["softmax", { name: "s", inputSize: 1, layers: [{ units: 5, activation: "softmax" }], loss: "cross-entropy" }],
    ["sigmoid", { name: "g", inputSize: 1, layers: [{ units: 5, activation: "sigmoid" }], loss: "cross-entropy" }],
    ["mse", { name: "m", inputSize: 1, layers: [{ units: 5, activation: "linear" }], loss: "mse" }],
  ] as const;

  it.each(heads)("%s: within its reach, the polynomial is the exact loss change to float64's rounding of it", (_, spec) => {
    const head = headFor(parseModelSpec(spec));
    // an ordinary row and a confident one (softmax near one-hot, sigmoid saturated)
    const z = Float64Array.of(0.3, -1.2, 2.5, 0.1, -0.4, 14, -9, 0.5, -12, 11);
    const y = Float64Array.of(0, 1, 0, 0, 0, 1, 0, 0, 0, 1);
    const cache = head.cache(z, y, 2, 5);
    const v = Float64Array.of(0.7, -1.9, 0.05, 2.4, -0.6);
    const series = new Float64Array(SERIES_STRIDE);
    for (const offset of [0, 5]) {
      head.lossSeries(cache, y, offset, 5, v, 0, series, 0);
      const scale = series[SERIES_STRIDE - 1];
      for (const fraction of [1, 0.1, 1e-3, 1e-6]) {
        for (const sign of [1, -1]) {
          const t = scale > 0 ? (sign * fraction * SERIES_REACH) / scale : sign * fraction;
          const exact = head.lossDelta(cache, y, offset, 5, v.map((value) => t * value));
          const polynomial = evaluateSeries(series, 0, t);
          // the size of the terms the exact formula rounds: |t|·Σ|v_k|·max(1, |cache_k|)
          const size = Math.abs(t) * v.reduce((sum, value, k) => sum + Math.abs(value) * Math.max(1, Math.abs(cache[offset + k])), 0);
          expect(Math.abs(polynomial - exact)).toBeLessThan(4e-16 * size);
        }
      }
    }
  });

  it("softmax: its first coefficient is the directional derivative of the loss", () => {
    const head = headFor(parseModelSpec(heads[0][1]));
    const z = Float64Array.of(0.3, -1.2, 2.5, 0.1, -0.4);
    const y = Float64Array.of(0, 0, 1, 0, 0);
    const v = Float64Array.of(1, 0, -2, 0.5, 3);
    const gradient = new Float64Array(5);
    head.lossGradient(z, y, 0, 5, gradient);
    const series = new Float64Array(SERIES_STRIDE);
    head.lossSeries(head.cache(z, y, 1, 5), y, 0, 5, v, 0, series, 0);
    expect(series[0]).toBeCloseTo(gradient.reduce((sum, g, k) => sum + g * v[k], 0), 14);
  });
});
