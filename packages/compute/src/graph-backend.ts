import { centralDifference, CoordinateStatus, realizedSteps, richardson, stepSize } from "@gradcheck/core";
import { GraphPerturbedCosts, type CompiledGraph, type GraphBatch } from "@gradcheck/models";
import { directionIndex, type SparseDirection } from "@gradcheck/models/evaluator";
import type { DifferenceOptions, Derivatives, PerturbedCostBackend } from "./backend.js";

const PROGRESS_EVERY = 256;
/** A cost's float64 rounding, in units of u·|J|: the loss's sum and the layers rerun below it (measured 1–3 on the PyTorch fixtures). */
const COST_ROUNDING = 8;
const U = 2 ** -53;

/**
 * Float64 central differences of a version 2 network (convolutions, normalization, attention)
 * on the CPU: each perturbation is carried up from the layer that owns the moved coordinate
 * as a change of what it moves alone, on the kept forward pass (GraphPerturbedCosts), and
 * says whether a kink was crossed.
 */
export class GraphBackend implements PerturbedCostBackend {
  readonly name = "cpu";
  readonly mode = null;
  readonly precision = "float64" as const;
  private readonly costs: GraphPerturbedCosts;

  constructor(
    graph: CompiledGraph,
    private readonly theta: Float64Array,
    buffers: Float64Array,
    batch: GraphBatch,
  ) {
    this.costs = new GraphPerturbedCosts(graph, theta, buffers, batch);
  }

  get cost(): number {
    return this.costs.cost;
  }

  /** (J(θ + h₊e_i) − J(θ − h₋e_i)) / (h₊ + h₋) with the steps x ± h really makes. */
  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives {
    const numeric = new Float64Array(indices.length);
    const status = new Uint8Array(indices.length);
    const rounding = new Float64Array(indices.length);
    for (let n = 0; n < indices.length; n++) {
      const index = indices[n];
      let kink = false;
      let roundingError = 0;
      const estimate = (h: number) => {
        const steps = realizedSteps(this.theta[index], h);
        const plus = this.costs.perturb(index, steps.plus);
        const minus = this.costs.perturb(index, -steps.minus);
        kink ||= plus.kink || minus.kink;
        roundingError = (COST_ROUNDING * U * (Math.abs(plus.cost) + Math.abs(minus.cost))) / (steps.plus + steps.minus);
        // the two changes of J, not J itself twice: J's rounding cancels out of them
        return centralDifference(plus.change, minus.change, steps);
      };
      const h = stepSize(options.step, this.theta[index]);
      const full = estimate(h);
      const fullRounding = roundingError;
      numeric[n] = options.richardson ? richardson(full, estimate(h / 2)) : full;
      // Richardson's (4·n_{h/2} − n_h)/3 carries (4·r_{h/2} + r_h)/3
      rounding[n] = options.richardson ? (4 * roundingError + fullRounding) / 3 : fullRounding;
      status[n] = kink ? CoordinateStatus.kink : CoordinateStatus.checked;
      if (onProgress && (n + 1) % PROGRESS_EVERY === 0) onProgress(n + 1);
    }
    onProgress?.(indices.length);
    return { numeric, status, rounding };
  }

  /** (J(θ + h·v) − J(θ − h·v)) / 2h for each direction v. */
  directionalDerivatives(directions: Iterable<SparseDirection>, step: number, extrapolate = false): Derivatives {
    const numeric: number[] = [];
    const status: number[] = [];
    for (const direction of directions) {
      const indices = Int32Array.from(direction.values, (_, n) => directionIndex(direction, n));
      let kink = false;
      const estimate = (h: number) => {
        const along = (scale: number) => {
          const moved = this.costs.perturbAll({ indices, steps: direction.values.map((value) => scale * value) });
          kink ||= moved.kink;
          return moved.cost;
        };
        return (along(h) - along(-h)) / (2 * h);
      };
      const full = estimate(step);
      numeric.push(extrapolate ? richardson(full, estimate(step / 2)) : full);
      status.push(kink ? CoordinateStatus.kink : CoordinateStatus.checked);
    }
    return { numeric: Float64Array.from(numeric), status: Uint8Array.from(status) };
  }
}
