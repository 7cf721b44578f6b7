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
  /**
   * The loss along one direction v (v[vOffset..+n)) as a polynomial: loss_i(z + t·v) −
   * loss_i(z) = c_1·t + … + c_6·t⁶ + O((|t|·D)⁷), written as c_1..c_6, D at out[outOffset..+7).
   * Where |t|·D ≤ SERIES_REACH the rest is below float64's rounding of the exact formula.
   */
  lossSeries(cache: Float64Array, y: Float64Array, offset: number, n: number, v: Float64Array, vOffset: number, out: Float64Array, outOffset: number): void;
}

/** Coefficients c_1..c_6 and the scale D of a `lossSeries`. */
export const SERIES_STRIDE = 7;
/**
 * Up to |t|·D = 10⁻³ a series to t⁶ leaves less than about (10⁻³)⁷·7⁷/7! ≈ 2·10⁻¹⁹ of the
 * loss change (cumulants of a variable within ±D grow no faster than n^n·Dⁿ): no more than
 * the exact formulas' own rounding of terms of size |t|·D.
 */
export const SERIES_REACH = 1e-3;

/** c_1·t + … + c_6·t⁶ from a lossSeries at `at`. */
export function evaluateSeries(series: Float64Array, at: number, t: number): number {
  return t * (series[at] + t * (series[at + 1] + t * (series[at + 2] + t * (series[at + 3] + t * (series[at + 4] + t * series[at + 5])))));
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
  // (Σy)·K(t) − t·y·v, K the cumulant generating function of v under the softmax p
  lossSeries(p, y, offset, n, v, vOffset, out, outOffset) {
    let mean = 0;
    let targetSum = 0;
    let targetDot = 0;
    for (let k = 0; k < n; k++) {
      mean += p[offset + k] * v[vOffset + k];
      targetSum += y[offset + k];
      targetDot += y[offset + k] * v[vOffset + k];
    }
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    let m5 = 0;
    let m6 = 0;
    let reach = 0;
    for (let k = 0; k < n; k++) {
      const d = v[vOffset + k] - mean;
      const d2 = d * d;
      const w = p[offset + k];
      m2 += w * d2;
      m3 += w * d2 * d;
      m4 += w * d2 * d2;
      m5 += w * d2 * d2 * d;
      m6 += w * d2 * d2 * d2;
      reach = Math.max(reach, Math.abs(d));
    }
    const cumulants = [m2, m3, m4 - 3 * m2 * m2, m5 - 10 * m3 * m2, m6 - 15 * m4 * m2 - 10 * m3 * m3 + 30 * m2 * m2 * m2];
    out[outOffset] = targetSum * mean - targetDot;
    for (let order = 2; order <= 6; order++) out[outOffset + order - 1] = (targetSum * cumulants[order - 2]) / FACTORIALS[order];
    out[outOffset + 6] = reach;
  },
};

const FACTORIALS = [1, 1, 2, 6, 24, 120, 720];

/** d^n/dz^n softplus(z) for n = 2..6, as polynomials in s = σ(z) (each the last's derivative times s(1 − s)). */
function softplusDerivatives(s: number, out: number[]): void {
  const f2 = s * (1 - s);
  const u = 1 - 2 * s;
  const s2 = s * s;
  out[0] = f2;
  out[1] = f2 * u;
  out[2] = f2 * (1 - 6 * s + 6 * s2);
  out[3] = f2 * u * (1 - 12 * s + 12 * s2);
  out[4] = f2 * (1 - 30 * s + 150 * s2 - 240 * s2 * s + 120 * s2 * s2);
}

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
  // Σ_k softplus(z_k + t·v_k) − softplus(z_k) − t·y_k·v_k, term by term
  lossSeries(s, y, offset, n, v, vOffset, out, outOffset) {
    const derivatives = [0, 0, 0, 0, 0];
    out.fill(0, outOffset, outOffset + SERIES_STRIDE);
    let reach = 0;
    for (let k = 0; k < n; k++) {
      const direction = v[vOffset + k];
      out[outOffset] += (s[offset + k] - y[offset + k]) * direction;
      softplusDerivatives(s[offset + k], derivatives);
      let power = direction;
      for (let order = 2; order <= 6; order++) {
        power *= direction;
        out[outOffset + order - 1] += (derivatives[order - 2] * power) / FACTORIALS[order];
      }
      reach = Math.max(reach, Math.abs(direction));
    }
    out[outOffset + 6] = reach;
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
  // exactly quadratic: (2·r·v/n)·t + (|v|²/n)·t², in reach for every t
  lossSeries(r, _y, offset, n, v, vOffset, out, outOffset) {
    let dot = 0;
    let squares = 0;
    for (let k = 0; k < n; k++) {
      dot += r[offset + k] * v[vOffset + k];
      squares += v[vOffset + k] * v[vOffset + k];
    }
    out.fill(0, outOffset, outOffset + SERIES_STRIDE);
    out[outOffset] = (2 * dot) / n;
    out[outOffset + 1] = squares / n;
  },
};

export function headFor(spec: ModelSpec): Head {
  const output = spec.layers[spec.layers.length - 1].activation;
  if (spec.loss === "mse") return linearMeanSquaredError;
  return output === "softmax" ? softmaxCrossEntropy : sigmoidCrossEntropy;
}
