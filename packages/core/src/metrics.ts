import { multiIndex, type Layout } from "./layout.js";
import type { Outlier } from "./tolerance.js";
import { verdictOf, worstVerdict, type Thresholds, type Verdict } from "./verdict.js";

/** What happened to each coordinate of θ during a check. */
export const CoordinateStatus = { unchecked: 0, checked: 1, kink: 2 } as const;
export type CoordinateStatus = (typeof CoordinateStatus)[keyof typeof CoordinateStatus];

/**
 * Where a coordinate's numerical derivative came from when a float32 screen ran before the
 * float64 confirmation (see the engine's ScreenedBackend).
 */
export const ScreenOutcome = {
  /** computed in float64 from the start: no screen ran */
  float64: 0,
  /** passed the float32 screen and was not recomputed: its value is float32 */
  passed: 1,
  /** flagged by the screen (disagreement or a possible kink) and recomputed in float64 */
  flagged: 2,
  /** passed the screen and was recomputed in float64 as one of the random sample */
  sampled: 3,
} as const;
export type ScreenOutcome = (typeof ScreenOutcome)[keyof typeof ScreenOutcome];

/**
 * Per-coordinate errors are |n − a| / max(|n| + |a|, floor). The floor is the larger of the
 * noise floor and this fraction of the largest |n| + |a| in θ, so coordinates whose gradient
 * is ~0 cannot dominate the ranking with pure rounding noise.
 */
export const COORDINATE_FLOOR_FRACTION = 1e-6;
const ABSOLUTE_FLOOR = 1e-300;

/**
 * ‖n − a‖₂ / max(‖n‖₂ + ‖a‖₂, √k·noiseFloor) over the k coordinates in [start, end) that
 * `include` accepts; 0 when both are 0. With noiseFloor 0 this is the classic formula.
 * With `weights`, coordinate i's (n_i − a_i)² counts weights[i] times in ‖n − a‖₂² (an
 * estimate of the whole from a sample); the norms of n and a are unweighted.
 */
export function relativeDifference(
  numeric: ArrayLike<number>,
  analytic: ArrayLike<number>,
  include: (index: number) => boolean = () => true,
  start = 0,
  end = numeric.length,
  noiseFloor = 0,
  weights?: ArrayLike<number>,
): number {
  // Norms are summed after dividing by the largest magnitude, so they neither underflow
  // nor overflow for gradients far from 1.
  let scale = 0;
  let count = 0;
  for (let i = start; i < end; i++) {
    if (!include(i)) continue;
    count++;
    scale = Math.max(scale, Math.abs(numeric[i]), Math.abs(analytic[i]));
  }
  if (!Number.isFinite(scale)) return NaN;
  let difference = 0;
  let numericNorm = 0;
  let analyticNorm = 0;
  if (scale > 0) {
    for (let i = start; i < end; i++) {
      if (!include(i)) continue;
      const n = numeric[i] / scale;
      const a = analytic[i] / scale;
      difference += (weights ? weights[i] : 1) * (n - a) * (n - a);
      numericNorm += n * n;
      analyticNorm += a * a;
    }
  }
  return finishDifference({ scale, count, difference, numericNorm, analyticNorm }, noiseFloor);
}

/** The sums behind a relative difference, each divided by scale² (see relativeDifference). */
interface DifferenceSums {
  readonly scale: number;
  readonly count: number;
  readonly difference: number;
  readonly numericNorm: number;
  readonly analyticNorm: number;
}

function finishDifference({ scale, count, difference, numericNorm, analyticNorm }: DifferenceSums, noiseFloor: number): number {
  if (!Number.isFinite(scale)) return NaN;
  const denominator = Math.max(scale * (Math.sqrt(numericNorm) + Math.sqrt(analyticNorm)), Math.sqrt(count) * noiseFloor);
  return denominator === 0 ? 0 : (scale * Math.sqrt(difference)) / denominator;
}

/**
 * relativeDifference's sums over the checked coordinates of [start, end), with the status
 * test written out: compareGradients runs this over every coordinate of θ, where a callback
 * per coordinate cost more than the arithmetic.
 */
function checkedDifferenceSums(
  numeric: Float64Array,
  analytic: Float64Array,
  status: Uint8Array,
  start: number,
  end: number,
  weights: Float64Array | undefined,
): DifferenceSums {
  let scale = 0;
  let count = 0;
  for (let i = start; i < end; i++) {
    if (status[i] !== CoordinateStatus.checked) continue;
    count++;
    scale = Math.max(scale, Math.abs(numeric[i]), Math.abs(analytic[i]));
  }
  let difference = 0;
  let numericNorm = 0;
  let analyticNorm = 0;
  if (scale > 0 && Number.isFinite(scale)) {
    for (let i = start; i < end; i++) {
      if (status[i] !== CoordinateStatus.checked) continue;
      const n = numeric[i] / scale;
      const a = analytic[i] / scale;
      difference += (weights ? weights[i] : 1) * (n - a) * (n - a);
      numericNorm += n * n;
      analyticNorm += a * a;
    }
  }
  return { scale, count, difference, numericNorm, analyticNorm };
}

/** The sums of consecutive ranges as one range's, rescaled to the largest scale. */
function combineDifferenceSums(parts: readonly DifferenceSums[]): DifferenceSums {
  let scale = 0;
  for (const part of parts) scale = Math.max(scale, part.scale);
  let count = 0;
  let difference = 0;
  let numericNorm = 0;
  let analyticNorm = 0;
  for (const part of parts) {
    count += part.count;
    if (part.scale === 0 || !Number.isFinite(scale)) continue;
    const ratio = (part.scale / scale) ** 2;
    difference += ratio * part.difference;
    numericNorm += ratio * part.numericNorm;
    analyticNorm += ratio * part.analyticNorm;
  }
  return { scale, count, difference, numericNorm, analyticNorm };
}

export interface CoordinateResult {
  readonly flatIndex: number;
  readonly index: number[];
  readonly numeric: number;
  readonly analytic: number;
  readonly absError: number;
  /** |n − a| / max(|n| + |a|, floor) */
  readonly relativeError: number;
}

export interface TensorComparison {
  readonly name: string;
  readonly shape: readonly number[];
  readonly size: number;
  readonly checked: number;
  readonly kinks: number;
  readonly relativeDifference: number;
  readonly maxAbsError: number;
  readonly verdict: Verdict;
  readonly worst: CoordinateResult[];
  /** this tensor's confirmed outliers, furthest over their tolerance first */
  readonly outliers: Outlier[];
}

export interface GradientComparison {
  /** the floor under per-coordinate relative errors */
  readonly coordinateFloor: number;
  readonly relativeDifference: number;
  readonly verdict: Verdict;
  readonly checked: number;
  readonly kinks: number;
  readonly tensors: TensorComparison[];
}

export interface CompareOptions {
  /** for the overall relative difference, and for tensors without their own */
  readonly thresholds: Thresholds;
  /** per tensor, in layout order */
  readonly tensorThresholds?: readonly Thresholds[];
  /** coordinates beyond their own tolerance (see confirmOutlier): each fails its tensor */
  readonly outliers?: readonly Outlier[];
  /** How many worst coordinates to keep per tensor. */
  readonly top: number;
  /** Smallest resolvable gradient per coordinate (see gradientNoiseFloor); 0 for none. */
  readonly noiseFloor?: number;
  /** per tensor, in layout order: the floor under its relative difference's denominator, when it differs from noiseFloor */
  readonly tensorFloors?: readonly number[];
  /** the same for the overall relative difference */
  readonly overallFloor?: number;
  /** per coordinate, when a float32 screen ran: see ScreenOutcome and screenWeights */
  readonly screen?: Uint8Array;
}

/**
 * Compares the numerical gradient with the analytic one, overall and per tensor.
 * Only coordinates with status `checked` count: kinks and unchecked ones are left out.
 * After a float32 screen, coordinates that passed it unconfirmed count in the norms and in
 * `checked`, but their (float32) differences neither enter ‖n − a‖ nor the worst lists nor
 * maxAbsError: the float64 sample stands in for them (see screenWeights).
 */
export function compareGradients(
  layout: Layout,
  numeric: Float64Array,
  analytic: Float64Array,
  status: Uint8Array,
  options: CompareOptions,
): GradientComparison {
  const noiseFloor = options.noiseFloor ?? 0;
  const floor = coordinateFloor(numeric, analytic, status, noiseFloor);
  const screen = options.screen;
  const weights = screen ? screenWeights(layout, status, screen) : undefined;

  const outliers = [...(options.outliers ?? [])].sort((a, b) => b.excess - a.excess || a.flatIndex - b.flatIndex);
  const sums: DifferenceSums[] = [];
  const tensors = layout.tensors.map((slot, tensorIndex): TensorComparison => {
    const end = slot.offset + slot.size;
    const mine = outliers.filter((outlier) => outlier.flatIndex >= slot.offset && outlier.flatIndex < end);
    const thresholds = options.tensorThresholds?.[tensorIndex] ?? options.thresholds;
    let checked = 0;
    let kinks = 0;
    let maxAbsError = 0;
    const worst = new WorstCoordinates(options.top);
    for (let i = slot.offset; i < end; i++) {
      const flag = status[i];
      if (flag === CoordinateStatus.kink) kinks++;
      if (flag !== CoordinateStatus.checked) continue;
      checked++;
      if (screen && screen[i] === ScreenOutcome.passed) continue;
      const absError = Math.abs(numeric[i] - analytic[i]);
      maxAbsError = Math.max(maxAbsError, absError);
      worst.offer(i, numeric[i], analytic[i], absError, coordinateRelativeError(numeric[i], analytic[i], floor));
    }
    const tensorSums = checkedDifferenceSums(numeric, analytic, status, slot.offset, end, weights);
    sums.push(tensorSums);
    const tensorDifference = finishDifference(tensorSums, options.tensorFloors?.[tensorIndex] ?? noiseFloor);
    return {
      name: slot.name,
      shape: slot.shape,
      size: slot.size,
      checked,
      kinks,
      relativeDifference: tensorDifference,
      maxAbsError,
      verdict: withOutliers(checked === 0 ? "pass" : verdictOf(tensorDifference, thresholds), mine.length),
      worst: worst.kept.map((c) => ({ ...c, index: multiIndex(slot.shape, c.flatIndex - slot.offset) })),
      outliers: mine,
    };
  });

  // The tensors lie end to end in θ, so the overall sums are theirs, rescaled.
  const overall = finishDifference(combineDifferenceSums(sums), options.overallFloor ?? noiseFloor);
  return {
    coordinateFloor: floor,
    relativeDifference: overall,
    verdict: worstVerdict([verdictOf(overall, options.thresholds), ...tensors.map((t) => t.verdict)]),
    checked: tensors.reduce((sum, t) => sum + t.checked, 0),
    kinks: tensors.reduce((sum, t) => sum + t.kinks, 0),
    tensors,
  };
}

/** A tensor with any outlier fails, whatever its relative difference says. */
export function withOutliers(verdict: Verdict, outliers: number): Verdict {
  return outliers > 0 ? "fail" : verdict;
}

/**
 * Weights that make ‖n − a‖² an unbiased estimate of its float64 value after a screen: within
 * each tensor, the s sampled coordinates stand for all p that passed the screen (weight p/s),
 * the unconfirmed ones weigh 0, and float64 and flagged ones count once. A tensor with
 * passes but no sample leaves them out: each is within the screen's tolerance.
 */
export function screenWeights(layout: Layout, status: Uint8Array, screen: Uint8Array): Float64Array {
  const weights = new Float64Array(screen.length);
  for (const slot of layout.tensors) {
    const end = slot.offset + slot.size;
    let passed = 0;
    let sampled = 0;
    for (let i = slot.offset; i < end; i++) {
      if (status[i] !== CoordinateStatus.checked) continue;
      if (screen[i] === ScreenOutcome.passed) passed++;
      else if (screen[i] === ScreenOutcome.sampled) sampled++;
    }
    const sampleWeight = sampled === 0 ? 1 : (passed + sampled) / sampled;
    for (let i = slot.offset; i < end; i++) {
      weights[i] = screen[i] === ScreenOutcome.passed ? 0 : screen[i] === ScreenOutcome.sampled ? sampleWeight : 1;
    }
  }
  return weights;
}

/** The floor under per-coordinate relative errors: see COORDINATE_FLOOR_FRACTION. */
export function coordinateFloor(numeric: Float64Array, analytic: Float64Array, status: Uint8Array, noiseFloor = 0): number {
  let largest = 0;
  for (let i = 0; i < numeric.length; i++) {
    if (status[i] === CoordinateStatus.checked) largest = Math.max(largest, Math.abs(numeric[i]) + Math.abs(analytic[i]));
  }
  return Math.max(ABSOLUTE_FLOOR, COORDINATE_FLOOR_FRACTION * largest, noiseFloor);
}

/** |n − a| / max(|n| + |a|, floor): the per-coordinate error everything ranks and tests by. */
export function coordinateRelativeError(numeric: number, analytic: number, floor: number): number {
  return Math.abs(numeric - analytic) / Math.max(Math.abs(numeric) + Math.abs(analytic), floor);
}

/** coordinateRelativeError for every checked coordinate; NaN for the others. */
export function coordinateRelativeErrors(numeric: Float64Array, analytic: Float64Array, status: Uint8Array, floor: number): Float64Array {
  const errors = new Float64Array(numeric.length);
  for (let i = 0; i < numeric.length; i++) errors[i] = status[i] === CoordinateStatus.checked ? coordinateRelativeError(numeric[i], analytic[i], floor) : NaN;
  return errors;
}

/**
 * Keeps the `top` largest errors, sorted worst first (ties: larger absolute error, then lower
 * index). A coordinate that does not make the list costs a comparison, not an object.
 */
class WorstCoordinates {
  readonly kept: CoordinateResult[] = [];
  constructor(private readonly top: number) {}

  offer(flatIndex: number, numeric: number, analytic: number, absError: number, relativeError: number): void {
    const { kept, top } = this;
    if (top <= 0) return;
    if (kept.length === top) {
      const last = kept[top - 1];
      // not worse than the last kept (coordinates come in index order, so a tie keeps the earlier)
      if (relativeError < last.relativeError || (relativeError === last.relativeError && absError <= last.absError)) return;
    }
    const candidate: CoordinateResult = { flatIndex, index: [], numeric, analytic, absError, relativeError };
    let position = kept.length;
    while (position > 0 && isWorse(candidate, kept[position - 1])) position--;
    kept.splice(position, 0, candidate);
    if (kept.length > top) kept.pop();
  }
}

function isWorse(a: CoordinateResult, b: CoordinateResult): boolean {
  if (a.relativeError !== b.relativeError) return a.relativeError > b.relativeError;
  if (a.absError !== b.absError) return a.absError > b.absError;
  return a.flatIndex < b.flatIndex;
}
