import { CoordinateStatus, compareGradients, realizedSteps, THRESHOLDS } from "@gradcheck/core";
import { reportSchema } from "@gradcheck/contracts";
import {
  backprop,
  describeFault,
  faultyGradients,
  faultyTensors,
  flattenGradients,
  forward,
  networkFromTheta,
  parameterLayout,
  PerturbedCostEvaluator,
  type Fault,
} from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS } from "./check-input.js";
import { runLocalCheck } from "./run-check.js";
import { BUG_TABLE_SPEC, fixture } from "./test-support/fixtures.js";

const OPTIONS = { ...DEFAULT_CHECK_OPTIONS, eps: 1e-6, top: 3, threads: 1 };

/** Each injected bug and the diagnosis it must get first. */
const FAULTS: [Fault, string][] = [
  [{ kind: "forgotten-l2", layers: 2 }, "regularization"],
  [{ kind: "forgotten-l2", layers: "all" }, "regularization"],
  [{ kind: "doubled-dw", layer: 3 }, "scale"],
  [{ kind: "flipped-db", layer: 2 }, "sign"],
  [{ kind: "wrong-activation-derivative", layer: 1 }, "layer"],
  [{ kind: "wrong-coordinate", layer: 2, row: 3, column: 5 }, "coordinates"],
  [{ kind: "shifted-rows", layer: 2 }, "permutation"],
  [{ kind: "transposed-dw", layer: 2 }, "transpose"],
  [{ kind: "missing-1/m" }, "scale"],
];

describe("injected backprop bugs", () => {
  const { input, network } = fixture(BUG_TABLE_SPEC, 7);

  it("the correct gradient passes with no warning but the step", async () => {
    const report = await runLocalCheck(input, OPTIONS);
    expect(report.verdict).toBe("pass");
    expect(report.relativeDifference).toBeLessThan(1e-9);
    expect(report.tensors.every((tensor) => tensor.verdict === "pass")).toBe(true);
    expect(report.warnings.map((warning) => warning.code)).toEqual([]);
    expect(report.diagnosis).toEqual([]);
  });

  it.each(FAULTS.map(([fault, code]) => [describeFault(fault), fault, code] as const))(
    "%s fails exactly where it was injected and is diagnosed",
    async (_, fault, code) => {
      const analytic = flattenGradients(input.spec, faultyGradients(fault, network, input.batch));
      const report = await runLocalCheck({ ...input, analytic }, OPTIONS);
      const touched = faultyTensors(fault, network);
      expect(report.verdict).toBe("fail");
      for (const tensor of report.tensors) {
        expect([tensor.name, tensor.verdict]).toEqual([tensor.name, touched.includes(tensor.name) ? "fail" : "pass"]);
      }
      expect(report.diagnosis.map((finding) => finding.code)).toEqual([code]);
      expect(report.diagnosis[0].tensors.sort()).toEqual([...touched].sort());
    },
  );

  it("a dθ computed with dropout on leads with the dropout diagnosis, and no scale of a one-number tensor", async () => {
    const { input, network } = fixture({ ...BUG_TABLE_SPEC, keepProb: 0.8 }, 7);
    const analytic = flattenGradients(input.spec, faultyGradients({ kind: "dropout-left-on", seed: 1 }, network, input.batch));
    const report = await runLocalCheck({ ...input, analytic }, OPTIONS);
    expect(report.verdict).toBe("fail");
    expect(report.diagnosis[0].code).toBe("dropout");
    expect(report.diagnosis.map((finding) => finding.code)).not.toContain("scale");
  });

  it("a wrong tanh derivative in layer 2 is blamed on layer 2 alone, with no scale fit that explains less than the error", async () => {
    const spec = { ...BUG_TABLE_SPEC, layers: [{ units: 8, activation: "relu" }, { units: 8, activation: "tanh" }, BUG_TABLE_SPEC.layers[2]] };
    const { input, network } = fixture(spec, 7);
    const analytic = flattenGradients(input.spec, faultyGradients({ kind: "wrong-activation-derivative", layer: 2 }, network, input.batch));
    const report = await runLocalCheck({ ...input, analytic }, OPTIONS);
    expect(report.diagnosis.map((finding) => [finding.code, finding.evidence.layer])).toEqual([["layer", 2]]);
  });

  it("reports the single wrong coordinate as the worst, with its multi-index", async () => {
    const fault: Fault = { kind: "wrong-coordinate", layer: 2, row: 3, column: 5 };
    const analytic = flattenGradients(input.spec, faultyGradients(fault, network, input.batch));
    const report = await runLocalCheck({ ...input, analytic }, OPTIONS);
    const w2 = report.tensors.find((tensor) => tensor.name === "W2")!;
    expect(w2.worst[0].index).toEqual([3, 5]);
    expect(w2.worst[1].relativeError).toBeLessThan(1e-6);
  });
});

describe("threads", () => {
  it("gives the same report, number for number, on 1 and 3 threads", async () => {
    const { input } = fixture({ ...BUG_TABLE_SPEC, inputSize: 300, layers: [{ units: 40, activation: "relu" }, ...BUG_TABLE_SPEC.layers.slice(1)] }, 3);
    const analytic = input.analytic.map((value, index) => (index % 97 === 0 ? value * 1.5 : value));
    const one = await runLocalCheck({ ...input, analytic }, { ...OPTIONS, threads: 1 });
    const three = await runLocalCheck({ ...input, analytic }, { ...OPTIONS, threads: 3 });
    expect(three).toEqual(one);
    expect(one.verdict).toBe("fail");
  });
});

describe("report", () => {
  it("matches the report schema", async () => {
    const { input } = fixture(BUG_TABLE_SPEC, 2);
    expect(() => reportSchema.parse({})).toThrow();
    const report = await runLocalCheck(input, OPTIONS);
    expect(reportSchema.parse(report)).toEqual(report);
    expect(report.coordinates.total).toBe(parameterLayout(input.spec).total);
  });

  it("warns that dropout was off when keepProb < 1, and reports the step", async () => {
    const { input } = fixture({ ...BUG_TABLE_SPEC, keepProb: 0.8 }, 2);
    const report = await runLocalCheck({ ...input, step: 1200 }, OPTIONS);
    expect(report.step).toBe(1200);
    expect(report.warnings.map((warning) => warning.code)).toContain("dropout-disabled");
  });

  it("warns when the step is unknown", async () => {
    const { input } = fixture(BUG_TABLE_SPEC, 2);
    const report = await runLocalCheck({ ...input, step: null }, OPTIONS);
    expect(report.warnings.map((warning) => warning.code)).toContain("step-unknown");
  });
});

describe("ReLU kinks", () => {
  const spec = {
    name: "kinky",
    inputSize: 6,
    layers: [{ units: 30, activation: "relu" }, { units: 20, activation: "relu" }, { units: 2, activation: "softmax" }],
    loss: "cross-entropy",
  };

  /** A correct model whose first five layer-1 units sit 2e-7 above the kink for example 0. */
  function kinkyInput() {
    const { input, network } = fixture(spec, 11, 40);
    const theta = Float64Array.from(input.theta);
    const layout = parameterLayout(input.spec);
    const b1 = layout.tensors[1].offset;
    const z1 = forward(network, input.batch).preActivations[0];
    for (let unit = 0; unit < 5; unit++) theta[b1 + unit] += 2e-7 - z1[unit];
    const moved = networkFromTheta(input.spec, theta);
    return { ...input, theta, analytic: flattenGradients(input.spec, backprop(moved, input.batch)) };
  }

  it("a correct model passes although steps cross kinks, which are counted and left out", async () => {
    const report = await runLocalCheck(kinkyInput(), OPTIONS);
    expect(report.coordinates.kinks).toBeGreaterThan(0);
    expect(report.tensors.find((tensor) => tensor.name === "b1")!.kinks).toBe(5);
    expect(report.verdict).toBe("pass");
    expect(report.warnings.map((warning) => warning.code)).toContain("kink");
    expect(report.coordinates.checked + report.coordinates.kinks).toBe(report.coordinates.total);
    expect(report.diagnosis).toEqual([]);
  });

  it("counting the kink coordinates would have failed the same correct model", async () => {
    const input = kinkyInput();
    const layout = parameterLayout(input.spec);
    const evaluator = new PerturbedCostEvaluator(input.spec, input.theta, input.batch);
    const numeric = new Float64Array(layout.total);
    const status = new Uint8Array(layout.total).fill(CoordinateStatus.checked);
    const changes = { first: 0, second: 0, kink: false };
    for (let i = 0; i < layout.total; i++) {
      const steps = realizedSteps(input.theta[i], OPTIONS.eps);
      evaluator.costChanges(i, steps.plus, -steps.minus, changes);
      numeric[i] = (changes.first - changes.second) / (steps.plus + steps.minus);
    }
    const all = compareGradients(layout, numeric, input.analytic, status, { thresholds: THRESHOLDS.F64, top: 1 });
    expect(all.verdict).toBe("fail");
  });
});
