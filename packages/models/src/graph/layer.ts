import type { z } from "zod";
import { settle } from "./arithmetic.js";
import type { Change } from "./changes.js";

/** A tensor's shape per example (the batch dimension m is never part of it). */
export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((product, n) => product * n, 1);
export const formatShape = (shape: Shape): string => `[${shape.join(", ")}]`;

/** A spec that cannot describe a network: which layer, and why. */
export class GraphSpecError extends Error {
  override name = "GraphSpecError";
}

/** A parameter or buffer of a layer, named after it: `weight` becomes `fc1.weight`. */
export interface TensorSlot {
  readonly suffix: string;
  readonly shape: Shape;
  /** counted in the spec's l2 term (the weights of linear, conv2d and attention) */
  readonly decays?: boolean;
}

/**
 * A layer as the network runs it: its spec, shapes, and its tensors as views into θ and the
 * buffers, in the order its kind's `parameters` and `buffers` list them.
 */
export interface BoundLayer<S = unknown> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each layer's kind takes its own spec
  readonly kind: LayerKind<any>;
  readonly spec: S;
  /** where the layer sits in the spec, for messages: `layers[2]`, `layers[3].layers[0]` */
  readonly path: string;
  readonly input: Shape;
  readonly output: Shape;
  readonly params: readonly Float64Array[];
  /** where the backward pass adds each parameter's gradient (views into one θ-sized array) */
  readonly gradients: readonly Float64Array[];
  readonly buffers: readonly Float64Array[];
  /** the layers a residual block wraps */
  readonly children: readonly BoundLayer[];
}

/** What a forward pass keeps for the backward pass. */
export interface Forwarded {
  readonly output: Float64Array;
  readonly saved?: unknown;
}

/**
 * One layer type (see layers.ts, the one list of them): its spec's schema, its shapes and
 * tensors, and its reference forward and backward passes in float64. Activations are
 * row-major [m, ...shape].
 */
export interface LayerKind<S extends { readonly type: string } = { readonly type: string }> {
  readonly type: S["type"];
  readonly schema: z.ZodType<S>;
  /** takes token ids, not features: only first, on an input of dtype "index" (embedding) */
  readonly takesIds?: boolean;
  /** the raw specs of the layers it wraps, compiled by the graph like any others (residual) */
  children?(spec: S): readonly unknown[];
  /** the output shape for an input shape, or a GraphSpecError naming what does not fit */
  outputShape(spec: S, input: Shape, path: string): Shape;
  parameters(spec: S, input: Shape): readonly TensorSlot[];
  /** state that is read from the checkpoint but not checked (batch norm's running statistics) */
  buffers?(spec: S, input: Shape): readonly TensorSlot[];
  forward(layer: BoundLayer<S>, input: Float64Array, m: number): Forwarded;
  /**
   * Whether moving from the unperturbed pass (`base`) to a perturbed one crossed one of the
   * layer's kinks: a ReLU's input changing side of 0, a max pool's choice changing or tied.
   * Smooth layers leave it out.
   */
  crossesKink?(layer: BoundLayer<S>, base: TracedStep, moved: TracedStep): boolean;
  /**
   * The change of the output for a change of the input (see changes.ts), and whether it crossed
   * a kink. Without it, the changed examples are rerun whole (propagation.ts).
   */
  propagate?(layer: BoundLayer<S>, base: TracedStep, change: Change, m: number): Moved;
  /**
   * The change of the output when θ[index], a coordinate of one of the layer's parameters, has
   * moved by `step` (the bound θ holds the moved value). Without it, the layer is rerun whole.
   */
  perturbOwn?(layer: BoundLayer<S>, base: TracedStep, index: number, step: number, m: number): Moved;
  /** On an input of two or more dimensions, acts on each slice along the first (a position's row) on its own. */
  readonly rowwise?: boolean;
  /** Whether a change of one example changes the others' outputs (batch statistics). */
  mixesExamples?(spec: S): boolean;
  /**
   * Adds ∂J/∂(each parameter) into `gradients` (same order as `params`) and returns ∂J/∂input,
   * given ∂J/∂output.
   */
  backward(layer: BoundLayer<S>, input: Float64Array, forwarded: Forwarded, outputGradient: Float64Array, m: number, gradients: readonly Float64Array[]): Float64Array;
}

/** A change carried up one layer, and whether it crossed a kink there. */
export interface Moved {
  readonly change: Change;
  readonly kink: boolean;
}

/** A layer's input and what its forward pass made of it. */
export interface TracedStep {
  readonly input: Float64Array;
  readonly forwarded: Forwarded;
}

/** A sequence of layers' forward passes, each one's input kept for the backward pass. */
export interface ForwardTrace {
  readonly inputs: Float64Array[];
  readonly forwarded: Forwarded[];
  readonly output: Float64Array;
}

export function forwardThrough(layers: readonly BoundLayer[], input: Float64Array, m: number): ForwardTrace {
  const inputs: Float64Array[] = [];
  const forwarded: Forwarded[] = [];
  let x = input;
  for (const layer of layers) {
    inputs.push(x);
    const step = layer.kind.forward(layer, x, m);
    forwarded.push(step);
    x = settle(step.output);
  }
  return { inputs, forwarded, output: x };
}

/** The backward passes of a traced sequence, last layer first: returns ∂J/∂(the sequence's input). */
export function backwardThrough(layers: readonly BoundLayer[], trace: ForwardTrace, outputGradient: Float64Array, m: number): Float64Array {
  let gradient = outputGradient;
  for (let index = layers.length - 1; index >= 0; index--) {
    const layer = layers[index];
    gradient = settle(layer.kind.backward(layer, trace.inputs[index], trace.forwarded[index], gradient, m, layer.gradients));
    for (const parameterGradient of layer.gradients) settle(parameterGradient);
  }
  return gradient;
}

/** Whether a perturbed trace of `layers` crossed a kink anywhere that the base trace (of the same layers, from `offset`) did not. */
export function crossedKink(layers: readonly BoundLayer[], base: ForwardTrace, moved: ForwardTrace, offset = 0): boolean {
  for (let index = 0; index < layers.length; index++) {
    const layer = layers[index];
    if (!layer.kind.crossesKink) continue;
    const before = { input: base.inputs[offset + index], forwarded: base.forwarded[offset + index] };
    const after = { input: moved.inputs[index], forwarded: moved.forwarded[index] };
    if (layer.kind.crossesKink(layer, before, after)) return true;
  }
  return false;
}
