import { gemm } from "@gradcheck/kernels";
import { flatten } from "@gradcheck/core";
import { activate, activationDerivative } from "./activations.js";
import { forward } from "./forward.js";
import { headFor } from "./heads.js";
import type { Batch, Network } from "./network.js";
import { parameterLayout } from "./parameters.js";
import type { HiddenActivation, ModelSpec } from "./architecture.js";

export interface BackpropOptions {
  /**
   * Applied to every stored intermediate: identity for float64, Math.fround to reproduce
   * a float32 implementation's rounding.
   */
  readonly round?: (value: number) => number;
  /** Replaces act'(z) in one hidden layer (1-based); used to reproduce a wrong derivative. */
  readonly derivativeOverride?: { readonly layer: number; readonly derivative: (z: number, a: number) => number };
  /** Inverted-dropout masks of the hidden layers (see forward): reproduces a dθ computed with dropout on. */
  readonly dropoutMasks?: readonly Float64Array[];
}

export interface Gradients {
  /** dW_l row-major [n_l, n_{l−1}], index 0 is layer 1 */
  readonly weights: Float64Array[];
  readonly biases: Float64Array[];
}

/** Reference backpropagation of J = (1/m)·Σ loss_i + λ/(2m)·Σ‖W_l‖². */
export function backprop(network: Network, batch: Batch, options: BackpropOptions = {}): Gradients {
  const round = options.round ?? ((value: number) => value);
  const { sizes } = network;
  const m = batch.size;
  const layers = network.weights.length;
  const masks = options.dropoutMasks;
  const pass = forward(network, batch, masks);
  const head = headFor(network.spec);

  // dZ_L = ∂loss/∂z / m
  const nOut = sizes[layers];
  let dz = new Float64Array(m * nOut);
  const row = new Float64Array(nOut);
  for (let i = 0; i < m; i++) {
    head.lossGradient(pass.preActivations[layers - 1], batch.targets, i * nOut, nOut, row);
    for (let k = 0; k < nOut; k++) dz[i * nOut + k] = round(row[k] / m);
  }

  const weights: Float64Array[] = new Array(layers);
  const biases: Float64Array[] = new Array(layers);
  const lambdaOverM = network.spec.l2 / m;
  for (let l = layers; l >= 1; l--) {
    const nIn = sizes[l - 1];
    const n = sizes[l];
    const inputs = pass.activations[l - 1];
    const w = network.weights[l - 1];
    // dW_l = dZ_lᵀ·A_{l−1} + λ/m·W_l, db_l = Σ_i dZ_l[i, ·]
    const dW = w.map((weight) => lambdaOverM * weight);
    gemm({ m: n, n: nIn, k: m, a: dz, transposeA: true, b: inputs, c: dW, accumulate: true });
    for (let index = 0; index < dW.length; index++) dW[index] = round(dW[index]);
    const db = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j] += dz[i * n + j];
    for (let j = 0; j < n; j++) db[j] = round(db[j]);
    weights[l - 1] = dW;
    biases[l - 1] = db;
    if (l === 1) break;

    // dZ_{l−1} = (dZ_l·W_l) ∘ act'(Z_{l−1})
    const activation = network.activations[l - 2] as HiddenActivation;
    const override = options.derivativeOverride?.layer === l - 1 ? options.derivativeOverride.derivative : undefined;
    const z = pass.preActivations[l - 2];
    const a = pass.activations[l - 1];
    const mask = masks?.[l - 2];
    const sums = new Float64Array(m * nIn);
    gemm({ m, n: nIn, k: n, a: dz, b: w, c: sums });
    const previous = new Float64Array(m * nIn);
    for (let index = 0; index < m * nIn; index++) {
      // a is the masked activation; the derivative needs the unmasked one.
      const kept = mask ? mask[index] : 1;
      const unmasked = kept === 0 ? activate(activation, z[index]) : a[index] / kept;
      const derivative = override ? override(z[index], unmasked) : activationDerivative(activation, z[index], unmasked);
      previous[index] = round(round(sums[index]) * derivative * kept);
    }
    dz = previous;
  }
  return { weights, biases };
}

/** dθ as one vector in θ's layout: dW1, db1, dW2, db2, ... */
export function flattenGradients(spec: ModelSpec, gradients: Gradients): Float64Array {
  const layout = parameterLayout(spec);
  return flatten(
    layout,
    new Map(layout.tensors.map((slot, index) => [slot.name, (index % 2 ? gradients.biases : gradients.weights)[index >> 1]])),
  );
}
