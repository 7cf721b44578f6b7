/**
 * What a partial check can rule out. A sample of n of a tensor's N coordinates misses a bug
 * confined to k of them with probability C(N−k, n) / C(N, n); a directional check passes an
 * error e with ‖Ve‖ / (‖Vn‖ + ‖Va‖) ≈ ‖e‖ / 2‖dθ‖ under the pass threshold.
 */

/** P(none of `sampled` coordinates drawn without replacement from `size` is one of `wrong`). */
export function escapeProbability(size: number, sampled: number, wrong: number): number {
  if (wrong <= 0) return 1;
  if (size - wrong < sampled) return 0;
  let logarithm = 0;
  for (let j = 0; j < sampled; j++) logarithm += Math.log1p(-wrong / (size - j));
  return Math.exp(logarithm);
}

export interface SampleSensitivity {
  /** bugs in fewer coordinates than this escape with probability ≥ 1/2 */
  readonly escapesBelow: number;
  /** bugs in this many coordinates or more are caught with probability ≥ 95% */
  readonly caughtFrom: number;
}

export function sampleSensitivity(size: number, sampled: number): SampleSensitivity {
  return { escapesBelow: fewestWrong(size, sampled, 0.5), caughtFrom: fewestWrong(size, sampled, 0.05) };
}

/** The least k with escapeProbability(size, sampled, k) ≤ probability (monotone in k; size + 1 if none). */
function fewestWrong(size: number, sampled: number, probability: number): number {
  let low = 1;
  let high = size + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (middle <= size && escapeProbability(size, sampled, middle) <= probability) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The error norm over a tensor below which a directional check at this pass threshold can pass it. */
export function directionalSmallestError(pass: number, gradientNorm: number): number {
  return 2 * pass * gradientNorm;
}
