import type { Layout } from "./layout.js";
import { CoordinateStatus } from "./metrics.js";
import { UNIT_ROUNDOFF, type Precision } from "./precision.js";
import type { Thresholds } from "./verdict.js";

/**
 * Tolerances measured for this model and batch, instead of fixed per-dtype tables.
 *
 * A correct backprop in the checkpoint's arithmetic misses the true gradient by rounding
 * alone. The rounding study (models' studyRounding) measures that miss on the probe batch:
 * per coordinate (the deviation of an emulated backprop from the float64 one) and as a
 * first-order bound u·s_i whose shape follows each coordinate's conditioning. A check then
 * allows every coordinate and every tensor ROUNDING_SAFETY times what the study saw.
 */

/** How much worse than the study a correct implementation may round: other sum orders, fused kernels, other formulas. */
export const ROUNDING_SAFETY = 10;
/** ... and how much beyond the worst coordinate the study saw in a tensor. */
const TAIL_SAFETY = 2;
/** The numerical side's measured error |n_h − n_{h/2}| is about 3× that of n_{h/2}: this factor leaves a further 3× margin. */
const NUMERICAL_SAFETY = 3;
/** A tensor warns above its pass threshold and fails above this multiple of it. */
export const WARN_OVER_PASS = 10;
/** A switched ReLU is another linear region, not a rounding error: allowed for in full, with margin. */
const SWITCH_SAFETY = 2;
/** Tensors with fewer coordinates than this take their calibration from all of θ: their own tail is too short to see. */
const OWN_CALIBRATION_SIZE = 1024;

/** The study's results as the tolerance needs them (see models' RoundingStudy). */
export interface RoundingMeasurement {
  readonly precision: Precision;
  readonly reference: Float64Array;
  readonly deviation: Float64Array;
  readonly scales: Float64Array;
  /** what ReLUs within rounding of their kink may change if the arithmetic switches them (absolute) */
  readonly switches: Float64Array;
}

/**
 * The study's results for one tensor (its coordinates in order), as a streamed study yields
 * them. Its arrays may be reused for the next tensor: read them before asking for it.
 */
export interface TensorMeasurement {
  /** the tensor's position in the layout */
  readonly tensor: number;
  readonly reference: Float64Array;
  readonly deviation: Float64Array;
  readonly scales: Float64Array;
  readonly switches: Float64Array;
}

export interface TensorRounding {
  /** ‖deviation + switches‖ / (2‖reference‖): the relative difference a correct backprop shows on this tensor */
  readonly expected: number;
  /**
   * c in the allowance c·u·s_i: the larger of ROUNDING_SAFETY × the 99th percentile and
   * TAIL_SAFETY × the largest of the ratios deviation_i / (u·s_i) the study measured
   */
  readonly calibration: number;
  /**
   * root mean square over the tensor of the rounding a correct check sees: the study's
   * deviation plus the float64 numerical side's rounding bound u·s_i
   */
  readonly roundingLevel: number;
}

export interface RoundingTolerance {
  readonly precision: Precision;
  /**
   * per coordinate, what a correct check may show there apart from the numerical error it
   * measures and the floor: what a correct backprop may get wrong,
   * max(ROUNDING_SAFETY·deviation_i, calibration·u·s_i) + SWITCH_SAFETY·switches_i, plus
   * NUMERICAL_SAFETY × the float64 numerical side's own rounding bound u₆₄·s_i (which one
   * measurement of the numerical error can miss)
   */
  readonly coordinate: Float64Array;
  readonly tensors: readonly TensorRounding[];
  /** expected relative difference over all of θ */
  readonly overall: number;
  /** roundingLevel over all of θ */
  readonly overallRoundingLevel: number;
  /** absolute floor under every coordinate's tolerance, far below any resolvable gradient: 2⁻¹⁰·u·max|reference| */
  readonly floor: number;
}

/**
 * Per-coordinate and per-tensor rounding allowances from a rounding study. The bound u·s_i has
 * the right shape but is pessimistic by a factor that depends on the model (how errors cancel
 * along sums and layers), so each tensor's measured ratios calibrate it; the allowance then
 * covers what the study saw at that coordinate, and what it saw anywhere in the tensor in
 * proportion to the coordinate's bound. `noiseFloor` is the floor the check's relative
 * differences use (see gradientNoiseFloor), so that expected figures are on their scale.
 */
export function roundingTolerance(layout: Layout, study: RoundingMeasurement, noiseFloor = 0): RoundingTolerance {
  const tensors = layout.tensors.map((slot, tensor): TensorMeasurement => {
    const part = (vector: Float64Array) => vector.subarray(slot.offset, slot.offset + slot.size);
    return { tensor, reference: part(study.reference), deviation: part(study.deviation), scales: part(study.scales), switches: part(study.switches) };
  });
  return streamedRoundingTolerance(layout, study.precision, tensors, noiseFloor);
}

/**
 * roundingTolerance of a study that comes one tensor at a time, in any order (a backprop
 * yields the last layer first): each tensor's arrays can go once it is seen, so the study
 * never holds more than a tensor's worth besides the θ-sized allowances. Tensors too small to
 * calibrate themselves wait, small as they are, for the calibration pooled over all of θ.
 */
export function streamedRoundingTolerance(layout: Layout, precision: Precision, measured: Iterable<TensorMeasurement>, noiseFloor = 0): RoundingTolerance {
  const u = UNIT_ROUNDOFF[precision];
  const coordinate = new Float64Array(layout.total);
  const pooled = new RatioHistogram();
  const tensors: (TensorRounding | undefined)[] = new Array(layout.tensors.length);
  const small: TensorMeasurement[] = [];
  // the overall figures' sums, per tensor, added up in θ's order at the end
  const squares = new Float64Array(layout.tensors.length);
  const expectedSums = layout.tensors.map(() => ({ deviation: 0, reference: 0 }));
  let reference = 0;
  const allow = (part: TensorMeasurement, calibration: number) => {
    const { offset, size } = layout.tensors[part.tensor];
    let sum = 0;
    for (let i = 0; i < size; i++) {
      coordinate[offset + i] =
        Math.max(ROUNDING_SAFETY * part.deviation[i], calibration * u * part.scales[i]) + SWITCH_SAFETY * part.switches[i] + NUMERICAL_SAFETY * UNIT_ROUNDOFF.F64 * part.scales[i];
      sum += (part.deviation[i] + UNIT_ROUNDOFF.F64 * part.scales[i]) ** 2;
    }
    squares[part.tensor] = sum;
    const sums = expectedSums[part.tensor];
    tensors[part.tensor] = { expected: expectedDifference(part, noiseFloor, sums), calibration, roundingLevel: size === 0 ? 0 : Math.sqrt(sum / size) };
  };
  for (const part of measured) {
    const slot = layout.tensors[part.tensor];
    if (part.deviation.length !== slot.size) throw new Error(`rounding study: tensor ${slot.name} has ${slot.size} coordinates, the study ${part.deviation.length}`);
    const own = new RatioHistogram();
    for (let i = 0; i < slot.size; i++) {
      const ratio = part.scales[i] > 0 ? part.deviation[i] / (u * part.scales[i]) : 0;
      pooled.add(ratio);
      if (slot.size >= OWN_CALIBRATION_SIZE) own.add(ratio);
    }
    for (const value of part.reference) reference = Math.max(reference, Math.abs(value));
    if (slot.size >= OWN_CALIBRATION_SIZE) allow(part, own.calibration());
    // small by definition, and the stream may reuse its arrays: kept as copies
    else small.push({ ...part, reference: part.reference.slice(), deviation: part.deviation.slice(), scales: part.scales.slice(), switches: part.switches.slice() });
  }
  const calibration = pooled.calibration();
  for (const part of small) allow(part, calibration);
  const missing = tensors.findIndex((tensor) => tensor === undefined);
  if (missing !== -1) throw new Error(`rounding study: no measurement of tensor ${layout.tensors[missing].name}`);

  let allSquares = 0;
  let deviationSquares = 0;
  let referenceSquares = 0;
  for (let tensor = 0; tensor < layout.tensors.length; tensor++) {
    allSquares += squares[tensor];
    deviationSquares += expectedSums[tensor].deviation;
    referenceSquares += expectedSums[tensor].reference;
  }
  return {
    precision,
    coordinate,
    tensors: tensors as TensorRounding[],
    overall: expectedRatio(deviationSquares, referenceSquares, layout.total, noiseFloor),
    overallRoundingLevel: layout.total === 0 ? 0 : Math.sqrt(allSquares / layout.total),
    floor: 2 ** -10 * u * reference,
  };
}

/**
 * Thresholds for a tensor's relative difference: up to ROUNDING_SAFETY × what a correct
 * backprop shows passes, up to WARN_OVER_PASS times that warns, above it fails. Neither is tighter than what the numerical
 * side resolves (`numerical`, from its measured noise), nor than ROUNDING_SAFETY units of
 * roundoff of the arithmetic: no computation is held to more than its last few digits.
 */
export function measuredThresholds(expected: number, numerical: Thresholds, precision: Precision): Thresholds {
  const pass = Math.max(ROUNDING_SAFETY * expected, numerical.pass, ROUNDING_SAFETY * UNIT_ROUNDOFF[precision]);
  return { pass, warn: Math.max(WARN_OVER_PASS * pass, numerical.warn) };
}

/** Above this multiple of the expected rounding (and above what the numerical side resolves) a tensor is searched for outliers. */
export const SUSPICION_FACTOR = 3;

/** The relative difference above which directional mode searches a tensor for outliers: below its pass threshold, since the search itself confirms. */
export function suspicionThreshold(expected: number, numerical: Thresholds): number {
  return Math.max(SUSPICION_FACTOR * expected, numerical.pass);
}

/**
 * The most |n − a| a correct coordinate may show: its rounding allowance, a margin over the
 * numerical side's own error there (the measured |n_h − n_{h/2}|, and the float64 rounding
 * bound u·s_i, which one measurement can miss), and the floor.
 */
export function coordinateTolerance(tolerance: RoundingTolerance, index: number, numericalError: number): number {
  // tolerance.coordinate holds the numerical side's rounding bound already
  return tolerance.coordinate[index] + NUMERICAL_SAFETY * numericalError + tolerance.floor;
}

/** One coordinate whose disagreement its tolerance cannot explain. */
export interface Outlier {
  readonly flatIndex: number;
  /** the numerical derivative at the confirming (halved) step */
  readonly numeric: number;
  readonly analytic: number;
  /** coordinateTolerance at this coordinate */
  readonly tolerance: number;
  /** |n − a| / tolerance, above 1 */
  readonly excess: number;
}

/**
 * Coordinates worth confirming: checked ones whose |n − a| exceeds their tolerance with the
 * numerical error taken as `numericalNoise[tensor]` (the largest |n_h − n_{h/2}| sampled in
 * the tensor); at most `budget(checked)` per tensor, the furthest over first.
 * `overflow` counts, per tensor, the candidates left unconfirmed.
 */
export function outlierCandidates(
  layout: Layout,
  numeric: Float64Array,
  analytic: Float64Array,
  status: Uint8Array,
  tolerance: RoundingTolerance,
  numericalNoise: ArrayLike<number>,
  budget: (checked: number) => number,
): { readonly indices: Int32Array; readonly overflow: Int32Array } {
  const kept: number[] = [];
  const overflow = new Int32Array(layout.tensors.length);
  layout.tensors.forEach((slot, tensor) => {
    const found: { index: number; excess: number }[] = [];
    let checked = 0;
    for (let i = slot.offset; i < slot.offset + slot.size; i++) {
      if (status[i] !== CoordinateStatus.checked) continue;
      checked++;
      const excess = Math.abs(numeric[i] - analytic[i]) / coordinateTolerance(tolerance, i, numericalNoise[tensor]);
      if (excess > 1) found.push({ index: i, excess });
    }
    found.sort((a, b) => b.excess - a.excess || a.index - b.index);
    const allowed = Math.max(0, budget(checked));
    for (const candidate of found.slice(0, allowed)) kept.push(candidate.index);
    overflow[tensor] = Math.max(0, found.length - allowed);
  });
  return { indices: Int32Array.from(kept.sort((a, b) => a - b)), overflow };
}

/**
 * The outlier test proper, on a coordinate's derivatives at h and at h/2: their difference
 * is the numerical side's own error at that coordinate (truncation and rounding), and the
 * h/2 value, the better of the two, must still disagree with dθ beyond the tolerance.
 */
export function confirmOutlier(tolerance: RoundingTolerance, index: number, atStep: number, atHalfStep: number, analytic: number, numericalRounding = 0): Outlier | undefined {
  // the two steps' difference measures truncation; rounding that is set by the costs' size can hide in it
  const allowed = coordinateTolerance(tolerance, index, Math.max(Math.abs(atStep - atHalfStep), numericalRounding));
  const excess = Math.abs(atHalfStep - analytic) / allowed;
  if (!(excess > 1)) return undefined;
  return { flatIndex: index, numeric: atHalfStep, analytic, tolerance: allowed, excess };
}

/**
 * ‖deviation + switches‖ / max(2‖reference‖, √k·noiseFloor), as relativeDifference would see a
 * correct backprop, one whose ReLUs near their kinks the arithmetic may also have switched;
 * its sums go into `sums` for the overall figure.
 */
function expectedDifference(part: TensorMeasurement, noiseFloor: number, sums: { deviation: number; reference: number }): number {
  let deviation = 0;
  let reference = 0;
  for (let i = 0; i < part.deviation.length; i++) {
    deviation += (part.deviation[i] + part.switches[i]) ** 2;
    reference += part.reference[i] ** 2;
  }
  sums.deviation = deviation;
  sums.reference = reference;
  return expectedRatio(deviation, reference, part.deviation.length, noiseFloor);
}

function expectedRatio(deviationSquares: number, referenceSquares: number, count: number, noiseFloor: number): number {
  const denominator = Math.max(2 * Math.sqrt(referenceSquares), Math.sqrt(count) * noiseFloor);
  return denominator === 0 ? 0 : Math.sqrt(deviationSquares) / denominator;
}

/**
 * The ratios deviation_i / (u·s_i) of a tensor or of all of θ, in log-spaced bins 1/16 octave
 * wide, for an upper estimate of a quantile (rounded up to a bin's edge), and the largest.
 */
class RatioHistogram {
  private static readonly BINS_PER_OCTAVE = 16;
  // 2^-1100 .. 2^1100 covers every positive double, subnormals included.
  private static readonly LOWEST = -1100 * RatioHistogram.BINS_PER_OCTAVE;
  private bins?: Int32Array;
  private zeros = 0;
  private count = 0;
  private largest = 0;

  add(value: number): void {
    this.count++;
    if (value > 0 && value < Infinity) {
      this.bins ??= new Int32Array(2 * 1100 * RatioHistogram.BINS_PER_OCTAVE + 1);
      this.bins[Math.ceil(Math.log2(value) * RatioHistogram.BINS_PER_OCTAVE) - RatioHistogram.LOWEST]++;
      if (value > this.largest) this.largest = value;
    } else this.zeros++;
  }

  /** max(ROUNDING_SAFETY × the 99th percentile, TAIL_SAFETY × the largest) */
  calibration(): number {
    return Math.max(ROUNDING_SAFETY * this.quantile(0.99), TAIL_SAFETY * this.largest);
  }

  private quantile(q: number): number {
    const rank = Math.ceil(q * this.count);
    if (rank <= this.zeros || !this.bins) return 0;
    let seen = this.zeros;
    for (let bin = 0; bin < this.bins.length; bin++) {
      seen += this.bins[bin];
      if (seen >= rank) return 2 ** ((bin + RatioHistogram.LOWEST) / RatioHistogram.BINS_PER_OCTAVE);
    }
    return 0;
  }
}
