import { createRandom, gaussian } from "@gradcheck/core";
import { activationDelta, crossesKink, headFor, HIDDEN_ACTIVATIONS, parseModelSpec } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import {
  ACTIVATION_CODE,
  activationChange,
  expm1Accurate,
  headCode,
  KINK_MARGIN,
  kinkPossible,
  log1pAccurate,
  unitLossChange,
} from "./gpujs-kernels.js";

// The kernel helpers run here as plain float64 JavaScript: this checks their formulas
// against the float64 reference; the backend suite checks them in float32 inside kernels.
const random = createRandom(11);
const samples = Array.from({ length: 200 }, () => ({ z: 2 * gaussian(random), dz: gaussian(random) * 10 ** -(1 + 8 * random()) }));
const relative = (value: number, reference: number) => Math.abs(value - reference) / Math.max(Math.abs(reference), 1e-300);

describe("kernel helpers", () => {
  it("flag kinks and near misses, and nothing far from the kink", () => {
    expect([kinkPossible(1, -2), kinkPossible(-1, 2), kinkPossible(1, -0.995), kinkPossible(1, 0.995), kinkPossible(0, -1e-9)]).toEqual([1, 1, 1, 1, 1]);
    expect([kinkPossible(1, -0.9), kinkPossible(-1, 0.5), kinkPossible(0, 0), kinkPossible(3, 1e-3)]).toEqual([0, 0, 0, 0]);
  });

  it("compute expm1 and log1p to a few ulps, tiny arguments included", () => {
    for (const x of [1e-12, -3e-9, 2e-5, -0.004, 0.3, -2, 7]) {
      expect(relative(expm1Accurate(x), Math.expm1(x))).toBeLessThan(1e-15);
      expect(relative(log1pAccurate(x > -1 ? x : -x / 10), Math.log1p(x > -1 ? x : -x / 10))).toBeLessThan(1e-15);
    }
  });

  it.each(HIDDEN_ACTIVATIONS)("give %s's activation change and kinks as the float64 reference does", (activation) => {
    // both sides compute 1 − tanh(z)·tanh(z + dz), which magnifies ulps by up to 1/(1 − tanh²z) ≈ 1e4 here
    for (const { z, dz } of samples) {
      expect(relative(activationChange(ACTIVATION_CODE[activation], z, dz), activationDelta(activation, z, dz))).toBeLessThan(1e-10);
      // every crossing is flagged; a flag without one is a near miss, within the margin on either side
      if (crossesKink(z, dz)) expect(kinkPossible(z, dz)).toBe(1);
      const near = (scale: number) => crossesKink(z, scale * dz) || crossesKink(z, -scale * dz);
      if (kinkPossible(z, dz) === 1) expect(near(1 + 2 * KINK_MARGIN)).toBe(true);
    }
  });

  it.each([
    ["softmax", "cross-entropy"],
    ["sigmoid", "cross-entropy"],
    ["linear", "mse"],
  ] as const)("give the %s head's loss change as Head.unitLossDelta does", (output, loss) => {
    const spec = parseModelSpec({ name: "head", inputSize: 2, layers: [{ units: 3, activation: output }], loss });
    const head = headFor(spec);
    const z = Float64Array.of(0.3, -1.2, 2);
    const y = Float64Array.of(0, 1, 0);
    const cache = head.cache(z, y, 1, 3);
    for (const { dz } of samples) {
      const change = unitLossChange(headCode(spec), cache[1], y[1], 1, 3, dz);
      expect(relative(change, head.unitLossDelta(cache, y, 0, 3, 1, dz))).toBeLessThan(1e-12);
    }
  });
});
