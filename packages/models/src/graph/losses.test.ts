import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { graphCost } from "./graph-network.js";
import { lossAndGradient } from "./losses.js";
import { analytic, centralDifferences, gradientsAgree, problem, type Problem } from "./test-support/central.js";

const cost = (p: Problem) => graphCost(p.graph, p.theta, p.buffers, p.batch);

const LOSSES: object[] = [
  { type: "cross-entropy" },
  { type: "cross-entropy", reduction: "sum", labelSmoothing: 0.1 },
  { type: "cross-entropy", target: "one-hot", labelSmoothing: 0.2 },
  { type: "cross-entropy", target: "probabilities" },
  { type: "bce-with-logits" },
  { type: "bce-with-logits", reduction: "sum" },
  { type: "mse", reduction: "sum" },
];

describe("losses", () => {
  for (const loss of LOSSES) {
    it(`${JSON.stringify(loss)}: the gradient through a linear layer equals central differences, per example and per position`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 1e6 }), (positions, m, seed) => {
          const p = problem([{ type: "linear", name: "head", out: 3 }], { shape: positions ? [positions, 2] : [2] }, m, seed, loss);
          const exact = analytic(p);
          expect(gradientsAgree(exact.theta, centralDifferences(p, cost, "theta")).agree).toBe(true);
          expect(gradientsAgree(exact.inputs, centralDifferences(p, cost, "inputs")).agree).toBe(true);
        }),
        { numRuns: 8, seed: 20_261_202 },
      );
    });
  }

  it("takes PyTorch's definitions: uniform logits cost log C, label smoothing mixes in the uniform target, means are over positions", () => {
    const classes = 4;
    const uniform = new Float64Array(2 * classes);
    expect(lossAndGradient({ type: "cross-entropy", reduction: "mean" }, uniform, [classes], new Float64Array([0, 3]), 2).value).toBeCloseTo(Math.log(classes), 14);
    // logits (0, ln 3): p = (1/4, 3/4); target 1 smoothed by 0.1 over 2 classes: q = (0.05, 0.95)
    const logits = new Float64Array([0, Math.log(3)]);
    const smoothed = lossAndGradient({ type: "cross-entropy", reduction: "mean", labelSmoothing: 0.1 }, logits, [2], new Float64Array([1]), 1);
    expect(smoothed.value).toBeCloseTo(-(0.05 * Math.log(0.25) + 0.95 * Math.log(0.75)), 14);
    expect([...smoothed.gradient]).toEqual([expect.closeTo(0.25 - 0.05, 14), expect.closeTo(0.75 - 0.95, 14)]);
    // [m = 1, T = 2, C = 2]: the mean is over the 2 positions
    const twoPositions = lossAndGradient({ type: "cross-entropy", reduction: "mean" }, new Float64Array(4), [2, 2], new Float64Array([0, 1]), 1);
    expect(twoPositions.value).toBeCloseTo(Math.log(2), 14);
    const bce = lossAndGradient({ type: "bce-with-logits", reduction: "mean" }, new Float64Array([800, -800]), [2], new Float64Array([1, 0]), 1);
    expect(bce.value).toBe(0);
    expect(lossAndGradient({ type: "mse", reduction: "mean" }, new Float64Array([1, 3]), [2], new Float64Array([0, 0]), 1).value).toBe(5);
  });
});
