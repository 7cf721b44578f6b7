import { coordinateName, roundingTo, type Precision } from "@gradcheck/core";
import { parameterLayout } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS, type MlpCheckInput, type CheckMode } from "./check-input.js";
import { runLocalCheck } from "./run-check.js";
import { coordinateAtQuantile, userCheckInput } from "./test-support/user-backprop.js";

/** W1 has 1,000,000 coordinates; a small batch keeps a full check to a few seconds and a directional one to about ten. */
const MILLION_SPEC = {
  name: "million",
  inputSize: 2000,
  layers: [{ units: 500, activation: "tanh" }, { units: 10, activation: "softmax" }],
  loss: "cross-entropy",
};
const options = (mode: CheckMode) => ({ ...DEFAULT_CHECK_OPTIONS, mode });
const SLOW = 60_000;

/** "small": |dθ| at the 10th percentile of W1; "near-zero": at the 1st (F32) or the 0.1th (F64). */
const ENTRIES = { small: { F64: 0.1, F32: 0.1 }, "near-zero": { F64: 0.001, F32: 0.01 } } as const;

function withWrongCoordinate(input: MlpCheckInput, entry: keyof typeof ENTRIES, off: number) {
  const w1 = parameterLayout(input.spec).tensors[0];
  const precision = input.precision as "F64" | "F32";
  const index = coordinateAtQuantile(input, w1.offset, w1.size, ENTRIES[entry][precision]);
  const analytic = Float64Array.from(input.analytic);
  analytic[index] = roundingTo(precision)(analytic[index] * (1 + off));
  return { input: { ...input, analytic }, name: coordinateName(parameterLayout(input.spec), index) };
}

describe.each(["F64", "F32"] as Precision[])("one wrong coordinate among a million, %s dθ in its own arithmetic", (precision) => {
  const correct = userCheckInput(MILLION_SPEC, precision, 5);

  it("the correct gradient passes with no outlier", async () => {
    const report = await runLocalCheck(correct, options("full"));
    expect(report.verdict).toBe("pass");
    expect(report.coordinates.outliers).toBe(0);
    expect(report.tensors[0].size).toBe(1_000_000);
  }, SLOW);

  it.each([
    ["small", 0.01],
    ["small", 0.06],
    ["near-zero", 0.01],
    ["near-zero", 0.06],
  ] as const)("a %s entry %s off fails the full check and is the outlier listed", async (entry, off) => {
    const { input, name } = withWrongCoordinate(correct, entry, off);
    const report = await runLocalCheck(input, options("full"));
    const w1 = report.tensors[0];
    expect(report.verdict).toBe("fail");
    expect(report.coordinates.outliers).toBe(1);
    expect([w1.verdict, w1.outliers.count, w1.outliers.complete]).toEqual(["fail", 1, true]);
    expect(`W1[${w1.outliers.worst[0].index.join(",")}]`).toBe(name);
    expect(report.tensors.slice(1).every((tensor) => tensor.verdict === "pass")).toBe(true);
    expect(report.diagnosis.map((finding) => finding.code)).toEqual(["coordinates"]);
  }, SLOW);
});

describe("directional mode on a million coordinates", () => {
  it.each([
    ["F64", "small", 0.01],
    ["F64", "near-zero", 0.01],
    ["F64", "near-zero", 0.06],
    ["F32", "small", 0.06],
  ] as const)("%s: a %s entry %s off is localized to its coordinate", async (precision, entry, off) => {
    const { input, name } = withWrongCoordinate(userCheckInput(MILLION_SPEC, precision, 5), entry, off);
    const report = await runLocalCheck(input, options("directional"));
    expect(report.verdict).toBe("fail");
    expect(report.localization!.located).toEqual([name]);
    expect(report.tensors[0].outliers.count).toBe(1);
  }, SLOW);

  it("F32: an error below what directions resolve passes, and the report says how small that is", async () => {
    const correct = userCheckInput(MILLION_SPEC, "F32", 5);
    const { input } = withWrongCoordinate(correct, "small", 0.01);
    const report = await runLocalCheck(input, options("directional"));
    const w1 = report.tensors[0];
    const injected = differenceNorm(input.analytic, correct.analytic);
    expect(w1.sensitivity).toMatchObject({ kind: "directional" });
    if (w1.sensitivity?.kind !== "directional") throw new Error("no directional sensitivity");
    expect(injected).toBeLessThan(w1.sensitivity.smallestError);
    expect(report.verdict).not.toBe("fail");
  }, SLOW);
});

function differenceNorm(a: Float64Array, b: Float64Array): number {
  let squares = 0;
  for (let i = 0; i < a.length; i++) squares += (a[i] - b[i]) ** 2;
  return Math.sqrt(squares);
}
