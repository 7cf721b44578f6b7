import type { CompiledGraph, CompiledLayer } from "./graph-spec.js";
import { backwardThrough, forwardThrough, sizeOf, type BoundLayer } from "./layer.js";
import { GraphInputError } from "./layers/embedding.js";
import { lossAndGradient } from "./losses.js";

/** A batch for a version 2 network: X [m, ...input] (token ids as numbers) and Y [m, ...target]. */
export interface GraphBatch {
  readonly m: number;
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
}

/** The layers with their tensors as views into θ, the buffers and a gradient array. */
export function bindGraph(graph: CompiledGraph, theta: Float64Array, buffers: Float64Array, gradient: Float64Array): BoundLayer[] {
  const view = (array: Float64Array, tensor: { offset: number; size: number }) => array.subarray(tensor.offset, tensor.offset + tensor.size);
  const bind = (layer: CompiledLayer): BoundLayer => ({
    kind: layer.kind,
    spec: layer.spec,
    path: layer.path,
    input: layer.input,
    output: layer.output,
    params: layer.parameters.map((tensor) => view(theta, tensor)),
    gradients: layer.parameters.map((tensor) => view(gradient, tensor)),
    buffers: layer.buffers.map((tensor) => view(buffers, tensor)),
    children: layer.children.map(bind),
  });
  return graph.layers.map(bind);
}

/** Refuses a batch whose sizes or class ids do not fit the graph, naming what is wrong. */
export function checkGraphBatch(graph: CompiledGraph, batch: GraphBatch): void {
  const { m } = batch;
  if (batch.inputs.length !== m * sizeOf(graph.spec.input.shape)) throw new GraphInputError(`X holds ${batch.inputs.length} values, not m × ${sizeOf(graph.spec.input.shape)}`);
  if (batch.targets.length !== m * sizeOf(graph.target)) throw new GraphInputError(`Y holds ${batch.targets.length} values, not m × ${sizeOf(graph.target)}`);
  const { loss } = graph.spec;
  if (loss.type === "cross-entropy" && (loss.target ?? "index") === "index") {
    const classes = graph.output[graph.output.length - 1];
    batch.targets.forEach((id, position) => {
      if (!Number.isInteger(id) || id < 0 || id >= classes) throw new GraphInputError(`Y[${position}] = ${id} is not a class id in 0..${classes - 1}`);
    });
  }
}

/** J(θ) = loss + λ/(2m)·Σ‖weight‖². */
export function graphCost(graph: CompiledGraph, theta: Float64Array, buffers: Float64Array, batch: GraphBatch): number {
  const layers = bindGraph(graph, theta, buffers, new Float64Array(0));
  const { output } = forwardThrough(layers, batch.inputs, batch.m);
  return lossAndGradient(graph.spec.loss, output, graph.output, batch.targets, batch.m).value + regularization(graph, theta, batch.m);
}

/** J(θ) and ∂J/∂θ by the reference backward passes. */
export function graphGradient(graph: CompiledGraph, theta: Float64Array, buffers: Float64Array, batch: GraphBatch): { cost: number; gradient: Float64Array } {
  const gradient = new Float64Array(graph.parameterCount);
  return gradientThrough(graph, bindGraph(graph, theta, buffers, gradient), theta, batch, gradient);
}

/** graphGradient through bound layers (bound to θ and to `gradient`), whichever passes they run. */
export function gradientThrough(graph: CompiledGraph, layers: readonly BoundLayer[], theta: Float64Array, batch: GraphBatch, gradient: Float64Array): { cost: number; gradient: Float64Array } {
  const trace = forwardThrough(layers, batch.inputs, batch.m);
  const loss = lossAndGradient(graph.spec.loss, trace.output, graph.output, batch.targets, batch.m);
  backwardThrough(layers, trace, loss.gradient, batch.m);
  const lambda = graph.spec.l2;
  if (lambda !== 0) {
    for (const tensor of graph.parameters) {
      if (!tensor.decays) continue;
      for (let index = tensor.offset; index < tensor.offset + tensor.size; index++) gradient[index] += (lambda / batch.m) * theta[index];
    }
  }
  return { cost: loss.value + regularization(graph, theta, batch.m), gradient };
}

function regularization(graph: CompiledGraph, theta: Float64Array, m: number): number {
  return graph.spec.l2 === 0 ? 0 : (graph.spec.l2 / (2 * m)) * decayedSquares(graph, theta);
}

/** Σ‖weight‖² over the tensors the l2 term counts. */
export function decayedSquares(graph: CompiledGraph, theta: Float64Array): number {
  let squares = 0;
  for (const tensor of graph.parameters) {
    if (!tensor.decays) continue;
    for (let index = tensor.offset; index < tensor.offset + tensor.size; index++) squares += theta[index] ** 2;
  }
  return squares;
}
