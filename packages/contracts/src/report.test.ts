import { describe, expect, it } from "vitest";
import { exitCodeFor, reportSchema, type Report } from "./report.js";

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
  step: null,
  coordinates: { total: 2, checked: 2, kinks: 0 },
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
    },
  ],
  warnings: [{ code: "step-unknown", message: "no step" }],
  diagnosis: [],
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

  it("rejects an unknown warning code", () => {
    expect(reportSchema.safeParse({ ...report, warnings: [{ code: "mystery", message: "" }] }).success).toBe(false);
  });
});

describe("exitCodeFor", () => {
  it("is 1 only for fail", () => {
    expect([exitCodeFor("pass"), exitCodeFor("warn"), exitCodeFor("fail")]).toEqual([0, 0, 1]);
  });
});
