import erf from "@stdlib/math-base-special-erf";
import { z } from "zod";
import { sigmoid } from "../../activations.js";
import type { LayerKind } from "../layer.js";
import { gatherBlock } from "../changes.js";

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** An activation: its value and its derivative at a pre-activation z. */
interface Pointwise {
  value(z: number): number;
  slope(z: number): number;
}

export const activationSpecs = {
  relu: z.strictObject({ type: z.literal("relu") }),
  leaky_relu: z.strictObject({ type: z.literal("leaky_relu"), slope: z.number().finite().default(0.01) }),
  gelu: z.strictObject({ type: z.literal("gelu"), approximate: z.enum(["none", "tanh"]).default("none") }),
  tanh: z.strictObject({ type: z.literal("tanh") }),
  sigmoid: z.strictObject({ type: z.literal("sigmoid") }),
  silu: z.strictObject({ type: z.literal("silu") }),
  /** the check runs with dropout off (and says so), as with keepProb in version 1 */
  dropout: z.strictObject({ type: z.literal("dropout"), p: z.number().gte(0).lt(1) }),
};
type ActivationSpecs = { [K in keyof typeof activationSpecs]: z.infer<(typeof activationSpecs)[K]> };
export type ActivationLayerSpec = ActivationSpecs[keyof ActivationSpecs];

/** PyTorch's formulas; the derivative at a ReLU's kink is 0 on the left, as autograd takes it. */
function pointwiseOf(spec: ActivationLayerSpec): Pointwise {
  switch (spec.type) {
    case "relu":
      return { value: (z) => (z > 0 ? z : 0), slope: (z) => (z > 0 ? 1 : 0) };
    case "leaky_relu": {
      const slope = spec.slope;
      return { value: (z) => (z > 0 ? z : slope * z), slope: (z) => (z > 0 ? 1 : slope) };
    }
    case "gelu":
      if (spec.approximate === "tanh") {
        return {
          value: (z) => 0.5 * z * (1 + Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z ** 3))),
          slope: (z) => {
            const t = Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z ** 3));
            return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * z * z);
          },
        };
      }
      return { value: (z) => 0.5 * z * (1 + erf(z * SQRT_HALF)), slope: (z) => 0.5 * (1 + erf(z * SQRT_HALF)) + z * INV_SQRT_2PI * Math.exp(-0.5 * z * z) };
    case "tanh":
      return { value: Math.tanh, slope: (z) => 1 - Math.tanh(z) ** 2 };
    case "sigmoid":
      return { value: sigmoid, slope: (z) => sigmoid(z) * (1 - sigmoid(z)) };
    case "silu":
      return { value: (z) => z * sigmoid(z), slope: (z) => sigmoid(z) * (1 + z * (1 - sigmoid(z))) };
    case "dropout":
      return { value: (z) => z, slope: () => 1 };
  }
}

/** A ReLU-like kink at 0: crossed when an input changes side of it, or moves off it. */
function crossesZero(base: { input: Float64Array }, moved: { input: Float64Array }): boolean {
  const inputs = base.input;
  const movedInputs = moved.input;
  for (let index = 0; index < inputs.length; index++) {
    const before = inputs[index];
    const after = movedInputs[index];
    if (before === 0 ? after !== 0 : before > 0 !== after > 0) return true;
  }
  return false;
}

function elementwise<S extends ActivationLayerSpec>(type: S["type"], schema: z.ZodType<S>, kinked = false): LayerKind<S> {
  return {
    type,
    ...(kinked ? { crossesKink: (_: unknown, base: { input: Float64Array }, moved: { input: Float64Array }) => crossesZero(base, moved) } : {}),
    schema,
    outputShape: (_, input) => input,
    parameters: () => [],
    // every value on its own: only those whose input changed are computed again
    propagate(layer, base, change) {
      const { value } = pointwiseOf(layer.spec);
      const before = gatherBlock(base.input, layer.input, change.examples, change.slices);
      const values = gatherBlock(base.forwarded.output, layer.output, change.examples, change.slices);
      const inputs = change.values;
      for (let index = 0; index < inputs.length; index++) if (inputs[index] !== before[index]) values[index] = value(inputs[index]);
      const kink = kinked && crossesZero({ input: before }, { input: inputs });
      return { change: { examples: change.examples, slices: change.slices, values }, kink };
    },
    forward({ spec }, x) {
      const { value } = pointwiseOf(spec);
      const output = new Float64Array(x.length);
      for (let index = 0; index < x.length; index++) output[index] = value(x[index]);
      return { output };
    },
    backward({ spec }, x, _forwarded, dy) {
      const { slope } = pointwiseOf(spec);
      return dy.map((g, index) => g * slope(x[index]));
    },
  };
}

export const activationLayers = [
  elementwise("relu", activationSpecs.relu, true),
  elementwise("leaky_relu", activationSpecs.leaky_relu, true),
  elementwise("gelu", activationSpecs.gelu),
  elementwise("tanh", activationSpecs.tanh),
  elementwise("sigmoid", activationSpecs.sigmoid),
  elementwise("silu", activationSpecs.silu),
  elementwise("dropout", activationSpecs.dropout),
];
