import { product } from "../arithmetic.js";
import { z } from "zod";
import { allIndices, gatherBlock } from "../changes.js";
import type { Change } from "../changes.js";
import { GraphSpecError, sizeOf, type BoundLayer, type LayerKind, type Moved, type TracedStep } from "../layer.js";
import { offsetIn, rowwiseChange } from "../propagation.js";
import { layerName } from "./names.js";

export const linearSpec = z.strictObject({
  type: z.literal("linear"),
  name: layerName,
  out: z.number().int().positive().max(1_000_000),
  bias: z.boolean().default(true),
});
export type LinearSpec = z.infer<typeof linearSpec>;

/** y = x·Wᵀ + b on the last dimension (nn.Linear): `weight` [out, in], `bias` [out]. */
export const linear: LayerKind<LinearSpec> = {
  type: "linear",
  schema: linearSpec,
  outputShape(spec, input, path) {
    if (input.length === 0) throw new GraphSpecError(`${path} (linear "${spec.name}"): its input has no dimension to act on`);
    return [...input.slice(0, -1), spec.out];
  },
  parameters(spec, input) {
    const features = input[input.length - 1];
    return [{ suffix: "weight", shape: [spec.out, features], decays: true }, ...(spec.bias ? [{ suffix: "bias", shape: [spec.out] }] : [])];
  },
  forward({ spec, input: shape, params }, x, m) {
    const features = shape[shape.length - 1];
    const rows = (m * sizeOf(shape)) / features;
    const output = new Float64Array(rows * spec.out);
    product({ m: rows, n: spec.out, k: features, a: x, b: params[0], transposeB: true, c: output });
    if (spec.bias) addRowVector(output, params[1]);
    return { output };
  },
  // weight[o, i] or bias[o] moves output feature o alone, by step·x_i (or step)
  perturbOwn(layer, base, index, step, m) {
    const { tensor, offset } = offsetIn(layer, index)!;
    const features = layer.input[layer.input.length - 1];
    const out = layer.spec.out;
    const o = tensor === 0 ? Math.floor(offset / features) : offset;
    const i = offset % features;
    const x = base.input;
    const y = base.forwarded.output;
    const moved = (row: number) => y[row * out + o] + (tensor === 0 ? step * x[row * features + i] : step);
    if (layer.input.length === 1) {
      const values = Float64Array.from({ length: m }, (_, n) => moved(n));
      return { change: { examples: allIndices(m), slices: Int32Array.of(o), values }, kink: false };
    }
    const values = y.slice();
    for (let row = 0; row < y.length / out; row++) values[row * out + o] = moved(row);
    return { change: { examples: allIndices(m), slices: allIndices(layer.input[0]), values }, kink: false };
  },
  // on a vector, y' = y + Δx·Wᵀ over the changed features only; on rows, the same over the
  // features that changed in any changed row, or the changed rows again when most did
  propagate(layer, base, change) {
    if (layer.input.length >= 2) return changedRows(layer, base, change);
    const features = layer.input[0];
    const { examples, slices } = change;
    const out = layer.spec.out;
    const dx = change.values.slice();
    const before = gatherBlock(base.input, layer.input, examples, slices);
    for (let index = 0; index < dx.length; index++) dx[index] -= before[index];
    // every feature changed: W itself; else its columns for the changed features
    const columns = slices.length === features ? layer.params[0] : new Float64Array(out * slices.length);
    if (slices.length < features) for (let o = 0; o < out; o++) for (let s = 0; s < slices.length; s++) columns[o * slices.length + s] = layer.params[0][o * features + slices[s]];
    const values = gatherBlock(base.forwarded.output, layer.output, examples, allIndices(out));
    product({ m: examples.length, n: out, k: slices.length, a: dx, b: columns, transposeB: true, c: values, accumulate: true });
    return { change: { examples, slices: allIndices(out), values }, kink: false };
  },
  backward({ spec, input: shape, params }, x, _forwarded, dy, m, gradients) {
    const features = shape[shape.length - 1];
    const rows = (m * sizeOf(shape)) / features;
    product({ m: spec.out, n: features, k: rows, a: dy, transposeA: true, b: x, c: gradients[0], accumulate: true });
    if (spec.bias) sumRows(dy, gradients[1]);
    const dx = new Float64Array(rows * features);
    product({ m: rows, n: features, k: spec.out, a: dy, b: params[0], c: dx });
    return dx;
  },
};

/** Adds `vector` to every row of `matrix` (rows of vector.length). */
export function addRowVector(matrix: Float64Array, vector: Float64Array): void {
  const n = vector.length;
  for (let offset = 0; offset < matrix.length; offset += n) for (let j = 0; j < n; j++) matrix[offset + j] += vector[j];
}

/** Adds the sum of the rows of `matrix` (rows of into.length) into `into`. */
export function sumRows(matrix: Float64Array, into: Float64Array): void {
  const n = into.length;
  for (let offset = 0; offset < matrix.length; offset += n) for (let j = 0; j < n; j++) into[j] += matrix[offset + j];
}

/**
 * A linear layer on the changed rows of a sequence: y' = y + Δx·Wᵀ over the input features
 * that changed in any of them (one, when the layer below moved one feature), else those rows
 * run again.
 */
function changedRows(layer: BoundLayer<LinearSpec>, base: TracedStep, change: Change): Moved {
  const features = layer.input[layer.input.length - 1];
  const out = layer.spec.out;
  const dx = change.values.slice();
  const before = gatherBlock(base.input, layer.input, change.examples, change.slices);
  const moved = new Uint8Array(features);
  for (let index = 0; index < dx.length; index++) if ((dx[index] -= before[index]) !== 0) moved[index % features] = 1;
  const changed = allIndices(features).filter((feature) => moved[feature] === 1);
  if (changed.length > features / 4) return rowwiseChange(layer, base, change);
  const rows = dx.length / features;
  const packed = new Float64Array(rows * changed.length);
  for (let row = 0; row < rows; row++) for (let c = 0; c < changed.length; c++) packed[row * changed.length + c] = dx[row * features + changed[c]];
  const columns = new Float64Array(out * changed.length);
  for (let o = 0; o < out; o++) for (let c = 0; c < changed.length; c++) columns[o * changed.length + c] = layer.params[0][o * features + changed[c]];
  const values = gatherBlock(base.forwarded.output, layer.output, change.examples, change.slices);
  product({ m: rows, n: out, k: changed.length, a: packed, b: columns, transposeB: true, c: values, accumulate: true });
  return { change: { examples: change.examples, slices: change.slices, values }, kink: false };
}
