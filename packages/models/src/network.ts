import { parameterLayout } from "./parameters.js";
import { layerSizes, type Activation, type ModelSpec } from "./architecture.js";

/** A model's parameters as per-layer views into θ. Index 0 is layer 1. */
export interface Network {
  readonly spec: ModelSpec;
  /** [n0, n1, ..., nL] */
  readonly sizes: readonly number[];
  /** W_l row-major [n_l, n_{l−1}] */
  readonly weights: readonly Float64Array[];
  readonly biases: readonly Float64Array[];
  readonly activations: readonly Activation[];
}

/** Probe batch: X row-major [m, n0], Y row-major [m, nL]. */
export interface Batch {
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
  readonly size: number;
}

export function networkFromTheta(spec: ModelSpec, theta: Float64Array): Network {
  const layout = parameterLayout(spec);
  if (theta.length !== layout.total) {
    throw new Error(`θ has ${theta.length} elements but model "${spec.name}" has ${layout.total} parameters`);
  }
  const view = (tensorIndex: number) => {
    const slot = layout.tensors[tensorIndex];
    return theta.subarray(slot.offset, slot.offset + slot.size);
  };
  return {
    spec,
    sizes: layerSizes(spec),
    weights: spec.layers.map((_, index) => view(2 * index)),
    biases: spec.layers.map((_, index) => view(2 * index + 1)),
    activations: spec.layers.map((layer) => layer.activation),
  };
}

/** λ/(2m)·Σ_l ‖W_l‖²_F; biases are not regularized. */
export function regularizationCost(network: Network, batchSize: number): number {
  const lambda = network.spec.l2;
  if (lambda === 0) return 0;
  let squares = 0;
  for (const weights of network.weights) for (const w of weights) squares += w * w;
  return (lambda / (2 * batchSize)) * squares;
}

/** Change of λ/(2m)·w² when w moves by s: λ/(2m)·((w + s)² − w²) = λ/(2m)·s·(2w + s), without cancellation. */
export function regularizationChange(lambda: number, batchSize: number, w: number, step: number): number {
  return (lambda / (2 * batchSize)) * step * (2 * w + step);
}
