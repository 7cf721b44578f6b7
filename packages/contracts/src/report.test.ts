import { describe, expect, it } from "vitest";
import { backendLabel, exitCodeFor, reportSchema, type Report } from "./report.js";

const report: Report = {
  model: "m",
  verdict: "pass",
  relativeDifference: 1e-10,
  eps: 1e-6,
  mode: "full",
  precision: "F64",
  cost: 2.3,
  stepRule: "fixed",
  richardson: false,
  seed: null,
  noise: { relative: 1e-12, sampled: 2 },
  costEvaluations: 4,
  localization: null,
  thresholds: { pass: 1e-7, warn: 1e-4 },
  tolerances: { arithmetic: "F64", studyRuns: 8, expectedRounding: 1e-16, safety: 10, warnOverPass: 10, coordinateFloor: 1e-12 },
  step: null,
  coordinates: { total: 2, checked: 2, kinks: 0, outliers: 0 },
  tensors: [
    {
      name: "W1",
      shape: [1, 2],
      relativeDifference: 1e-10,
      maxAbsError: 1e-12,
      verdict: "pass",
      size: 2,
      coverage: 1,
      checked: 2,
      kinks: 0,
      worst: [{ index: [0, 1], numeric: 0.5, analytic: 0.5, absError: 0, relativeError: 0 }],
      tolerance: { pass: 1e-7, warn: 1e-6, expectedRounding: 1e-16 },
      outliers: { count: 0, complete: true, worst: [] },
      sensitivity: null,
    },
  ],
  warnings: [{ code: "step-unknown", message: "no step" }],
  diagnosis: [],
  compute: { backends: [{ name: "cpu", mode: null, precision: "float64", items: 2 }], screen: null },
  provenance: {
    checkpoint: { file: "step-100.safetensors", sha256: "ab".repeat(32), sizeBytes: 4096 },
    run: "default",
    checkedAt: "2026-12-03T10:00:00.000Z",
    gradcheck: "0.1.0",
    host: "trainer-7",
    backend: "cpu",
  },
};

describe("reportSchema", () => {
  it("accepts a well-formed report unchanged", () => {
    expect(reportSchema.parse(report)).toEqual(report);
  });

  it("names what is wrong in a malformed report", () => {
    const result = reportSchema.safeParse({ ...report, verdict: "ok", coordinates: { total: -1 } });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join("."));
    expect(paths).toContain("verdict");
    expect(paths).toContain("coordinates.total");
  });

  it("reads a report recorded before provenance was, as not recorded", () => {
    const { provenance: _, ...older } = report;
    expect(reportSchema.parse(older).provenance).toBeNull();
  });

  it("reads a report recorded before backends were, as not recorded", () => {
    const { compute: _, ...older } = report;
    expect(reportSchema.parse(older).compute).toEqual({ backends: [], screen: null });
  });

  it("reads a report recorded before tolerances were measured: no tolerances, no outliers", () => {
    const { tolerances: _, ...older } = report;
    const { tolerance: __, outliers: ___, sensitivity: ____, ...olderTensor } = report.tensors[0];
    const parsed = reportSchema.parse({ ...older, coordinates: { total: 2, checked: 2, kinks: 0 }, tensors: [olderTensor] });
    expect(parsed.tolerances).toBeNull();
    expect(parsed.coordinates.outliers).toBe(0);
    expect(parsed.tensors[0]).toMatchObject({ tolerance: null, outliers: { count: 0, complete: true, worst: [] }, sensitivity: null });
  });

  it("rejects an unknown backend or gpu.js mode", () => {
    const usage = report.compute.backends[0];
    expect(reportSchema.safeParse({ ...report, compute: { backends: [{ ...usage, name: "tpu" }], screen: null } }).success).toBe(false);
    expect(reportSchema.safeParse({ ...report, compute: { backends: [{ ...usage, mode: "webgpu" }], screen: null } }).success).toBe(false);
  });

  it("rejects an unknown warning code", () => {
    expect(reportSchema.safeParse({ ...report, warnings: [{ code: "mystery", message: "" }] }).success).toBe(false);
  });
});

describe("backendLabel", () => {
  it("names each backend with its gpu.js mode", () => {
    const gpujs = { name: "gpujs", mode: "headlessgl", precision: "float32", items: 5 } as const;
    expect(backendLabel(report.compute)).toBe("cpu");
    expect(backendLabel({ backends: [...report.compute.backends, gpujs], screen: null })).toBe("cpu+gpujs:headlessgl");
    expect(backendLabel({ backends: [], screen: null })).toBe("unrecorded");
  });
});

describe("exitCodeFor", () => {
  it("is 1 only for fail", () => {
    expect([exitCodeFor("pass"), exitCodeFor("warn"), exitCodeFor("fail")]).toEqual([0, 0, 1]);
  });
});
