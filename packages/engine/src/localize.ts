import { evaluationsPerDerivative, type PerturbedCostBackend } from "@gradcheck/compute";
import { coordinateRelativeError, coordinateTolerance, CoordinateStatus, type Outlier, type RoundingTolerance } from "@gradcheck/core";
import { project, randomDirection } from "./directions.js";
import { confirmAtHalfStep } from "./outliers.js";
import type { ShardSettings } from "./shard.js";

/** A range of θ under suspicion, and the relative error above which a direction over part of it disagrees. */
export interface SuspectRange {
  readonly start: number;
  readonly end: number;
  /** |v·n − v·a| > relative·max(|v·n| + |v·a|, floor) means the direction disagrees */
  readonly relative: number;
  readonly floor: number;
}

export interface Localization {
  /** θ indices found to be outliers, ascending */
  readonly located: number[];
  /** the outliers themselves, ascending by index */
  readonly outliers: Outlier[];
  /** every coordinate checked on its own: numeric value and status */
  readonly checked: Map<number, { numeric: number; status: number }>;
  readonly evaluations: number;
  /** false when the search stopped at the cap: more coordinates disagree than it lists */
  readonly complete: boolean;
}

/** Random directions per range test: a single one can miss an error by landing nearly orthogonal to it. */
const DIRECTIONS_PER_TEST = 2;
export const MAX_LOCATED = 10;

/**
 * Group testing: a range of θ is suspect when a random direction restricted to it gives a
 * directional derivative that disagrees with v·dθ. Suspect ranges are halved until single
 * coordinates remain, which are then checked by central differences, so k wrong coordinates
 * among P cost O(k·log P) evaluations. Every direction is seeded from the range it covers.
 * A single coordinate is located only when it is an outlier: one beyond its rounding
 * tolerance is recomputed at h/2 and confirmed (see confirmOutlier).
 */
export function localize(
  backend: PerturbedCostBackend,
  analytic: Float64Array,
  ranges: readonly SuspectRange[],
  settings: ShardSettings,
  tolerance: RoundingTolerance,
): Localization {
  const perDerivative = evaluationsPerDerivative(settings.richardson);
  const outliers: Outlier[] = [];
  const checked = new Map<number, { numeric: number; status: number }>();
  let evaluations = 0;
  const queue = [...ranges];

  const checkCoordinates = (start: number, end: number) => {
    const indices = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const { numeric, status } = backend.centralDifferences(indices, settings);
    evaluations += indices.length * perDerivative;
    const candidates: number[] = [];
    indices.forEach((index, n) => {
      checked.set(index, { numeric: numeric[n], status: status[n] });
      const beyondRounding = Math.abs(numeric[n] - analytic[index]) > coordinateTolerance(tolerance, index, 0);
      if (status[n] === CoordinateStatus.checked && beyondRounding) candidates.push(index);
    });
    const confirmed = confirmAtHalfStep(backend, Int32Array.from(candidates), (index) => checked.get(index)!.numeric, analytic, tolerance, settings);
    evaluations += confirmed.evaluations;
    outliers.push(...confirmed.outliers);
  };
  const suspect = ({ start, end, relative, floor }: SuspectRange) => {
    const directions = Array.from({ length: DIRECTIONS_PER_TEST }, (_, r) =>
      randomDirection(start, end, settings.seed, rangeStream(start, end, r)),
    );
    const { numeric, status } = backend.directionalDerivatives(directions, settings.directionStep, settings.richardson);
    evaluations += directions.length * perDerivative;
    // A direction that crossed a kink tells nothing; keep the range under suspicion.
    return directions.some(
      (direction, r) => status[r] !== CoordinateStatus.checked || coordinateRelativeError(numeric[r], project(direction, analytic), floor) > relative,
    );
  };

  while (queue.length > 0 && outliers.length <= MAX_LOCATED) {
    // Stops once more than MAX_LOCATED are found: then the error is widespread.
    const range = queue.shift()!;
    const { start, end } = range;
    if (end - start <= 2 * DIRECTIONS_PER_TEST) {
      checkCoordinates(start, end);
      continue;
    }
    const middle = start + Math.floor((end - start) / 2);
    for (const part of [{ ...range, end: middle }, { ...range, start: middle }]) if (suspect(part)) queue.push(part);
  }
  const complete = queue.length === 0 && outliers.length <= MAX_LOCATED;
  const kept = outliers.sort((a, b) => a.flatIndex - b.flatIndex).slice(0, MAX_LOCATED);
  return { located: kept.map((outlier) => outlier.flatIndex), outliers: kept, checked, evaluations, complete };
}

/** A seed stream per (range, repetition), distinct from the per-tensor direction streams. */
function rangeStream(start: number, end: number, repetition: number): number {
  let h = 0x811c9dc5;
  for (const value of [start, end, repetition, 0x6c6f63]) h = Math.imul(h ^ value, 0x01000193);
  return h >>> 0;
}
