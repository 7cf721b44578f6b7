import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { numericalGradient, relativeDifference } from "@gradcheck/core";
import { backprop, flattenGradients, type Gradients } from "./backprop.js";
import { forward } from "./forward.js";
import { networkFromTheta } from "./network.js";
import { parameterLayout } from "./parameters.js";
import { HIDDEN_ACTIVATIONS } from "./architecture.js";
import { HEADS, headLabel, makeCase, makeSpec, modelCase, reluMargin, type ModelCase } from "./test-support/models.js";

/** dθ in layout order: dW1, db1, dW2, db2, ... */
function flat(gradients: Gradients): Float64Array {
  return Float64Array.from(gradients.weights.flatMap((dW, l) => [...dW, ...gradients.biases[l]]));
}

const costOf = ({ spec, batch }: ModelCase) => (theta: Float64Array) => forward(networkFromTheta(spec, theta), batch).cost;

/** Relative difference between reference backprop and central differences of the plain forward cost. */
function gradientCheck(model: ModelCase, h: number): number {
  const analytic = flat(backprop(networkFromTheta(model.spec, model.theta), model.batch));
  const numeric = numericalGradient(costOf(model), model.theta, h);
  expect(analytic.length).toBe(model.theta.length);
  return relativeDifference(numeric, analytic);
}

describe("backprop agrees with central differences of forward", () => {
  describe.each(HIDDEN_ACTIVATIONS)("hidden %s", (activation) => {
    it.each(HEADS.map((head) => [headLabel(head), head] as const))("head %s (property)", (_label, head) => {
      fc.assert(
        fc.property(modelCase({ activations: [activation], heads: [head], minHidden: 0, maxHidden: 2 }), (model) => {
          if (activation === "relu") {
            // Only the kink-free case is differentiable: no probe may move a ReLU pre-activation
            // across 0, so stay 1e-4 away from every kink. h = 1e-6 rather than 1e-7: below that
            // the rounding noise ε·J/h reaches 1e-6 of a small (~0.01) gradient.
            fc.pre(reluMargin(model.spec, forward(networkFromTheta(model.spec, model.theta), model.batch).preActivations) > 1e-4);
            expect(gradientCheck(model, 1e-6)).toBeLessThan(1e-6);
          } else {
            expect(gradientCheck(model, 1e-5)).toBeLessThan(1e-6);
          }
        }),
        { numRuns: 15 },
      );
    });
  });

  it("for random mixes of hidden activations and heads, λ ∈ {0, 0.1}, m ∈ {1, 5} (property)", () => {
    fc.assert(
      fc.property(modelCase({ minHidden: 1, maxHidden: 2 }), (model) => {
        const margin = reluMargin(model.spec, forward(networkFromTheta(model.spec, model.theta), model.batch).preActivations);
        fc.pre(margin > 1e-4);
        expect(gradientCheck(model, margin === Infinity ? 1e-5 : 1e-6)).toBeLessThan(1e-6);
      }),
      { numRuns: 60 },
    );
  });

  it("flattenGradients lays dθ out like θ: dW1, db1, dW2, db2, ...", () => {
    const model = makeCase(
      makeSpec({ inputSize: 2, hidden: [{ units: 3, activation: "tanh" }], head: HEADS[2], outputs: 2, l2: 0.1 }),
      5,
      4,
    );
    const gradients = backprop(networkFromTheta(model.spec, model.theta), model.batch);
    const flattened = flattenGradients(model.spec, gradients);
    expect(flattened).toEqual(flat(gradients));
    const layout = parameterLayout(model.spec);
    const db1 = layout.tensors[1];
    expect(flattened.subarray(db1.offset, db1.offset + db1.size)).toEqual(gradients.biases[0]);
    const dW2 = layout.tensors[2];
    expect(flattened.subarray(dW2.offset, dW2.offset + dW2.size)).toEqual(gradients.weights[1]);
  });

  it("includes the L2 term λ/m·W in dW but not in db", () => {
    const shape = { inputSize: 3, hidden: [{ units: 3, activation: "tanh" as const }], head: HEADS[0], outputs: 2 };
    const plain = makeCase(makeSpec({ ...shape, l2: 0 }), 5, 7);
    const regularized = makeCase(makeSpec({ ...shape, l2: 0.1 }), 5, 7);
    expect(regularized.theta).toEqual(plain.theta);
    const without = backprop(networkFromTheta(plain.spec, plain.theta), plain.batch);
    const network = networkFromTheta(regularized.spec, regularized.theta);
    const withL2 = backprop(network, regularized.batch);
    withL2.weights.forEach((dW, l) =>
      dW.forEach((value, i) => expect(value).toBeCloseTo(without.weights[l][i] + (0.1 / 5) * network.weights[l][i], 15)),
    );
    expect(withL2.biases).toEqual(without.biases);
  });

  it("with round = Math.fround gives float32 values close to the float64 gradient", () => {
    const model = makeCase(
      makeSpec({ inputSize: 4, hidden: [{ units: 4, activation: "sigmoid" }], head: HEADS[1], outputs: 3, l2: 0.1 }),
      5,
      3,
    );
    const network = networkFromTheta(model.spec, model.theta);
    const exact = flat(backprop(network, model.batch));
    const rounded = flat(backprop(network, model.batch, { round: Math.fround }));
    for (const value of rounded) expect(Math.fround(value)).toBe(value);
    const difference = relativeDifference(rounded, exact);
    expect(difference).toBeGreaterThan(0);
    expect(difference).toBeLessThan(1e-6);
  });

  it("a derivative override changes the layer it names and those below, and the check catches it", () => {
    const model = makeCase(
      makeSpec({
        inputSize: 3,
        hidden: [
          { units: 3, activation: "tanh" },
          { units: 3, activation: "tanh" },
        ],
        head: HEADS[2],
        outputs: 2,
        l2: 0,
      }),
      5,
      11,
    );
    const network = networkFromTheta(model.spec, model.theta);
    const good = backprop(network, model.batch);
    const bad = backprop(network, model.batch, { derivativeOverride: { layer: 1, derivative: (_z, a) => 1 - a } });
    expect(bad.weights[2]).toEqual(good.weights[2]);
    expect(bad.biases[1]).toEqual(good.biases[1]);
    expect(bad.weights[0]).not.toEqual(good.weights[0]);
    const numeric = numericalGradient(costOf(model), model.theta, 1e-5);
    expect(relativeDifference(numeric, flat(good))).toBeLessThan(1e-6);
    expect(relativeDifference(numeric, flat(bad))).toBeGreaterThan(1e-3);
  });
});
