import { createLayout, type Layout, type TensorShape } from "@gradcheck/core";
import { layerSizes, type ModelSpec } from "./architecture.js";

/** θ is W1, b1, W2, b2, ... with W_l of shape [n_l, n_{l−1}] (PyTorch nn.Linear layout). */
export function parameterShapes(spec: ModelSpec): TensorShape[] {
  const sizes = layerSizes(spec);
  return spec.layers.flatMap((_, index) => [
    { name: weightName(index + 1), shape: [sizes[index + 1], sizes[index]] },
    { name: biasName(index + 1), shape: [sizes[index + 1]] },
  ]);
}

export function parameterLayout(spec: ModelSpec): Layout {
  return createLayout(parameterShapes(spec));
}

export const weightName = (layer: number): string => `W${layer}`;
export const biasName = (layer: number): string => `b${layer}`;
/** The checkpoint's name for the user's gradient of a parameter: W2 -> dW2. */
export const gradientName = (parameter: string): string => `d${parameter}`;

/** Layer and kind of each tensor of θ, in layout order (W1, b1, W2, b2, ...). */
export function tensorRoles(spec: ModelSpec): { layer: number; kind: "weight" | "bias" }[] {
  return spec.layers.flatMap((_, index) => [
    { layer: index + 1, kind: "weight" as const },
    { layer: index + 1, kind: "bias" as const },
  ]);
}
