import { availableGpuJsModes } from "@gradcheck/compute/gpujs";
import type { Report } from "@gradcheck/contracts";
import { describeFault, faultyGradients, flattenGradients, parameterLayout, type Fault } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS } from "./check-input.js";
import { resolveBackend } from "./compute-backend.js";
import { runLocalCheck, type LocalRunOptions } from "./run-check.js";
import { BUG_TABLE_SPEC, fixture } from "./test-support/fixtures.js";

const FAULTS: Fault[] = [
  { kind: "forgotten-l2", layers: 2 },
  { kind: "forgotten-l2", layers: "all" },
  { kind: "doubled-dw", layer: 3 },
  { kind: "flipped-db", layer: 2 },
  { kind: "wrong-activation-derivative", layer: 1 },
  { kind: "wrong-coordinate", layer: 2, row: 3, column: 5 },
  { kind: "shifted-rows", layer: 2 },
  { kind: "transposed-dw", layer: 2 },
  { kind: "missing-1/m" },
];

/** What a user acts on: verdicts, where the disagreement is, and the diagnosis. */
function conclusions(report: Report) {
  return {
    verdict: report.verdict,
    tensors: report.tensors.map((tensor) => [tensor.name, tensor.verdict, tensor.checked, tensor.kinks]),
    worst: report.tensors.map((tensor) => (tensor.verdict === "pass" ? [] : tensor.worst.slice(0, 1).map((c) => c.index))),
    diagnosis: report.diagnosis.map((finding) => [finding.code, [...finding.tensors].sort(), finding.code === "coordinates" ? finding.message : ""]),
    warnings: report.warnings.map((warning) => warning.code),
  };
}

// The default sample confirms all of these small tensors; the small one leaves most passes in float32.
const SAMPLES = [
  { name: "the default sample", sample: undefined },
  { name: "a 10% sample", sample: { fraction: 0.1, minimum: 2 } },
];

describe.each(availableGpuJsModes())("gpujs screen in mode %s, confirmed in float64", (gpujsMode) => {
  const { input, network } = fixture(BUG_TABLE_SPEC, 7);
  const cases: [string, Float64Array][] = [
    ["the correct gradient", input.analytic],
    ...FAULTS.map((fault): [string, Float64Array] => [describeFault(fault), flattenGradients(input.spec, faultyGradients(fault, network, input.batch))]),
  ];

  describe.each(SAMPLES)("with $name", ({ sample }) => {
    it.each(cases)("%s: same verdicts, localization and diagnosis as the cpu backend", async (_, analytic) => {
      for (const eps of [1e-6, undefined]) {
        const options: LocalRunOptions = { ...DEFAULT_CHECK_OPTIONS, eps, threads: 1, top: 3 };
        const cpu = await runLocalCheck({ ...input, analytic }, options);
        const gpu = await runLocalCheck({ ...input, analytic }, { ...options, backend: "gpujs", gpujsMode, screenSample: sample });
        expect(conclusions(gpu)).toEqual(conclusions(cpu));
        expect(gpu.compute.backends).toEqual([{ name: "gpujs", mode: gpujsMode, precision: "float32", items: cpu.coordinates.total }]);
        expect(cpu.compute).toEqual({ backends: [{ name: "cpu", mode: null, precision: "float64", items: cpu.coordinates.total }], screen: null });
        const screen = gpu.compute.screen!;
        expect(screen.screened).toBe(cpu.coordinates.total);
        expect(screen.flagged + screen.sampled + screen.unconfirmed).toBe(screen.screened);
        if (cpu.verdict === "pass") expect(gpu.relativeDifference).toBeLessThan(10 * Math.max(cpu.relativeDifference, 1e-12));
        else expect(gpu.relativeDifference).toBeCloseTo(cpu.relativeDifference, 3);
        // where some tensor is right, most of its coordinates pass the screen and stay float32
        if (sample && cpu.tensors.some((tensor) => tensor.verdict === "pass")) expect(screen.unconfirmed).toBeGreaterThan(0);
      }
    });
  });

  it("flags the wrong coordinates of a larger model, and their figures are float64", async () => {
    const wide = fixture({ ...BUG_TABLE_SPEC, inputSize: 60, layers: [{ units: 30, activation: "relu" }, ...BUG_TABLE_SPEC.layers.slice(1)] }, 3);
    const analytic = wide.input.analytic.map((value, index) => (index % 97 === 0 ? value * 1.001 : value));
    const options: LocalRunOptions = { ...DEFAULT_CHECK_OPTIONS, threads: 1, top: 40 };
    const cpu = await runLocalCheck({ ...wide.input, analytic }, options);
    const gpu = await runLocalCheck({ ...wide.input, analytic }, { ...options, backend: "gpujs", gpujsMode });
    expect(conclusions(gpu)).toEqual(conclusions(cpu));
    const worst = (report: Report) => report.tensors.flatMap((tensor) => tensor.worst.filter((c) => c.relativeError > 1e-4));
    expect(worst(gpu)).toEqual(worst(cpu));
    expect(worst(cpu).length).toBe(Math.ceil(parameterLayout(wide.input.spec).total / 97));
    expect(gpu.compute.screen!.unconfirmed).toBeGreaterThan(gpu.compute.screen!.screened / 2);
  });
});

describe("backend choice", () => {
  it("auto takes gpujs only where gpu.js reaches GL through a display", async () => {
    expect(await resolveBackend("auto", { display: undefined })).toBe("cpu");
    expect(await resolveBackend("gpujs")).toBe("gpujs");
    expect(await resolveBackend("cpu")).toBe("cpu");
  });

  it("runs directional mode on the float64 cpu backend whatever was asked", async () => {
    const { input } = fixture(BUG_TABLE_SPEC, 2);
    const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode: "directional", threads: 1, backend: "gpujs", gpujsMode: "cpu" });
    expect(report.compute.backends.map((usage) => usage.name)).toEqual(["cpu"]);
    expect(report.compute.screen).toBeNull();
  });
});
