import { createRandom } from "@gradcheck/core";
import { backprop, flattenGradients, networkFromTheta, parseModelSpec, randomBatch, randomTheta } from "@gradcheck/models";
import type { MlpCheckInput } from "../check-input.js";

export interface Fixture {
  readonly input: MlpCheckInput;
  readonly network: ReturnType<typeof networkFromTheta>;
}

/** A random model and batch with the correct reference gradient. */
export function fixture(specInput: unknown, seed = 1, batchSize = 12): Fixture {
  const spec = parseModelSpec(specInput, "fixture");
  const random = createRandom(seed);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, batchSize, random);
  const network = networkFromTheta(spec, theta);
  return {
    network,
    input: { spec, theta, analytic: flattenGradients(spec, backprop(network, batch)), batch, precision: "F64", step: 0 },
  };
}

/** 5-8-8-3 with tanh, relu, softmax; layer 2 is square so a transposed dW2 is possible. */
export const BUG_TABLE_SPEC = {
  name: "bug-table",
  inputSize: 5,
  layers: [
    { units: 8, activation: "tanh" },
    { units: 8, activation: "relu" },
    { units: 3, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.3,
};
