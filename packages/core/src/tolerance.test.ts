import { describe, expect, it } from "vitest";
import { createLayout } from "./layout.js";
import { CoordinateStatus } from "./metrics.js";
import { UNIT_ROUNDOFF } from "./precision.js";
import { createRandom, gaussian } from "./random.js";
import {
  confirmOutlier,
  coordinateTolerance,
  measuredThresholds,
  outlierCandidates,
  ROUNDING_SAFETY,
  roundingTolerance,
  suspicionThreshold,
  WARN_OVER_PASS,
  type RoundingMeasurement,
} from "./tolerance.js";

const layout = createLayout([
  { name: "W", shape: [50, 40] },
  { name: "b", shape: [5] },
]);
const u = UNIT_ROUNDOFF.F32;

/** A study whose deviations are a random share (up to 1%) of the bound u·s_i. */
function study(): RoundingMeasurement {
  const random = createRandom(2);
  const reference = Float64Array.from({ length: layout.total }, () => gaussian(random));
  const scales = reference.map((g) => 10 * Math.abs(g) + 1);
  const deviation = scales.map((s) => random() * 0.01 * u * s);
  return { precision: "F32", reference, deviation, scales, switches: new Float64Array(layout.total) };
}

describe("roundingTolerance", () => {
  const measured = study();
  const tolerance = roundingTolerance(layout, measured);

  it("allows every coordinate at least ROUNDING_SAFETY × what the study saw there", () => {
    for (let i = 0; i < layout.total; i++) expect(tolerance.coordinate[i]).toBeGreaterThanOrEqual(ROUNDING_SAFETY * measured.deviation[i]);
  });

  it("allows in full, with margin, what a ReLU switched near its kink may change", () => {
    const switches = new Float64Array(layout.total);
    switches[11] = 0.5;
    const switched = roundingTolerance(layout, { ...measured, switches });
    expect(switched.coordinate[11] - tolerance.coordinate[11]).toBeCloseTo(1, 12);
    expect(switched.coordinate[12]).toBe(tolerance.coordinate[12]);
  });

  it("calibrates the bound by the tensor's measured ratios: at least twice the largest one", () => {
    const largest = Math.max(...Array.from(measured.deviation.subarray(0, 2000), (d, i) => d / (u * measured.scales[i])));
    expect(tolerance.tensors[0].calibration).toBeGreaterThanOrEqual(2 * largest);
    expect(tolerance.tensors[0].calibration).toBeLessThan(0.2);
    // b is too small to calibrate itself: it takes the pooled calibration of all of θ
    expect(tolerance.tensors[1].calibration).toBeGreaterThan(0);
  });

  it("gives the expected relative difference ‖deviation‖ / 2‖reference‖", () => {
    let d = 0;
    let r = 0;
    for (let i = 0; i < 2000; i++) {
      d += measured.deviation[i] ** 2;
      r += measured.reference[i] ** 2;
    }
    expect(tolerance.tensors[0].expected).toBeCloseTo(Math.sqrt(d) / (2 * Math.sqrt(r)), 15);
  });

  it("never holds a tensor to less than ROUNDING_SAFETY units of roundoff, nor below the numerical side", () => {
    expect(measuredThresholds(0, { pass: 0, warn: 0 }, "F64")).toEqual({ pass: ROUNDING_SAFETY * UNIT_ROUNDOFF.F64, warn: WARN_OVER_PASS * ROUNDING_SAFETY * UNIT_ROUNDOFF.F64 });
    expect(measuredThresholds(1e-7, { pass: 1e-3, warn: 1e-1 }, "F32")).toEqual({ pass: 1e-3, warn: 1e-1 });
    const measured = measuredThresholds(1e-6, { pass: 0, warn: 0 }, "F32");
    expect(measured.pass).toBeCloseTo(1e-5, 18);
    expect(measured.warn).toBeCloseTo(1e-4, 17);
    expect(suspicionThreshold(1e-6, { pass: 0, warn: 0 })).toBeCloseTo(3e-6, 20);
  });
});

describe("outliers", () => {
  const measured = study();
  const tolerance = roundingTolerance(layout, measured);
  const status = new Uint8Array(layout.total).fill(CoordinateStatus.checked);

  it("a coordinate just inside its tolerance is no candidate; one just outside is", () => {
    const numeric = Float64Array.from(measured.reference);
    const analytic = Float64Array.from(measured.reference);
    analytic[7] += 0.9 * coordinateTolerance(tolerance, 7, 0);
    analytic[8] += 1.1 * coordinateTolerance(tolerance, 8, 0);
    const { indices, overflow } = outlierCandidates(layout, numeric, analytic, status, tolerance, [0, 0], () => 10);
    expect([...indices]).toEqual([8]);
    expect([...overflow]).toEqual([0, 0]);
  });

  it("confirms only what the numerical error measured at h/2 cannot explain", () => {
    const a = measured.reference[3] + 1e-3;
    // the two steps disagree by 1e-2: a numerical error that large explains a 1e-3 miss
    expect(confirmOutlier(tolerance, 3, measured.reference[3] + 1e-2, measured.reference[3], a)).toBeUndefined();
    const outlier = confirmOutlier(tolerance, 3, measured.reference[3], measured.reference[3], a)!;
    expect(outlier.excess).toBeGreaterThan(1);
    expect(outlier.numeric).toBe(measured.reference[3]);
  });

  it("keeps at most the budget per tensor, furthest over first, and counts the rest", () => {
    const numeric = Float64Array.from(measured.reference);
    const analytic = numeric.map((n, i) => (i < 2000 ? n + (2 + i * 1e-3) * coordinateTolerance(tolerance, i, 0) : n));
    const { indices, overflow } = outlierCandidates(layout, numeric, analytic, status, tolerance, [0, 0], () => 3);
    expect([...indices]).toEqual([1997, 1998, 1999]);
    expect([...overflow]).toEqual([1997, 0]);
  });
});
