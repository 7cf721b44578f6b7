import { z } from "zod";
import { gatherBlock, NO_CHANGE, slicesOf, unionOf, writeInto, type Change } from "../changes.js";
import { backwardThrough, crossedKink, forwardThrough, type ForwardTrace, type LayerKind, type Shape } from "../layer.js";
import { changeThrough, perturbedChange } from "../propagation.js";

export const residualSpec = z.strictObject({
  type: z.literal("residual"),
  /** compiled by the graph, each as a layer of its own */
  layers: z.array(z.unknown()).min(1).max(1_000),
});
export type ResidualSpec = z.infer<typeof residualSpec>;

/** x + f(x), f the wrapped layers; f must keep the shape. Gradients of the wrapped layers go where theirs always go. */
export const residual: LayerKind<ResidualSpec> = {
  type: "residual",
  schema: residualSpec,
  children: (spec) => spec.layers,
  // the graph checks that the wrapped layers keep this shape, and names the one that does not
  outputShape: (_, input) => input,
  parameters: () => [],
  crossesKink: (layer, base, moved) => crossedKink(layer.children, base.forwarded.saved as ForwardTrace, moved.forwarded.saved as ForwardTrace),
  // x + f(x): the change of x, carried through f, plus the change of x itself
  propagate(layer, base, change, m) {
    const inner = changeThrough(layer.children, base.forwarded.saved as ForwardTrace, 0, change, m);
    return { change: sumOfChanges(layer.input, base.input, change, (base.forwarded.saved as ForwardTrace).output, inner.change), kink: inner.kink };
  },
  perturbOwn(layer, base, index, step, m) {
    const trace = base.forwarded.saved as ForwardTrace;
    const inner = perturbedChange(layer.children, trace, index, step, m);
    return { change: sumOfChanges(layer.input, base.input, NO_CHANGE, trace.output, inner.change), kink: inner.kink };
  },
  forward(layer, x, m) {
    const trace = forwardThrough(layer.children, x, m);
    const output = trace.output.slice();
    for (let index = 0; index < output.length; index++) output[index] += x[index];
    return { output, saved: trace };
  },
  backward(layer, _x, forwarded, dy, m) {
    const inner = backwardThrough(layer.children, forwarded.saved as ForwardTrace, dy, m);
    const dx = dy.slice();
    for (let index = 0; index < dx.length; index++) dx[index] += inner[index];
    return dx;
  },
};

/** x' + f' over the union of both changes' blocks, x and f the unperturbed values ([m, ...shape]). */
function sumOfChanges(shape: Shape, x: Float64Array, dx: Change, f: Float64Array, df: Change): Change {
  // the common cases without index maps: one of them unchanged, or both over the same block
  if (dx.examples.length === 0 || sameBlock(dx, df)) {
    const values = dx.examples.length === 0 ? gatherBlock(x, shape, df.examples, df.slices) : dx.values.slice();
    for (let index = 0; index < values.length; index++) values[index] += df.values[index];
    return { examples: df.examples, slices: df.slices, values };
  }
  if (df.examples.length === 0) {
    const values = gatherBlock(f, shape, dx.examples, dx.slices);
    for (let index = 0; index < values.length; index++) values[index] += dx.values[index];
    return { examples: dx.examples, slices: dx.slices, values };
  }
  const examples = unionOf(dx.examples, df.examples);
  const slices = unionOf(dx.slices, df.slices);
  const { size } = slicesOf(shape);
  const left = gatherBlock(x, shape, examples, slices);
  writeInto(left, examples, slices, dx, size);
  const right = gatherBlock(f, shape, examples, slices);
  writeInto(right, examples, slices, df, size);
  for (let index = 0; index < left.length; index++) left[index] += right[index];
  return { examples, slices, values: left };
}

function sameBlock(a: Change, b: Change): boolean {
  const equal = (p: Int32Array, q: Int32Array) => p.length === q.length && p.every((value, index) => value === q[index]);
  return equal(a.examples, b.examples) && equal(a.slices, b.slices);
}
