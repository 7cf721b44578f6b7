import { allIndices, changeBetween, examplesWith, gatherBlock, NO_CHANGE, slicesOf, withChange, type Change } from "./changes.js";
import type { BoundLayer, ForwardTrace, Moved, TracedStep } from "./layer.js";

/**
 * Perturbations carried up the layers as changes (changes.ts) instead of whole activations:
 * a layer's rule (`propagate`, `perturbOwn`) computes only what moves — one output channel
 * of a convolution, one feature of a linear layer, the rows of the changed positions — and a
 * layer without one reruns only the changed examples. Equal to a full forward pass of the
 * perturbed θ to rounding (1e-12 relative in the tests), and kinks are found exactly as
 * there: every changed value is compared with its unperturbed one.
 */

/** Whether θ[index] is one of the layer's parameters (or of the layers it wraps). */
export function owns(layer: BoundLayer, index: number): boolean {
  return offsetIn(layer, index) !== undefined || layer.children.some((child) => owns(child, index));
}

/** Which of the layer's own parameters holds θ[index], and where in it (its tensors are views into one θ that starts its buffer). */
export function offsetIn(layer: BoundLayer, index: number): { tensor: number; offset: number } | undefined {
  for (let tensor = 0; tensor < layer.params.length; tensor++) {
    const start = layer.params[tensor].byteOffset / Float64Array.BYTES_PER_ELEMENT;
    if (index >= start && index < start + layer.params[tensor].length) return { tensor, offset: index - start };
  }
  return undefined;
}

const stepOf = (trace: ForwardTrace, index: number): TracedStep => ({ input: trace.inputs[index], forwarded: trace.forwarded[index] });

/** The unperturbed step of a block, its forward pass run only if a kink test asks for it (a max pool's choices). */
function lazyStep(layer: BoundLayer, input: Float64Array, m: number): TracedStep {
  let forwarded: TracedStep["forwarded"] | undefined;
  return {
    input,
    get forwarded() {
      return (forwarded ??= layer.kind.forward(layer, input, m));
    },
  };
}

/** The change at the output of `layers` when θ[index] (already moved by `step` in the bound θ) moves. */
export function perturbedChange(layers: readonly BoundLayer[], trace: ForwardTrace, index: number, step: number, m: number): Moved {
  const owner = layers.findIndex((layer) => owns(layer, index));
  if (owner < 0) return { change: NO_CHANGE, kink: false };
  const layer = layers[owner];
  const own = layer.kind.perturbOwn ? layer.kind.perturbOwn(layer, stepOf(trace, owner), index, step, m) : rerunWhole(layer, stepOf(trace, owner), m);
  const above = changeThrough(layers, trace, owner + 1, own.change, m);
  return { change: above.change, kink: own.kink || above.kink };
}

/** A change at the input of layers[from] carried to the output of the last. */
export function changeThrough(layers: readonly BoundLayer[], trace: ForwardTrace, from: number, change: Change, m: number): Moved {
  let kink = false;
  for (let index = from; index < layers.length && change.examples.length > 0; index++) {
    const layer = layers[index];
    const base = stepOf(trace, index);
    const moved = layer.kind.propagate
      ? layer.kind.propagate(layer, base, change, m)
      : layer.kind.rowwise && layer.input.length >= 2
        ? rowwiseChange(layer, base, change)
        : rerunChanged(layer, base, change, m);
    kink ||= moved.kink;
    change = moved.change;
  }
  return { change, kink };
}

/** The layer on a block of slices alone, as a layer of its own: shapes [slices, ...rest]. */
function onSlices(layer: BoundLayer, count: number): BoundLayer {
  return { ...layer, input: [count, ...layer.input.slice(1)], output: [count, ...layer.output.slice(1)] };
}

/**
 * A layer that acts on each slice on its own (a pointwise activation, or a linear layer or
 * layer norm on the rows of a sequence): only the changed slices are run.
 */
export function rowwiseChange(layer: BoundLayer, base: TracedStep, change: Change): Moved {
  const sub = layer.input.length === 0 ? layer : onSlices(layer, change.slices.length);
  const examples = change.examples.length;
  const forwarded = layer.kind.forward(sub, change.values, examples);
  let kink = false;
  if (layer.kind.crossesKink) {
    const input = gatherBlock(base.input, layer.input, change.examples, change.slices);
    kink = layer.kind.crossesKink(sub, lazyStep(sub, input, examples), { input: change.values, forwarded });
  }
  return { change: { examples: change.examples, slices: change.slices, values: forwarded.output }, kink };
}

/** The fallback: the changed examples rerun whole (or, for a layer that mixes examples, the batch). */
function rerunChanged(layer: BoundLayer, base: TracedStep, change: Change, m: number): Moved {
  if (layer.kind.mixesExamples?.(layer.spec)) {
    const input = withChange(base.input, layer.input, change);
    const forwarded = layer.kind.forward(layer, input, m);
    const kink = layer.kind.crossesKink?.(layer, base, { input, forwarded }) ?? false;
    return { change: changeBetween(base.forwarded.output, layer.output, allIndices(m), forwarded.output), kink };
  }
  const examples = change.examples.length;
  const input = examplesWith(base.input, layer.input, change);
  const forwarded = layer.kind.forward(layer, input, examples);
  let kink = false;
  if (layer.kind.crossesKink) {
    const before = gatherBlock(base.input, layer.input, change.examples, allIndices(slicesOf(layer.input).count));
    kink = layer.kind.crossesKink(layer, lazyStep(layer, before, examples), { input, forwarded });
  }
  return { change: changeBetween(base.forwarded.output, layer.output, change.examples, forwarded.output), kink };
}

/** The owner of a moved coordinate without a rule of its own: its forward pass again, on its unchanged input. */
function rerunWhole(layer: BoundLayer, base: TracedStep, m: number): Moved {
  const forwarded = layer.kind.forward(layer, base.input, m);
  const kink = layer.kind.crossesKink?.(layer, base, { input: base.input, forwarded }) ?? false;
  return { change: changeBetween(base.forwarded.output, layer.output, allIndices(m), forwarded.output), kink };
}
