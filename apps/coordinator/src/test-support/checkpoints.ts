import { writeSafetensors } from "@gradcheck/checkpoint";
import { createRandom } from "@gradcheck/core";
import { backprop, checkpointTensors, networkFromTheta, randomBatch, randomTheta, type ModelSpec } from "@gradcheck/models";

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
  const metadata: Record<string, string> = { format: "gradcheck/1", model: spec.name };
  if (options.step !== undefined) metadata.step = String(options.step);
  await writeSafetensors(
    path,
    checkpointTensors(spec, theta, gradients, batch).map((tensor) => ({ ...tensor, dtype: "F64" as const })),
    metadata,
  );
}

/** MNIST-sized (109,386 parameters): a full check spans the cluster's 16 shards. */
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

/** Writes a checkpoint whose tensor `name` holds NaN at its first element. */
export async function writeCheckpointWithNaN(path: string, spec: ModelSpec, name: string): Promise<void> {
  const random = createRandom(11);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, 4, random);
  const tensors = checkpointTensors(spec, theta, backprop(networkFromTheta(spec, theta), batch), batch).map((tensor) => ({ ...tensor, dtype: "F64" as const }));
  tensors.find((tensor) => tensor.name === name)!.data[0] = Number.NaN;
  await writeSafetensors(path, tensors, { format: "gradcheck/1" });
}
