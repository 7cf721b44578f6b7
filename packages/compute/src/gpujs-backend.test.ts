import { AUTO_STEP_BASE, CoordinateStatus, createRandom, localIndex, relativeDifference, UNIT_ROUNDOFF, type StepRule } from "@gradcheck/core";
import {
  backprop,
  flattenGradients,
  networkFromTheta,
  parameterLayout,
  parseModelSpec,
  randomBatch,
  randomTheta,
  type Batch,
  type ModelSpec,
} from "@gradcheck/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Derivatives, PerturbedCostBackend } from "./backend.js";
import { CpuBackend } from "./cpu-backend.js";
import { GpuJsBackend, type GpuJsBackendOptions } from "./gpujs-backend.js";
import { availableGpuJsModes, GPUJS_MODES, type GpuJsMode } from "./gpujs-mode.js";

type Precision = PerturbedCostBackend["precision"];

/** |numeric − reference| ≤ relative·(|numeric| + |reference|) + ofLargest·(largest |numeric| + |reference| in θ) */
interface Tolerance {
  readonly relative: number;
  readonly ofLargest: number;
}

const UNIT: Readonly<Record<Precision, number>> = { float64: UNIT_ROUNDOFF.F64, float32: UNIT_ROUNDOFF.F32 };

/**
 * Rounding alone, as seen against the float64 cpu backend at the same steps (where the
 * truncation error is the same on both sides). The cost changes are computed without
 * cancelling against J(θ), so a derivative keeps the relative precision u of its arithmetic
 * up to the ~10² operations in series (a few ulps each for expm1/log1p) and the
 * cancellation between examples' changes: 2¹¹·u (1.2e-4 in float32; seen ≤ 6e-6). Near-zero
 * coordinates are held to an absolute 2⁶·u of the largest (seen ≤ 4u). The same holds on
 * GL (Mesa's llvmpipe), whose exp and log are not correctly rounded, because the kernels avoid
 * them for small arguments (see expm1Accurate).
 */
const rounding = (precision: Precision): Tolerance => ({ relative: 2 ** 11 * UNIT[precision], ofLargest: 2 ** 6 * UNIT[precision] });

/**
 * Against the analytic gradient: rounding plus the truncation error of central differences,
 * (h²/6)·∂³J/∂θ_i³ with h = ∛ε·max(1, |θ_i|) (4.9e-3 in float32). For these unit-scale
 * models the third derivatives stay within a few tens of the largest gradient: the error
 * was ≤ 4·h² of the largest over 90 random models, so 20·h² leaves 5× (4.8e-4 in float32,
 * 7e-10 in float64).
 */
const tolerance = (precision: Precision): Tolerance => ({
  relative: rounding(precision).relative,
  ofLargest: rounding(precision).ofLargest + 20 * AUTO_STEP_BASE[precision] ** 2,
});

const autoStep = (precision: Precision, scale = 1): StepRule => ({ kind: "auto", base: scale * AUTO_STEP_BASE[precision] });

/** Coordinates checked on both sides whose difference exceeds the tolerance, with its multiple of the allowance. */
function outside(numeric: Float64Array, reference: Float64Array, checked: (index: number) => boolean, bound: Tolerance): { index: number; times: number }[] {
  let largest = 0;
  for (let i = 0; i < numeric.length; i++) if (checked(i)) largest = Math.max(largest, Math.abs(numeric[i]) + Math.abs(reference[i]));
  const found: { index: number; times: number }[] = [];
  for (let i = 0; i < numeric.length; i++) {
    if (!checked(i)) continue;
    const allowed = bound.relative * (Math.abs(numeric[i]) + Math.abs(reference[i])) + bound.ofLargest * largest;
    const difference = Math.abs(numeric[i] - reference[i]);
    if (difference > allowed) found.push({ index: i, times: difference / allowed });
  }
  return found;
}

interface Fixture {
  readonly name: string;
  readonly spec: ModelSpec;
  readonly theta: Float64Array;
  readonly batch: Batch;
  readonly analytic: Float64Array;
  readonly all: Int32Array;
  /** whether ReLU kinks are crossed at the float32 step, so that the kink check bites */
  readonly kinksAtFloat32: boolean;
}

function fixture(name: string, layers: ModelSpec["layers"], loss: ModelSpec["loss"], l2: number, kinksAtFloat32: boolean): Fixture {
  const spec = parseModelSpec({ name, inputSize: 5, layers, loss, l2 });
  const random = createRandom(2);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, 24, random);
  const analytic = flattenGradients(spec, backprop(networkFromTheta(spec, theta), batch));
  return { name, spec, theta, batch, analytic, all: Int32Array.from(theta, (_, i) => i), kinksAtFloat32 };
}

// Every hidden activation, every head, l2 > 0, ReLU both as the perturbed layer and above it.
const FIXTURES: Fixture[] = [
  fixture(
    "relu-tanh-softmax",
    [
      { units: 6, activation: "relu" },
      { units: 5, activation: "tanh" },
      { units: 4, activation: "softmax" },
    ],
    "cross-entropy",
    0.3,
    true,
  ),
  fixture(
    "sigmoid-linear-sigmoid",
    [
      { units: 6, activation: "sigmoid" },
      { units: 5, activation: "linear" },
      { units: 3, activation: "sigmoid" },
    ],
    "cross-entropy",
    0,
    false,
  ),
  fixture(
    "tanh-relu-mse",
    [
      { units: 5, activation: "tanh" },
      { units: 6, activation: "relu" },
      { units: 2, activation: "linear" },
    ],
    "mse",
    0.1,
    true,
  ),
];

const cpuReference = (f: Fixture, step: StepRule) => new CpuBackend(f.spec, f.theta, f.batch).centralDifferences(f.all, { step });

interface BackendCase {
  readonly name: string;
  readonly precision: Precision;
  readonly create: (f: Fixture) => PerturbedCostBackend;
}

const gpuJsBackends: GpuJsBackend[] = [];
const gpuJs = (f: Fixture, options: GpuJsBackendOptions) => {
  const backend = new GpuJsBackend(f.spec, f.theta, f.batch, options);
  gpuJsBackends.push(backend);
  return backend;
};
afterAll(() => Promise.all(gpuJsBackends.map((backend) => backend.destroy())));

const modes = availableGpuJsModes();
const BACKENDS: BackendCase[] = [
  { name: "cpu", precision: "float64", create: (f) => new CpuBackend(f.spec, f.theta, f.batch) },
  ...modes.map((mode): BackendCase => ({ name: `gpujs ${mode}`, precision: "float32", create: (f) => gpuJs(f, { mode }) })),
];

describe.each(BACKENDS)("$name backend", ({ precision, create }) => {
  const step = autoStep(precision);

  describe.each(FIXTURES)("on $name", (f) => {
    let result: Derivatives;
    beforeAll(() => {
      result = create(f).centralDifferences(f.all, { step });
    });
    const checked = (i: number) => result.status[i] === CoordinateStatus.checked;

    it("matches the analytic gradient within its precision's tolerance", () => {
      expect(outside(result.numeric, f.analytic, checked, tolerance(precision))).toEqual([]);
    });

    it("agrees with the float64 cpu backend at the same steps within rounding", () => {
      const reference = cpuReference(f, step);
      const both = (i: number) => checked(i) && reference.status[i] === CoordinateStatus.checked;
      expect(outside(result.numeric, reference.numeric, both, rounding(precision))).toEqual([]);
    });

    it("reports every kink the float64 cpu backend finds, and beyond them only near misses", () => {
      const kinks = (status: Uint8Array) => [...f.all].filter((i) => status[i] === CoordinateStatus.kink);
      const exact = kinks(cpuReference(f, step).status);
      expect(exact.filter((i) => result.status[i] !== CoordinateStatus.kink)).toEqual([]);
      // a float32 flag (see kinkPossible) is a float64 kink once the step is a few percent longer
      const wider = cpuReference(f, autoStep(precision, 1.05)).status;
      expect(kinks(result.status).filter((i) => wider[i] !== CoordinateStatus.kink)).toEqual([]);
      if (precision === "float32" && f.kinksAtFloat32) expect(exact.length).toBeGreaterThan(0);
    });
  });

  const [first] = FIXTURES;
  const backend = create(first);

  it("flags a wrong analytic coordinate far outside its tolerance", () => {
    const layout = parameterLayout(first.spec);
    const w2 = layout.tensors[2];
    const wrong = w2.offset + localIndex(w2.shape, [1, 2]);
    const analytic = Float64Array.from(first.analytic);
    analytic[wrong] += 0.5;
    const { numeric, status } = backend.centralDifferences(first.all, { step });
    expect(status[wrong]).toBe(CoordinateStatus.checked);
    const found = outside(numeric, analytic, (i) => status[i] === CoordinateStatus.checked, tolerance(precision));
    expect(found.map(({ index }) => index)).toEqual([wrong]);
    expect(found[0].times).toBeGreaterThan(100);
  });

  it("computes any list of coordinates exactly as the whole θ does", () => {
    const whole = backend.centralDifferences(first.all, { step });
    const some = Int32Array.of(40, 3, 17, 94, 41);
    expect([...backend.centralDifferences(some, { step }).numeric]).toEqual([...some].map((i) => whole.numeric[i]));
  });

  it("removes most of the truncation error with Richardson extrapolation", () => {
    // coarse enough that truncation (∝ h²) stands well above float32 rounding on every backend
    const coarse = { kind: "fixed", eps: 3e-2 } as const;
    const plain = backend.centralDifferences(first.all, { step: coarse });
    const extrapolated = backend.centralDifferences(first.all, { step: coarse, richardson: true });
    const checked = (i: number) => plain.status[i] === CoordinateStatus.checked && extrapolated.status[i] === CoordinateStatus.checked;
    const error = (numeric: Float64Array) => relativeDifference(numeric, first.analytic, checked);
    expect(error(extrapolated.numeric)).toBeLessThan(error(plain.numeric) / 10);
  });

  it("reports progress up to the number of coordinates", () => {
    const seen: number[] = [];
    backend.centralDifferences(first.all.subarray(0, 10), { step }, (done) => seen.push(done));
    expect(seen.at(-1)).toBe(10);
  });
});

describe.each(modes)("GpuJsBackend in mode %s", (mode) => {
  const [first, second] = FIXTURES;
  const step = autoStep("float32");

  it("runs in the mode it was given, in float32", () => {
    const backend = gpuJs(first, { mode });
    expect([backend.name, backend.mode, backend.precision]).toEqual(["gpujs", mode, "float32"]);
    expect([new CpuBackend(first.spec, first.theta, first.batch).mode]).toEqual([null]);
  });

  it("gives the same numbers whatever the block size", () => {
    const whole = gpuJs(second, { mode }).centralDifferences(second.all, { step, richardson: true });
    const small = gpuJs(second, { mode, maxCellsPerKernel: 100 }).centralDifferences(second.all, { step, richardson: true });
    expect(small).toEqual(whole);
  });

  it("computes J(θ) in float64", () => {
    expect(gpuJs(first, { mode }).cost).toBe(new CpuBackend(first.spec, first.theta, first.batch).cost);
  });

  it("says that directional derivatives are not implemented yet", () => {
    const direction = { indices: Int32Array.of(0), values: Float64Array.of(1) };
    expect(() => gpuJs(first, { mode }).directionalDerivatives([direction], 1e-3)).toThrow(/not implemented on gpujs yet/);
  });
});

describe("GpuJsBackend modes", () => {
  it("always has gpu.js's cpu mode", () => {
    expect(modes).toContain("cpu");
  });

  const missing = GPUJS_MODES.filter((mode) => !modes.includes(mode));
  it.runIf(missing.length > 0)("refuses a mode that does not work here, naming the ones that do", () => {
    const [first] = FIXTURES;
    const mode: GpuJsMode = missing[0];
    expect(() => gpuJs(first, { mode })).toThrow(`gpu.js mode "${mode}" does not work here; available: ${modes.join(", ")}`);
  });
});
