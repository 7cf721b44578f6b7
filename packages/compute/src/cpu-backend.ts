import { CoordinateStatus, realizedSteps } from "@gradcheck/core";
import { PerturbedCostEvaluator, type Batch, type CostChanges, type ModelSpec } from "@gradcheck/models/evaluator";
import type { CentralDifferences, PerturbedCostBackend } from "./backend.js";

const PROGRESS_EVERY = 1024;

/** Float64 central differences on the CPU through the incremental evaluator. */
export class CpuBackend implements PerturbedCostBackend {
  readonly name = "cpu";
  readonly precision = "float64" as const;
  readonly evaluator: PerturbedCostEvaluator;

  constructor(
    spec: ModelSpec,
    private readonly theta: Float64Array,
    batch: Batch,
  ) {
    this.evaluator = new PerturbedCostEvaluator(spec, theta, batch);
  }

  get cost(): number {
    return this.evaluator.cost;
  }

  /**
   * (J(θ + h₊e_i) − J(θ − h₋e_i)) / (h₊ + h₋) with the realised steps h₊, h₋. Both cost
   * changes come from the evaluator directly, so nothing cancels against J(θ).
   */
  centralDifferences(start: number, end: number, eps: number, onProgress?: (done: number) => void): CentralDifferences {
    const count = end - start;
    const numeric = new Float64Array(count);
    const status = new Uint8Array(count);
    const changes: CostChanges = { first: 0, second: 0, kink: false };
    for (let offset = 0; offset < count; offset++) {
      const index = start + offset;
      const steps = realizedSteps(this.theta[index], eps);
      this.evaluator.costChanges(index, steps.plus, -steps.minus, changes);
      numeric[offset] = (changes.first - changes.second) / (steps.plus + steps.minus);
      status[offset] = changes.kink ? CoordinateStatus.kink : CoordinateStatus.checked;
      if (onProgress && (offset + 1) % PROGRESS_EVERY === 0) onProgress(offset + 1);
    }
    onProgress?.(count);
    return { numeric, status };
  }
}
