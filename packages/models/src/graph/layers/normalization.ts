import { z } from "zod";
import { allIndices, gatherBlock, slicesOf } from "../changes.js";
import { formatShape, GraphSpecError, sizeOf, type BoundLayer, type Moved, type TracedStep } from "../layer.js";
import type { LayerKind } from "../layer.js";
import { offsetIn } from "../propagation.js";
import { imageShape } from "./conv2d.js";
import { layerName } from "./names.js";

export const batchNorm2dSpec = z.strictObject({
  type: z.literal("batchnorm2d"),
  name: layerName,
  eps: z.number().positive().default(1e-5),
  /** "batch": the batch's own mean and biased variance (training mode); "running": the checkpoint's buffers (eval mode) */
  statistics: z.enum(["batch", "running"]).default("batch"),
});
export type BatchNorm2dSpec = z.infer<typeof batchNorm2dSpec>;

export const layerNormSpec = z.strictObject({ type: z.literal("layernorm"), name: layerName, eps: z.number().positive().default(1e-5) });
export type LayerNormSpec = z.infer<typeof layerNormSpec>;

/** x̂ and 1/σ per group, kept for the backward pass. */
interface Normalized {
  readonly normalized: Float64Array;
  readonly inverseDeviation: Float64Array;
}

/**
 * nn.BatchNorm2d (affine): per channel over (m, H, W), y = γ·(x − μ)/√(σ² + eps) + β.
 * `weight`, `bias` [C]; `running_mean`, `running_var` [C] are buffers, used in "running" mode.
 */
export const batchNorm2d: LayerKind<BatchNorm2dSpec> = {
  type: "batchnorm2d",
  schema: batchNorm2dSpec,
  outputShape(spec, input, path) {
    imageShape(input, path, `batchnorm2d "${spec.name}"`);
    return input;
  },
  parameters: (_, input) => [
    { suffix: "weight", shape: [input[0]] },
    { suffix: "bias", shape: [input[0]] },
  ],
  buffers: (_, input) => [
    { suffix: "running_mean", shape: [input[0]] },
    { suffix: "running_var", shape: [input[0]] },
  ],
  mixesExamples: (spec) => spec.statistics === "batch",
  // weight[c] or bias[c] moves channel c alone: by step·x̂ (or step)
  perturbOwn: (layer, base, index, step, m) => movedFeature(layer, base, index, step, m, "channel"),
  forward({ spec, input, params, buffers }, x, m) {
    const [channels] = input;
    const plane = sizeOf(input) / channels;
    const count = m * plane;
    const normalized = new Float64Array(x.length);
    const inverseDeviation = new Float64Array(channels);
    const output = new Float64Array(x.length);
    for (let c = 0; c < channels; c++) {
      let mean = buffers[0]?.[c] ?? 0;
      let variance = buffers[1]?.[c] ?? 1;
      if (spec.statistics === "batch") {
        mean = 0;
        for (let n = 0; n < m; n++) for (let p = 0; p < plane; p++) mean += x[(n * channels + c) * plane + p];
        mean /= count;
        variance = 0;
        for (let n = 0; n < m; n++) for (let p = 0; p < plane; p++) variance += (x[(n * channels + c) * plane + p] - mean) ** 2;
        variance /= count;
      }
      const inverse = 1 / Math.sqrt(variance + spec.eps);
      inverseDeviation[c] = inverse;
      for (let n = 0; n < m; n++)
        for (let p = 0; p < plane; p++) {
          const index = (n * channels + c) * plane + p;
          normalized[index] = (x[index] - mean) * inverse;
          output[index] = params[0][c] * normalized[index] + params[1][c];
        }
    }
    return { output, saved: { normalized, inverseDeviation } satisfies Normalized };
  },
  backward({ spec, input, params }, _x, forwarded, dy, m, gradients) {
    const { normalized, inverseDeviation } = forwarded.saved as Normalized;
    const [channels] = input;
    const plane = sizeOf(input) / channels;
    const count = m * plane;
    const dx = new Float64Array(dy.length);
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      let projected = 0;
      for (let n = 0; n < m; n++)
        for (let p = 0; p < plane; p++) {
          const index = (n * channels + c) * plane + p;
          sum += dy[index];
          projected += dy[index] * normalized[index];
        }
      gradients[0][c] += projected;
      gradients[1][c] += sum;
      const scale = params[0][c] * inverseDeviation[c];
      for (let n = 0; n < m; n++)
        for (let p = 0; p < plane; p++) {
          const index = (n * channels + c) * plane + p;
          // batch statistics depend on x: the mean and the variance terms of the chain rule
          dx[index] = spec.statistics === "batch" ? scale * (dy[index] - sum / count - (normalized[index] * projected) / count) : scale * dy[index];
        }
    }
    return dx;
  },
};

/** nn.LayerNorm over the last dimension (biased variance): `weight`, `bias` [features]. */
export const layerNorm: LayerKind<LayerNormSpec> = {
  type: "layernorm",
  schema: layerNormSpec,
  outputShape(spec, input, path) {
    if (input.length === 0) throw new GraphSpecError(`${path} (layernorm "${spec.name}"): its input ${formatShape(input)} has no last dimension`);
    return input;
  },
  parameters: (_, input) => [
    { suffix: "weight", shape: [input[input.length - 1]] },
    { suffix: "bias", shape: [input[input.length - 1]] },
  ],
  rowwise: true,
  // weight[f] or bias[f] moves feature f of every row: by step·x̂ (or step)
  perturbOwn: (layer, base, index, step, m) => movedFeature(layer, base, index, step, m, "feature"),
  forward({ spec, input, params }, x) {
    const features = input[input.length - 1];
    const rows = x.length / features;
    const normalized = new Float64Array(x.length);
    const inverseDeviation = new Float64Array(rows);
    const output = new Float64Array(x.length);
    for (let r = 0; r < rows; r++) {
      const offset = r * features;
      let mean = 0;
      for (let f = 0; f < features; f++) mean += x[offset + f];
      mean /= features;
      let variance = 0;
      for (let f = 0; f < features; f++) variance += (x[offset + f] - mean) ** 2;
      const inverse = 1 / Math.sqrt(variance / features + spec.eps);
      inverseDeviation[r] = inverse;
      for (let f = 0; f < features; f++) {
        normalized[offset + f] = (x[offset + f] - mean) * inverse;
        output[offset + f] = params[0][f] * normalized[offset + f] + params[1][f];
      }
    }
    return { output, saved: { normalized, inverseDeviation } satisfies Normalized };
  },
  backward({ input, params }, _x, forwarded, dy, _m, gradients) {
    const { normalized, inverseDeviation } = forwarded.saved as Normalized;
    const features = input[input.length - 1];
    const rows = dy.length / features;
    const dx = new Float64Array(dy.length);
    for (let r = 0; r < rows; r++) {
      const offset = r * features;
      let sum = 0;
      let projected = 0;
      for (let f = 0; f < features; f++) {
        const g = dy[offset + f] * params[0][f];
        sum += g;
        projected += g * normalized[offset + f];
        gradients[0][f] += dy[offset + f] * normalized[offset + f];
        gradients[1][f] += dy[offset + f];
      }
      for (let f = 0; f < features; f++) {
        const g = dy[offset + f] * params[0][f];
        dx[offset + f] = inverseDeviation[r] * (g - sum / features - (normalized[offset + f] * projected) / features);
      }
    }
    return dx;
  },
};

/**
 * The output of a normalization when its gain or shift for one channel (batch norm, the first
 * dimension) or one feature (layer norm, the last) moves by step: y + step·x̂ there, or y + step.
 */
function movedFeature(layer: BoundLayer, base: TracedStep, index: number, step: number, m: number, along: "channel" | "feature"): Moved {
  const { tensor, offset } = offsetIn(layer, index)!;
  const { normalized } = base.forwarded.saved as Normalized;
  const y = base.forwarded.output;
  const moved = (at: number) => y[at] + (tensor === 0 ? step * normalized[at] : step);
  const { count, size } = slicesOf(layer.input);
  if (along === "channel") {
    const values = gatherBlock(y, layer.input, allIndices(m), [offset]);
    for (let n = 0; n < m; n++) for (let p = 0; p < size; p++) values[n * size + p] = moved((n * count + offset) * size + p);
    return { change: { examples: allIndices(m), slices: Int32Array.of(offset), values }, kink: false };
  }
  const features = layer.input[layer.input.length - 1];
  const values = y.slice();
  for (let at = offset; at < y.length; at += features) values[at] = moved(at);
  // a layer norm of vectors changes feature `offset` alone; of rows, that feature of every row
  if (layer.input.length === 1) return { change: { examples: allIndices(m), slices: Int32Array.of(offset), values: gatherBlock(values, layer.input, allIndices(m), [offset]) }, kink: false };
  return { change: { examples: allIndices(m), slices: allIndices(count), values }, kink: false };
}
