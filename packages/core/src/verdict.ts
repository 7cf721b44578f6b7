import { UNIT_ROUNDOFF, type Precision } from "./precision.js";

export type Verdict = "pass" | "warn" | "fail";

/** A relative difference ≤ pass passes, ≤ warn warns, anything larger fails. */
export interface Thresholds {
  readonly pass: number;
  readonly warn: number;
}

/**
 * Thresholds by the precision of the user's gradient dθ. The numerical side is always
 * computed in float64 without cancellation, so what limits agreement is the rounding
 * in the user's own backprop:
 * - F64: correct backprop agrees to ~1e-9 or better; 1e-7 is great, above 1e-4 is a bug.
 * - F32: float32 backprop typically lands near 1e-6; above 1e-3 is a bug.
 * - F16 / BF16: only gross errors are detectable.
 */
export const THRESHOLDS: Readonly<Record<Precision, Thresholds>> = {
  F64: { pass: 1e-7, warn: 1e-4 },
  F32: { pass: 1e-4, warn: 1e-3 },
  F16: { pass: 1e-2, warn: 3e-2 },
  BF16: { pass: 3e-2, warn: 1e-1 },
};

const SEVERITY: Readonly<Record<Verdict, number>> = { pass: 0, warn: 1, fail: 2 };

export function verdictOf(relativeDifference: number, thresholds: Thresholds): Verdict {
  if (!(relativeDifference <= thresholds.warn)) return "fail"; // NaN fails too
  return relativeDifference <= thresholds.pass ? "pass" : "warn";
}

export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = "pass";
  for (const verdict of verdicts) if (SEVERITY[verdict] > SEVERITY[worst]) worst = verdict;
  return worst;
}

/**
 * The smallest gradient a check at this precision can resolve, per coordinate: a gradient
 * of size g known to within u·max(1, |J|) has a relative error of u·max(1, |J|)/g, which
 * reaches the pass threshold at g = u·max(1, |J|)/pass; a factor 10 leaves room for
 * rounding that accumulates over a few operations. Relative differences use this as a
 * floor under their denominator, so that a gradient that is zero up to rounding on both
 * sides (a constant cost, a saturated unit) is not reported as 100% wrong.
 */
export function gradientNoiseFloor(precision: Precision, cost: number): number {
  return ((10 * UNIT_ROUNDOFF[precision]) / THRESHOLDS[precision].pass) * Math.max(1, Math.abs(cost));
}
