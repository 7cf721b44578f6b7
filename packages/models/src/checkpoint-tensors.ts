import { unflatten } from "@gradcheck/core";
import type { Gradients } from "./backprop.js";
import type { Batch } from "./network.js";
import { biasName, gradientName, parameterLayout, weightName } from "./parameters.js";
import { layerSizes, type ModelSpec } from "./architecture.js";

/** The probe batch's names in a checkpoint. */
export const INPUTS_NAME = "X";
export const TARGETS_NAME = "Y";

export interface NamedTensor {
  readonly name: string;
  readonly shape: number[];
  readonly data: Float64Array;
}

export class CheckpointMismatchError extends Error {
  override name = "CheckpointMismatchError";
}

/** What a checkpoint holds for a model: θ, dθ, X and Y, in the order gradcheck writes them. */
export function checkpointTensors(spec: ModelSpec, theta: Float64Array, gradients: Gradients, batch: Batch): NamedTensor[] {
  const layout = parameterLayout(spec);
  const parameters = unflatten(layout, theta);
  const sizes = layerSizes(spec);
  const tensors: NamedTensor[] = layout.tensors.map((slot) => ({
    name: slot.name,
    shape: [...slot.shape],
    data: parameters.get(slot.name)!,
  }));
  spec.layers.forEach((_, index) => {
    const layer = index + 1;
    tensors.push({ name: gradientName(weightName(layer)), shape: [sizes[layer], sizes[index]], data: gradients.weights[index] });
    tensors.push({ name: gradientName(biasName(layer)), shape: [sizes[layer]], data: gradients.biases[index] });
  });
  tensors.push({ name: INPUTS_NAME, shape: [batch.size, sizes[0]], data: batch.inputs });
  tensors.push({ name: TARGETS_NAME, shape: [batch.size, sizes[sizes.length - 1]], data: batch.targets });
  return tensors;
}

export interface CheckpointContents {
  /** batch size m, from X */
  readonly batchSize: number;
  /** tensors the model does not use */
  readonly unused: string[];
}

/**
 * Checks that a checkpoint's tensor names and shapes fit the model; `shapes` maps each
 * tensor name in the file to its shape. Errors name the file, the tensor and what was expected.
 */
export function matchCheckpointToModel(
  spec: ModelSpec,
  shapes: ReadonlyMap<string, readonly number[]>,
  label: string,
): CheckpointContents {
  const sizes = layerSizes(spec);
  const expected = new Map<string, number[]>();
  parameterLayout(spec).tensors.forEach((slot) => {
    expected.set(slot.name, [...slot.shape]);
    expected.set(gradientName(slot.name), [...slot.shape]);
  });
  const missing = [...expected.keys(), INPUTS_NAME, TARGETS_NAME].filter((name) => !shapes.has(name));
  if (missing.length > 0) {
    throw new CheckpointMismatchError(
      `${label}: tensor "${missing[0]}" is missing` +
        (missing.length > 1 ? ` (and ${missing.length - 1} more: ${missing.slice(1, 6).join(", ")})` : "") +
        `; model "${spec.name}" needs W1..W${spec.layers.length}, b*, their gradients dW*, db*, and the probe batch X, Y`,
    );
  }
  for (const [name, shape] of expected) {
    const actual = shapes.get(name)!;
    if (!sameShape(actual, shape)) {
      throw new CheckpointMismatchError(
        `${label}: tensor "${name}" has shape [${actual}] but model "${spec.name}" expects [${shape}]`,
      );
    }
  }
  const inputs = shapes.get(INPUTS_NAME)!;
  const targets = shapes.get(TARGETS_NAME)!;
  if (inputs.length !== 2 || inputs[1] !== sizes[0] || inputs[0] < 1) {
    throw new CheckpointMismatchError(
      `${label}: tensor "X" has shape [${inputs}] but model "${spec.name}" expects [m, ${sizes[0]}] with m ≥ 1`,
    );
  }
  const m = inputs[0];
  const nL = sizes[sizes.length - 1];
  if (targets.length !== 2 || targets[1] !== nL) {
    throw new CheckpointMismatchError(
      `${label}: tensor "Y" has shape [${targets}] but model "${spec.name}" expects [m, ${nL}]`,
    );
  }
  if (targets[0] !== m) {
    throw new CheckpointMismatchError(
      `${label}: tensor "Y" has ${targets[0]} rows but X has ${m}: the batch size m must match`,
    );
  }
  const known = new Set([...expected.keys(), INPUTS_NAME, TARGETS_NAME]);
  return { batchSize: m, unused: [...shapes.keys()].filter((name) => !known.has(name)) };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
