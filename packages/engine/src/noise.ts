import { evaluationsPerDerivative, type PerturbedCostBackend } from "@gradcheck/compute";
import { CoordinateStatus, type StepRule, type Thresholds } from "@gradcheck/core";
import type { SparseDirection } from "@gradcheck/models/evaluator";
import type { ShardSettings } from "./shard.js";

/** How much the numerical estimate moves when its step is halved, relative to its size. */
export interface NoiseEstimate {
  readonly relative: number;
  readonly sampled: number;
  readonly evaluations: number;
}

const NOISE_SAMPLES = 64;

const halved = (rule: StepRule): StepRule => (rule.kind === "fixed" ? { kind: "fixed", eps: rule.eps / 2 } : { kind: "auto", base: rule.base / 2 });

/**
 * Measures the numerical side's own error on an even sample of the plan: estimates at h and
 * h/2 differ by about the error at h (truncation and rounding alike).
 */
export function measureCoordinateNoise(backend: PerturbedCostBackend, plan: Int32Array, settings: ShardSettings): NoiseEstimate {
  const stride = Math.max(1, Math.floor(plan.length / NOISE_SAMPLES));
  const sample = Int32Array.from({ length: Math.min(NOISE_SAMPLES, plan.length) }, (_, n) => plan[n * stride]);
  const full = backend.centralDifferences(sample, settings);
  const half = backend.centralDifferences(sample, { step: halved(settings.step), richardson: settings.richardson });
  return compare(full, half, 2 * sample.length * evaluationsPerDerivative(settings.richardson));
}

export function measureDirectionalNoise(
  backend: PerturbedCostBackend,
  directions: readonly SparseDirection[],
  settings: ShardSettings,
): NoiseEstimate {
  const sample = directions.slice(0, Math.min(8, directions.length));
  const full = backend.directionalDerivatives(sample, settings.directionStep, settings.richardson);
  const half = backend.directionalDerivatives(sample, settings.directionStep / 2, settings.richardson);
  return compare(full, half, 2 * sample.length * evaluationsPerDerivative(settings.richardson));
}

function compare(
  full: { numeric: Float64Array; status: Uint8Array },
  half: { numeric: Float64Array; status: Uint8Array },
  evaluations: number,
): NoiseEstimate {
  let difference = 0;
  let size = 0;
  let sampled = 0;
  for (let n = 0; n < full.numeric.length; n++) {
    if (full.status[n] !== CoordinateStatus.checked || half.status[n] !== CoordinateStatus.checked) continue;
    difference += (full.numeric[n] - half.numeric[n]) ** 2;
    size += full.numeric[n] ** 2;
    sampled++;
  }
  return { relative: size === 0 ? 0 : Math.sqrt(difference / size), sampled, evaluations };
}

/**
 * Thresholds never tighter than what the arithmetic can resolve: a correct gradient differs
 * from the numerical one by about the measured noise, so pass needs a margin of 10× over it.
 */
export function thresholdsAboveNoise(table: Thresholds, noise: NoiseEstimate): Thresholds {
  return { pass: Math.max(table.pass, 10 * noise.relative), warn: Math.max(table.warn, 100 * noise.relative) };
}
