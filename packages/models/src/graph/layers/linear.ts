import { product } from "../arithmetic.js";
import { z } from "zod";
import { GraphSpecError, sizeOf, type LayerKind } from "../layer.js";
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
