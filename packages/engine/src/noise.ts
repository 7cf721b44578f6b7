import { evaluationsPerDerivative, type Derivatives, type PerturbedCostBackend } from "@gradcheck/compute";
import { CoordinateStatus, lowerBound, type Layout, type StepRule, type Thresholds } from "@gradcheck/core";
import type { SparseDirection } from "@gradcheck/models/evaluator";
import type { ShardSettings } from "./shard.js";

/** How much the numerical estimate moves when its step is halved, relative to its size. */
export interface NoiseEstimate {
  readonly relative: number;
  readonly sampled: number;
  readonly evaluations: number;
  /** per tensor, the largest |n_h − n_{h/2}| sampled: an absolute scale of the numerical side's error there */
  readonly absolute: Float64Array;
}

/** Samples per tensor: enough to see a tensor's own truncation error, whatever its size. */
const NOISE_SAMPLES_PER_TENSOR = 16;

export const halved = (rule: StepRule): StepRule => (rule.kind === "fixed" ? { kind: "fixed", eps: rule.eps / 2 } : { kind: "auto", base: rule.base / 2 });

/**
 * Measures the numerical side's own error: estimates at h and h/2 differ by about the error
 * at h (truncation and rounding alike). Sampled evenly within every tensor, and the worst
 * tensor counts, since thresholds apply to each tensor.
 */
export function measureCoordinateNoise(
  backend: PerturbedCostBackend,
  layout: Layout,
  plan: Int32Array,
  settings: ShardSettings,
): NoiseEstimate {
  const groups = layout.tensors.map((slot) => {
    // the plan is ascending: a tensor's coordinates are one run of it
    const mine = plan.subarray(lowerBound(plan.length, (n) => plan[n] < slot.offset), lowerBound(plan.length, (n) => plan[n] < slot.offset + slot.size));
    const stride = Math.max(1, Math.floor(mine.length / NOISE_SAMPLES_PER_TENSOR));
    return Int32Array.from({ length: Math.min(NOISE_SAMPLES_PER_TENSOR, mine.length) }, (_, n) => mine[n * stride]);
  });
  const sample = Int32Array.from(groups.flatMap((group) => [...group]));
  const full = backend.centralDifferences(sample, settings);
  const half = backend.centralDifferences(sample, { step: halved(settings.step), richardson: settings.richardson });
  const evaluations = 2 * sample.length * evaluationsPerDerivative(settings.richardson);
  return worstGroup(full, half, groups.map((group) => group.length), evaluations);
}

/** Directions per tensor that the directional noise estimate uses: callers make no more. */
export const DIRECTIONAL_NOISE_SAMPLE = 2;

/** The same on directions: the first DIRECTIONAL_NOISE_SAMPLE directions of every tensor. */
export function measureDirectionalNoise(
  backend: PerturbedCostBackend,
  directionsByTensor: readonly (readonly SparseDirection[])[],
  settings: ShardSettings,
): NoiseEstimate {
  const groups = directionsByTensor.map((directions) => directions.slice(0, DIRECTIONAL_NOISE_SAMPLE));
  const sample = groups.flat();
  const full = backend.directionalDerivatives(sample, settings.directionStep, settings.richardson);
  const half = backend.directionalDerivatives(sample, settings.directionStep / 2, settings.richardson);
  const evaluations = 2 * sample.length * evaluationsPerDerivative(settings.richardson);
  return worstGroup(full, half, groups.map((group) => group.length), evaluations);
}

/** The largest relative change over consecutive groups of the sample. */
function worstGroup(full: Derivatives, half: Derivatives, sizes: number[], evaluations: number): NoiseEstimate {
  let relative = 0;
  let sampled = 0;
  let start = 0;
  const absolute = new Float64Array(sizes.length);
  sizes.forEach((size, group) => {
    let difference = 0;
    let norm = 0;
    for (let n = start; n < start + size; n++) {
      if (full.status[n] !== CoordinateStatus.checked || half.status[n] !== CoordinateStatus.checked) continue;
      const change = Math.abs(full.numeric[n] - half.numeric[n]);
      difference += change ** 2;
      norm += full.numeric[n] ** 2;
      absolute[group] = Math.max(absolute[group], change);
      sampled++;
    }
    if (norm > 0 && Number.isFinite(difference)) relative = Math.max(relative, Math.sqrt(difference / norm));
    start += size;
  });
  return { relative, sampled, evaluations, absolute };
}

/**
 * What the numerical side can resolve: a correct gradient differs from the numerical one by
 * about the measured noise, so pass needs a margin of 10× over it and warn 100×.
 */
export function noiseThresholds(noise: NoiseEstimate): Thresholds {
  return { pass: 10 * noise.relative, warn: 100 * noise.relative };
}
