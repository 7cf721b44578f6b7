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
    if (layer.input.length === 1) {
      const values = Float64Array.from({ length: m }, (_, n) => y[n * out + o] + (tensor === 0 ? step * x[n * features + i] : step));
      return { change: { examples: allIndices(m), slices: Int32Array.of(o), values }, kink: false };
    }
    const values = withOutputFeatureMoved(y, out, o, step, tensor === 0 ? { x, features, i } : undefined);
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
    const values = gatherBlock(base.forwarded.output, layer.output, examples, allIndices(out));
    addThroughColumns(layer.params[0], out, features, dx, slices, values);
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
  const values = gatherBlock(base.forwarded.output, layer.output, change.examples, change.slices);
  addThroughColumns(layer.params[0], out, features, packed, changed, values);
  return { change: { examples: change.examples, slices: change.slices, values }, kink: false };
}

/** values [rows, out] += dx [rows, changed features]·W[:, those features]ᵀ, W [out, features]; W itself when every feature changed. */
function addThroughColumns(weight: Float64Array, out: number, features: number, dx: Float64Array, changed: Int32Array, values: Float64Array): void {
  const columns = changed.length === features ? weight : new Float64Array(out * changed.length);
  if (changed.length < features) for (let o = 0; o < out; o++) for (let c = 0; c < changed.length; c++) columns[o * changed.length + c] = weight[o * features + changed[c]];
  product({ m: dx.length / changed.length, n: out, k: changed.length, a: dx, b: columns, transposeB: true, c: values, accumulate: true });
}

/**
 * The outputs y [rows, out] of a linear map with output feature o of every row moved: by
 * step·x[row, i] for a weight W[o, i] (x [rows, features]), by step for a bias.
 */
export function withOutputFeatureMoved(y: Float64Array, out: number, o: number, step: number, weight?: { x: Float64Array; features: number; i: number }): Float64Array {
  const values = y.slice();
  for (let row = 0; row < y.length / out; row++) values[row * out + o] += weight ? step * weight.x[row * weight.features + weight.i] : step;
  return values;
}
