import type { Report } from "@gradcheck/contracts";
import type { FinishedCheck } from "../history.repository.js";

/** Per-tensor fields these tests do not look at. */
const untested = { tolerance: null, outliers: { count: 0, complete: true, worst: [] }, sensitivity: null };

export function report(verdict: Report["verdict"], relativeDifference: number, step: number | null): Report {
  return {
    model: "mlp",
    verdict,
    relativeDifference,
    eps: 6e-6,
    stepRule: "auto",
    richardson: false,
    mode: "full",
    seed: null,
    precision: "F64",
    cost: 2.3,
    thresholds: { pass: 1e-7, warn: 1e-4 },
    noise: { relative: 1e-12, sampled: 16 },
    costEvaluations: 32,
    step,
    tolerances: null,
    coordinates: { total: 12, checked: 12, kinks: 0, outliers: 0 },
    tensors: [
      { name: "W1", shape: [2, 5], relativeDifference, maxAbsError: 1e-3, verdict, size: 10, checked: 10, coverage: 1, kinks: 0, worst: [{ index: [1, 4], numeric: 0.5, analytic: 0.25, absError: 0.25, relativeError: 0.33 }], ...untested },
      { name: "b1", shape: [2], relativeDifference: 1e-12, maxAbsError: 1e-14, verdict: "pass", size: 2, checked: 2, coverage: 1, kinks: 0, worst: [], ...untested },
    ],
    localization: null,
    warnings: [],
    diagnosis: verdict === "fail" ? [{ code: "scale", tensors: ["W1"], message: "W1 is 2 × the numerical one", evidence: { factors: [2] } }] : [],
    compute: { backends: [{ name: "cpu", mode: null, precision: "float64", items: 12 }], screen: null },
    provenance: null,
  };
}

export function finished(step: number | null, hash: string, verdict: Report["verdict"], relativeDifference: number): FinishedCheck {
  return {
    model: { name: "mlp", spec: { name: "mlp", inputSize: 5 } },
    checkpoint: { contentHash: hash, step, dtype: "F64", sizeBytes: 4096 },
    options: { mode: "full", top: 5, eps: undefined },
    backend: "cpu",
    report: report(verdict, relativeDifference, step),
    startedAt: new Date("2026-11-24T10:00:00Z"),
    finishedAt: new Date("2026-11-24T10:00:02Z"),
  };
}
