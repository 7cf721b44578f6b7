import { gemm } from "@gradcheck/kernels";
import { activate } from "./activations.js";
import { headFor } from "./heads.js";
import { regularizationCost, type Batch, type Network } from "./network.js";
import type { HiddenActivation } from "./architecture.js";

/** Everything the plain forward pass computes; rows are examples (row-major [m, n_l]). */
export interface ForwardPass {
  /** Z[l−1] = A_{l−1}·W_lᵀ + b_l for l = 1..L */
  readonly preActivations: Float64Array[];
  /** A[l] for l = 0..L−1 (A[0] = X); the output layer's activation lives inside the head. */
  readonly activations: Float64Array[];
  /** loss_i per example */
  readonly losses: Float64Array;
  readonly dataCost: number;
  readonly regularization: number;
  /** J = (1/m)·Σ loss_i + λ/(2m)·Σ‖W_l‖² */
  readonly cost: number;
}

/** Z = A·Wᵀ + b for a row-major A [m, nIn] and W [nOut, nIn], as one matrix product. */
export function affine(
  inputs: Float64Array,
  weights: Float64Array,
  bias: Float64Array,
  m: number,
  nIn: number,
  nOut: number,
): Float64Array {
  const out = new Float64Array(m * nOut);
  for (let i = 0; i < m; i++) out.set(bias, i * nOut);
  gemm({ m, n: nOut, k: nIn, a: inputs, b: weights, transposeB: true, c: out, accumulate: true });
  return out;
}

/**
 * The whole network on the whole batch: the reference every faster path is tested against.
 * `dropoutMasks[l − 1]` ([m, n_l], 0 or 1/keepProb) multiplies hidden layer l's activations:
 * only to reproduce a training step that left dropout on.
 */
export function forward(network: Network, batch: Batch, dropoutMasks?: readonly Float64Array[]): ForwardPass {
  const { sizes } = network;
  const m = batch.size;
  const layers = network.weights.length;
  const preActivations: Float64Array[] = [];
  const activations: Float64Array[] = [batch.inputs];
  for (let l = 1; l <= layers; l++) {
    const z = affine(activations[l - 1], network.weights[l - 1], network.biases[l - 1], m, sizes[l - 1], sizes[l]);
    preActivations.push(z);
    if (l < layers) {
      const activation = network.activations[l - 1] as HiddenActivation;
      const mask = dropoutMasks?.[l - 1];
      activations.push(z.map((value, index) => activate(activation, value) * (mask ? mask[index] : 1)));
    }
  }
  const head = headFor(network.spec);
  const outputs = preActivations[layers - 1];
  const n = sizes[layers];
  const losses = new Float64Array(m);
  let lossSum = 0;
  for (let i = 0; i < m; i++) lossSum += losses[i] = head.loss(outputs, batch.targets, i * n, n);
  const dataCost = lossSum / m;
  const regularization = regularizationCost(network, m);
  return { preActivations, activations, losses, dataCost, regularization, cost: dataCost + regularization };
}
