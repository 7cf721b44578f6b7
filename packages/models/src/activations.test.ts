import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { activate, activationDelta, activationDerivative, crossesKink, sigmoid, softplus } from "./activations.js";
import { HIDDEN_ACTIVATIONS } from "./architecture.js";

describe("sigmoid and softplus", () => {
  it("have the right values and never overflow", () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(2)).toBeCloseTo(1 / (1 + Math.exp(-2)), 15);
    expect(sigmoid(-2)).toBeCloseTo(1 / (1 + Math.exp(2)), 15);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(-700)).toBeCloseTo(Math.exp(-700), 320);
    expect(softplus(0)).toBe(Math.LN2);
    expect(softplus(1000)).toBe(1000);
    expect(softplus(-1000)).toBe(0);
    expect(softplus(-40)).toBeCloseTo(Math.exp(-40), 30);
    expect(softplus(3)).toBeCloseTo(Math.log(1 + Math.exp(3)), 14);
  });
});

describe.each(HIDDEN_ACTIVATIONS)("%s", (activation) => {
  it("activationDerivative is d act/dz away from kinks (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -6, max: 6, noNaN: true }), (z) => {
        fc.pre(Math.abs(z) > 1e-4);
        const h = 1e-6;
        const numeric = (activate(activation, z + h) - activate(activation, z - h)) / (z + h - (z - h));
        expect(Math.abs(activationDerivative(activation, z, activate(activation, z)) - numeric)).toBeLessThan(1e-8);
      }),
      { numRuns: 200 },
    );
  });

  it("activationDelta equals act(z + dz) − act(z) (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -8, max: 8, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), (z, dz) => {
        const expected = activate(activation, z + dz) - activate(activation, z);
        const delta = activationDelta(activation, z, dz);
        expect(Math.abs(delta - expected)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(z) + Math.abs(dz)));
        if (dz === 0) expect(delta === 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("activationDelta keeps relative precision for tiny steps (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: 1e-13, max: 1e-9, noNaN: true }), fc.boolean(), (z, step, negative) => {
        const dz = negative ? -step : step;
        fc.pre(Math.abs(z) > 1e-8); // away from ReLU's kink
        const slope = activationDerivative(activation, z, activate(activation, z));
        const delta = activationDelta(activation, z, dz);
        // (act(z+dz) − act(z))/dz = act'(z) + O(dz); a plain subtraction would only give ~1e-7 here.
        expect(Math.abs(delta / dz - slope)).toBeLessThanOrEqual(1e-12 + 2 * Math.abs(dz));
      }),
      { numRuns: 300 },
    );
  });
});

describe("ReLU", () => {
  it("activationDelta across the kink moves to or from 0", () => {
    expect(activationDelta("relu", 0.5, -2)).toBe(-0.5);
    expect(activationDelta("relu", -0.5, 2)).toBe(1.5);
    expect(activationDelta("relu", -0.5, 0.25)).toBe(0);
    expect(activationDelta("relu", 0.5, 0.25)).toBe(0.25);
    expect(activationDerivative("relu", 0, 0)).toBe(0);
  });

  it("crossesKink says whether z and z + dz lie on different sides of 0", () => {
    expect(crossesKink(1e-4, -1e-3)).toBe(true);
    expect(crossesKink(-1e-4, 1e-3)).toBe(true);
    expect(crossesKink(1e-4, 1e-3)).toBe(false);
    expect(crossesKink(1e-4, -1e-5)).toBe(false);
    expect(crossesKink(0, 1e-9)).toBe(true);
    expect(crossesKink(0, -1e-9)).toBe(false);
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -10, max: 10 }), fc.double({ noNaN: true, min: -10, max: 10 }), (z, dz) => {
        const reluDelta = activationDelta("relu", z, dz);
        // Without a crossing, ReLU moves by dz (active) or not at all (inactive).
        if (!crossesKink(z, dz)) expect(reluDelta).toBe(z > 0 ? dz : 0);
      }),
      { numRuns: 200 },
    );
  });
});
