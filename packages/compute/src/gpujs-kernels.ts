import type { IKernelFunctionThis } from "gpu.js";
import type { HiddenActivation, ModelSpec } from "@gradcheck/models/evaluator";

/**
 * Kernel bodies and the helpers they call, for gpu.js to transpile from their source text.
 * Everything a kernel calls must live in this module: an imported name would reach gpu.js
 * rewritten by the bundler (vitest's `__vi_import_0__.f`), which it cannot resolve.
 * Kernels take numbers, not strings, so activations and heads are passed as codes.
 *
 * Layout: a block perturbs `lanes` signed steps (lane r) of coordinates of one layer, for
 * every example i. Per-(lane, example) values are [m][lanes] (thread.x = r, thread.y = i);
 * per-unit ones are [n][m][lanes] (thread.z = unit v). Uploaded matrices are row-major
 * and read as [row][column].
 */

export const ACTIVATION_CODE: Readonly<Record<HiddenActivation, number>> = { relu: 0, tanh: 1, sigmoid: 2, linear: 3 };
export const HEAD_CODE = { softmaxCrossEntropy: 0, sigmoidCrossEntropy: 1, meanSquaredError: 2 } as const;

/** The head code of a spec, chosen as headFor in @gradcheck/models chooses the head. */
export function headCode(spec: ModelSpec): number {
  if (spec.loss === "mse") return HEAD_CODE.meanSquaredError;
  return spec.layers[spec.layers.length - 1].activation === "softmax"
    ? HEAD_CODE.softmaxCrossEntropy
    : HEAD_CODE.sigmoidCrossEntropy;
}

/**
 * e^x − 1 to a few ulps for any x. Below |x| = 0.01 a Taylor polynomial (relative error
 * < x⁷/7! ≈ 2e-18): GL's exp and log need not be accurate near 0 and 1 (on Mesa's llvmpipe
 * their absolute errors of ~1e-7 made 1e-6 steps 15% wrong), and finite differences live there.
 * Above it, Kahan's (e^x − 1)·x / log(e^x), which cancels exp's rounding. GLSL's expm1 is
 * exp(x) − 1, which loses every digit of the tiny changes a finite difference makes.
 */
export function expm1Accurate(x: number): number {
  if (Math.abs(x) < 0.01) return x * (1 + (x / 2) * (1 + (x / 3) * (1 + (x / 4) * (1 + (x / 5) * (1 + (x / 6) * (1 + x / 7))))));
  const u = Math.exp(x);
  const shifted = u - 1;
  if (shifted === -1) return -1;
  return (shifted * x) / Math.log(u);
}

/** log(1 + x) to a few ulps: a Taylor polynomial below |x| = 0.01 (see expm1Accurate), else Goldberg's. */
export function log1pAccurate(x: number): number {
  if (Math.abs(x) < 0.01) {
    return x * (1 - x * (1 / 2 - x * (1 / 3 - x * (1 / 4 - x * (1 / 5 - x * (1 / 6 - x * (1 / 7 - x / 8)))))));
  }
  const u = 1 + x;
  return (Math.log(u) * x) / (u - 1);
}

/** tanh through expm1: GLSL's tanh is (e^2x − 1)/(e^2x + 1), inexact near 0. */
export function tanhAccurate(x: number): number {
  if (x > 20) return 1;
  if (x < -20) return -1;
  const e = expm1Accurate(2 * x);
  return e / (e + 2);
}

export function sigmoidStable(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** act(z + dz) − act(z) without cancellation, act given as an ACTIVATION_CODE: the kernel twin of activationDelta in @gradcheck/models. */
export function activationChange(activation: number, z: number, dz: number): number {
  if (activation === 0) {
    const moved = z + dz;
    if (z > 0) {
      if (moved > 0) return dz;
      return -z;
    }
    if (moved > 0) return moved;
    return 0;
  }
  if (activation === 1) return tanhAccurate(dz) * (1 - tanhAccurate(z) * tanhAccurate(z + dz));
  if (activation === 2) return -sigmoidStable(z + dz) * sigmoidStable(-z) * expm1Accurate(-dz);
  return dz;
}

/**
 * 1 when z and z + dz may lie on different sides of ReLU's kink at 0, else 0: when they do in
 * float32, and also when |z| is within KINK_MARGIN of |dz|, where float32 rounding of z and dz
 * (which grows as changes propagate through layers) could decide it either way. The screen
 * recomputes every flagged coordinate in float64, which settles it; a false alarm costs time.
 */
export function kinkPossible(z: number, dz: number): number {
  const moved = z + dz;
  if (z > 0) {
    if (moved <= 0) return 1;
  } else if (moved > 0) {
    return 1;
  }
  if (Math.abs(z) < 1.01 * Math.abs(dz)) return 1;
  return 0;
}

/** The relative margin of kinkPossible (written out in its body, where gpu.js compiles it). */
export const KINK_MARGIN = 0.01;

/**
 * loss_i(z + d·e_k) − loss_i(z) for a HEAD_CODE, from the head cache c_k (softmax p_k, σ(z_k)
 * or the residual z_k − y_k), the target y_k and Σ_k y_k: the kernel twin of Head.unitLossDelta.
 */
export function unitLossChange(head: number, cache: number, target: number, targetSum: number, outputs: number, d: number): number {
  if (head === 0) return targetSum * log1pAccurate(cache * expm1Accurate(d)) - target * d;
  if (head === 1) return log1pAccurate(cache * expm1Accurate(d)) - target * d;
  return (d * (2 * cache + d)) / outputs;
}

/** Every helper a kernel may call, for gpu.js's `functions` setting. */
export const KERNEL_HELPERS = [
  expm1Accurate,
  log1pAccurate,
  tanhAccurate,
  sigmoidStable,
  activationChange,
  kinkPossible,
  unitLossChange,
];

export interface UnitConstants {
  /** activation code of the perturbed layer */
  readonly activation: number;
}

export interface HeadConstants {
  readonly head: number;
  /** n_L */
  readonly outputs: number;
}

export interface LayerConstants {
  readonly activation: number;
  /** units of the layer the kernel reads */
  readonly units: number;
}

/**
 * ΔA_l of the perturbed unit (layer l below the output), [m][lanes]. Its pre-activation
 * changes by step·A_{l−1}[i, input]; biases are weights on a constant input, so `inputs`
 * carries a last column of ones.
 */
export function unitActivationKernel(
  this: IKernelFunctionThis<UnitConstants>,
  preActivations: Float32Array[],
  inputs: Float32Array[],
  unit: Float32Array,
  input: Float32Array,
  step: Float32Array,
): number {
  const r = this.thread.x;
  const i = this.thread.y;
  return activationChange(this.constants.activation, preActivations[i][unit[r]], step[r] * inputs[i][input[r]]);
}

/** 1 where the perturbed unit's pre-activation may cross 0 (ReLU layers; see kinkPossible), [m][lanes]. */
export function unitKinkKernel(
  this: IKernelFunctionThis<UnitConstants>,
  preActivations: Float32Array[],
  inputs: Float32Array[],
  unit: Float32Array,
  input: Float32Array,
  step: Float32Array,
): number {
  const r = this.thread.x;
  const i = this.thread.y;
  return kinkPossible(preActivations[i][unit[r]], step[r] * inputs[i][input[r]]);
}

/** Loss change when the perturbed unit is an output unit, [m][lanes]. */
export function unitLossKernel(
  this: IKernelFunctionThis<HeadConstants>,
  cache: Float32Array[],
  targets: Float32Array[],
  inputs: Float32Array[],
  unit: Float32Array,
  input: Float32Array,
  step: Float32Array,
): number {
  const r = this.thread.x;
  const i = this.thread.y;
  let targetSum = 0;
  for (let k = 0; k < this.constants.outputs; k++) targetSum += targets[i][k];
  const j = unit[r];
  return unitLossChange(this.constants.head, cache[i][j], targets[i][j], targetSum, this.constants.outputs, step[r] * inputs[i][input[r]]);
}

/** ΔZ of the layer above the perturbed unit: ΔA_l[i, j]·W[v, j], [n][m][lanes]. */
export function spreadKernel(this: IKernelFunctionThis, change: Float32Array[], weights: Float32Array[], unit: Float32Array): number {
  const r = this.thread.x;
  return change[this.thread.y][r] * weights[this.thread.z][unit[r]];
}

/** ΔZ_q = ΔA_{q−1}·W_qᵀ for every lane and example, [n_q][m][lanes]. */
export function affineKernel(this: IKernelFunctionThis<LayerConstants>, weights: Float32Array[], change: Float32Array[][]): number {
  const r = this.thread.x;
  const i = this.thread.y;
  const v = this.thread.z;
  let sum = 0;
  for (let u = 0; u < this.constants.units; u++) sum += weights[v][u] * change[u][i][r];
  return sum;
}

/** ΔA_q from ΔZ_q, [n_q][m][lanes]. */
export function activationKernel(this: IKernelFunctionThis<LayerConstants>, preActivations: Float32Array[], change: Float32Array[][]): number {
  const v = this.thread.z;
  const i = this.thread.y;
  return activationChange(this.constants.activation, preActivations[i][v], change[v][i][this.thread.x]);
}

/** 1 where `previous` is already 1 or some unit of this ReLU layer may cross 0, [m][lanes]. */
export function kinkKernel(
  this: IKernelFunctionThis<LayerConstants>,
  previous: Float32Array[],
  preActivations: Float32Array[],
  change: Float32Array[][],
): number {
  const r = this.thread.x;
  const i = this.thread.y;
  let crossed = previous[i][r];
  for (let v = 0; v < this.constants.units; v++) {
    if (kinkPossible(preActivations[i][v], change[v][i][r]) > 0) crossed = 1;
  }
  return crossed;
}

/**
 * loss_i(Z_L + ΔZ_L) − loss_i(Z_L), [m][lanes]; the kernel twin of Head.lossDelta:
 * softmax: (Σy)·log1p(Σ p_k·expm1(Δz_k)) − y·Δz; sigmoid: Σ log1p(σ_k·expm1(Δz_k)) − y_k·Δz_k;
 * mse: (1/n)·Σ Δz_k·(2r_k + Δz_k).
 */
export function lossKernel(this: IKernelFunctionThis<HeadConstants>, cache: Float32Array[], targets: Float32Array[], change: Float32Array[][]): number {
  const r = this.thread.x;
  const i = this.thread.y;
  const head = this.constants.head;
  let shift = 0;
  let targetSum = 0;
  let dot = 0;
  let total = 0;
  for (let k = 0; k < this.constants.outputs; k++) {
    const d = change[k][i][r];
    const c = cache[i][k];
    const y = targets[i][k];
    if (head === 0) {
      shift += c * expm1Accurate(d);
      targetSum += y;
      dot += y * d;
    } else if (head === 1) {
      total += log1pAccurate(c * expm1Accurate(d)) - y * d;
    } else {
      total += d * (2 * c + d);
    }
  }
  if (head === 0) return targetSum * log1pAccurate(shift) - dot;
  if (head === 1) return total;
  return total / this.constants.outputs;
}
