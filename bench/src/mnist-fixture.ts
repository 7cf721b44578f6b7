import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeCheckpointFile } from "@gradcheck/engine";
import { createRandom } from "@gradcheck/core";
import { backprop, faultyGradients, networkFromTheta, parseModelSpec, randomBatch, randomTheta, type Fault } from "@gradcheck/models";
import { writeFile } from "node:fs/promises";

/** The MNIST-sized benchmark model: 784-128-64-10, ReLU, softmax cross-entropy, λ = 0.01, batch 64. */
export const MNIST_SPEC = {
  name: "mnist-mlp",
  inputSize: 784,
  layers: [
    { units: 128, activation: "relu" },
    { units: 64, activation: "relu" },
    { units: 10, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.01,
  keepProb: 1,
};
export const BATCH_SIZE = 64;

export interface MnistFixture {
  readonly modelPath: string;
  readonly checkpointPath: string;
}

/** Writes the model spec and a float64 checkpoint (correct gradient unless a fault is given). */
export async function writeMnistFixture(directory: string, fault?: Fault, batchSize = BATCH_SIZE): Promise<MnistFixture> {
  await mkdir(directory, { recursive: true });
  const spec = parseModelSpec(MNIST_SPEC, "bench model");
  const random = createRandom(784);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, batchSize, random);
  const network = networkFromTheta(spec, theta);
  const gradients = fault ? faultyGradients(fault, network, batch) : backprop(network, batch);
  const modelPath = join(directory, "mnist-mlp.json");
  const checkpointPath = join(directory, `mnist${fault ? `-${fault.kind}` : ""}${batchSize === BATCH_SIZE ? "" : `-batch${batchSize}`}.safetensors`);
  await writeFile(modelPath, JSON.stringify(MNIST_SPEC));
  await writeCheckpointFile(checkpointPath, spec, theta, gradients, batch, { step: 0 });
  return { modelPath, checkpointPath };
}
