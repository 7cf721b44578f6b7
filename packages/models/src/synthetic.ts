import { gaussian, type Random } from "@gradcheck/core";
import type { Batch } from "./network.js";
import { parameterLayout } from "./parameters.js";
import { layerSizes, type ModelSpec } from "./architecture.js";

/** Random θ: W_l ~ N(0, 2/n_{l−1}) (He initialisation), b_l ~ N(0, 0.1²). */
export function randomTheta(spec: ModelSpec, random: Random): Float64Array {
  const layout = parameterLayout(spec);
  const theta = new Float64Array(layout.total);
  for (const slot of layout.tensors) {
    const scale = slot.shape.length === 2 ? Math.sqrt(2 / slot.shape[1]) : 0.1;
    for (let i = 0; i < slot.size; i++) theta[slot.offset + i] = scale * gaussian(random);
  }
  return theta;
}

/** A probe batch whose targets suit the loss: one-hot classes, 0/1 labels or real values. */
export function randomBatch(spec: ModelSpec, size: number, random: Random): Batch {
  const sizes = layerSizes(spec);
  const n0 = sizes[0];
  const nL = sizes[sizes.length - 1];
  const inputs = new Float64Array(size * n0).map(() => gaussian(random));
  const targets = new Float64Array(size * nL);
  const output = spec.layers[spec.layers.length - 1].activation;
  for (let i = 0; i < size; i++) {
    if (output === "softmax") targets[i * nL + Math.floor(random() * nL)] = 1;
    else
      for (let k = 0; k < nL; k++) targets[i * nL + k] = output === "sigmoid" ? (random() < 0.5 ? 0 : 1) : gaussian(random);
  }
  return { inputs, targets, size };
}
