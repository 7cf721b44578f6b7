import { evaluationsPerDerivative, type PerturbedCostBackend } from "@gradcheck/compute";
import { coordinateRelativeError, CoordinateStatus } from "@gradcheck/core";
import { project, randomDirection } from "./directions.js";
import type { ShardSettings } from "./shard.js";

export interface Disagreement {
  /** |n − a| > relative·max(|n| + |a|, floor) means the two disagree */
  readonly relative: number;
  readonly floor: number;
}

export interface Localization {
  /** θ indices whose own central difference disagrees with dθ, ascending */
  readonly located: number[];
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
 */
export function localize(
  backend: PerturbedCostBackend,
  analytic: Float64Array,
  ranges: readonly [number, number][],
  settings: ShardSettings,
  disagreement: Disagreement,
): Localization {
  const perDerivative = evaluationsPerDerivative(settings.richardson);
  const disagrees = (n: number, a: number) => coordinateRelativeError(n, a, disagreement.floor) > disagreement.relative;
  const located: number[] = [];
  const checked = new Map<number, { numeric: number; status: number }>();
  let evaluations = 0;
  const queue = [...ranges];

  const checkCoordinates = (start: number, end: number) => {
    const indices = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const { numeric, status } = backend.centralDifferences(indices, settings);
    evaluations += indices.length * perDerivative;
    indices.forEach((index, n) => {
      checked.set(index, { numeric: numeric[n], status: status[n] });
      if (status[n] === CoordinateStatus.checked && disagrees(numeric[n], analytic[index])) located.push(index);
    });
  };
  const suspect = (start: number, end: number) => {
    const directions = Array.from({ length: DIRECTIONS_PER_TEST }, (_, r) =>
      randomDirection(start, end, settings.seed, rangeStream(start, end, r)),
    );
    const { numeric, status } = backend.directionalDerivatives(directions, settings.directionStep, settings.richardson);
    evaluations += directions.length * perDerivative;
    // A direction that crossed a kink tells nothing; keep the range under suspicion.
    return directions.some((direction, r) => status[r] !== CoordinateStatus.checked || disagrees(numeric[r], project(direction, analytic)));
  };

  while (queue.length > 0 && located.length <= MAX_LOCATED) {
    // Stops once more than MAX_LOCATED are found: then the error is widespread.
    const [start, end] = queue.shift()!;
    if (end - start <= 2 * DIRECTIONS_PER_TEST) {
      checkCoordinates(start, end);
      continue;
    }
    const middle = start + Math.floor((end - start) / 2);
    for (const [low, high] of [[start, middle], [middle, end]] as const) if (suspect(low, high)) queue.push([low, high]);
  }
  const complete = queue.length === 0 && located.length <= MAX_LOCATED;
  return { located: located.sort((a, b) => a - b).slice(0, MAX_LOCATED), checked, evaluations, complete };
}

/** A seed stream per (range, repetition), distinct from the per-tensor direction streams. */
function rangeStream(start: number, end: number, repetition: number): number {
  let h = 0x811c9dc5;
  for (const value of [start, end, repetition, 0x6c6f63]) h = Math.imul(h ^ value, 0x01000193);
  return h >>> 0;
}
