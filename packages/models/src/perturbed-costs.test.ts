import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { HiddenActivation } from "./architecture.js";
import { forward, type ForwardPass } from "./forward.js";
import { networkFromTheta, type Batch } from "./network.js";
import { PerturbedCostEvaluator, type CostChanges } from "./perturbed-costs.js";
import { parseModelSpec } from "./spec.js";
import { HEADS, headLabel, makeCase, makeSpec, modelCase, reluMargin, type ModelCase } from "./test-support/models.js";

const STEPS = [1e-3, -1e-6, 0.5];

function passAt(model: ModelCase, theta: Float64Array): ForwardPass {
  return forward(networkFromTheta(model.spec, theta), model.batch);
}

/**
 * |actual − expected| ≤ tolerance·max(|actual|, |expected|, |base|). J(θ + s·e_i) is J(θ) plus a change,
 * so it is accurate relative to the larger of the two costs, not to a perturbed cost that nearly cancels.
 */
function expectRelativelyClose(actual: number, expected: number, tolerance: number, base = 0): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(
    tolerance * Math.max(Math.abs(actual), Math.abs(expected), Math.abs(base)),
  );
}

/** θ + s·e_i, and the step that was actually taken after rounding θ_i + s. */
function moved(theta: Float64Array, index: number, step: number): { theta: Float64Array; step: number } {
  const next = theta.slice();
  next[index] += step;
  return { theta: next, step: next[index] - theta[index] };
}

/** Does any hidden ReLU pre-activation lie on the other side of 0 in `after`? */
function reluSignsChanged(model: ModelCase, before: ForwardPass, after: ForwardPass): boolean {
  return model.spec.layers.some((layer, l) => {
    if (l === model.spec.layers.length - 1 || layer.activation !== "relu") return false;
    return before.preActivations[l].some((z, k) => z > 0 !== after.preActivations[l][k] > 0);
  });
}

const largestOutput = (pass: ForwardPass) => pass.preActivations[pass.preActivations.length - 1].reduce((m, z) => Math.max(m, Math.abs(z)), 0);

/**
 * perturbedCost(i, s) against a full forward pass at θ + s·e_i, to 1e-12 relative. The forward
 * pass itself is only accurate to ~ε·|Z_L| absolutely (softmax cross-entropy computes
 * (max + log Σ) − y·z, which cancels for a confident right answer), hence the second term.
 */
function expectPerturbedCost(evaluator: PerturbedCostEvaluator, model: ModelCase, index: number, step: number): void {
  const probe = moved(model.theta, index, step);
  const after = passAt(model, probe.theta);
  const actual = evaluator.perturbedCost(index, probe.step);
  const tolerance =
    1e-12 * Math.max(Math.abs(actual), Math.abs(after.cost), Math.abs(evaluator.cost)) +
    1e-14 * Math.max(1, largestOutput(after), largestOutput(evaluator.pass));
  expect(Math.abs(actual - after.cost)).toBeLessThanOrEqual(tolerance);
}

/** Every coordinate, every step: the incremental cost equals a full forward pass at θ + s·e_i. */
function checkAllCoordinates(model: ModelCase): void {
  const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
  const plain = passAt(model, model.theta);
  expect(evaluator.cost).toBe(plain.cost);
  expect(evaluator.layout.total).toBe(model.theta.length);
  for (let i = 0; i < model.theta.length; i++) for (const s of STEPS) expectPerturbedCost(evaluator, model, i, s);
}

/** costChanges(i, a, b) against each step on its own and against perturbedCost. */
function checkPair(evaluator: PerturbedCostEvaluator, i: number, a: number, b: number): void {
  const out: CostChanges = { first: Number.NaN, second: Number.NaN, kink: true };
  const result = evaluator.costChanges(i, a, b, out);
  expect(result).toBe(out);
  const alone = (s: number) => evaluator.costChanges(i, s, 0, { first: 0, second: 0, kink: false });
  const changeA = alone(a);
  const changeB = alone(b);
  // Each change is accurate to a few ulp of the cost; a path taken for one step or both differs only by rounding.
  const slack = 1e-14 * Math.abs(evaluator.cost);
  expect(Math.abs(out.first - changeA.first)).toBeLessThanOrEqual(1e-10 * Math.abs(changeA.first) + slack);
  expect(Math.abs(out.second - changeB.first)).toBeLessThanOrEqual(1e-10 * Math.abs(changeB.first) + slack);
  expectRelativelyClose(evaluator.cost + out.first, evaluator.perturbedCost(i, a), 1e-13, evaluator.cost);
  expectRelativelyClose(evaluator.cost + out.second, evaluator.perturbedCost(i, b), 1e-13, evaluator.cost);
  expect(out.kink).toBe(changeA.kink || changeB.kink);
  // A zero step changes nothing.
  expect(alone(0)).toEqual({ first: 0, second: 0, kink: false });
}

const layered = (activations: HiddenActivation[], units = 3) => activations.map((activation) => ({ units, activation }));

/** Stacks that use the linear-region shortcut (ReLU/linear above a layer) and stacks that cannot. */
const STACKS: HiddenActivation[][] = [
  ["tanh", "relu"],
  ["relu", "tanh"],
  ["tanh", "relu", "relu"],
  ["relu", "relu", "sigmoid"],
  ["sigmoid", "linear", "relu"],
  ["relu", "linear", "relu"],
  ["relu", "tanh", "relu"],
];

describe("PerturbedCostEvaluator", () => {
  it("perturbedCost equals the forward cost at θ + s·e_i for every coordinate of random models (property)", () => {
    fc.assert(
      fc.property(modelCase({ maxHidden: 3, maxUnits: 3 }), (model) => checkAllCoordinates(model)),
      { numRuns: 80 },
    );
  });

  describe.each(STACKS.map((stack) => [stack.join(" → "), stack] as const))("hidden %s", (_label, stack) => {
    it.each(HEADS.map((head) => [headLabel(head), head] as const))("head %s, λ = 0.1, m = 5", (_head, head) => {
      for (const seed of [1, 2, 3]) {
        checkAllCoordinates(makeCase(makeSpec({ inputSize: 3, hidden: layered(stack), head, outputs: 3, l2: 0.1 }), 5, seed));
      }
    });
  });

  it("costChanges gives both changes, consistent with perturbedCost (property)", () => {
    fc.assert(
      fc.property(
        modelCase({ maxHidden: 3, maxUnits: 3 }),
        fc.constantFrom(...STEPS, -0.5, 2e-4),
        fc.constantFrom(...STEPS, -1e-3, 1e-6),
        (model, a, b) => {
          const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
          for (let i = 0; i < model.theta.length; i++) checkPair(evaluator, i, a, b);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("flags a kink exactly when a ReLU pre-activation changes sign (property)", () => {
    fc.assert(
      fc.property(
        modelCase({ activations: ["relu", "tanh", "relu", "linear"], minHidden: 1, maxHidden: 3, maxUnits: 3 }),
        fc.constantFrom(0.5, -0.5, 0.1, -0.05, 1e-3),
        (model, s) => {
          const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
          const before = passAt(model, model.theta);
          const out: CostChanges = { first: 0, second: 0, kink: false };
          for (let i = 0; i < model.theta.length; i++) {
            const probe = moved(model.theta, i, s);
            const after = passAt(model, probe.theta);
            // Rounding decides crossings that end within a hair of 0; leave those out.
            if (reluMargin(model.spec, after.preActivations) < 1e-9) continue;
            evaluator.costChanges(i, probe.step, 0, out);
            expect(out.kink).toBe(reluSignsChanged(model, before, after));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reports no kink for steps far too small to cross, on a model whose pre-activations are far from 0 (property)", () => {
    fc.assert(
      fc.property(modelCase({ activations: ["relu", "tanh"], minHidden: 1, maxHidden: 3, maxUnits: 3 }), (model) => {
        fc.pre(reluMargin(model.spec, passAt(model, model.theta).preActivations) > 1e-3);
        const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
        const out: CostChanges = { first: 0, second: 0, kink: true };
        for (let i = 0; i < model.theta.length; i++) {
          evaluator.costChanges(i, 1e-9, -1e-9, out);
          expect(out.kink).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  describe("a constructed kink", () => {
    // One input x = 1; W1 = 0 and b1 = 1e-4 put the ReLU pre-activation at exactly 1e-4.
    const spec = parseModelSpec({
      name: "kink",
      inputSize: 1,
      layers: [
        { units: 1, activation: "relu" },
        { units: 1, activation: "linear" },
      ],
      loss: "mse",
    });
    const theta = Float64Array.of(0, 1e-4, 2, 0.5); // W1, b1, W2, b2
    const batch: Batch = { inputs: Float64Array.of(1), targets: Float64Array.of(1), size: 1 };
    const evaluator = new PerturbedCostEvaluator(spec, theta, batch);
    const model: ModelCase = { spec, theta, batch };

    it("sits where intended", () => {
      expect(evaluator.pass.preActivations[0][0]).toBe(1e-4);
    });

    it("is flagged when a step of the bias or the weight crosses it", () => {
      const out: CostChanges = { first: 0, second: 0, kink: false };
      for (const index of [0, 1]) {
        expect(evaluator.costChanges(index, -1e-3, 0, out).kink).toBe(true);
        expect(evaluator.costChanges(index, 1e-3, -1e-3, out).kink).toBe(true);
        expect(evaluator.costChanges(index, 1e-3, 0, out).kink).toBe(false);
        expect(evaluator.costChanges(index, 1e-5, -1e-5, out).kink).toBe(false);
      }
      // Steps of the layer above never cross a kink below.
      expect(evaluator.costChanges(2, -1e-3, 1e-3, out).kink).toBe(false);
      expect(evaluator.costChanges(3, -1e-3, 1e-3, out).kink).toBe(false);
    });

    it("still gives the exact cost across the kink", () => {
      for (const index of [0, 1]) expectPerturbedCost(evaluator, model, index, -1e-3);
    });
  });

  describe("a kink above a tanh layer, reached through the linear-region shortcut", () => {
    // x = 0 gives Z1 = b1 = 0, A1 = 0, and Z2 = W2·0 + b2 = 1e-4 exactly.
    const spec = parseModelSpec({
      name: "kink-above",
      inputSize: 1,
      layers: [
        { units: 1, activation: "tanh" },
        { units: 1, activation: "relu" },
        { units: 1, activation: "linear" },
      ],
      loss: "mse",
      l2: 0.1,
    });
    const theta = Float64Array.of(0.7, 0, 1, 1e-4, -1.5, 0.2); // W1, b1, W2, b2, W3, b3
    const batch: Batch = { inputs: Float64Array.of(0), targets: Float64Array.of(0.3), size: 1 };
    const evaluator = new PerturbedCostEvaluator(spec, theta, batch);
    const model: ModelCase = { spec, theta, batch };

    it("is flagged only for steps of b1 that push Z2 below 0", () => {
      expect(evaluator.pass.preActivations[1][0]).toBe(1e-4);
      const out: CostChanges = { first: 0, second: 0, kink: false };
      expect(evaluator.costChanges(1, -1e-3, 0, out).kink).toBe(true); // outside the region: general path
      expect(evaluator.costChanges(1, 1e-3, 0, out).kink).toBe(false); // inside the region: shortcut
      expect(evaluator.costChanges(1, -1e-5, 1e-5, out).kink).toBe(false);
      expect(evaluator.costChanges(0, -1e-3, 1e-3, out).kink).toBe(false); // x = 0: W1 changes nothing
      expect(evaluator.costChanges(3, -1e-3, 0, out).kink).toBe(true);
      // One step inside the region and one outside: each is judged on its own.
      for (const [a, b] of [
        [1e-3, -1e-3],
        [-1e-3, 1e-3],
      ]) {
        evaluator.costChanges(1, a, b, out);
        expect(out.kink).toBe(true);
        checkPair(evaluator, 1, a, b);
      }
    });

    it("gives exact costs on both paths", () => {
      for (let index = 0; index < theta.length; index++) {
        for (const s of [-1e-3, 1e-3, -1e-5, 0.5, -0.5]) expectPerturbedCost(evaluator, model, index, s);
      }
    });
  });
});

describe("unitCostChanges: a row of W_l at once", () => {
  /** Every row of every batched layer, with steps of both signs and a kink-crossing size, against costChanges one coordinate at a time. */
  function checkRows(model: ModelCase): void {
    const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
    const rows = new Map<number, number[]>();
    for (let index = 0; index < model.theta.length; index++) {
      const row = evaluator.batchedUnit(index);
      if (row !== undefined) rows.set(row, [...(rows.get(row) ?? []), index]);
    }
    const one: CostChanges = { first: 0, second: 0, kink: false };
    for (const members of rows.values()) {
      // every other coordinate of the row, as a sample would take them
      const indices = Int32Array.from(members.filter((_, n) => n % 2 === 0));
      for (const step of STEPS) {
        const firsts = Float64Array.from(indices, (_, n) => step * (1 + n / 7));
        const seconds = Float64Array.from(firsts, (value) => -value / 2);
        const out = { first: new Float64Array(indices.length), second: new Float64Array(indices.length), kink: new Uint8Array(indices.length) };
        evaluator.unitCostChanges(indices, firsts, seconds, out);
        indices.forEach((index, n) => {
          evaluator.costChanges(index, firsts[n], seconds[n], one);
          expectRelativelyClose(out.first[n], one.first, 1e-12, evaluator.cost * 1e-3);
          expectRelativelyClose(out.second[n], one.second, 1e-12, evaluator.cost * 1e-3);
          expect(out.kink[n] === 1).toBe(one.kink);
        });
      }
    }
  }

  it("equals costChanges coordinate by coordinate, kinks included, on models with no ReLU shortcut (property)", () => {
    fc.assert(
      fc.property(modelCase({ activations: ["tanh", "sigmoid", "relu", "linear"], minHidden: 1, maxHidden: 3 }), (model) => checkRows(model)),
      { numRuns: 60 },
    );
  });

  it("batches exactly the rows with no ReLU shortcut above, and pushes more columns than one chunk holds", () => {
    const model = makeCase(parseModelSpec({ name: "wide", inputSize: 100, layers: [{ units: 10, activation: "tanh" }, { units: 9000, activation: "tanh" }, { units: 3, activation: "softmax" }], loss: "cross-entropy", l2: 0.1 }), 4, 3);
    const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
    expect(evaluator.batchedUnit(0)).toBe(0);
    expect(evaluator.batchedUnit(99)).toBe(0);
    expect(evaluator.batchedUnit(100)).toBe(100);
    expect(evaluator.batchedUnit(1_000)).toBeUndefined(); // b1
    // 100 coordinates × 4 examples × 2 signs > the 233 columns a chunk holds at width 9000
    const indices = Int32Array.from({ length: 100 }, (_, n) => n);
    const firsts = new Float64Array(100).fill(1e-4);
    const seconds = new Float64Array(100).fill(-1e-4);
    const out = { first: new Float64Array(100), second: new Float64Array(100), kink: new Uint8Array(100) };
    evaluator.unitCostChanges(indices, firsts, seconds, out);
    const one: CostChanges = { first: 0, second: 0, kink: false };
    for (const n of [0, 50, 99]) {
      evaluator.costChanges(n, 1e-4, -1e-4, one);
      expectRelativelyClose(out.first[n], one.first, 1e-12);
      expectRelativelyClose(out.second[n], one.second, 1e-12);
    }
    const relu = makeCase(parseModelSpec({ name: "relu", inputSize: 3, layers: [{ units: 4, activation: "relu" }, { units: 2, activation: "softmax" }], loss: "cross-entropy" }), 2, 1);
    expect(new PerturbedCostEvaluator(relu.spec, relu.theta, relu.batch).batchedUnit(0)).toBeUndefined(); // a ReLU shortcut
  });

  it("gives each coordinate the same bits whichever coordinates of its row come with it", () => {
    const model = makeCase(parseModelSpec({ name: "tanh", inputSize: 64, layers: [{ units: 16, activation: "tanh" }, { units: 128, activation: "sigmoid" }, { units: 4, activation: "softmax" }], loss: "cross-entropy", l2: 0.1 }), 8, 9);
    const evaluator = new PerturbedCostEvaluator(model.spec, model.theta, model.batch);
    const run = (indices: Int32Array) => {
      const out = { first: new Float64Array(indices.length), second: new Float64Array(indices.length), kink: new Uint8Array(indices.length) };
      evaluator.unitCostChanges(indices, new Float64Array(indices.length).fill(1e-5), new Float64Array(indices.length).fill(-1e-5), out);
      return out;
    };
    const row = Int32Array.from({ length: 64 }, (_, n) => 64 * 5 + n);
    const whole = run(row);
    for (const subset of [[7], [0, 63], [3, 4, 5, 40]]) {
      const part = run(Int32Array.from(subset, (n) => row[n]));
      subset.forEach((n, k) => {
        expect(part.first[k]).toBe(whole.first[n]);
        expect(part.second[k]).toBe(whole.second[n]);
      });
    }
  });
});

