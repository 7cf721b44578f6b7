import { z } from "zod";
import { allIndices, gatherBlock } from "../changes.js";
import { formatShape, GraphSpecError, sizeOf, type LayerKind } from "../layer.js";
import { offsetIn } from "../propagation.js";
import { layerName } from "./names.js";

export const embeddingSpec = z.strictObject({
  type: z.literal("embedding"),
  name: layerName,
  vocab: z.number().int().positive().max(10_000_000),
  dim: z.number().int().positive().max(1_000_000),
});
export type EmbeddingSpec = z.infer<typeof embeddingSpec>;

export const positionalSpec = z.strictObject({
  type: z.literal("positional"),
  name: layerName,
  length: z.number().int().positive().max(10_000_000),
  dim: z.number().int().positive().max(1_000_000),
});
export type PositionalSpec = z.infer<typeof positionalSpec>;

/** A batch that does not fit the network it is fed to (a token id out of range). */
export class GraphInputError extends Error {
  override name = "GraphInputError";
}

/** nn.Embedding: token ids [T] → [T, dim], row id of `weight` [vocab, dim]. The ids are not differentiable. */
export const embedding: LayerKind<EmbeddingSpec> = {
  type: "embedding",
  schema: embeddingSpec,
  takesIds: true,
  outputShape: (spec, input) => [...input, spec.dim],
  parameters: (spec) => [{ suffix: "weight", shape: [spec.vocab, spec.dim] }],
  forward({ spec, params, path }, ids) {
    const output = new Float64Array(ids.length * spec.dim);
    ids.forEach((id, position) => {
      if (!Number.isInteger(id) || id < 0 || id >= spec.vocab) {
        throw new GraphInputError(`${path} (embedding "${spec.name}"): token id ${id} at position ${position} of the batch is not in 0..${spec.vocab - 1}`);
      }
      output.set(params[0].subarray(id * spec.dim, (id + 1) * spec.dim), position * spec.dim);
    });
    return { output };
  },
  // weight[v, f] moves feature f at the positions that hold token v
  perturbOwn(layer, base, index, step, m) {
    const { offset } = offsetIn(layer, index)!;
    const { dim } = layer.spec;
    const token = Math.floor(offset / dim);
    const feature = offset % dim;
    const ids = base.input;
    const positions = ids.length / m;
    const examples: number[] = [];
    const at = new Uint8Array(positions);
    for (let n = 0; n < m; n++) {
      let holds = false;
      for (let t = 0; t < positions; t++) if (ids[n * positions + t] === token) {
          holds = true;
          at[t] = 1;
        }
      if (holds) examples.push(n);
    }
    const slices = allIndices(positions).filter((t) => at[t] === 1);
    const values = gatherBlock(base.forwarded.output, layer.output, examples, slices);
    examples.forEach((n, e) =>
      slices.forEach((t, s) => {
        if (ids[n * positions + t] === token) values[(e * slices.length + s) * dim + feature] += step;
      }),
    );
    return { change: { examples: Int32Array.from(examples), slices, values }, kink: false };
  },
  backward({ spec }, ids, _forwarded, dy, _m, gradients) {
    // a token that occurs several times collects every occurrence's gradient
    ids.forEach((id, position) => {
      for (let f = 0; f < spec.dim; f++) gradients[0][id * spec.dim + f] += dy[position * spec.dim + f];
    });
    return new Float64Array(ids.length);
  },
};

/** Learned positions: adds row t of `weight` [length, dim] at position t of a [T, dim] input (T ≤ length). */
export const positional: LayerKind<PositionalSpec> = {
  type: "positional",
  schema: positionalSpec,
  outputShape(spec, input, path) {
    if (input.length !== 2 || input[1] !== spec.dim || input[0] > spec.length) {
      throw new GraphSpecError(`${path} (positional "${spec.name}"): takes [positions ≤ ${spec.length}, ${spec.dim}] per example, got ${formatShape(input)}`);
    }
    return input;
  },
  parameters: (spec) => [{ suffix: "weight", shape: [spec.length, spec.dim] }],
  forward({ input, params }, x) {
    const block = sizeOf(input);
    const output = x.slice();
    for (let offset = 0; offset < x.length; offset += block) for (let index = 0; index < block; index++) output[offset + index] += params[0][index];
    return { output };
  },
  // weight[t, f] moves feature f at position t of every example
  perturbOwn(layer, base, index, step, m) {
    const { offset } = offsetIn(layer, index)!;
    const { dim } = layer.spec;
    const position = Math.floor(offset / dim);
    const values = gatherBlock(base.forwarded.output, layer.output, allIndices(m), [position]);
    for (let n = 0; n < m; n++) values[n * dim + (offset % dim)] += step;
    return { change: { examples: allIndices(m), slices: Int32Array.of(position), values }, kink: false };
  },
  propagate({ params, spec }, _base, change) {
    const values = change.values.slice();
    const { dim } = spec;
    for (let e = 0; e < change.examples.length; e++)
      change.slices.forEach((t, s) => {
        for (let f = 0; f < dim; f++) values[(e * change.slices.length + s) * dim + f] += params[0][t * dim + f];
      });
    return { change: { ...change, values }, kink: false };
  },
  backward({ input }, _x, _forwarded, dy, _m, gradients) {
    const block = sizeOf(input);
    for (let offset = 0; offset < dy.length; offset += block) for (let index = 0; index < block; index++) gradients[0][index] += dy[offset + index];
    return dy;
  },
};
