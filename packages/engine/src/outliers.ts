import { evaluationsPerDerivative, type PerturbedCostBackend } from "@gradcheck/compute";
import { confirmOutlier, CoordinateStatus, outlierCandidates, ScreenOutcome, type Layout, type Outlier, type RoundingTolerance } from "@gradcheck/core";
import type { MergedResults } from "./aggregate.js";
import { halved, type NoiseEstimate } from "./noise.js";
import type { ShardSettings } from "./shard.js";

/** Candidates confirmed per tensor at most: a few hundred, or 5% of what it checked. */
const confirmationBudget = (checked: number) => Math.max(256, Math.ceil(0.05 * checked));

export interface OutlierSearch {
  /** confirmed outliers, ascending by θ index */
  readonly outliers: readonly Outlier[];
  /** per tensor, candidates left unconfirmed because of the budget (0: the count is complete) */
  readonly unconfirmed: Int32Array;
  readonly evaluations: number;
}

/**
 * Per-coordinate verdicts for coordinate modes. Every checked coordinate is screened against
 * its tolerance with the tensor's sampled numerical noise standing in for its own; each
 * candidate is then recomputed at h/2, which measures that coordinate's numerical error and
 * decides (confirmOutlier). Coordinates that passed a float32 screen unconfirmed are left out:
 * their values carry float32 noise.
 */
export function findOutliers(
  backend: PerturbedCostBackend,
  layout: Layout,
  results: MergedResults,
  analytic: Float64Array,
  tolerance: RoundingTolerance,
  noise: NoiseEstimate,
  settings: ShardSettings,
): OutlierSearch {
  const status = results.screen
    ? results.status.map((value, i) => (results.screen![i] === ScreenOutcome.passed ? CoordinateStatus.unchecked : value))
    : results.status;
  const candidates = outlierCandidates(layout, results.numeric, analytic, status, tolerance, noise.absolute, confirmationBudget);
  const atStep = (index: number) => results.numeric[index];
  const { outliers, evaluations } = confirmAtHalfStep(backend, candidates.indices, atStep, analytic, tolerance, settings);
  return { outliers, unconfirmed: candidates.overflow, evaluations };
}

/** Recomputes `indices` at h/2 and keeps those that confirmOutlier confirms; `atStep(index)` is the derivative at h. */
export function confirmAtHalfStep(
  backend: PerturbedCostBackend,
  indices: Int32Array,
  atStep: (index: number) => number,
  analytic: Float64Array,
  tolerance: RoundingTolerance,
  settings: ShardSettings,
): { outliers: Outlier[]; evaluations: number } {
  if (indices.length === 0) return { outliers: [], evaluations: 0 };
  const half = backend.centralDifferences(indices, { step: halved(settings.step), richardson: settings.richardson });
  const outliers: Outlier[] = [];
  indices.forEach((index, n) => {
    if (half.status[n] !== CoordinateStatus.checked) return;
    const outlier = confirmOutlier(tolerance, index, atStep(index), half.numeric[n], analytic[index], half.rounding?.[n]);
    if (outlier) outliers.push(outlier);
  });
  return { outliers, evaluations: indices.length * evaluationsPerDerivative(settings.richardson) };
}
