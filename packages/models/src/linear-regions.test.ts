import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { HiddenActivation } from "./architecture.js";
import { activate } from "./activations.js";
import { affine, forward } from "./forward.js";
import { hasLinearRegions, linearRegions, ReverseSweep, type LinearRegions } from "./linear-regions.js";
import { networkFromTheta, type Network } from "./network.js";
import { modelCase, type ModelCase } from "./test-support/models.js";
import { WeightColumns } from "./weight-columns.js";
import { createRandom } from "@gradcheck/core";
import { parseModelSpec } from "./spec.js";
import { randomBatch, randomTheta } from "./synthetic.js";

interface Setup {
  readonly network: Network;
  readonly hidden: HiddenActivation[];
  readonly activations: Float64Array[];
  readonly preActivations: Float64Array[];
  readonly regions: LinearRegions;
}

/** The layer's regions; with `refined`, every pair's interval made exact, last unit first. */
function setUp(model: ModelCase, layer: number, refined = true): Setup {
  const network = networkFromTheta(model.spec, model.theta);
  const pass = forward(network, model.batch);
  const layers = network.weights.length;
  const hidden = network.activations.slice(0, -1) as HiddenActivation[];
  const rowPreActivations: Float64Array[] = [new Float64Array(0)];
  for (let q = 1; q <= layers; q++) {
    rowPreActivations.push(pass.preActivations[q - 1]);
  }
  const sweep = new ReverseSweep(network.sizes, model.batch.size, hidden, network.weights, rowPreActivations);
  const columns = new WeightColumns(network.weights, network.sizes);
  const regions = linearRegions({ layer, sizes: network.sizes, m: model.batch.size, hidden, sweep, columns, rowPreActivations });
  regions.prepare();
  // A pair's interval must not depend on which pairs were refined before it.
  if (refined) for (let j = network.sizes[layer] - 1; j >= 0; j--) for (let i = 0; i < model.batch.size; i++) regions.refine(j, i);
  return { network, hidden, activations: pass.activations, preActivations: pass.preActivations, regions };
}

/** Output pre-activations and hidden pre-activations above `layer` after A_layer[i, j] += d. */
function pushFrom(setup: Setup, layer: number, m: number, i: number, j: number, d: number) {
  const { network } = setup;
  const layers = network.weights.length;
  let a = setup.activations[layer].slice();
  a[i * network.sizes[layer] + j] += d;
  const pre: Float64Array[] = [];
  for (let q = layer + 1; q <= layers; q++) {
    const z = affine(a, network.weights[q - 1], network.biases[q - 1], m, network.sizes[q - 1], network.sizes[q]);
    pre[q] = z;
    if (q < layers) a = z.map((value) => activate(setup.hidden[q - 1], value));
  }
  return pre;
}

describe("hasLinearRegions", () => {
  it("holds when every hidden layer above is ReLU or linear", () => {
    expect(hasLinearRegions(1, 3, ["tanh", "relu"])).toBe(true);
    expect(hasLinearRegions(1, 3, ["relu", "linear"])).toBe(true);
    expect(hasLinearRegions(1, 3, ["relu", "tanh"])).toBe(false);
    expect(hasLinearRegions(1, 3, ["relu", "sigmoid"])).toBe(false);
    expect(hasLinearRegions(2, 3, ["relu", "sigmoid"])).toBe(true); // only the output layer above
    expect(hasLinearRegions(1, 4, ["tanh", "relu", "tanh"])).toBe(false);
    expect(hasLinearRegions(2, 4, ["tanh", "relu", "relu"])).toBe(true);
    expect(hasLinearRegions(3, 3, ["relu", "relu"])).toBe(false); // the output layer itself
  });
});

describe("linearRegions", () => {
  const regionCase = modelCase({ activations: ["relu", "linear", "tanh"], minHidden: 1, maxHidden: 3, maxUnits: 3 }).filter(
    (model) => {
      const layers = model.spec.layers.length;
      const hidden = model.spec.layers.slice(0, -1).map((l) => l.activation) as HiddenActivation[];
      return hasLinearRegions(1, layers, hidden);
    },
  );

  it.each([
    ["the exact interval", true],
    ["the bound's interval", false],
  ])("inside %s the output moves by exactly d·v and no ReLU above changes side; just outside the exact one, one does (property)", (_, refined) => {
    fc.assert(
      fc.property(regionCase, fc.double({ min: -1, max: 1, noNaN: true }), (model, fraction) => {
        const layer = 1;
        const setup = setUp(model, layer, refined);
        const { network, regions } = setup;
        const m = model.batch.size;
        const layers = network.weights.length;
        const units = network.sizes[layer];
        const nOut = network.sizes[layers];
        for (let j = 0; j < units; j++) {
          for (let i = 0; i < m; i++) {
            const r = j * m + i;
            const low = regions.lower[r];
            const high = regions.upper[r];
            expect(low).toBeLessThanOrEqual(0);
            expect(high).toBeGreaterThanOrEqual(0);
            // A step inside the interval (bounded by ±2 where the interval is unbounded).
            const d = fraction >= 0 ? fraction * Math.min(high, 2) : -fraction * Math.max(low, -2);
            if (!(d > low && d < high)) continue;
            const after = pushFrom(setup, layer, m, i, j, d);
            const before = setup.preActivations;
            for (let k = 0; k < nOut; k++) {
              const change = after[layers][i * nOut + k] - before[layers - 1][i * nOut + k];
              const expected = d * regions.directions[r * nOut + k];
              expect(Math.abs(change - expected)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(before[layers - 1][i * nOut + k])));
            }
            for (let q = layer + 1; q < layers; q++) {
              if (setup.hidden[q - 1] !== "relu") continue;
              const n = network.sizes[q];
              for (let u = 0; u < n; u++) expect(after[q][i * n + u] > 0).toBe(before[q - 1][i * n + u] > 0);
            }
            // The exact interval is as wide as it can be: a little beyond a finite end, some ReLU above crosses.
            if (refined)
              for (const end of [low, high]) {
                if (!Number.isFinite(end) || end === 0) continue;
                const beyond = pushFrom(setup, layer, m, i, j, end * (1 + 1e-6));
                let crossed = false;
                for (let q = layer + 1; q < layers; q++) {
                  if (setup.hidden[q - 1] !== "relu") continue;
                  const n = network.sizes[q];
                  for (let u = 0; u < n; u++) if (beyond[q][i * n + u] > 0 !== before[q - 1][i * n + u] > 0) crossed = true;
                }
                expect(crossed).toBe(true);
              }
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("with only the output layer above, the direction is a column of W and the interval unbounded", () => {
    fc.assert(
      fc.property(modelCase({ minHidden: 1, maxHidden: 1 }), (model) => {
        const setup = setUp(model, 1);
        const { network, regions } = setup;
        const m = model.batch.size;
        const nOut = network.sizes[2];
        const nIn = network.sizes[1];
        for (let j = 0; j < nIn; j++) {
          for (let i = 0; i < m; i++) {
            expect(regions.lower[j * m + i]).toBe(-Infinity);
            expect(regions.upper[j * m + i]).toBe(Infinity);
            for (let k = 0; k < nOut; k++) expect(regions.directions[(j * m + i) * nOut + k]).toBe(network.weights[1][k * nIn + j]);
          }
        }
      }),
      { numRuns: 30 },
    );
  });

  it("bounds the exact interval from inside, and is most of it on a wide model", () => {
    const model = wideReluModel();
    const bound = setUp(model, 1, false).regions;
    const exact = setUp(model, 1, true).regions;
    let boundWidth = 0;
    let exactWidth = 0;
    for (let r = 0; r < exact.lower.length; r++) {
      expect(bound.lower[r]).toBeGreaterThanOrEqual(exact.lower[r]);
      expect(bound.upper[r]).toBeLessThanOrEqual(exact.upper[r]);
      boundWidth += Math.log(bound.upper[r] - bound.lower[r]);
      exactWidth += Math.log(exact.upper[r] - exact.lower[r]);
    }
    // on average (geometrically) within a factor 10⁴ of the exact width: far above any step's |d|
    expect((exactWidth - boundWidth) / exact.lower.length).toBeLessThan(Math.log(1e4));
  });
});

/** 20-64-64-3 ReLU with He weights: the shape of the models the bound is for. */
function wideReluModel(): ModelCase {
  const spec = parseModelSpec(
    { name: "wide", inputSize: 20, layers: [{ units: 64, activation: "relu" }, { units: 64, activation: "relu" }, { units: 3, activation: "softmax" }], loss: "cross-entropy", l2: 0, keepProb: 1 },
    "test",
  );
  const random = createRandom(7);
  return { spec, theta: randomTheta(spec, random), batch: randomBatch(spec, 16, random) };
}
