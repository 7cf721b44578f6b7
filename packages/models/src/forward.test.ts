import { describe, expect, it } from "vitest";
import { affine, forward } from "./forward.js";
import { networkFromTheta, regularizationCost, type Batch } from "./network.js";
import { parameterLayout, parameterShapes } from "./parameters.js";
import { parseModelSpec } from "./spec.js";

describe("affine", () => {
  it("computes Z = A·Wᵀ + b row by row", () => {
    const a = Float64Array.of(1, 2, 3, -1, 0, 2); // [2, 3]
    const w = Float64Array.of(1, 0, -1, 2, 1, 0.5); // [2, 3]
    const b = Float64Array.of(0.5, -1);
    expect(Array.from(affine(a, w, b, 2, 3, 2))).toEqual([1 - 3 + 0.5, 2 + 2 + 1.5 - 1, -1 - 2 + 0.5, -2 + 1 - 1]);
  });
});

describe("parameters and networkFromTheta", () => {
  const spec = parseModelSpec({
    name: "p",
    inputSize: 3,
    layers: [
      { units: 4, activation: "relu" },
      { units: 2, activation: "sigmoid" },
    ],
    loss: "cross-entropy",
  });

  it("lays θ out as W1, b1, W2, b2 with W_l of shape [n_l, n_{l−1}]", () => {
    expect(parameterShapes(spec)).toEqual([
      { name: "W1", shape: [4, 3] },
      { name: "b1", shape: [4] },
      { name: "W2", shape: [2, 4] },
      { name: "b2", shape: [2] },
    ]);
    expect(parameterLayout(spec).total).toBe(12 + 4 + 8 + 2);
  });

  it("views θ without copying and rejects the wrong length", () => {
    const theta = Float64Array.from({ length: 26 }, (_, i) => i);
    const network = networkFromTheta(spec, theta);
    expect(network.sizes).toEqual([3, 4, 2]);
    expect(Array.from(network.biases[0])).toEqual([12, 13, 14, 15]);
    expect(Array.from(network.weights[1])).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect(network.activations).toEqual(["relu", "sigmoid"]);
    theta[24] = -1;
    expect(network.biases[1][0]).toBe(-1);
    expect(() => networkFromTheta(spec, new Float64Array(25))).toThrow(/25 elements .* 26 parameters/);
  });

  it("regularizes the weights but not the biases: λ/(2m)·Σ‖W‖²", () => {
    const theta = new Float64Array(26);
    theta[0] = 3; // W1
    theta[12] = 100; // b1
    theta[20] = -4; // W2
    expect(regularizationCost(networkFromTheta(spec, theta), 5)).toBe(0);
    const regularized = parseModelSpec({ ...spec, l2: 0.5 });
    expect(regularizationCost(networkFromTheta(regularized, theta), 5)).toBeCloseTo((0.5 / 10) * 25, 15);
  });
});

describe("forward", () => {
  it("matches a computation by hand for a two-layer tanh network with L2", () => {
    const spec = parseModelSpec({
      name: "hand",
      inputSize: 2,
      layers: [
        { units: 2, activation: "tanh" },
        { units: 1, activation: "linear" },
      ],
      loss: "mse",
      l2: 0.2,
    });
    const theta = Float64Array.of(1, -1, 0.5, 2, 0.1, -0.2, 2, -1, 0.3);
    const batch: Batch = { inputs: Float64Array.of(1, 2, -1, 0.5), targets: Float64Array.of(1, 0), size: 2 };
    const pass = forward(networkFromTheta(spec, theta), batch);

    const z1 = [1 * 1 - 1 * 2 + 0.1, 0.5 * 1 + 2 * 2 - 0.2, -1 - 0.5 + 0.1, -0.5 + 1 - 0.2];
    const a1 = z1.map(Math.tanh);
    const z2 = [2 * a1[0] - a1[1] + 0.3, 2 * a1[2] - a1[3] + 0.3];
    const losses = [(z2[0] - 1) ** 2, z2[1] ** 2];
    const squares = 1 + 1 + 0.25 + 4 + 4 + 1;

    pass.preActivations[0].forEach((z, i) => expect(z).toBeCloseTo(z1[i], 15));
    pass.activations[1].forEach((a, i) => expect(a).toBeCloseTo(a1[i], 15));
    expect(pass.activations[0]).toBe(batch.inputs);
    expect(pass.activations).toHaveLength(2);
    pass.preActivations[1].forEach((z, i) => expect(z).toBeCloseTo(z2[i], 15));
    pass.losses.forEach((loss, i) => expect(loss).toBeCloseTo(losses[i], 14));
    expect(pass.dataCost).toBeCloseTo((losses[0] + losses[1]) / 2, 14);
    expect(pass.regularization).toBeCloseTo((0.2 / 4) * squares, 15);
    expect(pass.cost).toBe(pass.dataCost + pass.regularization);
  });

  describe("per-example losses against textbook formulas", () => {
    // One layer with W = I and b = 0, so that the output pre-activation Z is X itself.
    const identityCase = (activation: string, loss: string, rows: number[][], targets: number[][]) => {
      const spec = parseModelSpec({ name: "id", inputSize: 3, layers: [{ units: 3, activation }], loss });
      const theta = new Float64Array(12);
      theta[0] = theta[4] = theta[8] = 1;
      const batch: Batch = { inputs: Float64Array.from(rows.flat()), targets: Float64Array.from(targets.flat()), size: rows.length };
      return forward(networkFromTheta(spec, theta), batch);
    };
    const z = [
      [1, 2, 0.5],
      [-0.3, 0.7, 0.2],
      [4, -4, 0],
    ];

    it("softmax cross-entropy: −Σ y_k log softmax(z)_k", () => {
      const y = [
        [0, 1, 0],
        [1, 0, 0],
        [0.2, 0.5, 0.3],
      ];
      const pass = identityCase("softmax", "cross-entropy", z, y);
      z.forEach((row, i) => {
        const e = row.map(Math.exp);
        const total = e[0] + e[1] + e[2];
        const expected = -(y[i][0] * Math.log(e[0] / total) + y[i][1] * Math.log(e[1] / total) + y[i][2] * Math.log(e[2] / total));
        expect(pass.losses[i]).toBeCloseTo(expected, 14);
      });
      // Class 1 of row 0: −log(e²/(e + e² + e^0.5)) by hand.
      expect(pass.losses[0]).toBeCloseTo(Math.log(Math.E + Math.E ** 2 + Math.exp(0.5)) - 2, 14);
      expect(pass.cost).toBeCloseTo((pass.losses[0] + pass.losses[1] + pass.losses[2]) / 3, 15);
    });

    it("sigmoid cross-entropy: −Σ [y log σ(z) + (1 − y) log(1 − σ(z))]", () => {
      const y = [
        [1, 0, 1],
        [0, 0, 1],
        [1, 1, 0],
      ];
      const pass = identityCase("sigmoid", "cross-entropy", z, y);
      z.forEach((row, i) => {
        const expected = -row.reduce((s, zk, k) => {
          const p = 1 / (1 + Math.exp(-zk));
          return s + y[i][k] * Math.log(p) + (1 - y[i][k]) * Math.log(1 - p);
        }, 0);
        expect(pass.losses[i]).toBeCloseTo(expected, 13);
      });
    });

    it("mean squared error: (1/n)·Σ (z − y)²", () => {
      const y = [
        [0.5, 3, -1],
        [0, 0, 0],
        [4, -4, 1],
      ];
      const pass = identityCase("linear", "mse", z, y);
      const expected = [(0.25 + 1 + 2.25) / 3, (0.09 + 0.49 + 0.04) / 3, 1 / 3];
      expected.forEach((value, i) => expect(pass.losses[i]).toBeCloseTo(value, 15));
    });
  });
});
