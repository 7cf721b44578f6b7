import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createRandom } from "@gradcheck/core";
import { parameterLayout } from "./parameters.js";
import { randomBatch, randomTheta } from "./synthetic.js";
import { HEADS, makeSpec } from "./test-support/models.js";

const specFor = (headIndex: number, outputs = 4) =>
  makeSpec({ inputSize: 3, hidden: [{ units: 5, activation: "tanh" }], head: HEADS[headIndex], outputs, l2: 0 });

describe("randomBatch", () => {
  it("gives one-hot rows for softmax outputs, every class eventually", () => {
    const spec = specFor(0, 4);
    const batch = randomBatch(spec, 200, createRandom(1));
    expect(batch.size).toBe(200);
    expect(batch.inputs).toHaveLength(200 * 3);
    expect(batch.targets).toHaveLength(200 * 4);
    const classes = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const row = Array.from(batch.targets.subarray(i * 4, i * 4 + 4));
      expect(row.every((v) => v === 0 || v === 1)).toBe(true);
      expect(row.reduce((s, v) => s + v, 0)).toBe(1);
      classes.add(row.indexOf(1));
    }
    expect(classes.size).toBe(4);
  });

  it("gives 0/1 labels, both present, for sigmoid outputs", () => {
    const batch = randomBatch(specFor(1, 3), 50, createRandom(2));
    const values = Array.from(batch.targets);
    expect(values.every((v) => v === 0 || v === 1)).toBe(true);
    expect(values).toContain(0);
    expect(values).toContain(1);
  });

  it("gives real-valued targets for linear outputs, and Gaussian inputs", () => {
    const batch = randomBatch(specFor(2, 2), 100, createRandom(3));
    const targets = Array.from(batch.targets);
    expect(targets.some((v) => !Number.isInteger(v))).toBe(true);
    expect(targets.some((v) => v < 0)).toBe(true);
    const inputs = Array.from(batch.inputs);
    const mean = inputs.reduce((s, v) => s + v, 0) / inputs.length;
    expect(Math.abs(mean)).toBeLessThan(0.25);
    expect(inputs.some((v) => v < 0) && inputs.some((v) => v > 0)).toBe(true);
  });

  it("is reproducible for a seed (property)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 6 }), (seed, head, m) => {
        const spec = specFor(head);
        expect(randomBatch(spec, m, createRandom(seed))).toEqual(randomBatch(spec, m, createRandom(seed)));
      }),
      { numRuns: 50 },
    );
  });
});

describe("randomTheta", () => {
  it("is reproducible for a seed and differs between seeds (property)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.integer({ min: 0, max: 2 }), (seed, other, head) => {
        const spec = specFor(head);
        const theta = randomTheta(spec, createRandom(seed));
        expect(theta).toHaveLength(parameterLayout(spec).total);
        expect(randomTheta(spec, createRandom(seed))).toEqual(theta);
        if ((seed | 0) !== (other | 0)) expect(randomTheta(spec, createRandom(other))).not.toEqual(theta);
      }),
      { numRuns: 50 },
    );
  });

  it("draws W_l with standard deviation √(2/n_{l−1}) and biases with 0.1", () => {
    const spec = makeSpec({ inputSize: 200, hidden: [{ units: 100, activation: "relu" }], head: HEADS[2], outputs: 50, l2: 0 });
    const layout = parameterLayout(spec);
    const theta = randomTheta(spec, createRandom(5));
    const deviation = (name: string) => {
      const slot = layout.tensors.find((t) => t.name === name)!;
      const values = theta.subarray(slot.offset, slot.offset + slot.size);
      return Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
    };
    expect(deviation("W1") / Math.sqrt(2 / 200)).toBeCloseTo(1, 1);
    expect(deviation("W2") / Math.sqrt(2 / 100)).toBeCloseTo(1, 1);
    expect(deviation("b1") / 0.1).toBeGreaterThan(0.8);
    expect(deviation("b1") / 0.1).toBeLessThan(1.2);
  });
});
