import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createRandom } from "@gradcheck/core";
import { writeCheckpointFile } from "@gradcheck/engine";
import { backprop, networkFromTheta, parameterLayout, parseModelSpec, randomBatch, randomTheta } from "@gradcheck/models";
import type { FloatDtype } from "@gradcheck/checkpoint";

/** The large cases of the bench: MLPs whose sizes users of big models check. */
export interface LargeCase {
  readonly name: string;
  readonly sizes: readonly number[];
  readonly dtype: FloatDtype;
  readonly batch: number;
  /** the hidden layers' activation; ReLU unless told */
  readonly hidden?: "relu" | "tanh";
}

export const MEDIUM_CASE: LargeCase = { name: "mlp-0.92m", sizes: [1024, 512, 512, 256, 10], dtype: "F64", batch: 64 };
export const LARGE_CASE: LargeCase = { name: "mlp-10.5m", sizes: [2048, 2048, 2048, 1024, 10], dtype: "F32", batch: 32 };
/** The tanh model: no ReLU shortcut, every change pushed through the layers above. */
export const TANH_CASE: LargeCase = { name: "tanh-235k", sizes: [784, 256, 128, 10], dtype: "F64", batch: 64, hidden: "tanh" };

export interface LargeFixture {
  readonly modelPath: string;
  readonly checkpointPath: string;
  readonly parameters: number;
}

/** Writes the model spec and a checkpoint with a correct backprop's gradient. */
export async function writeLargeFixture(directory: string, large: LargeCase): Promise<LargeFixture> {
  await mkdir(directory, { recursive: true });
  const json = {
    name: large.name,
    inputSize: large.sizes[0],
    layers: large.sizes.slice(1).map((units, index, rest) => ({ units, activation: index === rest.length - 1 ? "softmax" : (large.hidden ?? "relu") })),
    loss: "cross-entropy",
    l2: 0,
    keepProb: 1,
  };
  const spec = parseModelSpec(json, "bench model");
  const random = createRandom(large.sizes.length * 1000 + large.batch);
  const drawn = randomTheta(spec, random);
  // The gradient of the θ the checkpoint stores, not of the float64 draw it was rounded from.
  const theta = large.dtype === "F64" ? drawn : Float64Array.from(Float32Array.from(drawn));
  const batch = randomBatch(spec, large.batch, random);
  const gradients = backprop(networkFromTheta(spec, theta), batch);
  const modelPath = join(directory, `${large.name}.json`);
  const checkpointPath = join(directory, `${large.name}.safetensors`);
  await writeFile(modelPath, JSON.stringify(json));
  await writeCheckpointFile(checkpointPath, spec, theta, gradients, batch, { step: 0, dtype: large.dtype });
  return { modelPath, checkpointPath, parameters: parameterLayout(spec).total };
}
