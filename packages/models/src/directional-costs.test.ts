import { createRandom, gaussian } from "@gradcheck/core";
import { describe, expect, it } from "vitest";
import { DirectionalCostEvaluator, type SparseDirection } from "./directional-costs.js";
import { forward } from "./forward.js";
import { networkFromTheta } from "./network.js";
import { parameterLayout } from "./parameters.js";
import { randomBatch, randomTheta } from "./synthetic.js";
import { parseModelSpec } from "./spec.js";

const SPECS = [
  { name: "mixed", inputSize: 5, layers: [{ units: 7, activation: "tanh" }, { units: 6, activation: "relu" }, { units: 3, activation: "softmax" }], loss: "cross-entropy", l2: 0.3 },
  { name: "sig", inputSize: 4, layers: [{ units: 5, activation: "sigmoid" }, { units: 2, activation: "sigmoid" }], loss: "cross-entropy", l2: 0 },
  { name: "mse", inputSize: 3, layers: [{ units: 4, activation: "linear" }, { units: 4, activation: "relu" }, { units: 2, activation: "linear" }], loss: "mse", l2: 0.1 },
];

describe("DirectionalCostEvaluator", () => {
  it.each(SPECS)("$name: J(θ) + change equals the plain forward pass at θ + s·v to 1e-12", (input) => {
    const spec = parseModelSpec(input);
    const random = createRandom(9);
    const theta = randomTheta(spec, random);
    const batch = randomBatch(spec, 6, random);
    const evaluator = new DirectionalCostEvaluator(spec, theta, batch);
    const total = parameterLayout(spec).total;
    const supports = [
      Int32Array.from({ length: total }, (_, i) => i), // dense
      Int32Array.from({ length: Math.ceil(total / 3) }, (_, i) => i * 3), // every third coordinate, across layers
      Int32Array.of(total - 1), // one output bias
    ];
    for (const indices of supports) {
      const direction: SparseDirection = { indices, values: Float64Array.from(indices, () => gaussian(random)) };
      for (const step of [1e-3, -1e-6, 0.2]) {
        const moved = Float64Array.from(theta);
        direction.indices.forEach((index, n) => (moved[index] += step * direction.values[n]));
        const plain = forward(networkFromTheta(spec, moved), batch).cost;
        const incremental = evaluator.cost + evaluator.costChange(direction, step).change;
        expect(Math.abs(incremental - plain) / Math.abs(plain)).toBeLessThan(1e-12);
      }
    }
    // A contiguous range without indices: all of θ, one whole tensor (W2, its matrix product), part of one.
    const layout = parameterLayout(spec);
    const w2 = layout.tensors[2];
    for (const [start, end] of [
      [0, total],
      [w2.offset, w2.offset + w2.size],
      [w2.offset + 1, layout.tensors[3].offset + 1],
    ]) {
      const direction: SparseDirection = { start, values: Float64Array.from({ length: end - start }, () => gaussian(random)) };
      const moved = Float64Array.from(theta);
      direction.values.forEach((value, n) => (moved[start + n] += 1e-3 * value));
      const plain = forward(networkFromTheta(spec, moved), batch).cost;
      expect(Math.abs(evaluator.cost + evaluator.costChange(direction, 1e-3).change - plain) / Math.abs(plain)).toBeLessThan(1e-12);
    }
  });

  it("flags a kink when a ReLU pre-activation crosses 0, and not for tiny steps far from it", () => {
    const spec = parseModelSpec(SPECS[0]);
    const random = createRandom(2);
    const theta = randomTheta(spec, random);
    const batch = randomBatch(spec, 6, random);
    const evaluator = new DirectionalCostEvaluator(spec, theta, batch);
    const total = parameterLayout(spec).total;
    const direction = { indices: Int32Array.from({ length: total }, (_, i) => i), values: new Float64Array(total).fill(1) };
    expect(evaluator.costChange(direction, 5).kink).toBe(true);
    expect(evaluator.costChange(direction, 1e-12).kink).toBe(false);
  });

  it("is zero for an empty direction", () => {
    const spec = parseModelSpec(SPECS[1]);
    const random = createRandom(4);
    const evaluator = new DirectionalCostEvaluator(spec, randomTheta(spec, random), randomBatch(spec, 3, random));
    expect(evaluator.costChange({ indices: new Int32Array(0), values: new Float64Array(0) }, 1)).toEqual({ change: 0, kink: false });
  });
});
