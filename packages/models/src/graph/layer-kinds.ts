import type { LayerKind } from "./layer.js";
import { attention } from "./layers/attention.js";
import { conv2d } from "./layers/conv2d.js";
import { activationLayers } from "./layers/elementwise.js";
import { embedding, positional } from "./layers/embedding.js";
import { flatten } from "./layers/flatten.js";
import { linear } from "./layers/linear.js";
import { batchNorm2d, layerNorm } from "./layers/normalization.js";
import { avgPool2d, maxPool2d } from "./layers/pool2d.js";
import { residual } from "./layers/residual.js";

/** Every layer type of model spec version 2, registered once: nothing else switches on a layer's type. */
export const LAYER_KINDS: readonly LayerKind[] = [
  linear,
  conv2d,
  maxPool2d,
  avgPool2d,
  flatten,
  batchNorm2d,
  layerNorm,
  embedding,
  positional,
  attention,
  ...activationLayers,
  residual,
] as readonly LayerKind[];

export const LAYER_TYPES: readonly string[] = LAYER_KINDS.map((kind) => kind.type);

export function layerKind(type: string): LayerKind | undefined {
  return LAYER_KINDS.find((kind) => kind.type === type);
}
