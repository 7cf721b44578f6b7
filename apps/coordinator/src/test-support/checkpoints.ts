import { createRandom } from "@gradcheck/core";
import { writeCheckpointFile } from "@gradcheck/engine";
import { backprop, networkFromTheta, parameterLayout, randomBatch, randomTheta, type ModelSpec } from "@gradcheck/models";

/** A model big enough that a full check spans several shards. */
export const SHARDED_SPEC: ModelSpec = {
  name: "cluster-test-mlp",
  inputSize: 64,
  layers: [
    { units: 48, activation: "tanh" },
    { units: 32, activation: "relu" },
    { units: 10, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.01,
  keepProb: 1,
};

/** Writes a checkpoint of random θ with its true gradient, or a faulty one (dW2 doubled). */
export async function writeTestCheckpoint(path: string, spec: ModelSpec, options: { batchSize: number; seed: number; step?: number; faulty?: boolean }): Promise<void> {
  const random = createRandom(options.seed);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, options.batchSize, random);
  const gradients = backprop(networkFromTheta(spec, theta), batch);
  if (options.faulty) gradients.weights[1] = gradients.weights[1].map((value) => 2 * value);
  await writeCheckpointFile(path, spec, theta, gradients, batch, { step: options.step });
}

/** MNIST-sized (109,386 parameters): a full check spans several shards. */
export const MNIST_SPEC: ModelSpec = {
  name: "cluster-test-mnist",
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

/** Writes a checkpoint whose parameter tensor `name` holds NaN at its first element. */
export async function writeCheckpointWithNaN(path: string, spec: ModelSpec, name: string): Promise<void> {
  const random = createRandom(11);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, 4, random);
  const gradients = backprop(networkFromTheta(spec, theta), batch);
  theta[parameterLayout(spec).tensors.find((slot) => slot.name === name)!.offset] = Number.NaN;
  await writeCheckpointFile(path, spec, theta, gradients, batch);
}
