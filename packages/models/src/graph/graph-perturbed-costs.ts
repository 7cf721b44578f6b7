import { coordinateAt, type Layout } from "@gradcheck/core";
import type { CompiledGraph, CompiledLayer } from "./graph-spec.js";
import { bindGraph, decayedSquares, type GraphBatch } from "./graph-network.js";
import { examplesWith, slicesOf, type Change } from "./changes.js";
import { crossedKink, forwardThrough, sizeOf, type BoundLayer, type ForwardTrace, type Shape } from "./layer.js";
import { lossAndGradient, lossDivisor, lossSum } from "./losses.js";
import { perturbedChange } from "./propagation.js";

/**
 * J(θ + s·e_i) for a version 2 network without rerunning the layers below the one that owns
 * θ_i: the unperturbed forward pass is kept, and a perturbation is carried up from that layer
 * as a change (propagation.ts): the one output channel, feature or row it moves, then only
 * what that moves in each layer above. The loss changes only on the changed positions, and
 * that difference is what is returned, so that J's own rounding does not swamp it.
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
    this.units = lossUnits(graph, this.trace.output, batch);
  }

  /** The loss's units (a position of a sequence, else an example) and each one's unreduced loss, unperturbed. */
  private readonly units: LossUnits;

  /** J(θ + step·e_index). */
  perturbedCost(index: number, step: number): number {
    return this.perturb(index, step).cost;
  }

  /**
   * J(θ + step·e_index), the change J(θ + step·e_index) − J(θ) computed as such, and
   * whether the step crossed a kink of a layer above (a ReLU's input changing side of 0, a
   * max pool's choice changing or tied): there the central difference is no derivative, and
   * a check marks the coordinate rather than failing it.
   */
  perturb(index: number, step: number): { cost: number; change: number; kink: boolean } {
    const tensor = coordinateAt(this.layout, index).tensorIndex;
    const regularization = this.graph.parameters[tensor].decays ? this.regularizationChange(this.theta[index], step) : 0;
    const saved = this.theta[index];
    this.theta[index] = saved + step;
    try {
      const moved = perturbedChange(this.layers, this.trace, index, step, this.batch.m);
      const change = this.lossChange(moved.change) + regularization;
      return { cost: this.cost + change, change, kink: moved.kink };
    } finally {
      this.theta[index] = saved;
    }
  }

  /** The loss's change for a change of the network's output: over the changed units alone. */
  private lossChange(change: Change): number {
    if (change.examples.length === 0) return 0;
    const { loss } = this.graph.spec;
    const output = this.graph.output;
    const { perExample, unitShape, unitSize, targetSize, losses } = this.units;
    // units are whole examples when the output is a vector (its slices are single classes)
    const values = perExample === 1 ? examplesWith(this.trace.output, output, change) : change.values;
    const slices = perExample === 1 ? [0] : change.slices;
    let total = 0;
    for (let e = 0; e < change.examples.length; e++)
      for (let s = 0; s < slices.length; s++) {
        const unit = change.examples[e] * perExample + slices[s];
        const at = (e * slices.length + s) * unitSize;
        total += lossSum(loss, values.subarray(at, at + unitSize), unitShape, this.batch.targets.subarray(unit * targetSize, (unit + 1) * targetSize)) - losses[unit];
      }
    return total / lossDivisor(loss, output, this.batch.m);
  }

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

interface LossUnits {
  readonly perExample: number;
  readonly unitShape: Shape;
  readonly unitSize: number;
  readonly targetSize: number;
  readonly losses: Float64Array;
}

/** The units of the loss, each position of a sequence's output, else each example, with the unreduced loss of each in the unperturbed output. */
function lossUnits(graph: CompiledGraph, outputs: Float64Array, batch: GraphBatch): LossUnits {
  const output = graph.output;
  const perExample = output.length >= 2 ? slicesOf(output).count : 1;
  const unitShape = perExample === 1 ? output : output.slice(1);
  const unitSize = sizeOf(output) / perExample;
  const targetSize = sizeOf(graph.target) / perExample;
  const losses = new Float64Array(batch.m * perExample);
  for (let unit = 0; unit < losses.length; unit++) {
    losses[unit] = lossSum(graph.spec.loss, outputs.subarray(unit * unitSize, (unit + 1) * unitSize), unitShape, batch.targets.subarray(unit * targetSize, (unit + 1) * targetSize));
  }
  return { perExample, unitShape, unitSize, targetSize, losses };
}
