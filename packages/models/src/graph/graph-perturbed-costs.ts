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
    this.cost = this.lossOf(this.trace.output) + this.regularization();
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
    this.single.indices[0] = index;
    this.single.steps[0] = step;
    return this.perturbAll(this.single);
  }

  private readonly single = { indices: new Int32Array(1), steps: new Float64Array(1) };

  /**
   * J(θ + Σ steps[n]·e_indices[n]) and whether a kink was crossed: a direction's move. The
   * layers from the lowest owner of a moved coordinate upward are rerun.
   */
  perturbAll({ indices, steps }: { readonly indices: ArrayLike<number>; readonly steps: ArrayLike<number> }): { cost: number; kink: boolean } {
    let from = this.layers.length;
    let regularization = 0;
    const saved = new Float64Array(indices.length);
    for (let n = 0; n < indices.length; n++) {
      const tensor = coordinateAt(this.layout, indices[n]).tensorIndex;
      from = Math.min(from, this.owners[tensor]);
      if (this.graph.parameters[tensor].decays) regularization += this.regularizationChange(this.theta[indices[n]], steps[n]);
    }
    for (let n = 0; n < indices.length; n++) {
      saved[n] = this.theta[indices[n]];
      this.theta[indices[n]] = saved[n] + steps[n];
    }
    try {
      if (from === this.layers.length) return { cost: this.cost, kink: false };
      const layers = this.layers.slice(from);
      const moved = forwardThrough(layers, this.trace.inputs[from], this.batch.m);
      const cost = this.lossOf(moved.output) + this.regularization() + regularization;
      return { cost, kink: crossedKink(layers, this.trace, moved, from) };
    } finally {
      // in reverse, so that an index given twice gets its first value back
      for (let n = indices.length - 1; n >= 0; n--) this.theta[indices[n]] = saved[n];
    }
  }

  private lossOf(output: Float64Array): number {
    return lossAndGradient(this.graph.spec.loss, output, this.graph.output, this.batch.targets, this.batch.m).value;
  }

  /** λ/(2m)·Σ‖weight‖² of the unperturbed θ. */
  private regularization(): number {
    const lambda = this.graph.spec.l2;
    return lambda === 0 ? 0 : (lambda / (2 * this.batch.m)) * this.squares;
  }

  /** What moving a weight w by step adds to the l2 term: λ/(2m)·(2w + s)·s, not a new sum of squares less the old one. */
  private regularizationChange(w: number, step: number): number {
    const lambda = this.graph.spec.l2;
    return lambda === 0 ? 0 : (lambda / (2 * this.batch.m)) * (2 * w + step) * step;
  }
}

function tensorsOf(layer: CompiledLayer): CompiledLayer["parameters"] {
  return [...layer.parameters, ...layer.children.flatMap(tensorsOf)];
}
