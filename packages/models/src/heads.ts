import { sigmoid, softplus } from "./activations.js";
import { expm1Small, log1pSmall } from "./small-argument-math.js";
import type { ModelSpec } from "./architecture.js";

/**
 * The output layer's activation and the loss together ("head"): softmax and sigmoid with
 * cross-entropy are only numerically stable when fused with their loss.
 * Rows are addressed by offset into row-major [m, nL] arrays.
 */
export interface Head {
  /** loss_i for one example, from the output pre-activation z and the target y. */
  loss(z: Float64Array, y: Float64Array, offset: number, n: number): number;
  /** ∂loss_i/∂z written into out[0..n). */
  lossGradient(z: Float64Array, y: Float64Array, offset: number, n: number, out: Float64Array): void;
  /** Per-example values (row-major [m, nL]) that make loss changes cheap and cancellation-free. */
  cache(z: Float64Array, y: Float64Array, m: number, n: number): Float64Array;
  /** loss_i(z + dz) − loss_i(z) for a change dz[0..n). */
  lossDelta(cache: Float64Array, y: Float64Array, offset: number, n: number, dz: Float64Array): number;
  /**
   * lossDelta for two changes at once, written to out[0] and out[1]: the hot path, where
   * returning doubles from a call that is not inlined would allocate a box for each.
   */
  lossDeltaPair(cache: Float64Array, y: Float64Array, offset: number, n: number, first: Float64Array, second: Float64Array, out: Float64Array): void;
  /** loss_i(z + d·e_unit) − loss_i(z). */
  unitLossDelta(cache: Float64Array, y: Float64Array, offset: number, n: number, unit: number, d: number): number;
}

function rowSum(values: Float64Array, offset: number, n: number): number {
  let sum = 0;
  for (let k = 0; k < n; k++) sum += values[offset + k];
  return sum;
}

/** loss = −Σ y_k log softmax(z)_k = (Σ y)·logsumexp(z) − y·z. Cache: softmax(z). */
const softmaxCrossEntropy: Head = {
  loss(z, y, offset, n) {
    let top = 0;
    for (let k = 1; k < n; k++) if (z[offset + k] > z[offset + top]) top = k;
    const max = z[offset + top];
    // logsumexp = max + log1p(Σ_{k≠top} e^{z_k − max}): exact for confident predictions, where
    // log(1 + tiny) would lose the tiny loss; (Σy)·max − y·z is then (Σ y_k·(max − z_k)).
    let rest = 0;
    let margin = 0;
    for (let k = 0; k < n; k++) {
      if (k !== top) rest += Math.exp(z[offset + k] - max);
      margin += y[offset + k] * (max - z[offset + k]);
    }
    return rowSum(y, offset, n) * Math.log1p(rest) + margin;
  },
  lossGradient(z, y, offset, n, out) {
    const probabilities = softmaxRow(z, offset, n);
    const targetSum = rowSum(y, offset, n);
    for (let k = 0; k < n; k++) out[k] = targetSum * probabilities[k] - y[offset + k];
  },
  cache(z, _y, m, n) {
    const probabilities = new Float64Array(m * n);
    for (let i = 0; i < m; i++) probabilities.set(softmaxRow(z, i * n, n), i * n);
    return probabilities;
  },
  // logsumexp(z + dz) − logsumexp(z) = log1p(Σ_k p_k·expm1(dz_k))
  lossDelta(p, y, offset, n, dz) {
    let shift = 0;
    let targetSum = 0;
    let targetDot = 0;
    for (let k = 0; k < n; k++) {
      const d = dz[k];
      shift += p[offset + k] * expm1Small(d);
      targetSum += y[offset + k];
      targetDot += y[offset + k] * d;
    }
    return targetSum * log1pSmall(shift) - targetDot;
  },
  lossDeltaPair(p, y, offset, n, first, second, out) {
    let shiftFirst = 0;
    let shiftSecond = 0;
    let targetSum = 0;
    let dotFirst = 0;
    let dotSecond = 0;
    for (let k = 0; k < n; k++) {
      const probability = p[offset + k];
      const target = y[offset + k];
      shiftFirst += probability * expm1Small(first[k]);
      shiftSecond += probability * expm1Small(second[k]);
      targetSum += target;
      dotFirst += target * first[k];
      dotSecond += target * second[k];
    }
    out[0] = targetSum * log1pSmall(shiftFirst) - dotFirst;
    out[1] = targetSum * log1pSmall(shiftSecond) - dotSecond;
  },
  unitLossDelta(p, y, offset, n, unit, d) {
    return rowSum(y, offset, n) * log1pSmall(p[offset + unit] * expm1Small(d)) - y[offset + unit] * d;
  },
};

function softmaxRow(z: Float64Array, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let k = 0; k < n; k++) max = Math.max(max, z[offset + k]);
  const row = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) sum += row[k] = Math.exp(z[offset + k] - max);
  for (let k = 0; k < n; k++) row[k] /= sum;
  return row;
}

/**
 * loss = −Σ [y log σ(z) + (1 − y) log(1 − σ(z))] = Σ softplus(z) − y·z. Cache: σ(z).
 * softplus(z + d) − softplus(z) = log1p(σ(z)·expm1(d)).
 */
const sigmoidCrossEntropy: Head = {
  loss(z, y, offset, n) {
    let loss = 0;
    for (let k = 0; k < n; k++) {
      // softplus(z) − y·z with z's own part taken out exactly: a saturated output (σ(z) near y)
      // keeps its small loss to full relative precision instead of losing it to cancellation.
      const zk = z[offset + k];
      loss += zk > 0 ? (1 - y[offset + k]) * zk + Math.log1p(Math.exp(-zk)) : softplus(zk) - y[offset + k] * zk;
    }
    return loss;
  },
  lossGradient(z, y, offset, n, out) {
    for (let k = 0; k < n; k++) out[k] = sigmoid(z[offset + k]) - y[offset + k];
  },
  cache(z, _y, m, n) {
    return z.slice(0, m * n).map(sigmoid);
  },
  lossDelta(s, y, offset, n, dz) {
    let delta = 0;
    for (let k = 0; k < n; k++) {
      const d = dz[k];
      delta += log1pSmall(s[offset + k] * expm1Small(d)) - y[offset + k] * d;
    }
    return delta;
  },
  lossDeltaPair(s, y, offset, n, first, second, out) {
    out[0] = this.lossDelta(s, y, offset, n, first);
    out[1] = this.lossDelta(s, y, offset, n, second);
  },
  unitLossDelta(s, y, offset, _n, unit, d) {
    return log1pSmall(s[offset + unit] * expm1Small(d)) - y[offset + unit] * d;
  },
};

/** loss = (1/n)·Σ (z − y)² with a linear output. Cache: the residual z − y. */
const linearMeanSquaredError: Head = {
  loss(z, y, offset, n) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += (z[offset + k] - y[offset + k]) ** 2;
    return sum / n;
  },
  lossGradient(z, y, offset, n, out) {
    for (let k = 0; k < n; k++) out[k] = (2 * (z[offset + k] - y[offset + k])) / n;
  },
  cache(z, y, m, n) {
    return z.slice(0, m * n).map((value, index) => value - y[index]);
  },
  // (r + d)² − r² = d·(2r + d)
  lossDelta(r, _y, offset, n, dz) {
    let delta = 0;
    for (let k = 0; k < n; k++) delta += dz[k] * (2 * r[offset + k] + dz[k]);
    return delta / n;
  },
  lossDeltaPair(r, y, offset, n, first, second, out) {
    out[0] = this.lossDelta(r, y, offset, n, first);
    out[1] = this.lossDelta(r, y, offset, n, second);
  },
  unitLossDelta(r, _y, offset, n, unit, d) {
    return (d * (2 * r[offset + unit] + d)) / n;
  },
};

export function headFor(spec: ModelSpec): Head {
  const output = spec.layers[spec.layers.length - 1].activation;
  if (spec.loss === "mse") return linearMeanSquaredError;
  return output === "softmax" ? softmaxCrossEntropy : sigmoidCrossEntropy;
}
