import { AUTO_STEP_BASE, coordinateName } from "@gradcheck/core";
import { faultyGradients, flattenGradients, parameterLayout, type Fault } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS, type CheckOptions } from "./check-input.js";
import { planCoordinates } from "./plan.js";
import { runLocalCheck } from "./run-check.js";
import { BUG_TABLE_SPEC, fixture } from "./test-support/fixtures.js";

const WIDE_SPEC = {
  name: "wide",
  inputSize: 60,
  layers: [
    { units: 40, activation: "relu" },
    { units: 12, activation: "tanh" },
    { units: 4, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.1,
};
const options = (overrides: Partial<CheckOptions> & { threads?: number }) => ({ ...DEFAULT_CHECK_OPTIONS, top: 3, threads: 1, ...overrides });

function faulty(fault: Fault, seed = 5) {
  const { input, network } = fixture(WIDE_SPEC, seed, 16);
  return { ...input, analytic: flattenGradients(input.spec, faultyGradients(fault, network, input.batch)) };
}

describe("sample mode", () => {
  const { input } = fixture(WIDE_SPEC, 5, 16);
  const layout = parameterLayout(input.spec);

  it("draws min(N, size) distinct coordinates from every tensor, reproducibly per seed", () => {
    const plan = planCoordinates(layout, { mode: "sample", samples: 30, seed: 4 });
    for (const slot of layout.tensors) {
      const mine = [...plan].filter((i) => i >= slot.offset && i < slot.offset + slot.size);
      expect(new Set(mine).size).toBe(Math.min(30, slot.size));
    }
    expect([...plan]).toEqual([...planCoordinates(layout, { mode: "sample", samples: 30, seed: 4 })]);
    expect([...plan]).not.toEqual([...planCoordinates(layout, { mode: "sample", samples: 30, seed: 5 })]);
  });

  it("reports coverage per tensor and passes a correct model", async () => {
    const report = await runLocalCheck(input, options({ mode: "sample", samples: 30, seed: 4 }));
    expect(report.verdict).toBe("pass");
    expect(report.mode).toBe("sample");
    expect(report.seed).toBe(4);
    for (const tensor of report.tensors) expect(tensor.checked + tensor.kinks).toBe(Math.min(30, tensor.size));
    expect(report.tensors[0].coverage).toBeCloseTo(report.tensors[0].checked / 2400, 12);
    expect(report.warnings.map((w) => w.code)).toContain("partial-coverage");
  });

  it("gives the same report on 1 and 3 threads with the same seed", async () => {
    const buggy = faulty({ kind: "doubled-dw", layer: 1 });
    const one = await runLocalCheck(buggy, options({ mode: "sample", samples: 500, seed: 9, threads: 1 }));
    const three = await runLocalCheck(buggy, options({ mode: "sample", samples: 500, seed: 9, threads: 3 }));
    expect(three).toEqual(one);
    expect(one.diagnosis.map((finding) => finding.code)).toEqual(["scale"]);
  });
});

describe("directional mode", () => {
  it("passes a correct model, with no localization needed", async () => {
    const { input } = fixture(WIDE_SPEC, 5, 16);
    const report = await runLocalCheck(input, options({ mode: "directional", directions: 6 }));
    expect(report.verdict).toBe("pass");
    expect(report.tensors.every((tensor) => tensor.projections === 6)).toBe(true);
    expect(report.localization).toEqual({ evaluations: 0, located: [], complete: true });
    expect(report.diagnosis).toEqual([]);
  });

  it("localizes one wrong coordinate with a small fraction of a full check's evaluations", async () => {
    const buggy = faulty({ kind: "wrong-coordinate", layer: 1, row: 17, column: 42 });
    const report = await runLocalCheck(buggy, options({ mode: "directional", directions: 6, seed: 3 }));
    const layout = parameterLayout(buggy.spec);
    expect(report.verdict).toBe("fail");
    expect(report.localization!.located).toEqual(["W1[17,42]"]);
    expect(report.localization!.complete).toBe(true);
    expect(report.diagnosis.map((finding) => finding.code)).toEqual(["coordinates"]);
    expect(report.costEvaluations).toBeLessThan(0.25 * 2 * layout.total);
    expect(report.tensors.filter((tensor) => tensor.verdict !== "pass").map((tensor) => tensor.name)).toEqual(["W1"]);
    expect(coordinateName(layout, layout.tensors[0].offset + 17 * 60 + 42)).toBe("W1[17,42]");
  });

  it("gives the same report on 1 and 3 threads with the same seed", async () => {
    const buggy = faulty({ kind: "wrong-coordinate", layer: 2, row: 3, column: 8 });
    const one = await runLocalCheck(buggy, options({ mode: "directional", directions: 5, seed: 11, threads: 1 }));
    const three = await runLocalCheck(buggy, options({ mode: "directional", directions: 5, seed: 11, threads: 3 }));
    expect(three).toEqual(one);
    expect(one.localization!.located).toEqual(["W2[3,8]"]);
  });

  it("stops at a cap and says so when the error is everywhere", async () => {
    const buggy = faulty({ kind: "doubled-dw", layer: 2 });
    const report = await runLocalCheck(buggy, options({ mode: "directional", directions: 4 }));
    expect(report.verdict).toBe("fail");
    expect(report.localization!.complete).toBe(false);
    expect(report.warnings.map((w) => w.code)).toContain("localization-incomplete");
  });
});

describe("steps and noise", () => {
  const { input } = fixture(BUG_TABLE_SPEC, 7);

  it("uses ∛ε·max(1, |θ_i|) unless a step is given", async () => {
    const report = await runLocalCheck(input, options({ eps: undefined }));
    expect(report.stepRule).toBe("auto");
    expect(report.eps).toBe(AUTO_STEP_BASE.float64);
    expect(report.verdict).toBe("pass");
    expect(report.relativeDifference).toBeLessThan(1e-9);
  });

  it("counts cost evaluations, twice as many with Richardson", async () => {
    const plain = await runLocalCheck(input, options({ eps: 1e-4 }));
    const extrapolated = await runLocalCheck(input, options({ eps: 1e-4, richardson: true }));
    expect(plain.costEvaluations).toBe(2 * plain.coordinates.total + plain.noise.sampled * 4);
    expect(extrapolated.costEvaluations).toBe(2 * plain.costEvaluations);
    expect(extrapolated.richardson).toBe(true);
    expect(extrapolated.relativeDifference).toBeLessThan(plain.relativeDifference);
  });

  it("raises the thresholds to the measured noise of a coarse step instead of failing a correct model", async () => {
    const report = await runLocalCheck(input, options({ eps: 0.05 }));
    expect(report.noise.relative).toBeGreaterThan(1e-6);
    expect(report.thresholds.pass).toBeGreaterThan(1e-7);
    expect(report.warnings.map((w) => w.code)).toContain("thresholds-raised");
    expect(report.verdict).not.toBe("fail");
    const buggy = faultyGradients({ kind: "doubled-dw", layer: 2 }, fixture(BUG_TABLE_SPEC, 7).network, input.batch);
    const caught = await runLocalCheck({ ...input, analytic: flattenGradients(input.spec, buggy) }, options({ eps: 0.05 }));
    expect(caught.verdict).toBe("fail");
  });
});
