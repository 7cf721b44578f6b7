import { describe, expect, it } from "vitest";
import { diagnose, type DiagnosisInput, type TensorRole } from "./diagnosis.js";
import { createLayout } from "./layout.js";
import { CoordinateStatus } from "./metrics.js";
import { createRandom, gaussian } from "./random.js";
import type { Outlier } from "./tolerance.js";
import type { Verdict } from "./verdict.js";

// Two layers: W1 [4,4], b1 [4], W2 [3,4], b2 [3].
const layout = createLayout([
  { name: "W1", shape: [4, 4] },
  { name: "b1", shape: [4] },
  { name: "W2", shape: [3, 4] },
  { name: "b2", shape: [3] },
]);
const roles: TensorRole[] = [
  { layer: 1, kind: "weight" },
  { layer: 1, kind: "bias" },
  { layer: 2, kind: "weight" },
  { layer: 2, kind: "bias" },
];
const random = createRandom(3);
const numeric = Float64Array.from({ length: layout.total }, () => gaussian(random));
const theta = Float64Array.from({ length: layout.total }, () => gaussian(random));

/** Checked coordinates off by more than 1e-4 relative, as the outlier search would confirm them. */
function outliersOf(analytic: Float64Array, status: Uint8Array): Outlier[] {
  const found: Outlier[] = [];
  analytic.forEach((a, i) => {
    const tolerance = 1e-4 * (Math.abs(a) + Math.abs(numeric[i]));
    if (status[i] === CoordinateStatus.checked && Math.abs(a - numeric[i]) > tolerance) {
      found.push({ flatIndex: i, numeric: numeric[i], analytic: a, tolerance, excess: Math.abs(a - numeric[i]) / tolerance });
    }
  });
  return found;
}

function input(analytic: Float64Array, failing: string[], overrides: Partial<DiagnosisInput> = {}): DiagnosisInput {
  const status = overrides.status ?? new Uint8Array(layout.total).fill(CoordinateStatus.checked);
  return {
    layout,
    numeric,
    analytic,
    status,
    theta,
    verdicts: layout.tensors.map((slot): Verdict => (failing.includes(slot.name) ? "fail" : "pass")),
    roles,
    lambda: 0.5,
    batchSize: 8,
    keepProb: 1,
    outliers: outliersOf(analytic, status),
    outliersComplete: layout.tensors.map(() => true),
    ...overrides,
  };
}

/** The numerical gradient with one tensor replaced. */
function withTensor(name: string, values: (numericValue: number, local: number) => number): Float64Array {
  const slot = layout.tensors.find((tensor) => tensor.name === name)!;
  const analytic = Float64Array.from(numeric);
  for (let i = 0; i < slot.size; i++) analytic[slot.offset + i] = values(numeric[slot.offset + i], i);
  return analytic;
}

const codes = (findings: ReturnType<typeof diagnose>) => findings.map((finding) => finding.code);

describe("diagnose", () => {
  it("says nothing when every tensor passes", () => {
    expect(diagnose(input(Float64Array.from(numeric), []))).toEqual([]);
  });

  it("finds c = 1/m as an extra division by m", () => {
    const findings = diagnose(input(withTensor("W2", (n) => n / 8), ["W2"]));
    expect(codes(findings)).toEqual(["scale"]);
    expect(findings[0].message).toContain("1/m");
    expect((findings[0].evidence.factors as number[])[0]).toBeCloseTo(1 / 8, 12);
  });

  it("finds an L2 term added twice, with its sign", () => {
    const slot = layout.tensors[2];
    const findings = diagnose(input(withTensor("W2", (n, i) => n + (0.5 / 8) * theta[slot.offset + i]), ["W2"]));
    expect(codes(findings)).toEqual(["regularization"]);
    expect(findings[0].message).toContain("twice");
  });

  it("does not look for a regularization bug when λ is 0", () => {
    const slot = layout.tensors[2];
    const findings = diagnose(input(withTensor("W2", (n, i) => n - 0.1 * theta[slot.offset + i]), ["W2"], { lambda: 0 }));
    expect(codes(findings)).not.toContain("regularization");
  });

  it("finds swapped rows as a permutation that is not a shift", () => {
    const swap = [1, 0, 2, 3];
    const analytic = withTensor("W1", (_, i) => numeric[swap[Math.floor(i / 4)] * 4 + (i % 4)]);
    const findings = diagnose(input(analytic, ["W1"]));
    expect(codes(findings)).toEqual(["permutation"]);
    expect(findings[0].evidence).toMatchObject({ axis: "rows", shift: null, mapping: [1, 0, 2, 3] });
  });

  it("finds shifted columns of a non-square tensor", () => {
    const slot = layout.tensors[2];
    const analytic = withTensor("W2", (_, i) => numeric[slot.offset + Math.floor(i / 4) * 4 + (((i % 4) + 1) % 4)]);
    const findings = diagnose(input(analytic, ["W2"]));
    expect(codes(findings)).toEqual(["permutation"]);
    expect(findings[0].evidence).toMatchObject({ axis: "columns", shift: 1 });
  });

  it("lists a few wrong coordinates, worst first", () => {
    const analytic = withTensor("W1", (n, i) => (i === 5 ? n + 3 : i === 9 ? n + 1 : n));
    const findings = diagnose(input(analytic, ["W1"]));
    expect(codes(findings)).toEqual(["coordinates"]);
    expect(findings[0].evidence.coordinates).toEqual(["W1[1,1]", "W1[2,1]"]);
  });

  it("does not call widespread errors 'a few coordinates'", () => {
    const findings = diagnose(input(withTensor("W1", (n, i) => n + Math.sin(i + 1)), ["W1"]));
    expect(codes(findings)).not.toContain("coordinates");
  });

  it("finds a wrong layer: all of layer 1 fails and layer 2 passes", () => {
    const analytic = Float64Array.from(numeric, (n, i) => (i < 20 ? n * (1 + Math.cos(i)) : n));
    const findings = diagnose(input(analytic, ["W1", "b1"]));
    expect(codes(findings)).toContain("layer");
    expect(findings.find((finding) => finding.code === "layer")!.evidence).toMatchObject({ layer: 1 });
  });

  it("does not blame a layer when only one of its tensors fails", () => {
    const findings = diagnose(input(withTensor("b1", (n, i) => n * (1 + i)), ["b1"]));
    expect(codes(findings)).not.toContain("layer");
  });

  it("does not diagnose tensors that only warn", () => {
    const base = input(withTensor("b2", (n) => n * 2), ["b2"]);
    expect(diagnose({ ...base, verdicts: base.verdicts.map((v) => (v === "fail" ? "warn" : v)) })).toEqual([]);
  });

  it("does not claim 'only these coordinates' when the search was cut short", () => {
    const analytic = withTensor("W1", (n, i) => (i === 5 ? n + 3 : n));
    const incomplete = layout.tensors.map((slot) => slot.name !== "W1");
    expect(codes(diagnose(input(analytic, ["W1"], { outliersComplete: incomplete })))).not.toContain("coordinates");
  });

  it("names no scale for a tensor too small for a fit to mean anything", () => {
    expect(codes(diagnose(input(withTensor("b2", (n) => n * 0.968), ["b2"])))).toEqual([]);
  });

  it("names no scale whose fit leaves most of the disagreement unexplained", () => {
    // a = 1.02·n plus noise larger than the scale's own effect: c = 1.02 "fits" with a residual
    // of about 0.03 of a (under the 5% fit tolerance), yet no fit at all leaves about 0.035.
    const noise = createRandom(9);
    const analytic = withTensor("W1", (n) => 1.02 * n + 0.03 * gaussian(noise));
    expect(codes(diagnose(input(analytic, ["W1"])))).not.toContain("scale");
  });

  it("leads with dropout when the model has dropout and the disagreement is irregular and spread", () => {
    const masks = createRandom(4);
    const analytic = Float64Array.from(numeric, (n) => n * (masks() < 0.8 ? 1.25 : 0));
    const findings = diagnose(input(analytic, ["W1", "b1", "W2", "b2"], { keepProb: 0.8 }));
    expect(codes(findings)[0]).toBe("dropout");
    expect(findings[0].tensors).toEqual(["W1", "b1", "W2", "b2"]);
    expect(codes(diagnose(input(analytic, ["W1", "b1", "W2", "b2"])))).not.toContain("dropout");
  });

  it("does not call a partly checked square tensor transposed", () => {
    const analytic = withTensor("W1", (n, i) => (i % 5 === 0 ? n : n * (2 + i)));
    const status = new Uint8Array(layout.total).fill(CoordinateStatus.checked);
    for (let i = 0; i < 16; i++) if (i % 5 !== 0 && i !== 1) status[i] = CoordinateStatus.unchecked;
    expect(codes(diagnose(input(analytic, ["W1"], { status })))).not.toContain("transpose");
  });

  it("ignores coordinates that were not checked", () => {
    const analytic = withTensor("W1", (n, i) => (i === 5 ? n + 3 : n));
    const status = new Uint8Array(layout.total).fill(CoordinateStatus.checked);
    status[5] = CoordinateStatus.kink;
    expect(diagnose(input(analytic, ["W1"], { status }))).toEqual([]);
  });
});
