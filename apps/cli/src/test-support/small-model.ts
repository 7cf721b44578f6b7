import { createRandom } from "@gradcheck/core";
import { networkFromTheta, parseModelSpec, randomBatch, randomTheta } from "@gradcheck/models";

// The small model the CLI's tests check: three layers, L2, a ReLU for kinks.

export const SPEC = {
  name: "cli-test",
  inputSize: 4,
  layers: [
    { units: 6, activation: "tanh" },
    { units: 5, activation: "relu" },
    { units: 3, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.2,
};
export const spec = parseModelSpec(SPEC);
const random = createRandom(42);
export const theta = randomTheta(spec, random);
export const batch = randomBatch(spec, 8, random);
export const network = networkFromTheta(spec, theta);
