import fc from "fast-check";
import { createRandom } from "@gradcheck/core";
import type { Batch } from "../network.js";
import { HIDDEN_ACTIVATIONS, type HiddenActivation, type Loss, type ModelSpec } from "../architecture.js";
import { parseModelSpec } from "../spec.js";
import { randomBatch, randomTheta } from "../synthetic.js";

/** The output layer and loss together. */
export interface HeadChoice {
  readonly activation: "softmax" | "sigmoid" | "linear";
  readonly loss: Loss;
}

export const HEADS: readonly HeadChoice[] = [
  { activation: "softmax", loss: "cross-entropy" },
  { activation: "sigmoid", loss: "cross-entropy" },
  { activation: "linear", loss: "mse" },
];

export const headLabel = (head: HeadChoice): string => `${head.activation}+${head.loss}`;

export interface SpecShape {
  readonly inputSize: number;
  readonly hidden: readonly { readonly units: number; readonly activation: HiddenActivation }[];
  readonly head: HeadChoice;
  readonly outputs: number;
  readonly l2: number;
}

export function makeSpec(shape: SpecShape): ModelSpec {
  return parseModelSpec({
    name: "test",
    inputSize: shape.inputSize,
    layers: [...shape.hidden, { units: shape.outputs, activation: shape.head.activation }],
    loss: shape.head.loss,
    l2: shape.l2,
  });
}

export interface ModelCase {
  readonly spec: ModelSpec;
  readonly theta: Float64Array;
  readonly batch: Batch;
}

export function makeCase(spec: ModelSpec, m: number, seed: number): ModelCase {
  const random = createRandom(seed);
  const theta = randomTheta(spec, random);
  return { spec, theta, batch: randomBatch(spec, m, random) };
}

export interface CaseOptions {
  /** Hidden activations to draw from (default: all four). */
  readonly activations?: readonly HiddenActivation[];
  readonly heads?: readonly HeadChoice[];
  readonly minHidden?: number;
  readonly maxHidden?: number;
  readonly maxUnits?: number;
}

/** Small random models (0–maxHidden hidden layers of 1–maxUnits units), λ ∈ {0, 0.1}, m ∈ {1, 5}. */
export function modelCase(options: CaseOptions = {}): fc.Arbitrary<ModelCase> {
  const activations = options.activations ?? HIDDEN_ACTIVATIONS;
  const units = fc.integer({ min: 1, max: options.maxUnits ?? 4 });
  return fc
    .record({
      inputSize: fc.integer({ min: 1, max: 4 }),
      hidden: fc.array(fc.record({ units, activation: fc.constantFrom(...activations) }), {
        minLength: options.minHidden ?? 0,
        maxLength: options.maxHidden ?? 2,
      }),
      head: fc.constantFrom(...(options.heads ?? HEADS)),
      extraOutputs: fc.integer({ min: 0, max: 2 }),
      l2: fc.constantFrom(0, 0.1),
      m: fc.constantFrom(1, 5),
      seed: fc.integer(),
    })
    .map(({ extraOutputs, m, seed, ...shape }) => {
      // A softmax over one unit is constant; give it at least two.
      const outputs = (shape.head.activation === "softmax" ? 2 : 1) + extraOutputs;
      return makeCase(makeSpec({ ...shape, outputs }), m, seed);
    });
}

/** Smallest |Z| over the pre-activations of the hidden ReLU layers (Infinity when none). */
export function reluMargin(spec: ModelSpec, preActivations: readonly Float64Array[]): number {
  let margin = Infinity;
  spec.layers.forEach((layer, index) => {
    if (index === spec.layers.length - 1 || layer.activation !== "relu") return;
    for (const z of preActivations[index]) margin = Math.min(margin, Math.abs(z));
  });
  return margin;
}
