import { CoordinateStatus, createRandom, gaussian, numericalGradient, relativeDifference } from "@gradcheck/core";
import { forward, networkFromTheta, parseModelSpec, randomBatch, randomTheta } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { CpuBackend } from "./cpu-backend.js";

const spec = parseModelSpec({
  name: "small",
  inputSize: 4,
  layers: [
    { units: 6, activation: "sigmoid" },
    { units: 5, activation: "tanh" },
    { units: 3, activation: "sigmoid" },
  ],
  loss: "cross-entropy",
  l2: 0.2,
});
const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const FIXED = { step: { kind: "fixed", eps: 1e-5 } } as const;

describe("CpuBackend", () => {
  const random = createRandom(5);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, 7, random);
  const backend = new CpuBackend(spec, theta, batch);
  const naive = numericalGradient((x) => forward(networkFromTheta(spec, x), batch).cost, theta, 1e-5);

  it("matches naive central differences of the plain forward pass", () => {
    const { numeric, status } = backend.centralDifferences(all(theta.length), FIXED);
    expect(relativeDifference(numeric, naive)).toBeLessThan(1e-8);
    expect(status.every((s) => s === CoordinateStatus.checked)).toBe(true);
  });

  it("computes any list of coordinates exactly as the whole θ does", () => {
    const whole = backend.centralDifferences(all(theta.length), FIXED);
    const some = Int32Array.of(40, 3, 17);
    expect([...backend.centralDifferences(some, FIXED).numeric]).toEqual([...some].map((i) => whole.numeric[i]));
  });

  it("is more accurate with Richardson extrapolation at a coarse step", () => {
    const coarse = { kind: "fixed", eps: 1e-2 } as const;
    const exact = backend.centralDifferences(all(theta.length), { step: { kind: "fixed", eps: 1e-6 } }).numeric;
    const plain = backend.centralDifferences(all(theta.length), { step: coarse }).numeric;
    const extrapolated = backend.centralDifferences(all(theta.length), { step: coarse, richardson: true }).numeric;
    expect(relativeDifference(extrapolated, exact)).toBeLessThan(relativeDifference(plain, exact) / 100);
  });

  it("gives directional derivatives equal to v·∇J", () => {
    const exact = backend.centralDifferences(all(theta.length), { step: { kind: "fixed", eps: 1e-6 } }).numeric;
    const directions = [0, 1, 2].map(() => {
      const values = Float64Array.from(theta, () => gaussian(random));
      return { indices: all(theta.length), values };
    });
    const { numeric } = backend.directionalDerivatives(directions, 1e-5);
    directions.forEach((direction, n) => {
      const projection = direction.values.reduce((sum, v, i) => sum + v * exact[i], 0);
      expect(Math.abs(numeric[n] - projection) / Math.abs(projection)).toBeLessThan(1e-8);
    });
  });

  it("reports progress up to the number of coordinates", () => {
    const seen: number[] = [];
    backend.centralDifferences(all(10), FIXED, (done) => seen.push(done));
    expect(seen.at(-1)).toBe(10);
  });
});
