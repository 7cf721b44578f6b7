import { coordinateAt, type Layout } from "@gradcheck/core";
import type { CompiledGraph, CompiledLayer } from "./graph-spec.js";
import { bindGraph, decayedSquares, type GraphBatch } from "./graph-network.js";
import { crossedKink, forwardThrough, type BoundLayer, type ForwardTrace } from "./layer.js";
import { lossAndGradient } from "./losses.js";

/**
 * J(θ + s·e_i) for a version 2 network without rerunning the layers below the one that owns
 * θ_i: the unperturbed forward pass is kept, and a perturbation runs from that layer's kept
 * input up. (A first version: the layer itself and every layer above are recomputed whole;
 * the changed channel, feature or head alone, pushed up as differences, is still to come.)
 * The result is the same bits as a full forward pass of the perturbed θ.
 */
export class GraphPerturbedCosts {
  /** J(θ) */
  readonly cost: number;
  private readonly theta: Float64Array;
  private readonly layers: BoundLayer[];
  private readonly trace: ForwardTrace;
  /** the top-level layer that owns each parameter tensor, by tensor index */
  private readonly owners: Int32Array;
  private readonly layout: Layout;
  private readonly squares: number;

  constructor(
    private readonly graph: CompiledGraph,
    theta: Float64Array,
    buffers: Float64Array,
    private readonly batch: GraphBatch,
  ) {
    this.theta = Float64Array.from(theta);
    this.layers = bindGraph(graph, this.theta, buffers, new Float64Array(graph.parameterCount));
    this.trace = forwardThrough(this.layers, batch.inputs, batch.m);
    this.owners = new Int32Array(graph.parameters.length);
    this.layout = { tensors: graph.parameters, total: graph.parameterCount };
    graph.layers.forEach((layer, index) => {
      for (const tensor of tensorsOf(layer)) this.owners[graph.parameters.indexOf(tensor)] = index;
    });
    this.squares = decayedSquares(graph, this.theta);
    this.cost = this.lossOf(this.trace.output) + this.regularization(undefined, 0);
  }

  /** J(θ + step·e_index). */
  perturbedCost(index: number, step: number): number {
    return this.perturb(index, step).cost;
  }

  /**
   * J(θ + step·e_index), and whether the step crossed a kink of a layer above (a ReLU's
   * input changing side of 0, a max pool's choice changing or tied): there the central
   * difference is no derivative, and a check marks the coordinate rather than failing it.
   */
  perturb(index: number, step: number): { cost: number; kink: boolean } {
    const tensor = coordinateAt(this.layout, index).tensorIndex;
    const from = this.owners[tensor];
    const saved = this.theta[index];
    this.theta[index] = saved + step;
    try {
      const layers = this.layers.slice(from);
      const moved = forwardThrough(layers, this.trace.inputs[from], this.batch.m);
      const cost = this.lossOf(moved.output) + this.regularization(this.graph.parameters[tensor].decays ? saved : undefined, step);
      return { cost, kink: crossedKink(layers, this.trace, moved, from) };
    } finally {
      this.theta[index] = saved;
    }
  }

  private lossOf(output: Float64Array): number {
    return lossAndGradient(this.graph.spec.loss, output, this.graph.output, this.batch.targets, this.batch.m).value;
  }

  /**
   * λ/(2m)·Σ‖weight‖² with a weight w moved by step (w undefined: nothing that decays moved);
   * the move's share as λ/(2m)·(2w + s)·s, not as a new sum of squares less the old one.
   */
  private regularization(w: number | undefined, step: number): number {
    const lambda = this.graph.spec.l2;
    if (lambda === 0) return 0;
    const scale = lambda / (2 * this.batch.m);
    return scale * this.squares + (w === undefined ? 0 : scale * (2 * w + step) * step);
  }
}

function tensorsOf(layer: CompiledLayer): CompiledLayer["parameters"] {
  return [...layer.parameters, ...layer.children.flatMap(tensorsOf)];
}
