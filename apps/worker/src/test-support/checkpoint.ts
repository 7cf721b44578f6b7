import { createHash } from "node:crypto";
import { encodeSafetensors } from "@gradcheck/checkpoint";
import { createRandom } from "@gradcheck/core";
import {
  backprop,
  checkpointTensors,
  networkFromTheta,
  parseModelSpec,
  randomBatch,
  randomTheta,
  type ModelSpec,
} from "@gradcheck/models";

export interface TestCheckpoint {
  readonly spec: ModelSpec;
  readonly bytes: Buffer;
  readonly hash: string;
}

/** A random model's θ, its exact dθ (backprop) and a probe batch, as checkpoint bytes. */
export function testCheckpoint(specInput: unknown, seed = 1, batchSize = 8): TestCheckpoint {
  const spec = parseModelSpec(specInput, "test spec");
  const random = createRandom(seed);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, batchSize, random);
  const gradients = backprop(networkFromTheta(spec, theta), batch);
  const tensors = checkpointTensors(spec, theta, gradients, batch).map((tensor) => ({ ...tensor, dtype: "F64" as const }));
  const bytes = Buffer.from(encodeSafetensors(tensors, { format: "gradcheck/1", model: spec.name }));
  return { spec, bytes, hash: sha256(bytes) };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
