import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createRandom, createStream, gaussian } from "./random.js";

const draw = (random: () => number, count: number) => Array.from({ length: count }, () => random());

describe("createRandom", () => {
  it("is reproducible per seed and differs between seeds (property)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (seed, other) => {
        const first = draw(createRandom(seed), 20);
        expect(draw(createRandom(seed), 20)).toEqual(first);
        if ((seed | 0) !== (other | 0)) expect(draw(createRandom(other), 20)).not.toEqual(first);
      }),
      { numRuns: 100 },
    );
  });

  it("draws in [0, 1), not stuck, from any seed including 0 (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(0), fc.integer()), (seed) => {
        const values = draw(createRandom(seed), 200);
        for (const value of values) {
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThan(1);
        }
        expect(new Set(values).size).toBeGreaterThan(190);
      }),
      { numRuns: 50 },
    );
  });

  it("is roughly uniform", () => {
    const random = createRandom(12345);
    const bins = new Array<number>(10).fill(0);
    const count = 20_000;
    for (let k = 0; k < count; k++) bins[Math.floor(random() * 10)]++;
    // Each bin expects 2000 with a standard deviation of ~42.
    for (const bin of bins) expect(Math.abs(bin - count / 10)).toBeLessThan(250);
  });
});

describe("createStream", () => {
  it("depends only on (seed, stream), not on the order in which streams are used", () => {
    const seed = 42;
    const inOrder = [0, 1, 2, 3].map((stream) => draw(createStream(seed, stream), 10));
    // Create them in reverse and interleave the draws.
    const streams = [3, 2, 1, 0].map((stream) => ({ stream, random: createStream(seed, stream), values: [] as number[] }));
    for (let k = 0; k < 10; k++) for (const s of k % 2 ? streams : [...streams].reverse()) s.values.push(s.random());
    for (const s of streams) expect(s.values).toEqual(inOrder[s.stream]);
    // Unrelated draws from the base generator in between change nothing.
    const base = createRandom(seed);
    draw(base, 5);
    expect(draw(createStream(seed, 2), 10)).toEqual(inOrder[2]);
  });

  it("gives different sequences for different streams and different seeds", () => {
    const sequences = new Set<string>();
    for (const seed of [0, 1, 42]) {
      for (let stream = 0; stream < 20; stream++) sequences.add(draw(createStream(seed, stream), 4).join());
      sequences.add(draw(createRandom(seed), 4).join());
    }
    expect(sequences.size).toBe(3 * 21);
  });

  it("streams are roughly uncorrelated with each other", () => {
    const a = draw(createStream(7, 0), 5000);
    const b = draw(createStream(7, 1), 5000);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const ma = mean(a);
    const mb = mean(b);
    let cov = 0;
    for (let k = 0; k < a.length; k++) cov += (a[k] - ma) * (b[k] - mb);
    const correlation = cov / a.length / (1 / 12);
    expect(Math.abs(correlation)).toBeLessThan(0.06);
  });
});

describe("gaussian", () => {
  it("has mean ≈ 0 and variance ≈ 1 over 20k draws", () => {
    for (const seed of [1, 2, 3]) {
      const random = createRandom(seed);
      const values = draw(() => gaussian(random), 20_000);
      const mean = values.reduce((s, x) => s + x, 0) / values.length;
      const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1);
      // Standard errors: 0.007 for the mean, 0.01 for the variance.
      expect(Math.abs(mean)).toBeLessThan(0.035);
      expect(Math.abs(variance - 1)).toBeLessThan(0.05);
      expect(values.every(Number.isFinite)).toBe(true);
      // About 68% within one standard deviation.
      const within = values.filter((x) => Math.abs(x) < 1).length / values.length;
      expect(Math.abs(within - 0.6827)).toBeLessThan(0.02);
    }
  });

  it("is finite even when the generator returns 0", () => {
    const zeros = () => 0;
    expect(Math.abs(gaussian(zeros))).toBe(0); // u = 1 → √(−2 log 1) = 0
    let calls = 0;
    const almostOne = () => (calls++ % 2 === 0 ? 1 - 2 ** -53 : 0);
    expect(Number.isFinite(gaussian(almostOne))).toBe(true);
  });
});
