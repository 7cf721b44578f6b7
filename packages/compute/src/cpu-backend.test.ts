import { CoordinateStatus, createRandom, numericalGradient, relativeDifference } from "@gradcheck/core";
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

describe("CpuBackend", () => {
  const random = createRandom(5);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, 7, random);
  const backend = new CpuBackend(spec, theta, batch);

  it("matches naive central differences of the plain forward pass", () => {
    const naive = numericalGradient((x) => forward(networkFromTheta(spec, x), batch).cost, theta, 1e-5);
    const { numeric, status } = backend.centralDifferences(0, theta.length, 1e-5);
    expect(relativeDifference(numeric, naive)).toBeLessThan(1e-8);
    expect(status.every((s) => s === CoordinateStatus.checked)).toBe(true);
  });

  it("computes any sub-range exactly as the whole range does", () => {
    const whole = backend.centralDifferences(0, theta.length, 1e-6);
    const part = backend.centralDifferences(17, 40, 1e-6);
    expect([...part.numeric]).toEqual([...whole.numeric.subarray(17, 40)]);
  });

  it("reports progress up to the range's size", () => {
    const seen: number[] = [];
    backend.centralDifferences(0, 10, 1e-6, (done) => seen.push(done));
    expect(seen.at(-1)).toBe(10);
  });
});
