import { centralDifference, CoordinateStatus, realizedSteps, richardson, stepSize } from "@gradcheck/core";
import {
  DirectionalCostEvaluator,
  PerturbedCostEvaluator,
  type Batch,
  type CostChanges,
  type ModelSpec,
  type SparseDirection,
} from "@gradcheck/models/evaluator";
import type { DifferenceOptions, Derivatives, PerturbedCostBackend } from "./backend.js";

const PROGRESS_EVERY = 1024;

/** Float64 central differences on the CPU through the incremental evaluators. */
export class CpuBackend implements PerturbedCostBackend {
  readonly name = "cpu";
  readonly mode = null;
  readonly precision = "float64" as const;
  // Each evaluator is built on first use: a thread that only takes directions never holds the
  // coordinate evaluator's transposed copy of the weights.
  private perturbed?: PerturbedCostEvaluator;
  private directional?: DirectionalCostEvaluator;

  constructor(
    private readonly spec: ModelSpec,
    private readonly theta: Float64Array,
    private readonly batch: Batch,
  ) {}

  get evaluator(): PerturbedCostEvaluator {
    return (this.perturbed ??= new PerturbedCostEvaluator(this.spec, this.theta, this.batch));
  }

  get cost(): number {
    return (this.perturbed ?? this.directionalEvaluator()).cost;
  }

  private directionalEvaluator(): DirectionalCostEvaluator {
    return (this.directional ??= new DirectionalCostEvaluator(this.spec, this.theta, this.batch, this.perturbed?.pass));
  }

  /**
   * (J(θ + h₊e_i) − J(θ − h₋e_i)) / (h₊ + h₋) with the realised steps h₊, h₋. Both cost
   * changes come from the evaluator directly, so nothing cancels against J(θ).
   */
  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives {
    const numeric = new Float64Array(indices.length);
    const status = new Uint8Array(indices.length);
    const changes: CostChanges = { first: 0, second: 0, kink: false };
    const { evaluator } = this;
    const estimate = (index: number, h: number) => {
      const steps = realizedSteps(this.theta[index], h);
      evaluator.costChanges(index, steps.plus, -steps.minus, changes);
      return centralDifference(changes.first, changes.second, steps);
    };
    for (let n = 0; n < indices.length; n++) {
      const index = indices[n];
      const h = stepSize(options.step, this.theta[index]);
      let value = estimate(index, h);
      let kink = changes.kink;
      if (options.richardson) {
        value = richardson(value, estimate(index, h / 2));
        kink ||= changes.kink;
      }
      numeric[n] = value;
      status[n] = kink ? CoordinateStatus.kink : CoordinateStatus.checked;
      if (onProgress && (n + 1) % PROGRESS_EVERY === 0) onProgress(n + 1);
    }
    onProgress?.(indices.length);
    return { numeric, status };
  }

  directionalDerivatives(directions: Iterable<SparseDirection>, step: number, extrapolate = false): Derivatives {
    const evaluator = this.directionalEvaluator();
    const numeric: number[] = [];
    const status: number[] = [];
    for (const direction of directions) {
      const estimate = (h: number) => {
        const plus = evaluator.costChange(direction, h);
        const minus = evaluator.costChange(direction, -h);
        return { value: (plus.change - minus.change) / (2 * h), kink: plus.kink || minus.kink };
      };
      const full = estimate(step);
      const half = extrapolate ? estimate(step / 2) : undefined;
      numeric.push(half ? richardson(full.value, half.value) : full.value);
      status.push(full.kink || half?.kink ? CoordinateStatus.kink : CoordinateStatus.checked);
    }
    return { numeric: Float64Array.from(numeric), status: Uint8Array.from(status) };
  }
}
