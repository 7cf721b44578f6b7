import { z } from "zod";
import { formatShape, GraphSpecError, sizeOf, type Shape } from "./layer.js";

export const LOSS_TYPES = ["cross-entropy", "bce-with-logits", "mse"] as const;

export const lossSpec = z.strictObject({
  type: z.enum(LOSS_TYPES),
  /** cross-entropy only: Y holds class ids ("index"), or is shaped like the output */
  target: z.enum(["index", "one-hot", "probabilities"]).optional(),
  /** "mean": over every example and position (and, for bce-with-logits and mse, every element), as PyTorch's losses */
  reduction: z.enum(["mean", "sum"]).default("mean"),
  /** cross-entropy only, as PyTorch defines it: the target mixed with the uniform distribution */
  labelSmoothing: z.number().gte(0).lte(1).optional(),
});
export type LossSpec = z.infer<typeof lossSpec>;

/** Checks what only some losses take, and the shape Y must have per example for this output. */
export function targetShape(loss: LossSpec, output: Shape, path: string): Shape {
  if (loss.type !== "cross-entropy") {
    if (loss.target !== undefined) throw new GraphSpecError(`${path}.target: only cross-entropy takes a target kind; ${loss.type}'s Y is shaped like the output`);
    if (loss.labelSmoothing !== undefined) throw new GraphSpecError(`${path}.labelSmoothing: only cross-entropy takes label smoothing`);
    return output;
  }
  if (output.length === 0) throw new GraphSpecError(`${path}: cross-entropy needs a class dimension, and the network's output ${formatShape(output)} has none`);
  return (loss.target ?? "index") === "index" ? output.slice(0, -1) : output;
}

/** The loss of a batch's outputs ([m, ...output]) and its gradient with respect to them. */
export function lossAndGradient(loss: LossSpec, outputs: Float64Array, output: Shape, targets: Float64Array, m: number): { value: number; gradient: Float64Array } {
  const gradient = new Float64Array(outputs.length);
  const divisor = lossDivisor(loss, output, m);
  const total = lossSum(loss, outputs, output, targets, gradient);
  for (let index = 0; index < gradient.length; index++) gradient[index] /= divisor;
  return { value: total / divisor, gradient };
}

/** What the loss of m examples is divided by: 1 for "sum"; the positions (cross-entropy) or elements for "mean". */
export function lossDivisor(loss: LossSpec, output: Shape, m: number): number {
  if (loss.reduction === "sum") return 1;
  return loss.type === "cross-entropy" ? (m * sizeOf(output)) / output[output.length - 1] : m * sizeOf(output);
}

/**
 * The loss of some outputs (whole positions: rows of the last dimension) summed, not reduced;
 * with `gradient`, its gradient (unreduced) written there.
 */
export function lossSum(loss: LossSpec, outputs: Float64Array, output: Shape, targets: Float64Array, gradient?: Float64Array): number {
  if (loss.type === "cross-entropy") return crossEntropy(outputs, targets, output[output.length - 1], loss.target ?? "index", loss.labelSmoothing ?? 0, gradient);
  let total = 0;
  for (let index = 0; index < outputs.length; index++) {
    const z = outputs[index];
    const y = targets[index];
    if (loss.type === "mse") {
      total += (z - y) ** 2;
      if (gradient) gradient[index] = 2 * (z - y);
    } else {
      // max(z, 0) − z·y + log(1 + e^−|z|), without overflow for either sign
      total += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      if (gradient) gradient[index] = (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))) - y;
    }
  }
  return total;
}

let scratch = new Float64Array(0);

/**
 * Σ over positions of −Σ_c q_c·log softmax(z)_c, q the target mixed with the uniform
 * distribution by ε; writes ∂/∂z = softmax(z)·Σ_c q_c − q into `gradient`.
 */
function crossEntropy(
  outputs: Float64Array,
  targets: Float64Array,
  classes: number,
  target: "index" | "one-hot" | "probabilities",
  smoothing: number,
  gradient?: Float64Array,
): number {
  let total = 0;
  // one scratch row for every call: this runs for every changed position of a check
  if (scratch.length < classes) scratch = new Float64Array(classes);
  const q = scratch;
  for (let position = 0; position * classes < outputs.length; position++) {
    const offset = position * classes;
    if (target === "index") {
      q.fill(0, 0, classes);
      q[targets[position]] = 1;
    } else for (let c = 0; c < classes; c++) q[c] = targets[offset + c];
    let mass = 0;
    for (let c = 0; c < classes; c++) mass += q[c] = (1 - smoothing) * q[c] + smoothing / classes;
    let largest = -Infinity;
    for (let c = 0; c < classes; c++) largest = Math.max(largest, outputs[offset + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(outputs[offset + c] - largest);
    const logSum = largest + Math.log(sum);
    for (let c = 0; c < classes; c++) {
      const logProbability = outputs[offset + c] - logSum;
      if (q[c] !== 0) total -= q[c] * logProbability;
      if (gradient) gradient[offset + c] = Math.exp(logProbability) * mass - q[c];
    }
  }
  return total;
}
